"""Where tokenizer vocabularies come from: the files bundled with tokenomy, or a folder you name.

Loading order for an encoding: the folder set by :func:`set_encodings_dir`, else the folder named
by ``TOKENOMY_ENCODINGS_DIR``; when either is set it is the only place looked (a missing file is
:class:`EncodingUnavailableError`). Otherwise the files bundled in the package (``data/encodings``)
are used. Every file must have the SHA-256 that tiktoken expects. Nothing is ever downloaded:
tokenomy opens no network connection. Each encoding is built once per process, on first use.
"""

from __future__ import annotations

import binascii
import difflib
import hashlib
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokenomy._data import data_dir, table
from tokenomy.errors import EncodingFileError, EncodingUnavailableError, UnknownEncodingError

if TYPE_CHECKING:  # tiktoken is imported when an Encoding is first built, not at import
    import tiktoken

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


def encoding_spec(name: str) -> Mapping[str, Any]:
    """The ``data/encodings.toml`` entry for ``name``: files, pattern, special tokens.

    >>> encoding_spec("o200k_base")["special_tokens"]["<|endoftext|>"]
    199999
    """
    if not isinstance(name, str):
        raise TypeError(f"encoding name must be a str, not {type(name).__name__}")
    specs = table("encodings")["encodings"]
    if name not in specs:
        close = difflib.get_close_matches(name, list(specs), n=3) if len(name) <= 100 else []
        raise UnknownEncodingError(name, close, list(specs))
    spec: Mapping[str, Any] = specs[name]
    return spec


def set_encodings_dir(path: str | os.PathLike[str] | None) -> None:
    """Load vocabulary files from ``path`` only, from now on (``None``: the bundled files again).

    Encodings already built stay cached; call this before the first count.

    >>> set_encodings_dir(None)
    """
    global _folder
    if path is None:
        _folder = None
        return
    folder = Path(path)
    try:
        is_dir = folder.is_dir()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        is_dir = False
    if not is_dir:
        raise EncodingUnavailableError("*", ["<vocabulary files>"], str(folder), "it is not a folder")
    _folder = folder


def encodings_dir() -> Path | None:
    """The folder you chose for vocabulary files, or ``None`` when the bundled files are used."""
    if _folder is not None:
        return _folder
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else None


def bundled_dir() -> Path:
    """The folder of vocabulary files shipped with tokenomy."""
    return data_dir() / "encodings"


def encoding_origin(name: str) -> str | None:
    """Where a loaded encoding came from (a folder, or ``"bundled"``); ``None`` if not loaded."""
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
    spec = encoding_spec(name)
    with _guard:
        lock = _locks.setdefault(name, threading.Lock())
    with lock:
        if name not in _cache:
            ranks, origin = vocabulary(name)
            _cache[name] = _build(name, spec, ranks)
            _origins[name] = origin
    return _cache[name]


def forget_encoding(name: str) -> None:
    """Drop the cached Encoding of ``name`` (a fast backend serves it now); it is rebuilt if asked for."""
    with _guard:
        _cache.pop(name, None)


def vocabulary(name: str) -> tuple[dict[bytes, int], str]:
    """The verified mergeable ranks of ``name`` and the folder they were read from."""
    spec = encoding_spec(name)
    folder = encodings_dir()
    where = folder if folder is not None else bundled_dir()
    files = [entry["name"] for entry in spec["files"]]
    missing = [f for f in files if not (where / f).is_file()]
    if missing:
        cause = "not found" if folder is not None else "missing from the installed package"
        raise EncodingUnavailableError(name, missing, str(where), cause, bundled=folder is None)
    contents = [_read_verified(where / e["name"], e["sha256"]) for e in spec["files"]]
    ranks = _data_gym_ranks(*contents) if spec["format"] == "data_gym" else _ranks(contents[0])
    return ranks, str(folder) if folder is not None else "bundled"


def _build(name: str, spec: Mapping[str, Any], ranks: dict[bytes, int]) -> tiktoken.Encoding:
    import tiktoken  # ~40 ms of import: not at the top, as a fast backend may serve alone

    special = dict(spec["special_tokens"])
    for first, last in spec.get("reserved_special_ranges", ()):
        special.update({f"<|reserved_{i}|>": i for i in range(first, last)})
    kwargs: dict[str, Any] = {}
    if "explicit_n_vocab" in spec:
        kwargs["explicit_n_vocab"] = spec["explicit_n_vocab"]
    return tiktoken.Encoding(name, pat_str=spec["pattern"], mergeable_ranks=ranks, special_tokens=special,
                             **kwargs)  # fmt: skip


def _read_verified(path: Path, expected: str) -> bytes:
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise EncodingFileError(str(path), expected, actual)
    return data


def _ranks(contents: bytes) -> dict[bytes, int]:
    """A ``.tiktoken`` file (one ``base64-token rank`` pair a line) to ranks, as tiktoken reads it.

    Split once and decoded in bulk: about half the time of tiktoken's loop over lines. The files
    accepted (each has a known SHA-256) number their tokens 0, 1, 2, ... in order, which is checked
    at both ends here and line by line against tiktoken's own loader in tests/test_encodings.py.
    """
    words = contents.split()
    tokens = list(map(binascii.a2b_base64, words[0::2]))
    n = len(tokens)
    if len(words) == 2 * n and words[1:2] == [b"0"] and words[-1] == b"%d" % (n - 1):
        return dict(zip(tokens, range(n), strict=True))
    if len(words) != 2 * n:
        raise EncodingFileError("a .tiktoken file", "pairs of token and rank", "an odd number of words")
    return dict(zip(tokens, map(int, words[1::2]), strict=True))


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
    import json  # only GPT-2's encoder file is JSON

    # the encoder file must agree with the merges, as tiktoken checks too
    encoder = {to_bytes(k): v for k, v in json.loads(encoder_json).items() if not k.startswith("<|")}
    if encoder != ranks:
        raise EncodingFileError("encoder.json", "ranks matching vocab.bpe", "different ranks")
    return ranks
