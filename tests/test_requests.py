"""count_request: every endpoint, Responses items, bad bodies, the result object, and the billed
structure of tool calls built from tiktoken and the constants of data/chat.toml."""

from __future__ import annotations

import contextlib
import json
from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import tiktoken_enc
from tokenomy._data import table
from tokenomy.errors import MessageFormatError, TokenomyError, ZeroRetentionError
from tokenomy.requests import RequestCount, count_messages, count_request

CHAT_PATH, RESPONSES_PATH = "/v1/chat/completions", "/v1/responses"
CHATML = table("chat")["formats"]["chatml"]
HARMONY = table("chat")["formats"]["harmony"]


def tok(text: str, encoding: str = "o200k_base") -> int:
    return len(tiktoken_enc(encoding).encode_ordinary(text))


def plain(role: str, content: str) -> int:
    """One chatml message as the cookbook frames it: per-message tokens, role, content."""
    return int(CHATML["tokens_per_message"]) + tok(role) + tok(content)


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


PRIMING = int(CHATML["reply_priming"])

# ---- endpoints ---------------------------------------------------------------------------------


def test_chat_completions_endpoint() -> None:
    """A chat body bills each message's framing and text plus the reply priming."""
    result = count_request({"model": "gpt-4o", "messages": [user("Hello there")]})
    assert result.endpoint == CHAT_PATH and result.prompt_format == "chatml"
    assert result.tokens == plain("user", "Hello there") + PRIMING
    assert result.messages == (plain("user", "Hello there"),) and result.overhead == PRIMING
    assert result.exact, result.notes


def test_responses_endpoint() -> None:
    """A Responses body with string input bills like the same user message in chat."""
    result = count_request({"model": "gpt-4o", "input": "Hello there"}, endpoint=RESPONSES_PATH)
    assert result.endpoint == RESPONSES_PATH
    assert result.tokens == plain("user", "Hello there") + PRIMING
    assert result.exact, result.notes


def test_completions_endpoint() -> None:
    """A completions prompt list bills each prompt's own tokens, no framing."""
    body = {"model": "gpt-3.5-turbo-instruct", "prompt": ["Hello there", "General Kenobi"]}
    result = count_request(body, endpoint="/v1/completions", as_of="2025-01-01")
    expected = (tok("Hello there", "cl100k_base"), tok("General Kenobi", "cl100k_base"))
    assert result.endpoint == "/v1/completions" and result.encoding == "cl100k_base"
    assert result.messages == expected and result.tokens == sum(expected)
    assert result.prompt_format is None and result.overhead == 0


def test_embeddings_endpoint() -> None:
    """Embedding inputs bill their text tokens, and a token-id list bills its length."""
    body = {"model": "text-embedding-3-small", "input": ["Hello there", [1, 2, 3]]}
    result = count_request(body, endpoint="/v1/embeddings")
    assert result.endpoint == "/v1/embeddings"
    assert result.messages == (tok("Hello there", "cl100k_base"), 3)
    assert result.tokens == tok("Hello there", "cl100k_base") + 3


