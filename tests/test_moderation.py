"""Moderation planning and merging: documented chunk sizes, caps, max-score merging."""

from __future__ import annotations

import inspect
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import corpus_text, tiktoken_enc
from tokenomy import (
    BudgetError,
    ResultFormatError,
    merge_moderation,
    model_info,
    moderate_long,
    moderate_long_batch,
    moderation_chunks,
)


def n(text: str, name: str = "o200k_base") -> int:  # the encoding of the default, omni-moderation-latest
    return len(tiktoken_enc(name).encode_ordinary(text))


def test_documented_merge_example() -> None:
    """Chunk scores 0.9901 and 0.1901 merge to 0.9901; flags are OR-ed."""
    chunks = [
        {"flagged": True, "categories": {"hate": True, "violence": False},
         "category_scores": {"hate": 0.9901, "violence": 0.01}},
        {"flagged": False, "categories": {"hate": False, "violence": False},
         "category_scores": {"hate": 0.1901, "violence": 0.2}},
    ]  # fmt: skip
    merged = merge_moderation(chunks)[0]
    assert merged["category_scores"] == {"hate": 0.9901, "violence": 0.2}
    assert merged["flagged"] and merged["categories"] == {"hate": True, "violence": False}
    assert merged["max_score_chunk"] == {"hate": 0, "violence": 1}


def test_long_text_uses_the_cap_and_reports_the_rest() -> None:
    """Over 40,000 tokens: chunks of at most 4,096 use (nearly) all of 32,768; the tail is reported."""
    text = corpus_text("austen.txt")[:250_000]
    assert n(text) > 40_000
    plan = moderation_chunks(text)
    assert all(c.tokens == n(c.text) <= 4096 for c in plan.chunks)
    used = sum(c.tokens for c in plan.chunks)
    assert 32_768 - 50 <= used <= 32_768
    assert plan.truncated and plan.checked_until[0] == plan.chunks[-1].end
    assert plan.dropped_chars[0] == len(text) - plan.checked_until[0]
    assert used + plan.dropped_tokens[0] == n(text)
    whole = moderation_chunks(text, max_tokens=None)
    assert not whole.truncated and "".join(whole.texts) == text


def test_list_input_tracks_owners() -> None:
    """An array input keeps track of which chunk belongs to which input."""
    plan = moderation_chunks(["short one", "word " * 9000, "third"], model="omni-moderation-latest")
    assert plan.inputs == 3 and plan.input_index[0] == 0 and plan.input_index[-1] == 2
    assert sorted(set(plan.input_index)) == [0, 1, 2]
    results = [{"flagged": i == 2, "categories": {"x": i == 2}, "category_scores": {"x": i / 10}}
               for i in range(len(plan.chunks))]  # fmt: skip
    merged = merge_moderation(results, plan=plan)
    assert len(merged) == 3
    assert merged[1]["flagged"] and merged[1]["category_scores"]["x"] == max(
        i / 10 for i, o in enumerate(plan.input_index) if o == 1
    )
    assert not merged[0]["flagged"]


def test_sdk_objects_omni_categories_and_unknown_categories() -> None:
    """SDK-like objects, applied input types and unknown categories merge without loss."""

    class Model(SimpleNamespace):
        def model_dump(self, by_alias: bool = False) -> dict[str, Any]:
            return dict(vars(self))

    one = SimpleNamespace(
        flagged=False,
        categories=Model(**{"violence/graphic": False}),
        category_scores=Model(**{"violence/graphic": 0.3}),
        category_applied_input_types=Model(**{"violence/graphic": ["text"]}),
    )
    two = {
        "flagged": True,
        "categories": {"violence/graphic": True, "brand_new": True},
        "category_scores": {"violence/graphic": 0.7, "brand_new": 0.5},
        "category_applied_input_types": {"violence/graphic": ["image", "text"]},
    }
    merged = merge_moderation([{"id": "r", "results": [one, two]}])[0]
    assert merged["category_scores"] == {"violence/graphic": 0.7, "brand_new": 0.5}
    assert merged["category_applied_input_types"]["violence/graphic"] == ["text", "image"]
    assert merged["categories"]["brand_new"] is True


@pytest.mark.parametrize(
    "bad",
    [
        [],
        [{"flagged": "yes"}],
        [{"flagged": True, "categories": {}}],
        [{"flagged": True, "categories": {}, "category_scores": {"a": "x"}}],
        "nope",
    ],
)
def test_malformed_results(bad: Any) -> None:
    """Missing fields, wrong types and empty lists raise ResultFormatError."""
    with pytest.raises(ResultFormatError):
        merge_moderation(bad)


def test_mismatched_lengths() -> None:
    """More or fewer results than planned chunks is an error, not a silent merge."""
    plan = moderation_chunks(["a", "b"])
    one = {"flagged": False, "categories": {}, "category_scores": {}}
    with pytest.raises(ResultFormatError, match="2 planned"):
        merge_moderation([one], plan=plan)


