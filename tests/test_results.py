"""Results speak one vocabulary: JSON-ready to_dict(), immutable fields, pickling, old names warn."""

from __future__ import annotations

import dataclasses
import json
import pickle
import warnings
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest

import tokenomy
from tokenomy import (
    Budget,
    Section,
    analyze,
    chunk,
    count_embedding_input,
    count_image,
    estimate_cost,
    image_cost,
    moderation_chunks,
    reconcile,
    truncate,
)
from tokenomy._deprecation import positional_options
from tokenomy._results import frozen, plain, thawed
from tokenomy.datasets import DatasetStats

DAY = date(2025, 6, 1)
CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there " * 50},
        {"role": "assistant", "content": "Sure. " * 80}, {"role": "user", "content": "Thanks"}]


def _reconciliation() -> tokenomy.Reconciliation:
    sizes = [1, 2, 3, 4] * 4
    lines = [{"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
              "body": {"model": "gpt-4o-2024-08-06", "messages": [{"role": "user", "content": "Hi"}] * n}}
             for i, n in enumerate(sizes)]  # fmt: skip
    out = [{"custom_id": f"r{i}", "response": {"status_code": 200, "body": {
        "usage": {"prompt_tokens": 3 + 6 * n, "completion_tokens": 1}}}} for i, n in enumerate(sizes)]  # fmt: skip
    out.append({"custom_id": "nobody", "response": {"status_code": 200, "body": {"usage": {"prompt_tokens": 1}}}})
    return reconcile(lines, out, as_of=DAY)


def _results() -> dict[str, Any]:
    """One of each public result, made through the public functions."""
    budget = Budget("gpt-4o-2024-08-06", reserve_output=0, as_of=DAY)
    small = Budget.__new__(Budget)
    small.__dict__.update(budget.__dict__, limit=budget.check(CHAT).prompt_tokens - 40)
    report = analyze([{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
                       "body": {"model": "gpt-4o-mini-2024-07-18", "max_tokens": 5, "messages": CHAT}}],
                     as_of=DAY)  # fmt: skip
    what_if = report.what_if(["gpt-4o-2024-08-06", "gpt-oss-120b"])
    reconciled = _reconciliation()
    return {
        "Cost": estimate_cost("gpt-4o-2024-08-06", 1000, output_tokens=10, cached_input_tokens=200, as_of=DAY),
        "UnitCost": image_cost("dall-e-3"),
        "BudgetReport": budget.check(CHAT),
        "FitResult": small.fit(CHAT, strategy="truncate_longest"),
        "Allocation": budget.allocate([Section("a", "word " * 50, max_tokens=10), Section("b", "hi")]),
        "Truncation": truncate("The quick brown fox jumps over the lazy dog.", 4),
        "Chunk": next(iter(chunk("hello world", 5))),
        "ModerationPlan": moderation_chunks(["hi", "there"]),
        "EmbeddingInputCount": count_embedding_input(["hello", ""]),
        "ImageCount": count_image(None, None, model="gpt-4o"),
        "DatasetReport": report,
        "ModelTotals": analyze(["hello"], kind="text", model="gpt-oss-120b", as_of=DAY).models[0],  # no price
        "WhatIfReport": what_if,
        "WhatIfRow": what_if.rows[1],
        "Reconciliation": reconciled,
        "ReconciledRequest": reconciled.requests[0],
        "LineIssue": reconciled.issues[0],
        "Accuracy": reconciled.accuracy(),
        "ModelCost": reconciled.costs[0],
        "Calibration": reconciled.calibrate(),
        "CalibratedGroup": reconciled.calibrate().groups[0],
    }


RESULTS = _results()


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_to_dict_is_plain_json(name: str) -> None:
    """Every result's to_dict() goes through json.dumps unchanged, amounts and dates as strings."""
    data = RESULTS[name].to_dict()
    assert json.loads(json.dumps(data)) == data


