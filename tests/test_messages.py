"""count_messages: documented and API-verified counts, shapes, additivity, and errors."""

from __future__ import annotations

import contextlib
import json
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import tiktoken_enc
from tokenomy.errors import MessageFormatError, TokenomyError
from tokenomy.requests import count_messages

EXAMPLES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "reference" / "documented-counts.json").read_text("utf-8")
)["examples"]
CHAT = [e for e in EXAMPLES if e["kind"] in ("messages", "functions")]
GPT35_2023 = date(2023, 10, 1)  # gpt-3.5-turbo then meant gpt-3.5-turbo-0613
DAY = date(2025, 3, 1)


@pytest.mark.parametrize("example", CHAT, ids=lambda e: f"{e['kind']}-{e['model']}")
def test_documented_conversations(example: dict[str, Any]) -> None:
    """The cookbook's API-verified conversations and tool examples count exactly."""
    given_input = example["input"]
    result = count_messages(given_input["messages"], example["model"], tools=given_input.get("tools"))
    assert result.tokens == example["expected_tokens"]
    assert int(result) == result.tokens


# API-verified by hmarr/openai-chat-tokens (tests/token-counts.test.ts, gpt-3.5-turbo, 2023)
HMARR: list[tuple[list[dict[str, Any]], list[dict[str, Any]] | None, int]] = [
    ([{"role": "user", "content": "hello"}], None, 8),
    ([{"role": "user", "content": "hello world"}], None, 9),
    ([{"role": "system", "content": "hello"}], None, 8),
    ([{"role": "system", "content": "hello:"}], None, 9),
    ([{"role": "system", "content": "# Important: you're the best robot"},
      {"role": "user", "content": "hello robot"}, {"role": "assistant", "content": "hello world"}], None, 27),
    ([{"role": "user", "content": "hello"}],
     [{"name": "foo", "parameters": {"type": "object", "properties": {}}}], 31),
    ([{"role": "user", "content": "hello"}],
     [{"name": "foo", "description": "Do a foo", "parameters": {"type": "object", "properties": {}}}], 36),
    ([{"role": "user", "content": "hello"}],
     [{"name": "bing_bong", "description": "Do a bing bong",
       "parameters": {"type": "object", "properties": {"foo": {"type": "string"}}}}], 49),
    ([{"role": "user", "content": "hello"}],
     [{"name": "bing_bong", "description": "Do a bing bong",
       "parameters": {"type": "object", "properties": {
           "foo": {"type": "string"}, "bar": {"type": "number", "description": "A number"}}}}], 57),
    ([{"role": "user", "content": "hello"}],
     [{"name": "bing_bong", "description": "Do a bing bong",
       "parameters": {"type": "object", "properties": {"foo": {"type": "object", "properties": {
           "bar": {"type": "string", "enum": ["a", "b", "c"]}, "baz": {"type": "boolean"}}}}}}], 68),
    ([{"role": "user", "content": "hello world"}, {"role": "function", "name": "do_stuff", "content": "{}"}],
     None, 15),
    ([{"role": "user", "content": "hello world"},
      {"role": "function", "name": "do_stuff", "content": '{"foo": "bar", "baz": 1.5}'}], None, 28),
    ([{"role": "function", "name": "dance_the_tango", "content": '{"a": { "b" : { "c": false}}}'}], None, 24),
    ([{"role": "assistant", "content": "",
       "function_call": {"name": "do_stuff", "arguments": '{"foo": "bar", "baz": 1.5}'}}], None, 26),
    ([{"role": "assistant", "content": "",
       "function_call": {"name": "do_stuff", "arguments": '{"foo":"bar", "baz":\n\n 1.5}'}}], None, 25),
    ([{"role": "system", "content": "Hello"}, {"role": "user", "content": "Hi there"}],
     [{"name": "do_stuff", "parameters": {"type": "object", "properties": {}}}], 35),
    ([{"role": "system", "content": "Hello:"}, {"role": "user", "content": "Hi there"}],
     [{"name": "do_stuff", "parameters": {"type": "object", "properties": {}}}], 35),
    ([{"role": "system", "content": "Hello:"}, {"role": "system", "content": "Hello"},
      {"role": "user", "content": "Hi there"}],
     [{"name": "do_stuff", "parameters": {"type": "object", "properties": {}}}], 40),
    ([{"role": "user", "content": "hello"}],
     [{"name": "get_recipe", "parameters": {"type": "object",
       "required": ["ingredients", "instructions", "time_to_cook"], "properties": {
           "ingredients": {"type": "array", "items": {"type": "object", "required": ["name", "unit", "amount"],
               "properties": {"name": {"type": "string"},
                              "unit": {"enum": ["grams", "ml", "cups", "pieces", "teaspoons"], "type": "string"},
                              "amount": {"type": "number"}}}},
           "instructions": {"type": "array", "items": {"type": "string"},
                            "description": "Steps to prepare the recipe (no numbering)"},
           "time_to_cook": {"type": "number", "description": "Total time to prepare the recipe in minutes"}}}}],
     106),
]  # fmt: skip


