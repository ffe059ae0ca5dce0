"""Where tokenizer vocabularies come from: a local folder (verified by SHA-256) or tiktoken.

Loading order for an encoding: the folder set by :func:`set_encodings_dir`, else the folder named
by ``TOKENOMY_ENCODINGS_DIR``, else tiktoken's own download and cache. Files from a folder must
have the SHA-256 that tiktoken expects. Each encoding is built once per process, on first use.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tiktoken

from tokenomy._data import table
from tokenomy.errors import EncodingFileError, EncodingUnavailableError, UnknownModelError

ENV_VAR = "TOKENOMY_ENCODINGS_DIR"

_folder: Path | None = None
_cache: dict[str, tiktoken.Encoding] = {}
_origins: dict[str, str] = {}
_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def encoding_names() -> tuple[str, ...]:
    """Names of every encoding tokenomy can load.

    >>> encoding_names()
    ('gpt2', 'r50k_base', 'p50k_base', 'p50k_edit', 'cl100k_base', 'o200k_base', 'o200k_harmony')
    """
    return tuple(table("encodings")["encodings"])


def set_encodings_dir(path: str | os.PathLike[str] | None) -> None:
    """Load vocabulary files from ``path`` from now on (``None`` goes back to the default).

    Encodings already built stay cached; call this before the first count.

    >>> set_encodings_dir(None)
    """
    global _folder
    if path is None:
        _folder = None
        return
    folder = Path(path)
    if not folder.is_dir():
        raise EncodingUnavailableError("*", ["<vocabulary files>"], str(folder), "not a folder")
    _folder = folder


def encodings_dir() -> Path | None:
    """The folder vocabulary files are read from, or ``None`` for tiktoken's download."""
    if _folder is not None:
        return _folder
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else None


def encoding_origin(name: str) -> str | None:
    """Where a loaded encoding came from (a folder or ``"tiktoken"``); ``None`` if not loaded."""
    return _origins.get(name)


def load_encoding(name: str) -> tiktoken.Encoding:
    """Return the tiktoken ``Encoding`` called ``name``, building it on first use.

    >>> load_encoding("cl100k_base").name
    'cl100k_base'
    """
    try:
        return _cache[name]
    except KeyError:
        pass
    specs = table("encodings")["encodings"]
    if name not in specs:
        import difflib

        raise UnknownModelError(name, difflib.get_close_matches(name, list(specs), n=3))
    with _guard:
        lock = _locks.setdefault(name, threading.Lock())
    with lock:
        if name not in _cache:
            encoding, origin = _build(name, specs[name])
            _cache[name], _origins[name] = encoding, origin
    return _cache[name]


def _build(name: str, spec: Mapping[str, Any]) -> tuple[tiktoken.Encoding, str]:
    files = [entry["name"] for entry in spec["files"]]
    folder = encodings_dir()
    if folder is not None and all((folder / f).is_file() for f in files):
        contents = [_read_verified(folder / e["name"], e["sha256"]) for e in spec["files"]]
        ranks = _data_gym_ranks(*contents) if spec["format"] == "data_gym" else _ranks(contents[0])
        special = dict(spec["special_tokens"])
        for first, last in spec.get("reserved_special_ranges", ()):
            special.update({f"<|reserved_{i}|>": i for i in range(first, last)})
        kwargs: dict[str, Any] = {}
        if "explicit_n_vocab" in spec:
            kwargs["explicit_n_vocab"] = spec["explicit_n_vocab"]
        encoding = tiktoken.Encoding(
            name, pat_str=spec["pattern"], mergeable_ranks=ranks, special_tokens=special, **kwargs
        )
        return encoding, str(folder)
    try:
        return tiktoken.get_encoding(name), "tiktoken"
    except Exception as error:  # tiktoken raises requests/OS errors of many kinds when offline
        raise EncodingUnavailableError(
            name, files, str(folder) if folder else None, f"{type(error).__name__}: {error}"
        ) from error


def _read_verified(path: Path, expected: str) -> bytes:
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise EncodingFileError(str(path), expected, actual)
    return data


def _ranks(contents: bytes) -> dict[bytes, int]:
    ranks = {}
    for line in contents.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def _data_gym_ranks(vocab_bpe: bytes, encoder_json: bytes) -> dict[bytes, int]:
    """GPT-2's merges file to byte-level ranks.

    GPT-2 writes each byte as a printable character: printable Latin-1 bytes stand for themselves,
    the other bytes (in order) for the characters from U+0100 up.
    """
    printable = [b for b in range(256) if chr(b).isprintable() and b != ord(" ")]
    order = printable + [b for b in range(256) if b not in set(printable)]
    char_to_byte = {chr(b): b for b in printable}
    char_to_byte.update({chr(256 + i): b for i, b in enumerate(order[len(printable) :])})

    def to_bytes(symbol: str) -> bytes:
        return bytes(char_to_byte[c] for c in symbol)

    ranks = {bytes([b]): rank for rank, b in enumerate(order)}
    for line in vocab_bpe.decode("utf-8").split("\n")[1:-1]:
        first, second = line.split()
        ranks[to_bytes(first) + to_bytes(second)] = len(ranks)
    # the encoder file must agree with the merges, as tiktoken checks too
    encoder = {to_bytes(k): v for k, v in json.loads(encoder_json).items() if not k.startswith("<|")}
    if encoder != ranks:
        raise EncodingFileError("encoder.json", "ranks matching vocab.bpe", "different ranks")
    return ranks
