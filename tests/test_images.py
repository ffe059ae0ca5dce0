"""Image tokens: the documented examples, header parsing of real image formats, detail rules."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from tokenomy import InvalidArgumentError, count_image
from tokenomy.images import image_size, image_size_from_data_url

EXAMPLES = [
    e
    for e in json.loads((Path(__file__).parent / "reference" / "documented-counts.json").read_text("utf-8"))[
        "examples"
    ]
    if e["kind"] == "image"
]


@pytest.mark.parametrize(
    "example", EXAMPLES, ids=lambda e: f"{e['model']}-{e['input']['width']}x{e['input']['height']}"
)
def test_documented_image_counts(example: dict[str, Any]) -> None:
    """The vision guide's examples: tile tokens, or 32-px patches before the model multiplier."""
    size = example["input"]
    result = count_image(size["width"], size["height"], detail=size["detail"], model=example["model"])
    if "PATCHES" in example["counts"]:
        assert result.patches == example["expected_tokens"]
        assert result.tokens >= result.patches  # billed = patches x multiplier (>= 1)
    else:
        assert result.tokens == example["expected_tokens"]


def test_detail_rules_for_tile_models() -> None:
    """low costs the base only; auto is high; gpt-4o-mini has its own base and tile."""
    assert count_image(4000, 3000, detail="low", model="gpt-4o-2024-08-06").tokens == 85
    assert count_image(1024, 1024, detail="auto", model="gpt-4o-2024-08-06").tokens == 765
    assert count_image(512, 512, detail="high", model="gpt-4o-mini-2024-07-18").tokens == 2833 + 5667
    with pytest.raises(InvalidArgumentError):
        count_image(10, 10, detail="medium", model="gpt-4o")


def _png(width: int, height: int) -> bytes:
    raw = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _jpeg_header(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    exif = (
        b"\xff\xe1" + struct.pack(">H", 2 + 70_000 % 65_000) + bytes(70_000 % 65_000)
    )  # a large segment first
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + exif + sof + b"\xff\xd9"


def test_real_headers() -> None:
    """PNG, JPEG (with a large segment before its size), GIF and the three WebP kinds."""
    assert image_size(_png(7, 5)) == (7, 5)
    assert image_size(_jpeg_header(640, 480)) == (640, 480)
    assert image_size(b"GIF87a" + struct.pack("<HH", 300, 200)) == (300, 200)
    vp8x = (
        b"RIFF"
        + bytes(4)
        + b"WEBPVP8X"
        + bytes(8)
        + (999).to_bytes(3, "little")
        + (499).to_bytes(3, "little")
    )
    assert image_size(vp8x) == (1000, 500)
    bits = (1023 - 1) | ((767 - 1) << 14)
    vp8l = b"RIFF" + bytes(4) + b"WEBPVP8L" + bytes(4) + b"\x2f" + bits.to_bytes(4, "little") + bytes(5)
    assert image_size(vp8l) == (1023, 767)
    vp8 = (
        b"RIFF"
        + bytes(4)
        + b"WEBPVP8 "
        + bytes(7)
        + b"\x9d\x01\x2a"
        + struct.pack("<HH", 320, 240)
        + bytes(2)
    )
    assert image_size(vp8) == (320, 240)
    url = "data:image/jpeg;base64," + base64.b64encode(_jpeg_header(1024, 768)).decode()
    assert image_size_from_data_url(url) == (1024, 768)