def _mutable_parts(value: Any, where: str) -> list[str]:
    if isinstance(value, DatasetStats):
        return []  # the mergeable partial is built in place; a report holds the finished one
    if isinstance(value, (list, dict, set, bytearray)):
        return [where]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [p for f in dataclasses.fields(value) for p in _mutable_parts(getattr(value, f.name), f"{where}.{f.name}")]
    if isinstance(value, Mapping):
        return [p for k, v in value.items() for p in _mutable_parts(v, f"{where}[{k!r}]")]
    if isinstance(value, tuple):
        return [p for i, v in enumerate(value) for p in _mutable_parts(v, f"{where}[{i}]")]
    return []


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_results_are_frozen_all_the_way_down(name: str) -> None:
    """A result is a frozen dataclass holding no list, dict or set (the messages and records in it
    are the caller's own)."""
    result = RESULTS[name]
    assert dataclasses.fields(result) and type(result).__dataclass_params__.frozen  # type: ignore[attr-defined]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(result, dataclasses.fields(result)[0].name, None)
    parts = _mutable_parts(result, name)
    # messages and records are the caller's own objects, passed through by reference
    parts = [p for p in parts if not p.startswith(("FitResult.messages[", "FitResult.dropped[",
                                                   "DatasetReport.source["))]  # fmt: skip
    assert parts == []


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_results_pickle_and_compare_equal(name: str) -> None:
    """Results survive pickle (worker processes) and compare equal to themselves after it."""
    result = RESULTS[name]
    again = pickle.loads(pickle.dumps(result))
    assert again == result and again.to_dict() == result.to_dict()


def test_no_private_fields_in_constructors() -> None:
    """No result takes an underscore argument."""
    for name, result in RESULTS.items():
        assert [f.name for f in dataclasses.fields(result) if f.init and f.name.startswith("_")] == [], name


def test_frozen_thawed_and_plain() -> None:
    """frozen() makes read-only mappings and tuples all the way down; thawed() undoes it; plain() is JSON."""
    value = frozen({"a": [1, {"b": [2]}]})
    assert isinstance(value, MappingProxyType) and isinstance(value["a"][1], MappingProxyType)
    assert value["a"] == (1, {"b": (2,)})
    with pytest.raises(TypeError):
        value["c"] = 1  # type: ignore[index]
    assert thawed(value) == {"a": (1, {"b": (2,)})} and type(thawed(value)) is dict
    assert plain({"x": Decimal("1.50"), "d": date(2025, 1, 2), "t": (1, 2)}) == {
        "x": "1.50", "d": "2025-01-02", "t": [1, 2]}  # fmt: skip


def test_positional_options_warn_and_count() -> None:
    """An option given positionally arrives by name with a DeprecationWarning; too many is a TypeError."""
    with pytest.warns(DeprecationWarning, match=r"f\(\): pass a=\.\.\. by keyword"):
        assert positional_options("f", (1,), ("a", "b")) == {"a": 1}
    with warnings.catch_warnings(), pytest.raises(TypeError, match="at most 1"):
        warnings.simplefilter("ignore", DeprecationWarning)
        positional_options("f", (1, 2), ("a",))


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [("Cost", "total", "usd"), ("Cost", "input", "input_usd"), ("Cost", "cached_input", "cached_input_usd"),
     ("Cost", "output", "output_usd"), ("Cost", "exact_tokens", "exact"), ("UnitCost", "amount", "usd"),
     ("BudgetReport", "reasons", "notes"), ("Allocation", "total", "total_tokens"),
     ("EmbeddingInputCount", "total", "tokens"), ("EmbeddingInputCount", "problems", "notes"),
     ("DatasetReport", "total_cost", "total_usd")],
)  # fmt: skip
def test_old_names_warn_and_equal_the_new(name: str, old: str, new: str) -> None:
    """Each renamed field is still readable for one release: it warns and gives the new value."""
    result = RESULTS[name]
    with pytest.warns(DeprecationWarning, match=rf"{name}\.{old} is now \.{new}"):
        assert getattr(result, old) == getattr(result, new)


@pytest.mark.parametrize(("name", "old"), [("ImageCount", "reason"), ("ModelTotals", "cost_note"), ("WhatIfRow", "note")])
def test_old_single_notes_warn_and_join_the_notes(name: str, old: str) -> None:
    """A single note string that became ``notes`` reads as the notes joined, with a warning."""
    result = RESULTS[name]
    assert result.notes, "the example has a note"
    with pytest.warns(DeprecationWarning, match=rf"{name}\.{old} is now \.notes"):
        assert getattr(result, old) == "; ".join(result.notes)


def test_to_dict_keeps_the_old_keys_for_a_release() -> None:
    """The JSON of a renamed field carries the old key beside the new one, with the same value."""
    cost = RESULTS["Cost"].to_dict()
    assert cost["usd"] == cost["total"] and cost["input_usd"] == cost["input"] and cost["exact"] == cost["exact_tokens"]
    assert RESULTS["BudgetReport"].to_dict()["reasons"] == RESULTS["BudgetReport"].to_dict()["notes"]
    report = RESULTS["DatasetReport"].to_dict()
    assert report["total_usd"] == report["total_cost"] is not None
