"""Costs in Decimal from registry prices: components, cached and batch rates, usage, requests."""

from __future__ import annotations

import csv
import os
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import tiktoken_enc
from tokenomy import (
    InvalidArgumentError,
    PriceUnavailableError,
    UnsupportedModelError,
    cost_from_usage,
    cost_of_request,
    count_messages,
    count_request,
    default_epochs,
    estimate_cost,
    fine_tuning_cost,
    image_cost,
    speech_cost,
    transcription_cost,
)
from tokenomy.cost import request_usd, usage_usd

DAY = date(2025, 3, 1)
REFERENCE_CSV = (
    Path(os.environ.get("TOKENOMY_CORPUS_DIR", "/nonexistent")).parent / "reference" / "openai-models.csv"
)


@pytest.mark.skipif(not REFERENCE_CSV.is_file(), reason="shared reference table not available")
@pytest.mark.parametrize(
    "name",
    [
        "gpt-4o-2024-08-06",
        "gpt-4o-mini-2024-07-18",
        "gpt-4-0613",
        "o3-mini-2025-01-31",
        "gpt-4.1-nano-2025-04-14",
        "text-embedding-3-large",
        "gpt-3.5-turbo-0125",
    ],
)
def test_prices_match_the_reference_table(name: str) -> None:
    """1M input and 1M output tokens cost exactly the reference table's per-1M prices."""
    row = next(r for r in csv.DictReader(REFERENCE_CSV.open(encoding="utf-8")) if r["model"] == name)
    output = 1_000_000 if row["output_per_1m"] else 0
    cost = estimate_cost(name, 1_000_000, output_tokens=output, as_of=DAY)
    assert cost.input_usd == Decimal(row["input_per_1m"])
    if output:
        assert cost.output_usd == Decimal(row["output_per_1m"])
    if row["batch_input_per_1m"]:
        assert estimate_cost(name, 1_000_000, batch=True, as_of=DAY).input_usd == Decimal(
            row["batch_input_per_1m"]
        )


def test_alias_price_follows_the_snapshot_by_date() -> None:
    """gpt-4o cost $5/$15 per 1M before 2024-10-02 and $2.50/$10 after."""
    before = estimate_cost("gpt-4o", 1_000_000, output_tokens=1_000_000, as_of=date(2024, 9, 1))
    after = estimate_cost("gpt-4o", 1_000_000, output_tokens=1_000_000, as_of=date(2024, 11, 1))
    assert (before.input_usd, before.output_usd) == (Decimal(5), Decimal(15))
    assert (after.input_usd, after.output_usd) == (Decimal("2.5"), Decimal(10))


def test_cached_tokens_are_a_subset_never_added() -> None:
    """Cached tokens are priced at the cached rate inside the prompt, not on top of it."""
    cost = estimate_cost("gpt-4o-2024-08-06", 1_000_000, output_tokens=0, cached_input_tokens=400_000, as_of=DAY)
    assert cost.input_usd == Decimal("1.5") and cost.cached_input_usd == Decimal("0.5")
    assert cost.usd == Decimal("2.0") and isinstance(cost.usd, Decimal)
    with pytest.raises(InvalidArgumentError, match="part of input_tokens"):
        estimate_cost("gpt-4o", 10, cached_input_tokens=11, as_of=DAY)


def test_batch_rates_listed_and_by_discount() -> None:
    """Batch uses the listed batch price, else the documented 50% discount (and says so)."""
    listed = estimate_cost("gpt-4o-mini-2024-07-18", 1_000_000, output_tokens=1_000_000, batch=True, as_of=DAY)
    assert (listed.input_usd, listed.output_usd) == (Decimal("0.075"), Decimal("0.3"))
    discounted = estimate_cost("o1-mini-2024-09-12", 1_000_000, output_tokens=1_000_000, batch=True, as_of=DAY)
    assert discounted.input_usd == Decimal("0.55") and any("discount" in n for n in discounted.notes)


