"""Counting equals tiktoken: corpus, generated strings, special look-alikes, hostile runs."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokenomy
from tests.conftest import BACKENDS, ENCODING_NAMES, corpus_text, tiktoken_enc, tokenizer
from tokenomy import encoding_for
from tokenomy.errors import UnsupportedModelError

TEXTS = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=300) | st.sampled_from(
    ["<|endoftext|>", "<|im_start|>user", " \n\t\u3000", "🧑‍🤝‍🧑", "e\u0301\u0301"]
)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ENCODING_NAMES)
@given(text=TEXTS)
@settings(max_examples=150, deadline=None)
def test_count_and_ids_match_tiktoken(name: str, backend: str, text: str) -> None:
    """Counts and ids equal tiktoken's for any string, special-token look-alikes included."""
    ref = tiktoken_enc(name).encode_ordinary(text)
    tok = tokenizer(name, backend)
    assert tok.encode(text) == ref
    assert tok.count(text) == len(ref)
    assert tok.encode_array(text).tolist() == ref
    assert tok.count_batch([text, text]) == [len(ref)] * 2


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ENCODING_NAMES)
def test_corpus_counts_match_tiktoken(name: str, backend: str, corpus_file: str) -> None:
    """On real prose, docs, code and 21 languages, ids and counts equal tiktoken's."""
    text = corpus_text(corpus_file)[:400_000]
    ref = tiktoken_enc(name).encode_ordinary(text)
    tok = tokenizer(name, backend)
    assert tok.encode(text) == ref
    assert tok.count(text) == len(ref)
    assert tok.encode_array(text).tolist() == ref


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_piecewise_path_is_exact_on_corpus(name: str, corpus_file: str) -> None:
    """The crash-free piece-by-piece path gives tiktoken's ids on real text."""
    text = corpus_text(corpus_file)[:300_000]
    assert encoding_for(name)._encode_by_pieces(text) == tiktoken_enc(name).encode_ordinary(text)


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base", "r50k_base"])
@given(
    parts=st.lists(
        st.sampled_from(
            [
                "a",
                " ",
                "  ",
                "\n",
                "\t",
                "'s",
                ".",
                "1",
                "中",
                "\r\n",
                " x",
                "é",
                "\u3000",
                "//",
                "ab ",
            ]
        ),
        max_size=200,
    )
)
@settings(max_examples=200, deadline=None)
def test_piecewise_path_is_exact_on_generated_text(name: str, parts: list[str]) -> None:
    """Segment cuts after non-whitespace keep ids identical, whatever the mix of runs."""
    from tokenomy import _tiktoken

    text = "".join(parts)
    old = _tiktoken.LONG_PIECE, _tiktoken.SEGMENT
    _tiktoken.LONG_PIECE, _tiktoken.SEGMENT = 3, 5  # force many cuts and single pieces
    try:
        got = encoding_for(name)._encode_by_pieces(text)
    finally:
        _tiktoken.LONG_PIECE, _tiktoken.SEGMENT = old
    assert got == tiktoken_enc(name).encode_ordinary(text)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_million_spaces_on_o200k_is_counted_exactly(backend: str) -> None:
    """Where tiktoken 0.14 panics (o200k, 10^6 spaces) the count equals tiktoken's own
    regex-module reference path (`_encode_only_native_bpe`)."""
    text = " " * 1_000_000 + "end"
    expected = len(tiktoken_enc("o200k_base")._encode_only_native_bpe(text))
    assert tokenizer("o200k_base", backend).count(text) == expected
    assert tokenomy.count(text, model="gpt-4o") == expected


@pytest.mark.parametrize("run", [" " * 700_000, "\t" * 300_000 + "x", "a " + " \t" * 200_000])
def test_long_runs_match_tiktoken_where_it_survives(run: str) -> None:
    """Below tiktoken's panic size the detour through pieces gives tiktoken's exact ids."""
    assert encoding_for("o200k_base").encode(run) == tiktoken_enc("o200k_base").encode_ordinary(run)


def test_special_token_lookalikes_are_text() -> None:
    """User text with <|endoftext|> is counted as text, never raises, never a control token."""
    tok = encoding_for("cl100k_base")
    ids = tok.encode("say <|endoftext|> now")
    assert 100257 not in ids
    assert tok.encode("<|endoftext|>", allowed_special={"<|endoftext|>"}) == [100257]
    assert tokenomy.count("<|endoftext|><|endoftext|>", model="gpt-4", allowed_special="all") == 2