def test_moderations_endpoint() -> None:
    """A moderation input's text parts bill their text; an image part adds no text tokens."""
    parts = [{"type": "text", "text": "Hello there"},
             {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]  # fmt: skip
    result = count_request({"model": "omni-moderation-latest", "input": parts}, endpoint="/v1/moderations")
    assert result.endpoint == "/v1/moderations"
    assert result.tokens == tok("Hello there") and result.messages == (tok("Hello there"), 0)
    assert not result.exact and result.notes  # omni-moderation's tokenizer is an assumption


@pytest.mark.parametrize(
    ("path", "normal"),
    [("chat/completions", CHAT_PATH), ("/responses", RESPONSES_PATH), ("embeddings", "/v1/embeddings")],
)
def test_path_without_v1(path: str, normal: str) -> None:
    """A path given without /v1 is the /v1 path."""
    body = {"model": "text-embedding-3-small" if "embed" in path else "gpt-4o",
            "messages": [user("hi")], "input": "hi"}  # fmt: skip
    assert count_request(body, endpoint=path).endpoint == normal


def test_unknown_path_raises() -> None:
    """A path that is not a counting endpoint raises MessageFormatError naming the endpoint."""
    with pytest.raises(MessageFormatError, match="endpoint") as raised:
        count_request({"model": "gpt-4o", "input": "hi"}, endpoint="/v1/audio/speech")
    assert raised.value.where == "endpoint" and "/v1/audio/speech" in str(raised.value)


# ---- Responses API input -----------------------------------------------------------------------


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-5-mini"])
def test_string_input_equals_user_message_item(model: str) -> None:
    """Input as a string counts as that string in a user message item, in either item shape."""
    as_string = count_request({"model": model, "input": "Plan a trip"}, endpoint=RESPONSES_PATH)
    for items in ([user("Plan a trip")],
                  [{"type": "message", "role": "user",
                    "content": [{"type": "input_text", "text": "Plan a trip"}]}]):  # fmt: skip
        as_item = count_request({"model": model, "input": items}, endpoint=RESPONSES_PATH)
        assert as_item.tokens == as_string.tokens and as_item.messages == as_string.messages


def test_instructions_equal_a_leading_developer_message() -> None:
    """`instructions` bills as a developer message placed before the input."""
    with_instructions = count_request(
        {"model": "gpt-4o", "instructions": "Be brief.", "input": "Plan a trip"}, endpoint=RESPONSES_PATH
    )
    as_message = count_request(
        {"model": "gpt-4o", "input": [{"role": "developer", "content": "Be brief."}, user("Plan a trip")]},
        endpoint=RESPONSES_PATH,
    )
    assert with_instructions.tokens == as_message.tokens
    assert with_instructions.messages == as_message.messages
    assert with_instructions.messages[0] == plain("developer", "Be brief.")


def test_consecutive_function_calls_then_outputs() -> None:
    """Consecutive function_call items bill one by one, and each output is framed under the name
    of the call its call_id answers."""
    names = {"c1": "get_weather", "c2": "lookup_local_time_zone_offset"}
    arguments = {"c1": '{"city":"Paris"}', "c2": '{"city":"Paris","dst":true}'}
    outputs = {"c1": "sunny and mild", "c2": "plus two hours"}  # no ": ", which bills a marker
    items: list[dict[str, Any]] = [user("Weather and time in Paris?")]
    items += [{"type": "function_call", "call_id": c, "name": names[c], "arguments": arguments[c]}
              for c in ("c1", "c2")]  # fmt: skip
    items += [{"type": "function_call_output", "call_id": c, "output": outputs[c]} for c in ("c2", "c1")]
    result = count_request({"model": "gpt-4o", "input": items}, endpoint=RESPONSES_PATH)
    per_message, api = int(CHATML["tokens_per_message"]), CHATML["responses"]
    calls = sum(per_message + tok(CHATML["call_header"].format(name=names[c])) + tok(arguments[c])
                + int(api["tool_call"]) for c in ("c1", "c2"))  # fmt: skip
    results = [per_message + tok(CHATML["result_header"].format(name=names[c])) + tok(outputs[c])
               for c in ("c2", "c1")]  # fmt: skip
    assert result.messages == (plain("user", "Weather and time in Paris?"), calls, *results)
    assert result.tokens == sum(result.messages) + PRIMING
    assert {"tool_calls", "tool_results"} <= set(result.features)


def test_reasoning_item_is_flagged_not_fatal() -> None:
    """A reasoning item passed back adds no text the body can show and makes the count inexact, with a note."""
    reasoning = {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Think."}]}
    base = count_request({"model": "gpt-5-mini", "input": [user("hi")]}, endpoint=RESPONSES_PATH)
    result = count_request({"model": "gpt-5-mini", "input": [reasoning, user("hi")]}, endpoint=RESPONSES_PATH)
    assert result.tokens == base.tokens and base.exact
    assert not result.exact and any("reasoning" in note for note in result.notes)


@pytest.mark.parametrize(
    "content", [[{"type": "input_text", "text": "the quick brown fox"}], "the quick brown fox"]
)
def test_unknown_item_type_counts_its_text(content: Any) -> None:
    """An input item of an unknown type is counted for its text and flagged, never a crash."""

    def with_text(text: Any) -> RequestCount:
        item = {"type": "holo_note", "content": text}
        return count_request({"model": "gpt-4o", "input": [user("hi"), item]}, endpoint=RESPONSES_PATH)

    empty = "" if isinstance(content, str) else [{"type": "input_text", "text": ""}]
    result = with_text(content)
    assert result.tokens - with_text(empty).tokens == tok("the quick brown fox")
    assert not result.exact and any("holo_note" in note for note in result.notes)


@pytest.mark.parametrize("endpoint", [CHAT_PATH, RESPONSES_PATH])
def test_unknown_content_part_counts_its_text(endpoint: str) -> None:
    """A content part of an unknown type is counted for its text and flagged."""

    def with_text(text: str) -> RequestCount:
        message = {"role": "user", "content": [{"type": "hologram", "text": text}]}
        return count_request(
            {"model": "gpt-4o", "messages": [message], "input": [message]}, endpoint=endpoint
        )

    result = with_text("the quick brown fox")
    assert result.tokens - with_text("").tokens == tok("the quick brown fox")
    assert not result.exact and any("hologram" in note for note in result.notes)


@pytest.mark.parametrize("field", table("chat")["server_state_fields"]["responses"])
def test_server_state_fields_are_inexact(field: str) -> None:
    """A field that makes the server add stored context makes the count inexact, naming the field."""
    value: Any = (
        [{"type": "compaction", "compact_threshold": 1000}] if field == "context_management" else "x_1"
    )
    base = count_request({"model": "gpt-4o", "input": "hi"}, endpoint=RESPONSES_PATH)
    result = count_request({"model": "gpt-4o", "input": "hi", field: value}, endpoint=RESPONSES_PATH)
    assert base.exact and not result.exact and result.tokens == base.tokens
    assert any(note.startswith(field) for note in result.notes)


def test_unknown_parameter_fields_are_inexact() -> None:
    """A sub-field of a parameter that data/chat.toml does not list as leaving the input unchanged
    (reasoning.mode) makes the count inexact and names it; the listed ones (effort) do not."""
    body = {"model": "gpt-5", "input": "hi"}
    base = count_request(body, endpoint=RESPONSES_PATH)
    known = count_request({**body, "reasoning": {"effort": "low", "summary": "auto"}}, endpoint=RESPONSES_PATH)
    unknown = count_request({**body, "reasoning": {"effort": "low", "mode": "pro"}}, endpoint=RESPONSES_PATH)
    assert base.exact and known.exact and known.tokens == base.tokens
    assert not unknown.exact and unknown.tokens == base.tokens
    assert [n.split(":")[0] for n in unknown.notes if n.startswith("reasoning.")] == ["reasoning.mode"]


EMPTY_DESCRIPTION = {"type": "function", "function": {"name": "lookup", "description": "",
                     "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}  # fmt: skip


@pytest.mark.parametrize(("model", "exact"), [("gpt-4o-2024-08-06", True), ("gpt-4.1", True),
                                              ("gpt-3.5-turbo-0125", False)])  # fmt: skip
def test_feature_verified_on_some_families_only(model: str, exact: bool) -> None:
    """A function without a description is verified on the families data/chat.toml names for it;
    on another family the count is the same rule, flagged inexact with the family named."""
    result = count_request({"model": model, "messages": [user("hi")], "tools": [EMPTY_DESCRIPTION]},
                           as_of="2025-06-01")  # fmt: skip
    assert result.exact is exact
    family_notes = [n for n in result.notes if "functions without a description on the" in n]
    assert bool(family_notes) is (not exact)


def test_unverified_pair_of_verified_features() -> None:
    """json_object and a function without a description are each verified, the pair is not."""
    body = {"model": "gpt-4o-2024-08-06", "messages": [user("hi")], "tools": [EMPTY_DESCRIPTION]}
    alone = count_request(body)
    paired = count_request({**body, "response_format": {"type": "json_object"}})
    assert alone.exact and not paired.exact and paired.tokens == alone.tokens
    assert any(n.startswith("json object with schema:functions without a description") for n in paired.notes)


# ---- bad bodies --------------------------------------------------------------------------------

CALL = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
BAD_BODIES: list[tuple[str, dict[str, Any], str]] = [
    (CHAT_PATH, {"messages": [user("hi")]}, "body.model"),
    (CHAT_PATH, {"model": "gpt-4o", "messages": user("hi")}, "messages"),
    (CHAT_PATH, {"model": "gpt-4o", "messages": [{"role": "assistant", "tool_calls": CALL}]},
     "messages[0].tool_calls"),
    (CHAT_PATH, {"model": "gpt-4o", "messages": [{"role": "assistant", "tool_calls": [
        {**CALL, "function": {"name": "f", "arguments": {"a": 1}}}]}]},
     "messages[0].tool_calls[0].function.arguments"),
    (CHAT_PATH, {"model": "gpt-4o", "messages": [user("hi")], "response_format": {
        "type": "json_schema", "json_schema": {"schema": {"type": "object"}}}},
     "response_format.json_schema.name"),
    (CHAT_PATH, {"model": "gpt-4o", "messages": [user("hi")],
                 "tools": [{"type": "function", "function": {"description": "no name"}}]},
     "tools[0].function.name"),
    (RESPONSES_PATH, {"model": "gpt-4o", "input": "hi", "tools": [{"type": "function"}]}, "tools[0].name"),
    (RESPONSES_PATH, {"model": "gpt-4o", "input": [{"role": ["user"], "content": "hi"}]}, "input[0].role"),
    (RESPONSES_PATH, {"model": "gpt-4o", "input": [
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": {}}]}, "input[0].arguments"),
    (RESPONSES_PATH, {"model": "gpt-4o", "input": "hi", "text": {"format": {"type": "json_schema"}}},
     "text.format.name"),
]  # fmt: skip


@pytest.mark.parametrize(("endpoint", "body", "where"), BAD_BODIES, ids=[w for _, _, w in BAD_BODIES])
def test_bad_bodies_name_the_field(endpoint: str, body: dict[str, Any], where: str) -> None:
    """A malformed body raises MessageFormatError whose message names the field's path."""
    with pytest.raises(MessageFormatError) as raised:
        count_request(body, endpoint=endpoint)
    assert raised.value.where == where and str(raised.value).startswith(where)


@pytest.mark.parametrize("role", [["user"], {"name": "user"}])
def test_chat_role_that_is_not_a_string(role: Any) -> None:
    """A chat message whose role is a list or an object raises MessageFormatError naming the role."""
    with pytest.raises(MessageFormatError) as raised:
        count_request({"model": "gpt-4o", "messages": [{"role": role, "content": "hi"}]})
    assert raised.value.where == "messages[0].role"


def test_unnamed_tool_after_a_server_tool_is_named_by_its_own_index() -> None:
    """A function tool without a name is reported at its own index in `tools`, past other tool types."""
    tools = [{"type": "web_search"}, {"type": "function", "function": {"description": "no name"}}]
    with pytest.raises(MessageFormatError) as raised:
        count_request({"model": "gpt-4o", "messages": [user("hi")], "tools": tools})
    assert raised.value.where == "tools[1].function.name"


@pytest.mark.parametrize("levels", [70, 5_000])
def test_deeply_nested_tool_schema_is_refused(levels: int) -> None:
    """A tool schema nested past the render limit raises MessageFormatError, never RecursionError."""
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"a": schema}}
    tool = {"type": "function", "function": {"name": "f", "parameters": schema}}
    with pytest.raises(MessageFormatError, match="deeper"):
        count_request({"model": "gpt-4o", "messages": [user("hi")], "tools": [tool]})


# ---- the result ----------------------------------------------------------------------------------


@pytest.mark.parametrize("as_of", [date(2024, 9, 1), datetime(2024, 9, 1, 18, 30), "2024-09-01"])
def test_as_of_accepts_date_datetime_and_iso_string(as_of: Any) -> None:
    """as_of as a date, a datetime or "YYYY-MM-DD" resolves the alias on that day."""
    result = count_request({"model": "gpt-4o", "messages": [user("hi")]}, as_of=as_of)
    reference = count_request({"model": "gpt-4o", "messages": [user("hi")]}, as_of=date(2024, 9, 1))
    assert result == reference and type(result.as_of) is date and result.as_of == date(2024, 9, 1)


IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}}


def test_zero_retention_required_with_an_image_raises() -> None:
    """An image on chat completions raises ZeroRetentionError when zero retention is required."""
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": [IMAGE]}]}
    with pytest.raises(ZeroRetentionError) as raised:
        count_request(body, require_zero_retention=True)
    assert raised.value.path == CHAT_PATH and isinstance(raised.value, TokenomyError)


def test_zero_retention_not_required_gives_a_note() -> None:
    """Without require_zero_retention the same image only adds a note."""
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": [IMAGE]}]}
    result = count_request(body)
    assert any("zero data retention" in note for note in result.notes)


def test_to_dict_round_trips_through_json() -> None:
    """to_dict() survives JSON unchanged and rebuilds an equal RequestCount."""
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": [IMAGE]}], "max_tokens": 10}
    result = count_request(body, as_of="2025-01-01")
    assert result.notes and result.features and result.images  # every kind of field is filled
    data = json.loads(json.dumps(result.to_dict()))
    assert data == result.to_dict()
    rebuilt = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    rebuilt["as_of"] = date.fromisoformat(data["as_of"])
    assert RequestCount(**rebuilt) == result


def test_deprecated_spellings_warn_and_agree() -> None:
    """.total and .reasons warn DeprecationWarning and equal .tokens and .notes."""
    result = count_request({"model": "gpt-4o", "messages": [{"role": "user", "content": [IMAGE]}]})
    with pytest.warns(DeprecationWarning, match="tokens"):
        assert result.total == result.tokens
    with pytest.warns(DeprecationWarning, match="notes"):
        assert result.reasons == result.notes


def test_count_messages_equals_count_request() -> None:
    """count_messages(...) is count_request of the body holding the same fields."""
    tool = {"type": "function", "function": {"name": "get_weather", "description": "Weather.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}  # fmt: skip
    fmt = {"type": "json_schema", "json_schema": {"name": "reply", "schema": {"type": "object"}}}
    messages = [{"role": "system", "content": "Be brief."}, user("Weather in Paris?")]
    parts = {"tools": [tool], "tool_choice": "required", "response_format": fmt}
    by_parts = count_messages(messages, "gpt-4o", as_of="2025-01-01", **parts)
    by_body = count_request({"model": "gpt-4o", "messages": messages, **parts}, as_of="2025-01-01")
    assert by_parts == by_body and by_parts.tools and by_parts.response_format


@pytest.mark.parametrize(
    ("endpoint", "fields", "cap"),
    [
        (CHAT_PATH, {"max_tokens": 7, "n": 3}, 21),
        (CHAT_PATH, {"max_completion_tokens": 7, "max_tokens": 9}, 7),
        (CHAT_PATH, {}, None),
        (RESPONSES_PATH, {"max_output_tokens": 50}, 50),
        (RESPONSES_PATH, {"max_output_tokens": 50, "n": 3}, 50),
        (CHAT_PATH, {"max_tokens": 7, "n": None}, 7),
    ],
)  # fmt: skip
def test_max_output_tokens(endpoint: str, fields: dict[str, Any], cap: int | None) -> None:
    """max_output_tokens is the cap times n on chat (n null meaning 1) and max_output_tokens on responses."""
    body = {"model": "gpt-4o", "messages": [user("hi")], "input": "hi", **fields}
    assert count_request(body, endpoint=endpoint).max_output_tokens == cap


def test_a_bad_output_cap_is_named_by_its_field() -> None:
    """A bad cap or choice count raises MessageFormatError naming the field given."""
    with pytest.raises(MessageFormatError) as raised:
        count_request({"model": "gpt-4o", "input": "hi", "max_output_tokens": -5}, endpoint=RESPONSES_PATH)
    assert raised.value.where == "body.max_output_tokens"
    with pytest.raises(MessageFormatError) as raised:
        count_request({"model": "gpt-4o", "messages": [user("hi")], "max_tokens": 5, "n": "2"})
    assert raised.value.where == "body.n"


# ---- billed structure, from tiktoken and data/chat.toml -------------------------------------------

QUESTION = "What's the weather in Paris and in Rome?"


def _call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def test_single_tool_call_and_result_on_gpt_4o() -> None:
    """A call and its result bill their chatml headers, arguments and output, plus the format's tool_call."""
    arguments, output = '{"city": "Paris"}', "Sunny, 21 C"
    messages = [user(QUESTION),
                {"role": "assistant", "content": None, "tool_calls": [_call("c1", "get_weather", arguments)]},
                {"role": "tool", "tool_call_id": "c1", "content": output}]  # fmt: skip
    result = count_request({"model": "gpt-4o", "messages": messages})
    per_message = int(CHATML["tokens_per_message"])
    call = per_message + tok(CHATML["call_header"].format(name="get_weather")) + tok(arguments)
    answer = per_message + tok(CHATML["result_header"].format(name="get_weather")) + tok(output)
    assert CHATML["call_header"].format(name="x") == "assistant to=functions.x"
    assert (
        result.tokens == plain("user", QUESTION) + call + answer + int(CHATML["chat"]["tool_call"]) + PRIMING
    )
    assert result.exact, result.notes


def test_two_calls_in_one_message_bill_the_parallel_wrapper() -> None:
    """Two calls in one assistant message bill as one multi_tool_use.parallel call with the
    arguments re-serialised compactly, each result framed under that wrapper."""
    args = {"c1": '{"city": "Paris"}', "c2": '{ "city" : "Rome", "units": "metric" }'}
    outputs = {"c1": "Sunny, 21 C", "c2": "Rain, 14 C"}
    messages = [user(QUESTION),
                {"role": "assistant", "content": None,
                 "tool_calls": [_call(c, "get_weather", args[c]) for c in ("c1", "c2")]},
                *({"role": "tool", "tool_call_id": c, "content": outputs[c]} for c in ("c1", "c2"))]  # fmt: skip
    result = count_request({"model": "gpt-4o", "messages": messages})
    api, per_message = CHATML["chat"], int(CHATML["tokens_per_message"])
    wrapper = json.dumps({"tool_uses": [{"recipient_name": "functions.get_weather",
                                         "parameters": json.loads(args[c])} for c in ("c1", "c2")]},
                         separators=(",", ":"))  # fmt: skip
    assert " " not in wrapper
    call = (per_message + tok(api["parallel_wrapper"]["call_header"]) + tok(wrapper)
            + int(api["parallel_call"]))  # fmt: skip
    answers = [
        per_message + tok(api["parallel_wrapper"]["result_header"]) + tok(outputs[c]) for c in ("c1", "c2")
    ]
    assert result.messages == (plain("user", QUESTION), call, *answers)
    assert result.tokens == sum(result.messages) + PRIMING
    assert "parallel_tool_calls" in result.features


def _deepest_parsable() -> int:
    """The deepest nesting json.loads parses here: one level past it fails, and writing it back
    inside the wrapper's three levels fails too."""
    low, high = 1, 200_000
    while low < high:
        middle = (low + high + 1) // 2
        try:
            json.loads("[" * middle + "]" * middle)
            low = middle
        except RecursionError:
            high = middle - 1
    return low


@pytest.mark.parametrize("levels", [100_000, _deepest_parsable()], ids=["past the parser", "at its limit"])
def test_parallel_call_arguments_nested_too_deep_for_json(levels: int) -> None:
    """Parallel call arguments nested too deep to parse or to write back are counted as text and flagged."""
    nested = "[" * levels + "]" * levels
    calls = [_call("c1", "f", nested), _call("c2", "f", "{}")]
    result = count_request(
        {"model": "gpt-4o", "messages": [{"role": "assistant", "content": None, "tool_calls": calls}]}
    )
    assert "parallel_tool_calls_with_invalid_json" in result.features
    assert not result.exact and any("nest too deep" in note for note in result.notes)


def test_harmony_reply_priming_is_one_less_than_chatml() -> None:
    """gpt-5-mini (harmony) bills one token less than gpt-4o (chatml) for the same single user message."""
    body = {"messages": [user("Hello there")]}
    chatml = count_request({"model": "gpt-4o", **body})
    harmony = count_request({"model": "gpt-5-mini", **body})
    assert (chatml.prompt_format, harmony.prompt_format) == ("chatml", "harmony")
    assert chatml.tokens - harmony.tokens == 1 == int(CHATML["reply_priming"]) - int(HARMONY["reply_priming"])
    assert harmony.messages == chatml.messages and harmony.exact


# ---- properties --------------------------------------------------------------------------------

WORDS = ["user", "assistant", "system", "developer", "tool", "message", "function_call",
         "function_call_output", "reasoning", "text", "input_text", "image_url", "file", "function",
         "json_schema", "object", "string", "auto", "required", "{}", "gpt-4o", "gpt-5-mini"]  # fmt: skip
KEYS = ["model", "role", "content", "type", "text", "name", "arguments", "tool_calls", "function",
        "call_id", "output", "messages", "input", "tools", "tool_choice", "response_format",
        "json_schema", "schema", "parameters", "properties", "instructions", "max_tokens", "n"]  # fmt: skip
JSON = st.recursive(
    st.none() | st.integers(-2, 10) | st.text(max_size=8) | st.sampled_from(WORDS),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)
BODY = JSON | st.fixed_dictionaries(
    {"model": st.sampled_from(["gpt-4o", "gpt-5-mini", "text-embedding-3-small"]) | JSON},
    optional={key: JSON for key in ("messages", "input", "prompt", "tools", "tool_choice",
                                    "response_format", "text", "instructions", "max_tokens", "n")},
)  # fmt: skip


@given(body=BODY, endpoint=st.sampled_from([CHAT_PATH, RESPONSES_PATH, "/v1/completions",
                                            "/v1/embeddings", "/v1/moderations"]))  # fmt: skip
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_json_body_is_counted_or_refused_cleanly(body: Any, endpoint: str) -> None:
    """Any JSON-shaped body gives a RequestCount or raises only a TokenomyError or TypeError."""
    with contextlib.suppress(TokenomyError, TypeError):
        assert isinstance(count_request(body, endpoint=endpoint), RequestCount)