def test_price_history() -> None:
    """A snapshot's earlier price applies before its change date."""
    assert estimate_cost("o3-2025-04-16", 1_000_000, as_of=date(2025, 5, 1)).input_usd == Decimal(10)
    assert estimate_cost("o3-2025-04-16", 1_000_000, as_of=date(2025, 7, 1)).input_usd == Decimal(2)


def test_unknown_price_is_an_error_never_zero() -> None:
    """A model without a price raises PriceUnavailableError naming the component."""
    with pytest.raises(PriceUnavailableError, match="input"):
        estimate_cost("gpt-oss-120b", 100, as_of=DAY)
    with pytest.raises(PriceUnavailableError):
        estimate_cost("ft:gpt-4o-mini-2024-07-18:acme::x", 100, as_of=DAY)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "10"])
def test_bad_token_numbers(bad: Any) -> None:
    """Negative or non-integer token numbers raise InvalidArgumentError (a ValueError)."""
    with pytest.raises(InvalidArgumentError):
        estimate_cost("gpt-4o", bad, as_of=DAY)


def test_cost_from_usage_without_double_counting() -> None:
    """Chat and Responses usage, dicts and objects; reasoning tokens are inside completion tokens."""
    chat = {
        "prompt_tokens": 2000,
        "completion_tokens": 500,
        "prompt_tokens_details": {"cached_tokens": 1000},
        "completion_tokens_details": {"reasoning_tokens": 300},
    }
    cost = cost_from_usage("o3-mini-2025-01-31", chat, as_of=DAY)
    direct = estimate_cost("o3-mini-2025-01-31", 2000, output_tokens=500, cached_input_tokens=1000, as_of=DAY)
    assert cost.usd == direct.usd and cost.reasoning_tokens == 300
    responses = SimpleNamespace(
        input_tokens=2000,
        output_tokens=500,
        input_tokens_details=SimpleNamespace(cached_tokens=1000),
        output_tokens_details=SimpleNamespace(reasoning_tokens=300),
    )
    assert cost_from_usage("o3-mini-2025-01-31", responses, as_of=DAY).usd == direct.usd


def test_cost_of_request_prices_the_count() -> None:
    """cost_of_request prices count_request's tokens; max_tokens (times n) is a labelled upper bound."""
    body = {
        "model": "gpt-4o-2024-08-06",
        "max_tokens": 300,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello!"}],
    }
    counted = count_request(body, as_of=DAY)
    cost = cost_of_request(counted)
    assert cost.input_tokens == count_messages(body["messages"], "gpt-4o-2024-08-06", as_of=DAY).tokens
    assert cost.output_tokens == 300 and cost.output_is_bound
    exact = cost_of_request(counted, output_tokens=20)
    assert exact.output_tokens == 20 and not exact.output_is_bound
    embeddings = cost_of_request(count_request(
        {"model": "text-embedding-3-small", "input": ["hello world", "hi"]}, endpoint="/v1/embeddings", as_of=DAY
    ))  # fmt: skip
    assert embeddings.input_tokens == len(tiktoken_enc("cl100k_base").encode("hello world")) + 1
    completions = cost_of_request(count_request(
        {"model": "gpt-3.5-turbo-instruct", "prompt": ["a b", "c"], "max_tokens": 5},
        endpoint="/v1/completions", as_of=DAY,
    ))  # fmt: skip
    assert completions.output_tokens == 10
    moderation = cost_of_request(count_request(
        {"model": "omni-moderation-latest", "input": "hello world"}, endpoint="/v1/moderations", as_of=DAY
    ))  # fmt: skip
    assert moderation.usd == 0 and moderation.input_tokens == 2
    with pytest.raises(TypeError, match="RequestCount"):
        cost_of_request(body)  # type: ignore[arg-type]


def test_wrong_endpoint_names_the_right_one() -> None:
    """Counting a model on an endpoint that does not take it names the problem."""
    with pytest.raises(UnsupportedModelError, match="/v1/chat/completions"):
        count_request({"model": "text-embedding-3-small", "messages": []}, as_of=DAY)


