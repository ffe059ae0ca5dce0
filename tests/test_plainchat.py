"""Plain chats (a role and a string per message, scalar fields) are counted as a remembered framing
plus their contents: the result must be the whole count's, field for field, on every model family,
day and field mix, and the memo must never outlive the rules or registry entry it was made under."""

from __future__ import annotations

import warnings
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import tiktoken_enc
from tokenomy import register_model, registry
from tokenomy._data import table
from tokenomy._plainchat import PlainChats
from tokenomy.errors import TokenomyError
from tokenomy.registry import resolve
from tokenomy.requests import _PLAIN, _count_resolved, count_request
from tokenomy.rules import load_rules, overridden, reset_rules

CHAT = "/v1/chat/completions"
# one or more models of each prompt format and family, a fine-tune and an unlisted snapshot
MODELS = ["gpt-4o", "gpt-4o-mini", "gpt-4", "gpt-4-turbo", "gpt-3.5-turbo", "gpt-3.5-turbo-0301",
          "gpt-4.1", "gpt-4.1-nano", "gpt-5", "gpt-5-mini", "gpt-5-nano", "o4-mini", "o3", "o1",
          "ft:gpt-4o-mini-2024-07-18:acme::abc123", "gpt-4o-2099-01-01"]  # fmt: skip
DAYS = [date(2023, 6, 1), date(2024, 6, 1), date(2025, 6, 1), date(2026, 6, 1)]
TEXT = st.text(st.characters(codec="utf-8"), max_size=60) | st.sampled_from(
    ["", "<|endoftext|>", "<|im_start|>user", " ", "\n\n", "Hello there!", "x" * 300])
SCALAR = st.none() | st.booleans() | st.integers(-2, 5000) | st.floats(allow_nan=False) | TEXT
FIELDS = st.dictionaries(
    st.sampled_from(["max_tokens", "max_completion_tokens", "n", "temperature", "top_p", "stream",
                     "user", "seed", "stop", "tool_choice", "reasoning_effort", "store", "metadata",
                     "stream_options", "response_format", "service_tier", "parallel_tool_calls"]),
    SCALAR | st.dictionaries(st.sampled_from(["include_usage", "type", "x"]), SCALAR, max_size=2)
    | st.lists(TEXT, max_size=2) | st.tuples(TEXT),  # not plain: counted whole
    max_size=4,
)  # fmt: skip
ROLE = st.sampled_from(table("chat")["plain_roles"]) | st.sampled_from(["tool", "function", None, 5])
MESSAGES = st.lists(st.fixed_dictionaries({"role": ROLE, "content": TEXT}), min_size=1, max_size=5)


def whole(body: dict[str, Any], model: str, day: date, strict: bool = False) -> Any:
    """The count without the memo: the full rules on the body itself."""
    return _count_resolved(body, resolve(model, day, warn=False), CHAT, strict)


def outcome(call: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return call().to_dict()
        except TokenomyError as error:
            return type(error), str(error)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=st.sampled_from(MODELS), day=st.sampled_from(DAYS), messages=MESSAGES, fields=FIELDS,
       strict=st.booleans())  # fmt: skip
def test_a_plain_chat_counts_as_the_whole_body_does(model: str, day: date, messages: list[dict[str, str]],
                                                    fields: dict[str, Any], strict: bool) -> None:  # fmt: skip
    body = {"model": model, **fields, "messages": messages}
    expected = outcome(lambda: whole(body, model, day, strict))
    for _ in range(2):  # the framing counted, then remembered
        assert outcome(lambda: count_request(body, as_of=day, require_zero_retention=strict)) == expected
    plain = all(m["role"] in table("chat")["plain_roles"] for m in messages) and all(
        type(v) in (str, int, float, bool, type(None)) or (type(v) is dict and not any(
            isinstance(x, (dict, list, tuple)) for x in v.values())) for v in fields.values())  # fmt: skip
    if isinstance(expected, dict):  # counted, through the memo if plain
        memo = _PLAIN.count(body, resolve(model, day, warn=False), CHAT, strict)
        assert (memo is not None) == plain and (memo is None or memo.to_dict() == expected)


