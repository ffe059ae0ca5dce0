"""The additive-cut rules hold for every encoding: count(a + b) == count(a) + count(b)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import ENCODING_NAMES, corpus_text, tiktoken_enc
from tokenomy._cuts import _punct_after_word, cut_before, cut_near, is_safe_space

PARTS = st.lists(
    st.sampled_from(["a", "B", " ", "  ", "\n", "\n\n", "\t", "'s", "'", ".", ",", "1", "22", "中文",
                     "。", "\r\n", " x", "é", "e\u0301", "\u3000", "//", "ab ", "<|endoftext|>", "🙂",
                     "ß", "İ", "\u200b", "$", "-", "x'", "It'S", "\u0301"]),
    max_size=60,
)  # fmt: skip


def _rule_positions(text: str) -> list[int]:
    spaces = [p for p in range(1, len(text)) if is_safe_space(text, p)]
    punct = [m.start() for m in _punct_after_word().finditer(text)]
    return sorted(set(spaces + punct))


@pytest.mark.parametrize("name", ENCODING_NAMES)
@given(parts=PARTS)
@settings(max_examples=250, deadline=None)
def test_rules_are_additive_on_generated_text(name: str, parts: list[str]) -> None:
    """At every position either rule picks, the two sides' counts add up to the whole's."""
    text = "".join(parts)
    enc = tiktoken_enc(name)
    whole = len(enc.encode_ordinary(text))
    for p in _rule_positions(text):
        assert len(enc.encode_ordinary(text[:p])) + len(enc.encode_ordinary(text[p:])) == whole, (
            p,
            text,
        )


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base", "r50k_base"])
def test_rules_are_additive_on_corpus(name: str, corpus_file: str) -> None:
    """On real text in many languages, sampled rule positions are additive cuts."""
    text = corpus_text(corpus_file)
    enc = tiktoken_enc(name)
    rng = random.Random(5)
    checked = 0
    for _ in range(60):
        a = rng.randrange(0, len(text) - 3000)
        window = text[a : a + 3000]
        whole = len(enc.encode_ordinary(window))
        positions = _rule_positions(window)
        for p in rng.sample(positions, min(5, len(positions))):
            assert len(enc.encode_ordinary(window[:p])) + len(enc.encode_ordinary(window[p:])) == whole
            checked += 1
    assert checked > 100


def test_cut_helpers_find_rule_positions() -> None:
    """cut_near and cut_before return positions where a rule holds, or the text's ends."""
    text = "alpha beta\n\ngamma。delta"
    assert cut_near(text, 1) == 5 and is_safe_space(text, 5)
    assert cut_before(text, 9) == 5
    cjk = "中文" * 50 + "。" + "中文" * 50
    assert cut_near(cjk, 10) == 100  # the punctuation rule, no spaces at all
    assert cut_near("", 0) == 0
