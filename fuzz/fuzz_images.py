"""Coverage-guided fuzzing of the image-header parser (atheris). Run with `make fuzz`.

Invariant: image_size() and image_size_from_data_url() return a positive (width, height) or raise
ImageError; nothing else, never a crash or a large allocation.
"""

from __future__ import annotations

import base64
import sys

import atheris

with atheris.instrument_imports():
    from tokenomy.errors import ImageError
    from tokenomy.images import image_size, image_size_from_data_url


def one_input(data: bytes) -> None:
    for parse in (
        lambda: image_size(data),
        lambda: image_size_from_data_url("data:image/png;base64," + base64.b64encode(data).decode()),
        lambda: image_size_from_data_url("data:image/jpeg;base64," + data.decode("latin-1")),
    ):
        try:
            width, height = parse()
        except ImageError:
            continue
        assert width > 0 and height > 0


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
