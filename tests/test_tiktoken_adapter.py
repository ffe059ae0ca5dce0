"""The tiktoken internals ``src/tokenomy/_tiktoken.py`` relies on, pinned against the installed tiktoken.

Each test names what to update if a tiktoken release renames or changes one of them; no other
module of tokenomy may read a private tiktoken name.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tiktoken

from tests.conftest import ENCODING_NAMES, ENCODING_SPECS, tiktoken_enc
from tokenomy import _tiktoken

SRC = Path(__file__).resolve().parents[1] / "src" / "tokenomy"
TEXTS = ("", "hello world", "  leading spaces\n\n\ttabs", "日本語のテキスト", "don't stop 123,456.7", "🧑‍🤝‍🧑 e\u0301")
FIX = (f"tiktoken {tiktoken.__version__} changed it: update src/tokenomy/_tiktoken.py, or bound tiktoken "
       "below this version in pyproject.toml until it is updated")  # fmt: skip


@pytest.mark.parametrize("name", _tiktoken.INTERNALS)
def test_every_internal_exists(name: str) -> None:
    """tiktoken.Encoding still has each private name the adapter reads."""
    assert hasattr(tiktoken_enc("cl100k_base"), name), f"tiktoken.Encoding has no {name}; {FIX}"


@pytest.mark.parametrize("encoding", ENCODING_NAMES)
def test_core_encodes_as_the_public_method(encoding: str) -> None:
    """core(e).encode_ordinary is e.encode_ordinary without its Python frame: the same ids."""
    enc = tiktoken_enc(encoding)
    core = _tiktoken.core(enc)
    for text in TEXTS:
        assert core.encode_ordinary(text) == enc.encode_ordinary(text), f"Encoding._core_bpe; {FIX}"


@pytest.mark.parametrize("encoding", ENCODING_NAMES)
def test_pattern_and_single_pieces(encoding: str) -> None:
    """The pattern is the encoding's, and each of its pieces encoded alone gives tiktoken's ids."""
    enc = tiktoken_enc(encoding)
    assert _tiktoken.pattern(enc) == ENCODING_SPECS[encoding]["pattern"], f"Encoding._pat_str; {FIX}"
    splitter = _tiktoken.pieces(_tiktoken.pattern(enc))
    for text in TEXTS:
        pieces = [m.group() for m in splitter.finditer(text)]
        assert "".join(pieces) == text
        ids = [i for piece in pieces for i in enc._encode_single_piece(piece.encode("utf-8"))]
        assert ids == enc.encode_ordinary(text), f"Encoding._encode_single_piece; {FIX}"


@pytest.mark.parametrize("encoding", ENCODING_NAMES)
def test_ranks_and_special_tokens_are_every_token(encoding: str) -> None:
    """mergeable_ranks maps each token's bytes to its id and special_tokens each name to its id:
    together they are every id tiktoken decodes."""
    enc = tiktoken_enc(encoding)
    ranks, special = _tiktoken.mergeable_ranks(enc), _tiktoken.special_tokens(enc)
    assert set(special) == enc.special_tokens_set, f"Encoding._special_tokens; {FIX}"
    assert all(enc.encode_single_token(name) == i for name, i in special.items()), f"Encoding._special_tokens; {FIX}"
    assert max([*ranks.values(), *special.values()]) + 1 == enc.n_vocab, f"Encoding._mergeable_ranks; {FIX}"
    for i in range(0, len(ranks), max(1, len(ranks) // 500)):
        token = enc.decode_single_token_bytes(i)
        assert ranks[token] == i, f"Encoding._mergeable_ranks; {FIX}"


def test_lone_surrogates_as_tiktoken_encodes_them() -> None:
    """tiktoken encodes a lone surrogate as U+FFFD, as without_surrogates writes it."""
    enc = tiktoken_enc("o200k_base")
    text = "a\ud800b\udfffc \ud83d"
    assert enc.encode(text) == enc.encode_ordinary(_tiktoken.without_surrogates(text)), FIX


def test_a_panic_is_recognised() -> None:
    """A Rust panic inside tiktoken (o200k_base on a million spaces) is what is_panic looks for."""
    try:
        tiktoken_enc("o200k_base").encode_ordinary(" " * 1_000_000 + "x")
    except BaseException as error:
        assert _tiktoken.is_panic(error), f"{type(error)} is not a panic is_panic knows; {FIX}"
    else:
        pytest.skip(f"tiktoken {tiktoken.__version__} no longer panics here: the work-around is unused")


def test_no_other_module_reads_tiktoken_internals() -> None:
    """Only _tiktoken.py reads private tiktoken names."""
    private = re.compile(r"\.(" + "|".join(map(re.escape, _tiktoken.INTERNALS)) + r")\b")
    readers = [
        f"{path.relative_to(SRC)}:{n}"
        for path in SRC.rglob("*.py") if path.name != "_tiktoken.py"
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1) if private.search(line)
    ]  # fmt: skip
    assert not readers, f"tiktoken internals read outside src/tokenomy/_tiktoken.py: {readers}"