def test_the_framing_is_counted_once_per_shape() -> None:
    """Bodies that differ only in their contents share one framing; any other field makes its own."""
    calls: list[dict[str, Any]] = []

    def spy(body: Any, info: Any, path: str, strict: bool) -> Any:
        calls.append(body)
        return _count_resolved(body, info, path, strict)

    memo = PlainChats(spy)
    info = resolve("gpt-4o", date(2025, 1, 1))
    bodies = [{"model": "gpt-4o", "messages": [{"role": "system", "content": system},
                                               {"role": "user", "content": question}]}
              for system in ("Be brief.", "Be kind.") for question in ("Hi", "What is 2 + 2?")]  # fmt: skip
    results = [memo.count(body, info, CHAT, False) for body in bodies]
    assert len(calls) == 1 and all(m["content"] == "" for m in calls[0]["messages"])
    enc = tiktoken_enc("o200k_base")
    framings = set()
    for body, result in zip(bodies, results, strict=True):
        assert result is not None and result == whole(body, "gpt-4o", date(2025, 1, 1))
        contents = [len(enc.encode_ordinary(m["content"])) for m in body["messages"]]
        framings.add(tuple(n - c for n, c in zip(result.messages, contents, strict=True)))
    assert len(framings) == 1  # each message: its framing plus its own content's tokens
    memo.count({**bodies[0], "max_tokens": 10}, info, CHAT, False)
    memo.count({**bodies[0], "max_tokens": True}, info, CHAT, False)  # True == 1 but counts apart
    assert len(calls) == 3


@pytest.mark.parametrize("body", [
    {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi", "name": "ann"}]},
    {"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]},
    {"model": "gpt-4o", "messages": [{"role": "tool", "content": "42"}]},
    {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}],
     "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]},
    {"model": "gpt-4o", "messages": [{"role": "system", "content": "Be brief."}],
     "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "object"}}}},
    {"model": "gpt-4o", "messages": []},
    {"model": "gpt-4o", "messages": ({"role": "user", "content": "Hi"},)},
])  # fmt: skip
def test_other_shapes_are_counted_whole(body: dict[str, Any]) -> None:
    """Content parts, names, tool results, tools and nested fields are not plain: counted whole."""
    memo = PlainChats(lambda *args: pytest.fail("a framing was counted"))
    assert memo.count(body, resolve("gpt-4o", date(2025, 1, 1)), CHAT, False) is None


def test_a_framing_does_not_outlive_its_rules(tmp_path: Any) -> None:
    """Changed rules (in-memory overrides, rules files) and a changed registry entry count afresh."""
    body = {"model": "gpt-4o-2024-08-06", "messages": [{"role": "user", "content": "Hi"}]}
    before = count_request(body).tokens
    with overridden({"formats": {"chatml": {"tokens_per_message": 4}}}, label="test"):
        assert count_request(body).tokens == before + 1
        with overridden({"formats": {"chatml": {"tokens_per_message": 5}}}, label="inner"):
            assert count_request(body).tokens == before + 2
        assert count_request(body).tokens == before + 1
    assert count_request(body).tokens == before
    rules = tmp_path / "rules.toml"
    rules.write_text("[formats.chatml]\ntokens_per_message = 6\n")
    try:
        load_rules(rules)
        assert count_request(body).tokens == before + 3
    finally:
        reset_rules()
    assert count_request(body).tokens == before
    name = "acme-plainchat-model"
    try:
        register_model(name, based_on="gpt-4o-2024-08-06")
        first = count_request({**body, "model": name})
        register_model(name, based_on="gpt-4-0613")  # another encoding and window under the same name
        second = count_request({**body, "model": name})
        recounted = whole({**body, "model": name}, name, date.today())
    finally:
        registry._reset_for_tests()  # the registration does not outlive this test
    assert (first.encoding, second.encoding) == ("o200k_base", "cl100k_base")
    assert second == recounted


def test_a_retired_model_warns_once_per_call() -> None:
    body = {"model": "gpt-3.5-turbo-0301", "messages": [{"role": "user", "content": "Hi"}]}
    for _ in range(2):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            count_request(body, as_of=date(2025, 1, 1))
        assert [w.category for w in caught] == [DeprecationWarning]


def test_plain_roles_are_roles_counted_by_their_text_alone() -> None:
    """data/chat.toml's plain roles are API roles, and a tool result (framed by its call) is not one."""
    plain, roles = set(table("chat")["plain_roles"]), set(table("chat")["roles"])
    assert plain <= roles and "tool" not in plain
