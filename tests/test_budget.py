"""Budget: limits, checks, fitting message lists, allocating sections."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tokenomy import Budget, BudgetError, BudgetExceededError, Section, count_messages

DAY = date(2025, 1, 1)


def test_default_reserve_and_limits() -> None:
    """Default reserve is min(output cap, 1024); gpt-4's cap equals its window but 1024 is kept."""
    assert Budget("gpt-4-0613", as_of=DAY).limit == 8192 - 1024
    assert Budget("gpt-4o-2024-08-06", as_of=DAY).limit == 128_000 - 1024
    assert Budget("gpt-4o", reserve_output=0, as_of=DAY).limit == 128_000
    with pytest.raises(BudgetError, match="output cap"):
        Budget("gpt-4-1106-preview", reserve_output=5000, as_of=DAY)
    with pytest.raises(BudgetError):
        Budget("gpt-4o", reserve_output=-1, as_of=DAY)
    with pytest.raises(BudgetError, match="context window"):
        Budget("dall-e-3", as_of=DAY)


def test_check_reports_exactly_count_messages() -> None:
    """check() gives count_messages' total, the limit and the per-message breakdown."""
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}]
    report = Budget("gpt-4o", as_of=DAY).check(chat)
    counted = count_messages(chat, "gpt-4o", as_of=DAY)
    assert report.prompt_tokens == counted.tokens and report.per_message == counted.messages
    assert report.fits and report.remaining == report.limit - counted.tokens and report.overflow == 0
    assert str(counted.tokens) in str(report) and "<table>" in report._repr_html_()
    assert report.to_dict()["prompt_tokens"] == counted.tokens


def _history(turns: int) -> list[dict[str, Any]]:
    chat: list[dict[str, Any]] = [{"role": "system", "content": "You are helpful."}]
    for i in range(turns):
        chat.append({"role": "user", "content": f"Question {i}: " + "tell me more " * 40})
        chat.append({"role": "assistant", "content": f"Answer {i}: " + "here is more " * 40})
    chat.append({"role": "user", "content": "And finally?"})
    return chat


@pytest.mark.parametrize("strategy", ["drop_oldest", "drop_middle", "truncate_longest"])
def test_fit_strategies_fit_and_keep_the_essentials(strategy: str) -> None:
    """Every strategy fits, keeps system and last user message, and records what it cut."""
    budget = Budget("gpt-3.5-turbo-0613", reserve_output=3000, as_of=date(2023, 10, 1))
    chat = _history(20)
    result = budget.fit(chat, strategy=strategy)
    assert result.report.fits and result.report.prompt_tokens <= budget.limit
    assert result.messages[0] == chat[0] and result.messages[-1] == chat[-1]
    assert (
        result.report.prompt_tokens
        == count_messages(result.messages, "gpt-3.5-turbo-0613", as_of=date(2023, 10, 1)).tokens
    )
    assert result.dropped or result.truncated
    if strategy == "drop_oldest":
        assert min(i for i, _ in result.dropped) == 1


def test_fit_never_orphans_tool_results() -> None:
    """An assistant tool call is dropped together with its tool results."""
    budget = Budget("gpt-4o-2024-08-06", reserve_output=0, as_of=DAY)
    chat = [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "first " * 300},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "1", "content": "result " * 300},
        {"role": "user", "content": "last"},
    ]  # fmt: skip
    small = Budget.__new__(Budget)
    small.__dict__.update(
        budget.__dict__, limit=count_messages(chat, "gpt-4o-2024-08-06", as_of=DAY).tokens - 100
    )
    result = small.fit(chat)
    roles = [m["role"] for m in result.messages]
    assert ("tool" in roles) == ("assistant" in roles)
    assert result.report.fits


def test_fit_raises_when_the_minimum_cannot_fit() -> None:
    """If system + last user message exceed the budget, BudgetExceededError gives the numbers."""
    budget = Budget("gpt-3.5-turbo-0613", reserve_output=4000, as_of=date(2023, 10, 1))
    chat = [{"role": "system", "content": "x " * 500}, {"role": "user", "content": "hi"}]
    with pytest.raises(BudgetExceededError) as info:
        budget.fit(chat)
    assert info.value.limit == 96 and info.value.needed > 96


def test_allocate_shrinks_lowest_priority_first() -> None:
    """Sections are kept by priority; low ones are truncated first, min_tokens respected."""
    budget = Budget("gpt-3.5-turbo-0613", reserve_output=3896, as_of=date(2023, 10, 1))  # limit 200
    plan = budget.allocate([
        Section("system", "You answer from the documents only.", priority=10),
        Section("docs", "Document text goes here. " * 60, priority=1, min_tokens=50),
        Section("history", "Earlier turns of talk. " * 60, priority=0),
        Section("question", "What does the document say?", priority=9),
    ])  # fmt: skip
    assert plan.total_tokens <= 200
    assert plan.truncations["history"].truncated and plan.tokens["docs"] >= 50
    assert plan.texts["question"] == "What does the document say?"
    with pytest.raises(BudgetExceededError):
        budget.allocate([Section("a", "word " * 300, min_tokens=250)])


def test_options_are_keywords() -> None:
    """reserve_output, tools, strategy and tool_choice are keywords; check's old positional form warns."""
    with pytest.raises(TypeError):
        Budget("gpt-4o-2024-08-06", 100)  # type: ignore[misc]
    budget = Budget("gpt-4o-2024-08-06", as_of=DAY)
    chat = [{"role": "user", "content": "What is the weather?"}]
    tools = [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object", "properties": {}}}}]
    with pytest.warns(DeprecationWarning, match="Budget.check"):
        old = budget.check(chat, tools)  # type: ignore[call-overload]
    assert old == budget.check(chat, tools=tools) != budget.check(chat)
    with pytest.raises(TypeError):
        budget.fit(chat, tools)  # type: ignore[misc]


def test_fit_and_allocation_are_read_only() -> None:
    """A fit's messages are a tuple; an allocation's mappings cannot be changed."""
    budget = Budget("gpt-4o-2024-08-06", as_of=DAY)
    result = budget.fit([{"role": "user", "content": "hi"}])
    assert isinstance(result.messages, tuple) and list(result.report.notes) == result.report.to_dict()["notes"]
    plan = budget.allocate([Section("a", "hello world")])
    with pytest.raises(TypeError):
        plan.tokens["a"] = 0  # type: ignore[index]
    assert plan.total_tokens == plan.tokens["a"] == 2
