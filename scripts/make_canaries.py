"""Writes data/canaries.toml: tiktoken's counts and id digests of the backend canaries.

Run after changing CANARIES in src/tokenomy/backends.py or upgrading tiktoken:
``python scripts/make_canaries.py``. tests/test_backends.py recomputes every row from tiktoken
(fed the bundled vocabulary files through its own cache) and fails if the file disagrees.
"""

from __future__ import annotations

import sys
from pathlib import Path

import tiktoken

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from tokenomy.backends import CANARIES, canaries_digest, clean, ids_digest  # noqa: E402
from tokenomy.encodings import encoding_names  # noqa: E402


def rows(encoding: tiktoken.Encoding) -> tuple[list[int], list[str]]:
    """tiktoken's count and ids digest of each canary."""
    ids = [encoding.encode_ordinary(clean(text)) for text in CANARIES]
    return [len(i) for i in ids], [ids_digest(i) for i in ids]


def main() -> None:
    from conftest import tiktoken_enc  # tiktoken itself, reading the bundled files

    lines = [
        "# tiktoken's answers to the fast-backend canaries (CANARIES in src/tokenomy/backends.py, in",
        "# order, lone surrogates replaced as tiktoken does): token counts and the SHA-256 of the ids",
        "# as little-endian uint32. A fast backend serves an encoding only if it gives the same.",
        f"# Source: tiktoken {tiktoken.__version__} encode_ordinary, written by scripts/make_canaries.py;",
        "# tests/test_backends.py regenerates every row from tiktoken and compares.",
        f'canaries_sha256 = "{canaries_digest()}"',
        "",
    ]
    for name in encoding_names():
        counts, digests = rows(tiktoken_enc(name))
        lines += [f"[encodings.{name}]", f"counts = {counts}", "ids_sha256 = ["]
        lines += [f'  "{d}",' for d in digests]
        lines += ["]", ""]
    (ROOT / "data" / "canaries.toml").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