def test_unknown_special_name_is_refused() -> None:
    """Asking to allow a special token the encoding lacks is an error, not a silent no-op."""
    with pytest.raises(ValueError):
        encoding_for("r50k_base").encode("x", allowed_special={"<|im_start|>"})


def test_count_batch_preserves_order_serial_and_parallel() -> None:
    """count_batch equals a loop of counts, for small batches and for parallel large ones."""
    tok = encoding_for("o200k_base")
    small = ["a", "hello world", "", "<|endoftext|>"]
    assert tok.count_batch(small) == [tok.count(t) for t in small]
    big = [f"line {i} " * (i % 50 + 1) for i in range(6000)]
    assert tok.count_batch(iter(big)) == [len(tiktoken_enc("o200k_base").encode_ordinary(t)) for t in big]


def test_non_text_model_has_no_tokenizer() -> None:
    """A model billed per image says so instead of guessing a tokenizer."""
    with pytest.raises(UnsupportedModelError, match="image"):
        tokenomy.count("a cat", model="dall-e-3")


def test_wrong_type_is_a_type_error() -> None:
    """Bytes where text is expected raise TypeError naming the type."""
    with pytest.raises(TypeError, match="bytes"):
        encoding_for("cl100k_base").count(b"abc")  # type: ignore[arg-type]


def test_lone_surrogates_count_like_tiktoken() -> None:
    """Lone surrogates are replaced as tiktoken does, never an exception."""
    text = "a\ud800b"
    assert encoding_for("o200k_base").count(text) == len(tiktoken_enc("o200k_base").encode_ordinary(text))