@pytest.mark.parametrize(("messages", "functions", "expected"), HMARR)
def test_api_verified_function_cases(
    messages: list[dict[str, Any]], functions: list[dict[str, Any]] | None, expected: int
) -> None:
    """hmarr/openai-chat-tokens' API-verified gpt-3.5-turbo cases, including legacy functions."""
    assert count_messages(messages, "gpt-3.5-turbo", functions=functions, as_of=GPT35_2023).tokens == expected


SEARCH_TOOL = {"type": "function", "function": {
    "name": "search_sources", "description": "Retrieve sources from the Azure AI Search index",
    "parameters": {"type": "object", "properties": {"search_query": {
        "type": "string",
        "description": "Query string to retrieve documents from azure search eg: 'Health care plan'"}},
        "required": ["search_query"]}}}  # fmt: skip


@pytest.mark.parametrize(
    ("tool_choice", "expected"),
    [
        ("auto", 66),
        ("none", 67),
        ({"type": "function", "function": {"name": "search_sources"}}, 75),
    ],
)
def test_api_verified_tool_choice(tool_choice: Any, expected: int) -> None:
    """pamelafox/openai-messages-token-helper's API-verified (cl100k) tool_choice costs: +1 none, +7+name."""
    system = [{"role": "system", "content": "You are a bot."}]
    result = count_messages(system, "gpt-3.5-turbo-0125", tools=[SEARCH_TOOL], tool_choice=tool_choice)
    assert result.tokens == expected


def test_sdk_objects_count_like_dicts() -> None:
    """Objects with the same attributes (as the openai SDK's types) count like plain dicts."""
    as_dicts = [{"role": "user", "content": "hi", "name": "bob"}]
    as_objects = [SimpleNamespace(role="user", content="hi", name="bob")]
    assert count_messages(as_objects, "gpt-4o").tokens == count_messages(as_dicts, "gpt-4o").tokens


def test_content_parts_and_none_content() -> None:
    """Text parts count their text only; None content with tool calls is accepted, marked inexact."""
    parts = [
        {
            "role": "user",
            "content": [{"type": "text", "text": "hello "}, {"type": "text", "text": "world"}],
        }
    ]
    enc = tiktoken_enc("o200k_base")
    expected = 3 + len(enc.encode("user")) + len(enc.encode("hello ")) + len(enc.encode("world")) + 3
    assert count_messages(parts, "gpt-4o").tokens == expected
    calls = [{"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function",
             "function": {"name": "f", "arguments": "{}"}}]},
             {"role": "tool", "tool_call_id": "c1", "content": "42"}]  # fmt: skip
    result = count_messages(calls, "gpt-4o")
    enc = tiktoken_enc("o200k_base")
    call = 3 + len(enc.encode("assistant to=functions.f")) + len(enc.encode("{}"))
    output = 3 + len(enc.encode("functions.f")) + len(enc.encode("42"))
    assert result.tokens == call + output + 2 + 3 and result.exact


def test_special_token_lookalikes_are_text() -> None:
    """<|endoftext|> in user content is counted as its text tokens."""
    plain = count_messages([{"role": "user", "content": "<|endoftext|>"}], "gpt-4o").tokens
    assert plain == 3 + 1 + len(tiktoken_enc("o200k_base").encode_ordinary("<|endoftext|>")) + 3


def test_image_parts_use_the_model_policy() -> None:
    """An image part with known size adds the documented image tokens, once."""
    url = "https://example.com/cat.png"
    msg = [
        {
            "role": "user",
            "content": [{"type": "image_url", "image_url": {"url": url, "detail": "high"}}],
        }
    ]
    known = count_messages(msg, "gpt-4o", image_dimensions={url: (1024, 1024)})
    assert known.images == 765 and known.exact, known.notes
    unknown = count_messages(msg, "gpt-4o")
    assert not unknown.exact and unknown.images == 85 + 170 * 8


def test_unverified_model_family_is_marked() -> None:
    """Counts for families whose rules are not verified against billed usage say so."""
    result = count_messages([{"role": "user", "content": "hi"}], "gpt-4.5-preview", as_of="2025-03-01")
    assert not result.exact and any("not verified" in n for n in result.notes)
    assert count_messages([{"role": "user", "content": "hi"}], "gpt-5").exact


@pytest.mark.parametrize(
    "bad",
    [[{"role": "wizard", "content": "x"}], [{"content": "x"}], "hello",
     [{"role": "user", "content": 5}], [{"role": "user", "content": [{"kind": "video"}]}],
     [{"role": "user", "content": "x", "name": 3}]],
)  # fmt: skip
def test_bad_shapes_raise_message_format_error(bad: Any) -> None:
    """Malformed messages raise MessageFormatError naming where."""
    with pytest.raises(MessageFormatError, match="messages"):
        count_messages(bad, "gpt-4o")


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
MESSAGE = (
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(["system", "user", "assistant", "tool", "developer", "x"]),
            "content": JSONISH,
        }
    )
    | JSONISH
)


