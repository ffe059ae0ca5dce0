"""truncate and fits: exact, maximal, lossless accounting, every side."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokenomy
from tests.conftest import corpus_text, tiktoken_enc
from tokenomy import BudgetError, fits, truncate

ENC = "o200k_base"


def n(text: str) -> int:
    return len(tiktoken_enc(ENC).encode_ordinary(text))


@given(
    text=st.text(max_size=400),
    limit=st.integers(1, 60),
    side=st.sampled_from(["end", "start", "middle"]),
)
@settings(max_examples=300, deadline=None)
def test_truncation_invariants(text: str, limit: int, side: str) -> None:
    """Kept text counts <= limit on its own, is a prefix/suffix/both of the input, and the
    reported dropped part plus the kept ranges rebuild the input exactly."""
    try:
        t = truncate(text, limit, model="gpt-4o", side=side)
    except BudgetError:
        assert side == "middle"  # the marker alone may not fit a tiny budget
        return
    assert t.tokens == n(t.text) <= limit
    if not t.truncated:
        assert t.text == text and n(text) <= limit
        return
    kept_chars = sum(b - a for a, b in t.kept)
    assert kept_chars + t.dropped_chars == len(text)
    if side == "end":
        ((a, b),) = t.kept
        assert a == 0 and t.text == text[:b] and text.startswith(t.text)
        assert t.tokens + t.dropped_tokens == n(text)
    elif side == "start":
        ((a, b),) = t.kept
        assert b == len(text) and t.text == text[a:]
        assert t.tokens + t.dropped_tokens == n(text)
    else:
        (a1, b1), (a2, b2) = t.kept
        assert t.text == text[a1:b1] + t.marker + text[a2:b2]
        assert t.dropped_tokens == n(text[b1:a2])


def test_truncation_is_maximal_on_prose(corpus_file: str) -> None:
    """Keeping the next word of the input would exceed the budget (end side)."""
    text = corpus_text(corpus_file)[:200_000]
    for limit in (1, 7, 100, 512, 4096):
        t = truncate(text, limit, model="gpt-4o")
        assert t.tokens == n(t.text) <= limit
        end = t.kept[0][1]
        nxt = text.find(" ", end + 1)
        if nxt != -1 and nxt - end < 200:
            assert n(text[:nxt]) > limit or (n(text[:nxt]) <= limit and nxt == end)
        assert t.tokens + t.dropped_tokens == n(text)


def test_start_side_on_corpus(corpus_file: str) -> None:
    """Keeping the end of a long document is exact and close to the budget."""
    text = corpus_text(corpus_file)[:300_000]
    t = truncate(text, 2000, model="gpt-4o", side="start")
    assert t.tokens == n(t.text) <= 2000 and t.tokens > 1900
    assert t.tokens + t.dropped_tokens == n(text)


def test_never_splits_characters() -> None:
    """Multi-byte text is cut between characters; no U+FFFD ever appears."""
    text = "日本語のテキストと😀絵文字🙂です。" * 200
    for limit in (1, 3, 10, 77):
        for side in ("end", "start", "middle")[: 3 if limit > 2 else 2]:
            t = truncate(text, limit, model="gpt-4", side=side)
            assert "\ufffd" not in t.text and t.tokens == len(
                tiktoken_enc("cl100k_base").encode_ordinary(t.text)
            )


@pytest.mark.parametrize("bad", [0, -5, 2.5, "10", True, None])
def test_bad_budgets(bad: object) -> None:
    """Negative, zero and non-integer budgets raise BudgetError."""
    with pytest.raises(BudgetError):
        truncate("hello", bad, model="gpt-4o")  # type: ignore[arg-type]


def test_fits_and_count_until() -> None:
    """fits answers exactly and count_until stops early with a number above the limit."""
    text = "word " * 50_000
    tok = tokenomy.encoding_for(ENC)
    assert fits(text, n(text), model="gpt-4o") and not fits(text, n(text) - 1, model="gpt-4o")
    early = tok.count_until(text, 100)
    assert 100 < early < n(text)
    assert tok.count_until("short", 100) == n("short")
    with pytest.raises(BudgetError):
        fits("x", -1)


@given(text=st.text(max_size=3000), limit=st.integers(0, 400))
@settings(max_examples=150, deadline=None)
def test_count_until_is_exact_below_the_limit(text: str, limit: int) -> None:
    """count_until returns the exact count whenever it is within the limit."""
    from tokenomy import tokenizer

    whole = n(text)
    got = tokenomy.encoding_for(ENC).count_until(text * 3, limit)
    whole = n(text * 3)
    assert got == whole if whole <= limit else got > limit
    assert tokenizer  # module imported for its side-effect-free use


def test_count_stream_and_parallel_are_exact(corpus_file: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Streaming a file in small blocks and counting across processes give the exact count."""
    text = corpus_text(corpus_file)[:1_500_000]
    path = tmp_path / "doc.txt"
    path.write_text(text, encoding="utf-8")
    tok = tokenomy.encoding_for(ENC)
    with path.open(encoding="utf-8") as handle:
        assert tok.count_stream(handle, block_chars=10_000) == n(text)
    assert tok.count_stream(iter([text[:1000], text[1000:]]), block_chars=500) == n(text)
    assert tok.count_parallel(text) == n(text)


def test_one_budget_rule() -> None:
    """fits takes 0 (only "" fits); truncate and chunk need 1; all refuse the same bad budgets alike."""
    assert fits("", 0) and not fits("a", 0)
    calls = (fits, truncate, lambda text, budget: list(tokenomy.chunk(text, budget)))
    for bad, call in itertools.product((-1, 2.5, "3", True, None), calls):
        with pytest.raises(BudgetError, match="whole number of tokens"):
            call("x", bad)
    with pytest.raises(BudgetError, match=">= 1"):
        truncate("x", 0)


def test_truncate_as_of_is_deprecated() -> None:
    """truncate ignores as_of: passing one warns, and the cut is the same."""
    with pytest.warns(DeprecationWarning, match="as_of"):
        old = truncate("hello world again", 2, as_of=date(2024, 1, 1))
    assert old == truncate("hello world again", 2) and old.to_dict()["dropped_tokens"] == old.dropped_tokens
