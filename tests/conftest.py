"""Shared fixtures: tiktoken itself as the reference, and the real-text corpus.

tiktoken is fed the vocabulary files (those of TOKENOMY_ENCODINGS_DIR when set, else the ones
bundled in data/encodings) through its own cache mechanism, so the reference is tiktoken's own
loader and hash check, not ours, and nothing is downloaded. Corpus tests skip with a reason when
TOKENOMY_CORPUS_DIR is unset and fail when it is set but a file is missing.

The whole suite runs with the network refused: a connection to anything but this machine, or a
name look-up of another host, fails the test that made it (Dask's local cluster uses loopback).
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import tiktoken

ENCODINGS_DIR = os.environ.get("TOKENOMY_ENCODINGS_DIR")
CORPUS_DIR = os.environ.get("TOKENOMY_CORPUS_DIR")
CORPUS_FILES = ("austen.txt", "pydocs.rst.txt", "stdlib_code.txt", "multilingual.txt")

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_DATA = Path(__file__).resolve().parents[1] / "data"
ENCODING_SPECS = tomllib.loads((_DATA / "encodings.toml").read_text("utf-8"))["encodings"]
ENCODING_NAMES = tuple(ENCODING_SPECS)


BUNDLED_DIR = _DATA / "encodings"


def _local(host: Any) -> bool:
    if host in (None, "", "localhost", b"localhost"):
        return True
    try:
        return ipaddress.ip_address(host if isinstance(host, str) else host.decode()).is_loopback
    except (ValueError, AttributeError, UnicodeDecodeError):
        return False


def _refuse_remote(family: int, address: Any) -> None:
    if family == getattr(socket, "AF_UNIX", None) or _local(address[0] if isinstance(address, tuple) else address):
        return
    raise AssertionError(f"network connection to {address!r} attempted: tokenomy must never use the network")


class _LoopbackOnlySocket(socket.socket):
    def connect(self, address: Any) -> None:
        _refuse_remote(self.family, address)
        super().connect(address)

    def connect_ex(self, address: Any) -> int:
        _refuse_remote(self.family, address)
        return super().connect_ex(address)


_getaddrinfo = socket.getaddrinfo


def _local_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not _local(host):
        raise AssertionError(f"name look-up of {host!r} attempted: tokenomy must never use the network")
    return _getaddrinfo(host, *args, **kwargs)


socket.socket = _LoopbackOnlySocket  # type: ignore[misc]
socket.getaddrinfo = _local_getaddrinfo


def _prime_tiktoken_cache() -> None:
    folder = Path(ENCODINGS_DIR) if ENCODINGS_DIR else BUNDLED_DIR
    cache = Path(tempfile.mkdtemp(prefix="tokenomy-tiktoken-cache-"))
    for spec in ENCODING_SPECS.values():
        for entry in spec["files"]:
            source = folder / entry["name"]
            key = hashlib.sha1(entry["url"].encode()).hexdigest()
            if source.is_file() and not (cache / key).exists():
                (cache / key).symlink_to(source)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)


_prime_tiktoken_cache()


def tiktoken_enc(name: str) -> tiktoken.Encoding:
    """tiktoken's own Encoding for ``name``: the reference every count is checked against."""
    return tiktoken.get_encoding(name)


def _fast_installed() -> bool:
    try:
        import toktok  # noqa: F401
    except ImportError:
        return False
    return True


# every exactness test runs on tiktoken itself and on each installed fast backend
BACKENDS = ("tiktoken", "fast") if _fast_installed() else ("tiktoken",)


def tokenizer(name: str, backend: str):  # type: ignore[no-untyped-def]
    """A Tokenizer for ``name`` served by ``backend`` ("tiktoken", "fast" from the first call, or "auto")."""
    from tokenomy.tokenizer import Tokenizer

    return Tokenizer(name, backend=backend)


def corpus_path(name: str) -> Path:
    if not CORPUS_DIR:
        pytest.skip("TOKENOMY_CORPUS_DIR is not set: corpus tests need the shared real-text corpus")
    path = Path(CORPUS_DIR) / name
    if not path.is_file():
        pytest.fail(f"TOKENOMY_CORPUS_DIR is set but {path} is missing")
    return path


_corpus_cache: dict[str, str] = {}


def corpus_text(name: str) -> str:
    if name not in _corpus_cache:
        _corpus_cache[name] = corpus_path(name).read_text(encoding="utf-8")
    return _corpus_cache[name]


@pytest.fixture(params=CORPUS_FILES)
def corpus_file(request: pytest.FixtureRequest) -> str:
    return str(request.param)