def test_count_cache_is_exact_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cached counts equal fresh ones; the cache never holds more than its character budget."""
    from tokenomy import tokenizer as module

    monkeypatch.setattr(module, "_CACHE_CHARS", 10_000)
    tok = tokenizer("o200k_base", "tiktoken")
    texts = [f"system prompt number {i} " * 40 for i in range(50)]
    for _ in range(2):
        assert [tok.count_cached(t) for t in texts] == [
            len(tiktoken_enc("o200k_base").encode_ordinary(t)) for t in texts
        ]
    entries = sum(len(t) + module._ENTRY_CHARS for t in tok._cache)
    assert tok._cache_chars <= 10_000 and entries == tok._cache_chars
    assert tok.count_cached("short") == 1 and "short" not in tok._cache


def test_count_cache_keeps_short_repeats_while_tiktoken_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """On tiktoken a short repeated string (a one-line system prompt) is remembered; many tiny
    ones stay within the budget by entries, not only by characters."""
    from tokenomy import tokenizer as module

    monkeypatch.setattr(module, "_CACHE_CHARS", 10_000)
    tok = tokenizer("o200k_base", "tiktoken")
    prompt = "You are a concise assistant."
    assert tok.count_cached(prompt) == tok.count_cached(prompt) == len(tiktoken_enc("o200k_base").encode_ordinary(prompt))
    assert prompt in tok._cache
    texts = [f"question {i:08d}" for i in range(2_000)]
    assert [tok.count_cached(t) for t in texts] == [len(tiktoken_enc("o200k_base").encode_ordinary(t)) for t in texts]
    assert len(tok._cache) <= 10_000 // module._ENTRY_CHARS


def test_count_cache_skips_short_strings_on_the_fast_backend() -> None:
    """Where a count costs about a cache hit, short strings are counted, not remembered."""
    tok = tokenizer("o200k_base", "fast")
    if tok.backend == "tiktoken":
        pytest.skip("no fast backend installed")
    prompt = "You are a concise assistant."
    assert tok.count_cached(prompt) == len(tiktoken_enc("o200k_base").encode_ordinary(prompt))
    assert prompt not in tok._cache


@pytest.mark.parametrize("bad", [None, 5, b"You are a concise assistant.", ["text"], {"text": 1}, ("a", "b")])
def test_count_cached_refuses_what_is_not_text(bad: Any) -> None:
    """A cached count takes a str only: hashable or not, anything else is a TypeError naming its type,
    before and after a str is cached."""
    tok = tokenizer("o200k_base", "tiktoken")
    for _ in range(2):
        with pytest.raises(TypeError, match=f"text must be a str, not {type(bad).__name__}"):
            tok.count_cached(bad)
        tok.count_cached("You are a concise assistant.")


def test_decode_refuses_ids_the_encoding_lacks() -> None:
    """Out-of-range, negative and gap ids are InvalidArgumentError naming the id; non-ids TypeError."""
    tok = encoding_for("o200k_base")
    assert tok.decode(tok.encode("hello wörld")) == "hello wörld"
    for bad in ([10**9], [-1], [10**400], [199_998]):  # 199,998 lies between the vocabulary and the specials
        with pytest.raises(tokenomy.InvalidArgumentError) as info:
            tok.decode(bad)
        assert isinstance(info.value, ValueError) and info.value.argument == "ids"
    for wrong in (["a"], [1.5], "abc", 5):
        with pytest.raises(TypeError):
            tok.decode(wrong)  # type: ignore[arg-type]


@pytest.mark.parametrize("allowed", ["<|endoftext|>", {"<|nope|>"}, ["<|endoftext|>", "<|im_start|>"]])
def test_allowed_special_must_name_special_tokens(allowed: object) -> None:
    """allowed_special given as one string, or naming tokens the encoding lacks, is InvalidArgumentError."""
    with pytest.raises(tokenomy.InvalidArgumentError):
        tokenomy.count("<|endoftext|>", model="gpt-4o", allowed_special=allowed)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        tokenomy.count("x", model="gpt-4o", allowed_special={5})  # type: ignore[arg-type]


def test_count_stream_against_a_budget_stops_on_endless_input() -> None:
    """count_stream(max_tokens=) stops on an endless stream with no cut in it (NULs) or with cuts,
    returning a number above the budget; block_chars must be positive."""
    import io
    import itertools

    tok = encoding_for("o200k_base")
    assert tok.count_stream(itertools.repeat("\0" * 4096), max_tokens=5) > 5
    assert tok.count_stream(itertools.repeat("hello world "), max_tokens=1000) > 1000
    text = "hello wörld, " * 5000
    assert tok.count_stream(io.StringIO(text), max_tokens=10**9) == tok.count(text)
    assert tok.count_stream(io.StringIO(text), max_tokens=100) > 100
    for bad in (0, -1, 1.5, True):
        with pytest.raises(tokenomy.InvalidArgumentError):
            tok.count_stream(["x"], block_chars=bad)  # type: ignore[arg-type]
    with pytest.raises(tokenomy.BudgetError):
        tok.count_stream(["x"], max_tokens=-1)


@given(text=TEXTS, limit=st.integers(0, 300))
@settings(max_examples=100, deadline=None)
def test_count_until_is_exact_within_the_limit(text: str, limit: int) -> None:
    """count_until and count_stream(max_tokens=) are exact at or under the limit and above it otherwise."""
    tok = encoding_for("cl100k_base")
    full = tok.count(text)
    for got in (tok.count_until(text, limit), tok.count_stream([text[:7], text[7:]], max_tokens=limit)):
        assert got == full if full <= limit else got > limit


def test_unknown_encodings_and_backends() -> None:
    """Tokenizer("nope") is UnknownEncodingError (a KeyError); a bad backend InvalidArgumentError."""
    with pytest.raises(tokenomy.UnknownEncodingError) as info:
        tokenomy.Tokenizer("cl100k")
    assert isinstance(info.value, KeyError) and "cl100k_base" in info.value.close
    with pytest.raises(tokenomy.InvalidArgumentError):
        tokenomy.Tokenizer("cl100k_base", backend="gpu")


def test_an_encoding_tokenomy_does_not_bundle_survives_long_runs() -> None:
    """A tiktoken Encoding under another name is split by its own pattern where tiktoken panics,
    and counts as tiktoken's regex-module reference path does."""
    import tiktoken

    ref = tiktoken_enc("o200k_base")
    mine = tiktoken.Encoding("my-o200k", pat_str=ref._pat_str, mergeable_ranks=ref._mergeable_ranks,
                             special_tokens=ref._special_tokens)  # fmt: skip
    text = "a" + " " * 1_000_000 + "end"
    tok = tokenomy.Tokenizer(mine)
    assert tok.count(text) == len(ref._encode_only_native_bpe(text))
    assert tok.count_until(text, 10) > 10
