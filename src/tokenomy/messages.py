"""Chat Completions bodies: messages, tool calls and results, tools, tool choice, response format.

:func:`count_chat_messages` and :func:`count_chat_request_parts` read a ``/v1/chat/completions``
body into a :class:`~tokenomy.counter.PromptCounter`; the 2023 ``functions`` / ``function_call``
fields keep their own framing (``[legacy_functions]`` in ``data/chat.toml``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tokenomy._data import table
from tokenomy._render import RenderNotes, RenderStyle, render_functions
from tokenomy._results import get
from tokenomy._shapes import ROLES, is_sequence, message_fields, text_value
from tokenomy._tooldefs import chat_definitions
from tokenomy.counter import PromptCounter
from tokenomy.errors import MessageFormatError, short

# ---- Chat Completions -----------------------------------------------------------------------




def count_chat_messages(counter: PromptCounter, messages: Any, body: Mapping[str, Any]) -> None:
    """Feed a Chat Completions request (its ``messages`` and request-level fields) to ``counter``."""
    if not is_sequence(messages):
        raise MessageFormatError("messages", "expected a list of message objects")
    messages = list(messages)
    legacy_defs = body.get("functions")
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        message = message if type(message) is dict else message_fields(message)
        role = message.get("role")
        if not isinstance(role, str) or role not in ROLES:  # a list or dict role is unhashable
            raise MessageFormatError(f"{where}.role", f"role {short(role)} is not one of {sorted(ROLES)}")
        content = message.get("content")
        tool_calls = message.get("tool_calls")
        if role == "assistant" and tool_calls:
            if not is_sequence(tool_calls):
                raise MessageFormatError(f"{where}.tool_calls", "must be a list of tool calls")
            counter.tool_calls(_chat_calls(tool_calls, f"{where}.tool_calls"), content, f"{where}.content")
            continue
        if role == "tool":
            counter.tool_result(message.get("tool_call_id"), content, where)
            continue
        if role == "system" and legacy_defs and counter.first_instruction_role is None:
            content = _padded(content, where)
        counter.message(role, content, where, name=message.get("name"))
        if role == "function":
            counter.feature("legacy_functions")
            counter.per_item[-1] += table("chat")["legacy_functions"]["function_role_adjustment"]
        call = message.get("function_call")
        if call is not None:
            counter.legacy_function_call(call, f"{where}.function_call")






def _padded(content: Any, where: str) -> Any:
    pad = table("chat")["legacy_functions"]["pad_first_system_message"]
    if isinstance(content, str):
        return content + pad
    if is_sequence(content):
        return [*content, {"type": "text", "text": pad}]
    return content


def _chat_calls(tool_calls: Sequence[Any], where: str) -> list[tuple[str, str, str | None]]:
    calls = []
    for j, call in enumerate(tool_calls):
        kind = get(call, "type")
        function = get(call, "function") if kind in (None, "function") else get(call, "custom")
        if function is None:
            raise MessageFormatError(f"{where}[{j}]",
                "a tool call needs a 'function' with name and arguments")
        name = text_value(get(function, "name"), f"{where}[{j}].function.name")
        arguments = get(function, "arguments") if kind in (None, "function") else get(function, "input")
        call_id = get(call, "id")
        calls.append((name, text_value(arguments, f"{where}[{j}].function.arguments"),
                      call_id if isinstance(call_id, str) else None))  # fmt: skip
    return calls


def count_chat_request_parts(counter: PromptCounter, body: Mapping[str, Any]) -> None:
    """Tools, tool choice and response format of a Chat Completions body."""
    defs = chat_definitions(body.get("tools"), body.get("functions"), counter)
    if body.get("functions"):
        _legacy_definitions(counter, defs)
    else:
        counter.tools(defs)
    counter.tool_choice(body.get("tool_choice"))
    if body.get("function_call") is not None:
        _legacy_choice(counter, body["function_call"])
    response_format = body.get("response_format")
    if response_format is not None:
        kind = get(response_format, "type")
        if kind == "json_schema":
            spec = get(response_format, "json_schema")
            if spec is None:
                raise MessageFormatError("response_format.json_schema",
                    "a json_schema format needs its schema")
            counter.json_schema(get(spec, "name"), get(spec, "schema"), get(spec, "description"),
                                "response_format.json_schema")  # fmt: skip
        elif kind == "json_object":
            counter.json_object()
        elif kind != "text":
            raise MessageFormatError("response_format.type", f"{short(kind)} is not a known format type")


def _legacy_definitions(counter: PromptCounter, defs: Sequence[Mapping[str, Any]]) -> None:
    """2023 ``functions``: hmarr/openai-chat-tokens' API-verified framing."""
    legacy = table("chat")["legacy_functions"]
    counter.feature("legacy_functions")
    style = RenderStyle(**table("chat")["render_styles"][legacy["render_style"]])
    notes = RenderNotes(set())
    tokens = counter.tok.count(render_functions(defs, style, notes)) + legacy["definitions_overhead"]
    if counter.first_instruction_role == "system":
        tokens += legacy["system_message_adjustment"]
    counter.tools_tokens += tokens


def _legacy_choice(counter: PromptCounter, choice: Any) -> None:
    legacy = table("chat")["legacy_functions"]
    counter.feature("legacy_functions")
    if isinstance(choice, str) and choice == "none":
        counter.choice_tokens += legacy["function_call_none"]
    elif choice != "auto":
        name = text_value(get(choice, "name"), "function_call.name")
        counter.choice_tokens += legacy["function_call_named"] + counter.count(name)