def test_non_token_prices() -> None:
    """Images by size and quality, speech by characters, transcription by minutes."""
    assert image_cost("dall-e-3", size="1792x1024", quality="hd", n=2).usd == Decimal("0.240")
    assert image_cost("dall-e-2", size="256x256").usd == Decimal("0.016")
    with pytest.raises(InvalidArgumentError):
        image_cost("dall-e-2", size="2048x2048")
    assert speech_cost("tts-1-hd", "x" * 1000).usd == Decimal("0.03")
    assert transcription_cost("whisper-1", seconds=600).usd == Decimal("0.06")
    with pytest.raises(PriceUnavailableError):
        speech_cost("gpt-4o", "hi")


def test_fine_tuning_rules() -> None:
    """Default epochs follow the cookbook rule; training cost is tokens x epochs x rate."""
    assert [default_epochs(n) for n in (1, 10, 33, 34, 5000, 8334, 30000)] == [25, 10, 3, 3, 3, 2, 1]
    cost = fine_tuning_cost("gpt-4o-mini-2024-07-18", 1_000_000, epochs=2, as_of=DAY)
    assert cost.usd == Decimal(6)


def test_estimate_cost_options_are_keywords() -> None:
    """Output and cached tokens are keywords; the old positional form still prices the same, warning."""
    keywords = estimate_cost("gpt-4o-2024-08-06", 1000, output_tokens=50, cached_input_tokens=400, as_of=DAY)
    with pytest.warns(DeprecationWarning, match="output_tokens=..., cached_input_tokens=... by keyword"):
        positional = estimate_cost("gpt-4o-2024-08-06", 1000, 50, 400, as_of=DAY)  # type: ignore[call-overload]
    assert positional == keywords and keywords.usd == keywords.input_usd + keywords.cached_input_usd + keywords.output_usd
    with pytest.raises(TypeError, match="at most 2"):
        estimate_cost("gpt-4o-2024-08-06", 1000, 50, 400, 1, as_of=DAY)  # type: ignore[call-overload]


def test_cost_fields_speak_usd_and_exact() -> None:
    """Money fields end in usd, exactness is ``exact``, and the rates cannot be changed."""
    request = count_request({"model": "gpt-4o-2024-08-06", "messages": [{"role": "user", "content": "Hi"}]}, as_of=DAY)
    cost = cost_of_request(request, output_tokens=10)
    assert cost.exact == request.exact and cost.input_tokens == request.tokens
    with pytest.raises(TypeError):
        cost.rates["input"] = Decimal(0)  # type: ignore[index]
    assert image_cost("dall-e-3").to_dict()["usd"] == str(image_cost("dall-e-3").usd)


# models with every kind of price row: cached price or not, no price at all, a free endpoint
_PRICED = ["gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", "gpt-4-0613", "o3-mini-2025-01-31",
           "gpt-3.5-turbo-0125", "gpt-oss-120b", "gpt-4.1-nano-2025-04-14"]  # fmt: skip
_COUNTS = st.integers(min_value=0, max_value=10**7)


def _outcome(call: Any) -> tuple[str, str]:
    """What a pricing call gives: the amount with its digits, or the error's type and message."""
    try:
        return "usd", str(call())
    except Exception as exc:  # the lean and the full pricing must fail alike
        return type(exc).__name__, str(exc)


@settings(max_examples=300, deadline=None)
@given(model=st.sampled_from(_PRICED), prompt=_COUNTS, output=_COUNTS, cached=_COUNTS, reasoning=_COUNTS,
       responses=st.booleans())  # fmt: skip
def test_usage_usd_is_cost_from_usage(model: str, prompt: int, output: int, cached: int, reasoning: int,
                                      responses: bool) -> None:  # fmt: skip
    """The guard's lean pricing of a response gives cost_from_usage's amount to the digit, and its errors."""
    names = ("input_tokens", "output_tokens") if responses else ("prompt_tokens", "completion_tokens")
    usage = {names[0]: prompt, names[1]: output, f"{names[0]}_details": {"cached_tokens": cached},
             f"{names[1]}_details": {"reasoning_tokens": reasoning}}  # fmt: skip
    full = _outcome(lambda: cost_from_usage(model, usage, as_of=DAY).usd)
    assert _outcome(lambda: usage_usd(model, usage, as_of=DAY)) == full


