"""Image input tokens: :func:`count_image` and image sizes read from ``data:`` URL headers.

Two documented schemes, chosen per model by ``data/chat.toml``: *tile* models fit the image in
2048x2048, scale the short side down to 768 and pay ``base + per_tile * tiles`` (``low`` detail
pays ``base``); *patch* models count 32-px patches (at most 1536, with the documented rescaling)
times a per-model multiplier and ignore ``detail``. Sizes come from PNG, JPEG, GIF and WebP headers,
without Pillow and without ever fetching a URL.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import math
import operator
import struct
from dataclasses import dataclass
from datetime import date
from typing import Any

from tokenomy._args import check_choice
from tokenomy._data import table
from tokenomy._deprecation import renamed
from tokenomy.errors import ImageError, UnsupportedModelError, short
from tokenomy.registry import ModelInfo, resolve

DETAILS = ("auto", "low", "high")
# Sides up to this are exact in float arithmetic; beyond, only the aspect ratio matters (both rules
# shrink such an image), so larger sides are scaled down by a power of two first.
_FLOAT_EXACT = 1 << 52


@dataclass(frozen=True)
class ImageCount:
    """Tokens billed for one image, and how sure that figure is (``exact``; ``notes`` say why not).

    >>> image = count_image(1024, 1024, detail="high", model="gpt-4o-2024-08-06", as_of=date(2025, 1, 1))
    >>> image.tokens, image.tiles, image.exact
    (765, 4, True)
    >>> unknown = count_image(None, None, detail="high", model="gpt-4o-2024-08-06", as_of=date(2025, 1, 1))
    >>> unknown.tokens, unknown.exact, unknown.notes
    (1445, False, ('image size unknown: documented worst case for this detail level',))
    """

    tokens: int
    width: int | None
    height: int | None
    detail: str
    policy: str
    tiles: int | None = None
    patches: int | None = None
    exact: bool = True
    notes: tuple[str, ...] = ()

    def __int__(self) -> int:
        return self.tokens

    @property
    def reason(self) -> str | None:
        """Deprecated: the :attr:`notes` joined by ``"; "`` (None when there are none)."""
        renamed("ImageCount", "reason", "notes")
        return "; ".join(self.notes) or None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "tokens": self.tokens, "width": self.width, "height": self.height, "detail": self.detail,
            "policy": self.policy, "tiles": self.tiles, "patches": self.patches, "exact": self.exact,
            "notes": list(self.notes),
        }  # fmt: skip


def _pixels(value: Any, side: str) -> int | None:
    """A side in pixels: a positive whole number (numpy integers too), or ``None`` for unknown."""
    if value is None:
        return None
    try:
        number = 0 if isinstance(value, (bool, float)) else operator.index(value)
    except TypeError:
        number = 0
    if number <= 0:
        raise ImageError(f"image {side} must be a positive whole number of pixels, not {short(value)}")
    return number


def image_policy(info: ModelInfo) -> tuple[str, dict[str, Any]]:
    """Name and rule of the image pricing scheme for a resolved model."""
    chat = table("chat")
    for name in (info.snapshot, info.name, info.base_model or ""):
        matches = [p for p in chat["image_policy_for"] if name.startswith(p)]
        if matches:
            policy = chat["image_policy_for"][max(matches, key=len)]
            return policy, chat["image_policies"][policy]
    raise UnsupportedModelError(info.name, "the registry knows no image input rule for it")


def _normalized(width: int, height: int) -> tuple[int, int]:
    """``(width, height)``, or for sides past ``_FLOAT_EXACT`` the same shape at a size floats hold
    exactly (a 10^400-pixel side would overflow them; the rules depend only on its ratio)."""
    longest = max(width, height)
    if longest <= _FLOAT_EXACT:
        return width, height
    shift = longest.bit_length() - _FLOAT_EXACT.bit_length()
    return max(1, width >> shift), max(1, height >> shift)


def _tile_count(width: int, height: int) -> int:
    geometry = table("chat")["image_geometry"]
    w, h = float(width), float(height)
    longest = max(w, h)
    if longest > geometry["max_side"]:
        scale = geometry["max_side"] / longest
        w, h = math.floor(w * scale), math.floor(h * scale)
    shortest = min(w, h)
    if shortest > geometry["short_side"]:
        scale = geometry["short_side"] / shortest
        w, h = math.floor(w * scale), math.floor(h * scale)
    tile = geometry["tile_size"]
    return int(math.ceil(w / tile) * math.ceil(h / tile))


def _patch_count(width: int, height: int) -> int:
    geometry = table("chat")["image_geometry"]
    size, cap = geometry["patch_size"], geometry["max_patches"]
    patches = math.ceil(width / size) * math.ceil(height / size)
    if patches <= cap:
        return int(patches)
    shrink = math.sqrt(size * size * cap / (width * height))
    # shrink further so that a whole number of patches fits along the tighter side (a side under
    # one patch, as in a 1-pixel-wide strip, keeps its one patch)
    ratios = [math.floor(n) / n for n in (width * shrink / size, height * shrink / size) if n >= 1]
    shrink *= min(ratios, default=1.0)
    w, h = max(1, int(width * shrink)), max(1, int(height * shrink))
    return int(min(cap, math.ceil(w / size) * math.ceil(h / size)))


def count_image(
    width: int | None,
    height: int | None,
    *,
    detail: str = "auto",
    model: str = "gpt-4o",
    as_of: date | None = None,
) -> ImageCount:
    """Tokens billed for a ``width`` x ``height`` image sent to ``model``.

    Unknown size (``None``) gives the documented worst case for the detail level, marked inexact.

    >>> count_image(1024, 1024, detail="high", model="gpt-4o").tokens
    765
    >>> count_image(4096, 8192, detail="low", model="gpt-4o").tokens
    85
    >>> count_image(1800, 2400, model="gpt-4.1-mini").patches
    1452
    """
    return count_image_for(resolve(model, as_of, warn=False), width, height, detail)


def count_image_for(info: ModelInfo, width: int | None, height: int | None, detail: str) -> ImageCount:
    """:func:`count_image` for an already resolved model."""
    check_choice(detail, "detail", DETAILS)
    width, height = _pixels(width, "width"), _pixels(height, "height")
    name, policy = image_policy(info)
    notes = []
    if policy.get("uncertain"):
        notes.append(f"image rule {name!r} rests on an unconfirmed source")
    known = width is not None and height is not None
    if not known:
        notes.append("image size unknown: documented worst case for this detail level")
    if policy["kind"] == "tile":
        if detail == "low":
            tokens, tiles = policy["base"], 0
        else:
            geometry = table("chat")["image_geometry"]
            worst = math.ceil(geometry["short_side"] / geometry["tile_size"]) * math.ceil(
                geometry["max_side"] / geometry["tile_size"]
            )
            tiles = _tile_count(*_normalized(width, height)) if known else worst  # type: ignore[arg-type]
            tokens = policy["base"] + policy["per_tile"] * tiles
        result = ImageCount(tokens, width, height, detail, name, tiles=tiles)
    else:
        cap = table("chat")["image_geometry"]["max_patches"]
        patches = _patch_count(*_normalized(width, height)) if known else cap  # type: ignore[arg-type]
        tokens = math.ceil(patches * policy["multiplier"]) + policy.get("per_image", 0)
        result = ImageCount(tokens, width, height, detail, name, patches=patches)
    if notes:
        return dataclasses.replace(result, exact=False, notes=tuple(notes))
    return result


# ---- image headers ----------------------------------------------------------------------------

_HEADER_BYTES = 1 << 16  # enough for every format but JPEGs with large metadata
_MAX_DATA_URL = 64 << 20


def image_size_from_data_url(url: str) -> tuple[int, int]:
    """Width and height of a base64 ``data:image/...`` URL, read from the image header.

    >>> header = b"\\x89PNG\\r\\n\\x1a\\n" + bytes(4) + b"IHDR" + struct.pack(">II", 3, 2)
    >>> png = base64.b64encode(header)
    >>> image_size_from_data_url("data:image/png;base64," + png.decode())
    (3, 2)
    """
    if not url.startswith("data:"):
        raise ImageError("only data: URLs are read; pass dimensions for http(s) images")
    head, _, payload = url.partition(",")
    if ";base64" not in head:
        raise ImageError(f"data URL {head[:40]!r} is not base64-encoded")
    if len(payload) > _MAX_DATA_URL:
        raise ImageError(f"data URL of {len(payload)} characters exceeds {_MAX_DATA_URL}")
    chunk = payload[: _HEADER_BYTES // 3 * 4]
    try:
        data = base64.b64decode(chunk + "=" * (-len(chunk) % 4))
        try:
            return image_size(data)
        except ImageError:
            if len(chunk) == len(payload):
                raise
            data = base64.b64decode(payload + "=" * (-len(payload) % 4))
            return image_size(data)
    except (binascii.Error, ValueError) as error:
        raise ImageError(f"data URL payload is not valid base64 ({error})") from None


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height from the first bytes of a PNG, JPEG, GIF or WebP file.

    >>> image_size(b"GIF89a" + struct.pack("<HH", 640, 480))
    (640, 480)
    """
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24 and data[12:16] == b"IHDR":
        size = struct.unpack(">II", data[16:24])
    elif data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        size = struct.unpack("<HH", data[6:10])
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        size = _webp_size(data)
    elif data[:2] == b"\xff\xd8":
        size = _jpeg_size(data)
    else:
        raise ImageError("not a PNG, JPEG, GIF or WebP image (or its header is truncated)")
    width, height = int(size[0]), int(size[1])
    if width <= 0 or height <= 0:
        raise ImageError(f"image header declares an empty image ({width}x{height})")
    return width, height


def _webp_size(data: bytes) -> tuple[int, int]:
    kind = data[12:16]
    if kind == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if kind == b"VP8L" and data[20:21] == b"\x2f":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8X":
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    raise ImageError("WebP header is truncated or of an unknown kind")


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes) -> tuple[int, int]:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise ImageError(f"JPEG marker expected at byte {i}")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if length < 2:
            raise ImageError("JPEG segment with an invalid length")
        if marker in _SOF:
            if i + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    raise ImageError("JPEG header ended before its size (SOF) segment")