@given(messages=st.lists(MESSAGE, max_size=4))
@settings(max_examples=300, deadline=None)
def test_any_json_is_counted_or_refused_cleanly(messages: list[Any]) -> None:
    """For any JSON-shaped message list the only exceptions are TokenomyErrors."""
    with contextlib.suppress(TokenomyError):
        count_messages(messages, "gpt-4o")


@given(a=st.text(max_size=40), b=st.text(max_size=40))
@settings(max_examples=100, deadline=None)
def test_adding_a_message_adds_its_own_cost(a: str, b: str) -> None:
    """Counting is additive: a message adds exactly 3 + its role + its content."""
    one = count_messages([{"role": "user", "content": a}], "gpt-4o").tokens
    two = count_messages(
        [{"role": "user", "content": a}, {"role": "assistant", "content": b}], "gpt-4o"
    ).tokens
    enc = tiktoken_enc("o200k_base")
    assert two - one == 3 + len(enc.encode("assistant")) + len(enc.encode_ordinary(b))


def _deep(levels: int, key: str) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        node = {"type": "array", "items": node} if key == "items" else {"type": "object", "properties": {"a": node}}
    return node


def test_hostile_schemas_are_message_format_errors() -> None:
    """Deep (objects or arrays), cyclic and exponentially shared tool schemas are refused with a
    MessageFormatError, never a RecursionError or an endless render."""
    from tokenomy.requests import count_request

    cyclic: dict[str, Any] = {"type": "object"}
    cyclic["properties"] = {"self": cyclic}
    shared: dict[str, Any] = {"type": "string"}
    for _ in range(40):
        shared = {"type": "object", "properties": {"a": shared, "b": shared}}
    for schema in (_deep(5000, "properties"), _deep(5000, "items"), cyclic, shared, {"x": cyclic}):
        tools = [{"type": "function", "function": {"name": "f", "parameters": schema}}]
        with pytest.raises(MessageFormatError):
            count_request({"model": "gpt-4o-2024-08-06", "messages": [], "tools": tools}, as_of=DAY)
        body = {"model": "gpt-4o-2024-08-06", "messages": [],
                "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}}
        with pytest.raises(MessageFormatError):
            count_request(body, as_of=DAY)


@pytest.mark.parametrize("field", [{"n": "2"}, {"n": 0}, {"max_tokens": 10**400}, {"max_tokens": float("inf")},
                                   {"max_tokens": 1 << 30, "n": 1 << 20}, {"max_completion_tokens": -1}])
def test_unusable_request_numbers(field: dict[str, Any]) -> None:
    """n and output caps that are not whole numbers in range are MessageFormatError, never OverflowError."""
    from tokenomy.requests import count_request

    with pytest.raises(MessageFormatError):
        count_request({"model": "gpt-4o-2024-08-06", "messages": [], **field}, as_of=DAY)


@pytest.mark.parametrize("message", [{"role": ["user"], "content": "x"}, {"role": {"a": 1}},
                                     {"role": "user", "content": [{"type": ["text"], "text": "x"}]},
                                     {"role": "user", "content": [{"type": {"k": 1}}]}])
def test_unhashable_fields_are_message_format_errors(message: dict[str, Any]) -> None:
    """A role or part type that is a list or an object is a MessageFormatError, not a TypeError."""
    with pytest.raises(MessageFormatError):
        count_messages([message], "gpt-4o-2024-08-06", as_of=DAY)


def test_image_dimensions_of_any_shape() -> None:
    """image_dimensions: numpy integers and huge sides are counted, wrong shapes are
    MessageFormatError, a value that is no mapping or callable a TypeError."""
    import numpy as np

    url = "https://example.com/cat.png"
    chat = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url, "detail": "high"}}]}]
    assert count_messages(chat, "gpt-4o-2024-08-06", as_of=DAY, image_dimensions={url: (np.int64(1024), 1024)}).images == 765
    assert count_messages(chat, "gpt-4o-2024-08-06", as_of=DAY, image_dimensions={url: (10**400, 10**400)}).images == 765
    for bad in ("ab", (1,), (1, 2, 3), (0, 5), (1.5, 2), (True, 2), {"w": 1, "h": 2}):
        with pytest.raises(MessageFormatError):
            count_messages(chat, "gpt-4o-2024-08-06", as_of=DAY, image_dimensions={url: bad})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="image_dimensions"):
        count_messages(chat, "gpt-4o-2024-08-06", as_of=DAY, image_dimensions=5)  # type: ignore[arg-type]


def test_parallel_call_arguments_nested_past_the_json_limit() -> None:
    """Tool-call arguments nested deeper than json can read are counted as non-JSON text, with a note."""
    deep = "[" * 100_000 + "]" * 100_000
    calls = [{"id": f"c{i}", "type": "function", "function": {"name": "f", "arguments": deep}} for i in range(2)]
    result = count_messages([{"role": "assistant", "tool_calls": calls}], "gpt-4o-2024-08-06", as_of=DAY)
    assert result.tokens > 0 and any("not JSON" in note for note in result.notes)