@pytest.mark.parametrize("usage", [{}, {"prompt_tokens": -1}, {"prompt_tokens": 1.5}, {"input_tokens": True},
                                   {"prompt_tokens": 3, "prompt_tokens_details": {"cached_tokens": 4}}, None,
                                   {"prompt_tokens": 3, "completion_tokens": False},
                                   {"prompt_tokens": 3, "completion_tokens": 2,
                                    "completion_tokens_details": {"reasoning_tokens": 5}},
                                   {"input_tokens": 10**18}, {"input_tokens": 3, "output_tokens": "4"},
                                   {"prompt_tokens": 3, "prompt_tokens_details": {"cached_tokens": 0.0}}])  # fmt: skip
def test_usage_usd_refuses_what_cost_from_usage_refuses(usage: Any) -> None:
    """A malformed usage object is the same error either way."""
    full = _outcome(lambda: cost_from_usage("gpt-4o-2024-08-06", usage, as_of=DAY))
    assert full[0] != "usd"
    assert _outcome(lambda: usage_usd("gpt-4o-2024-08-06", usage, as_of=DAY)) == full


# what a usage figure may hold, sensible or not: the short way for plain dicts must agree with the
# checking way on each
_FIGURES = st.one_of(st.none(), st.integers(min_value=-2, max_value=10**19), st.booleans(),
                     st.floats(allow_nan=False, max_value=1e6), st.text(max_size=2))  # fmt: skip
_DETAILS = st.one_of(st.none(), st.just([]), st.just(0), st.just([1]),
                     st.dictionaries(st.sampled_from(["cached_tokens", "reasoning_tokens", "audio_tokens"]),
                                     _FIGURES))  # fmt: skip
_USAGE_KEYS = ["prompt_tokens", "completion_tokens", "input_tokens", "output_tokens"]
_DETAIL_KEYS = [f"{name}_details" for name in _USAGE_KEYS]


@settings(max_examples=500, deadline=None)
@given(usage=st.fixed_dictionaries({}, optional={**{k: _FIGURES for k in _USAGE_KEYS},
                                                 **{k: _DETAILS for k in _DETAIL_KEYS}}))  # fmt: skip
def test_usage_dicts_read_as_any_usage_object(usage: dict[str, Any]) -> None:
    """A usage dict (the guard's case, read the short way) gives the same figures or the same error as
    the same usage as a read-only mapping and as an SDK-like object (read field by field)."""
    from types import MappingProxyType

    from tokenomy.cost import _usage_tokens

    short = _outcome(lambda: _usage_tokens(usage))
    assert _outcome(lambda: _usage_tokens(MappingProxyType(usage))) == short
    assert _outcome(lambda: _usage_tokens(SimpleNamespace(**usage))) == short


@settings(max_examples=200, deadline=None)
@given(model=st.sampled_from([*_PRICED, "omni-moderation-latest", "text-embedding-3-small"]),
       text=st.text(max_size=60), output=_COUNTS)  # fmt: skip
def test_request_usd_is_cost_of_request(model: str, text: str, output: int) -> None:
    """The guard's lean worst case gives cost_of_request's amount to the digit (free endpoints 0)."""
    if "moderation" in model or "embedding" in model:
        endpoint = "/v1/moderations" if "moderation" in model else "/v1/embeddings"
        counted = count_request({"model": model, "input": text}, endpoint=endpoint, as_of=DAY)
    else:
        counted = count_request({"model": model, "messages": [{"role": "user", "content": text}]}, as_of=DAY)
    full = _outcome(lambda: cost_of_request(counted, output_tokens=output).usd)
    assert _outcome(lambda: request_usd(counted, output_tokens=output)) == full