def test_moderate_long_calls_in_batches() -> None:
    """moderate_long calls the function once per batch and merges per input."""
    calls: list[int] = []

    def fake(texts: list[str]) -> dict[str, Any]:
        calls.append(len(texts))
        return {"results": [{"flagged": "bad" in t, "categories": {"h": "bad" in t},
                             "category_scores": {"h": 0.9 if "bad" in t else 0.1}} for t in texts]}  # fmt: skip

    text = "fine words " * 20_000 + " bad " + "fine words " * 2000
    merged = moderate_long(text, fake, batch_size=3, max_tokens=None)
    assert isinstance(merged, dict) and merged["flagged"] and merged["category_scores"]["h"] == 0.9
    assert max(calls) <= 3 and sum(calls) == len(moderation_chunks(text, max_tokens=None).chunks)


def test_bad_plans() -> None:
    """Empty input and impossible sizes raise clear errors."""
    with pytest.raises(BudgetError):
        moderation_chunks([])
    with pytest.raises(BudgetError):
        moderation_chunks("x", chunk_tokens=0)


@given(text=st.text(max_size=500), size=st.integers(1, 30), cap=st.none() | st.integers(1, 80))
@settings(max_examples=150, deadline=None)
def test_plan_invariants(text: str, size: int, cap: int | None) -> None:
    """Chunks fit, tile the checked prefix, and checked + dropped rebuild the input."""
    try:
        plan = moderation_chunks(text, chunk_tokens=size, max_tokens=cap)
    except BudgetError:
        return  # a single character larger than the chunk size
    checked = plan.checked_until[0]
    assert "".join(plan.texts) == text[:checked]
    assert all(c.tokens == n(c.text) <= size for c in plan.chunks)
    assert checked + plan.dropped_chars[0] == len(text)
    if cap is not None:
        assert n(text[:checked]) <= cap
    assert plan.dropped_tokens[0] == n(text[checked:])


def _fake(texts: list[str]) -> dict[str, Any]:
    return {"results": [{"flagged": False, "categories": {"hate": False}, "category_scores": {"hate": 0.0}}
                        for _ in texts]}  # fmt: skip


def test_empty_inputs_are_sent_as_the_endpoint_takes_them() -> None:
    """"", lists holding "" and a cap below the first character each get one empty chunk and a result."""
    assert moderation_chunks("").texts == [""]
    assert moderate_long("", _fake)["flagged"] is False  # type: ignore[index]
    plan = moderation_chunks(["", "hi", ""])
    assert plan.texts == ["", "hi", ""] and plan.input_index == (0, 1, 2)
    assert len(moderate_long_batch(["", "hi", ""], _fake)) == 3
    emoji = "\U0001fae8" * 3  # several tokens per character on o200k_base
    assert n(emoji[0]) > 1
    capped = moderation_chunks(emoji, max_tokens=1)
    assert capped.texts == [""] and capped.checked_until == (0,) and capped.dropped_chars == (3,)
    assert capped.dropped_tokens == (n(emoji),) and capped.truncated


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -0.5, "0.9", True])
def test_scores_that_are_not_scores_are_refused(bad: Any) -> None:
    """A NaN, infinite, negative or non-numeric score is refused in either order: a NaN never
    hides a flagged 0.9."""
    high = {"flagged": True, "categories": {"hate": True}, "category_scores": {"hate": 0.9}}
    odd = {"flagged": False, "categories": {"hate": False}, "category_scores": {"hate": bad}}
    for results in ([odd, high], [high, odd]):
        with pytest.raises(ResultFormatError, match="hate"):
            merge_moderation(results)
    with pytest.raises(ResultFormatError, match="true or false"):
        merge_moderation([{"flagged": False, "categories": {"hate": "no"}, "category_scores": {}}])


def test_default_model_is_not_shut_down() -> None:
    """The default moderation model is one the registry does not mark shut down today."""
    default = inspect.signature(moderation_chunks).parameters["model"].default
    assert model_info(default).status != "shut down"
    assert inspect.signature(moderate_long).parameters["model"].default == default


def test_one_return_type_per_function() -> None:
    """moderate_long gives one dict for one text; moderate_long_batch a list; a list given to
    moderate_long still gives the list, with a DeprecationWarning."""
    assert isinstance(moderate_long("hi", _fake), dict)
    each = moderate_long_batch(["a", "b"], _fake)
    assert [r["category_scores"] for r in each] == [moderate_long(t, _fake)["category_scores"] for t in "ab"]
    with pytest.warns(DeprecationWarning, match="moderate_long_batch"):
        assert moderate_long(["a", "b"], _fake) == moderate_long_batch(["a", "b"], _fake)
    with pytest.raises(TypeError):
        moderate_long_batch("one text", _fake)


def test_merge_plan_is_a_keyword() -> None:
    """merge_moderation's plan is a keyword; given positionally it still works, with a DeprecationWarning."""
    plan = moderation_chunks(["a", "b"])
    results = [{"flagged": False, "categories": {}, "category_scores": {"x": i / 10}} for i in range(2)]
    with pytest.warns(DeprecationWarning, match="plan=... by keyword"):
        old = merge_moderation(results, plan)  # type: ignore[call-overload]
    assert old == merge_moderation(results, plan=plan) and len(old) == 2
    assert plan.to_dict()["input_index"] == [0, 1]
