"""Prompt tokens of a Chat Completions request: :func:`count_messages`, :class:`MessageCount`.

Follows the rules the API was observed to bill (``data/chat.toml`` names each source): a fixed
overhead per message and per request, function and tool definitions rendered as a TypeScript
namespace, legacy function calls, and images by size and detail. Where a rule is not known to be
exact, the result says so (``exact=False`` and ``reasons``) instead of pretending.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from tokenomy._data import table
from tokenomy.errors import MessageFormatError
from tokenomy.images import ImageCount, count_image_for, image_size_from_data_url
from tokenomy.registry import ModelInfo, _lookup, warn_if_retired
from tokenomy.tokenizer import Tokenizer, encoding_for

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
ImageDimensions = Mapping[str, tuple[int, int]] | Callable[[str], tuple[int, int] | None]


@dataclass(frozen=True)
class MessageCount:
    """Prompt tokens of a request, as ``usage.prompt_tokens`` reports them, with a breakdown.

    ``messages`` holds each message's tokens (overhead included, images excluded), ``images``
    the tokens of image parts, ``tools`` the definitions, ``tool_choice`` the choice, and
    ``overhead`` the per-request priming. ``exact`` is False when a rule used is an estimate;
    ``reasons`` says which.
    """

    total: int
    messages: tuple[int, ...]
    tools: int
    tool_choice: int
    images: int
    overhead: int
    model: str
    snapshot: str
    encoding: str
    exact: bool
    reasons: tuple[str, ...] = ()

    def __int__(self) -> int:
        return self.total

    def __index__(self) -> int:
        return self.total


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _text(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    raise MessageFormatError(where, f"expected a string, got {type(value).__name__}")


class _Counter:
    """State of one count: tokenizer, model facts, and the reasons a result is inexact."""

    def __init__(self, tok: Tokenizer, info: ModelInfo, dimensions: ImageDimensions | None) -> None:
        self.tok, self.info, self.dimensions = tok, info, dimensions
        self.reasons: list[str] = []
        self.image_tokens = 0

    def inexact(self, reason: str) -> None:
        if reason not in self.reasons:
            self.reasons.append(reason)

    def content(self, content: Any, where: str, pad: str) -> int:
        if content is None:
            return self.tok.count(pad) if pad else 0
        if isinstance(content, str):
            return self.tok.count_cached(content + pad) if pad else self.tok.count_cached(content)
        if isinstance(content, (bytes, bytearray)) or not isinstance(content, Iterable):
            raise MessageFormatError(where, "content must be a string, None or a list of parts")
        tokens = 0
        parts = list(content)
        for i, part in enumerate(parts):
            tokens += self.part(part, f"{where}.content[{i}]")
        if pad:
            tokens += self.tok.count(pad)
        return tokens

    def part(self, part: Any, where: str) -> int:
        kind = _get(part, "type")
        if kind == "text":
            return self.tok.count_cached(_text(_get(part, "text"), f"{where}.text"))
        if kind == "refusal":
            return self.tok.count(_text(_get(part, "refusal"), f"{where}.refusal"))
        if kind == "image_url":
            self.image_tokens += self.image(_get(part, "image_url"), where).tokens
            return 0
        if kind == "input_audio":
            self.inexact("audio input is billed as audio tokens, which tokenomy does not count")
            return 0
        if kind == "file":
            self.inexact("file inputs are billed by their extracted content, not counted here")
            return 0
        raise MessageFormatError(where, f"unknown content part type {kind!r}")

    def image(self, image: Any, where: str) -> ImageCount:
        url = image if isinstance(image, str) else _get(image, "url")
        detail = "auto" if isinstance(image, str) else (_get(image, "detail") or "auto")
        if not isinstance(url, str):
            raise MessageFormatError(f"{where}.image_url", "an image part needs a url string")
        size: tuple[int, int] | None = None
        if url.startswith("data:"):
            size = image_size_from_data_url(url)
        elif self.dimensions is not None:
            found = self.dimensions.get(url) if isinstance(self.dimensions, Mapping) else self.dimensions(url)
            size = tuple(found) if found is not None else None  # type: ignore[assignment]
        width, height = size if size is not None else (None, None)
        result = count_image_for(self.info, width, height, detail)
        if result.reason:
            self.inexact(result.reason)
        return result


def _definitions(tools: Any, functions: Any) -> list[Mapping[str, Any]]:
    defs: list[Mapping[str, Any]] = []
    for i, tool in enumerate(tools or ()):
        kind = _get(tool, "type")
        if kind not in (None, "function"):
            raise MessageFormatError(f"tools[{i}]", f"tool type {kind!r} is not 'function'")
        function = _get(tool, "function")
        if function is None:
            raise MessageFormatError(f"tools[{i}]", "a tool needs a 'function' object")
        defs.append(_as_mapping(function, f"tools[{i}].function"))
    for i, function in enumerate(functions or ()):
        defs.append(_as_mapping(function, f"functions[{i}]"))
    for i, d in enumerate(defs):
        if not isinstance(d.get("name"), str):
            raise MessageFormatError(f"definition {i}", "a function needs a 'name' string")
    return defs


def _as_mapping(obj: Any, where: str) -> Mapping[str, Any]:
    if isinstance(obj, Mapping):
        return obj
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        return dump(exclude_none=True)  # type: ignore[no-any-return]
    raise MessageFormatError(where, f"expected an object, got {type(obj).__name__}")


def render_functions(defs: Sequence[Mapping[str, Any]]) -> tuple[str, list[str]]:
    """The TypeScript namespace the API injects for function definitions, and what in them is
    beyond the verified rendering.

    >>> print(render_functions([{"name": "ping", "description": "Ping."}])[0])
    namespace functions {
    <BLANKLINE>
    // Ping.
    type ping = () => any;
    <BLANKLINE>
    } // namespace functions
    """
    unverified: list[str] = []
    lines = ["namespace functions {", ""]
    for d in defs:
        if d.get("description"):
            lines.append(f"// {d['description']}")
        params = d.get("parameters") or {}
        if isinstance(params, Mapping) and params.get("properties"):
            lines.append(f"type {d['name']} = (_: {{")
            lines.append(_properties(params, 0, unverified))
            lines.append("}) => any;")
        else:
            lines.append(f"type {d['name']} = () => any;")
        lines.append("")
    lines.append("} // namespace functions")
    return "\n".join(lines), unverified


def _properties(schema: Mapping[str, Any], indent: int, unverified: list[str]) -> str:
    required = schema.get("required") or ()
    lines = []
    properties = schema.get("properties") or {}
    if not isinstance(properties, Mapping):
        raise MessageFormatError("tool parameters", "'properties' must be an object")
    for name, prop in properties.items():
        if not isinstance(prop, Mapping):
            raise MessageFormatError(f"tool parameter {name!r}", "must be a JSON schema object")
        if prop.get("description"):
            if indent:
                unverified.append("descriptions inside nested objects")
            lines.append(f"// {prop['description']}")
        mark = "" if name in required else "?"
        lines.append(f"{name}{mark}: {_type(prop, indent, unverified)},")
    return "\n".join(" " * indent + line for line in lines)


def _type(prop: Mapping[str, Any], indent: int, unverified: list[str]) -> str:
    kind = prop.get("type")
    enum = prop.get("enum")
    if isinstance(kind, list) or "anyOf" in prop or "oneOf" in prop:
        unverified.append("union types (anyOf / oneOf / type lists)")
        options = prop.get("anyOf") or prop.get("oneOf") or [{"type": k} for k in kind or ()]
        return " | ".join(_type(o, indent, unverified) for o in options if isinstance(o, Mapping))
    if kind == "string":
        return " | ".join(json.dumps(v) for v in enum) if enum else "string"
    if kind in ("number", "integer"):
        return " | ".join(str(v) for v in enum) if enum else "number"
    if kind == "boolean":
        return "boolean"
    if kind == "null":
        return "null"
    if kind == "object":
        return "{\n" + _properties(prop, indent + 2, unverified) + "\n}"
    if kind == "array":
        items = prop.get("items")
        return f"{_type(items, indent, unverified)}[]" if isinstance(items, Mapping) else "any[]"
    unverified.append("parameters without a known type")
    return "any"


def count_messages(
    messages: Sequence[Any],
    model: str,
    *,
    tools: Sequence[Any] | None = None,
    tool_choice: Any = None,
    functions: Sequence[Any] | None = None,
    function_call: Any = None,
    as_of: date | None = None,
    image_dimensions: ImageDimensions | None = None,
) -> MessageCount:
    """Prompt tokens the API bills for ``messages`` (plus tool definitions) on ``model``.

    ``image_dimensions`` maps http(s) image URLs to ``(width, height)`` (or is a callable);
    URLs are never fetched.

    >>> chat = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi"}]
    >>> count_messages(chat, "gpt-4o").total
    16
    """
    info = _lookup(model, as_of or date.today())
    warn_if_retired(info)
    tok = encoding_for(info.encoding or info.name)
    if isinstance(messages, (str, bytes, Mapping)) or not isinstance(messages, Iterable):
        raise MessageFormatError("messages", "expected a list of message objects")
    chat = table("chat")
    fmt_name = chat["message_format_for"].get(info.snapshot, "chatml")
    fmt = chat["message_formats"][fmt_name]
    rules = chat["functions"]
    counter = _Counter(tok, info, image_dimensions)
    if info.snapshot not in fmt["verified_for"]:
        counter.inexact(fmt.get("unverified_note", "message overhead not verified for this model"))

    defs = _definitions(tools, functions)
    padded = False
    per_message: list[int] = []
    has_system = False
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        role = _get(message, "role")
        if role not in ROLES:
            raise MessageFormatError(where, f"role {role!r} is not one of {sorted(ROLES)}")
        pad = ""
        if role == "system":
            has_system = True
            if defs and not padded:
                pad, padded = rules["pad_first_system_message"], True
        tokens = fmt["tokens_per_message"] + tok.count(role)
        tokens += counter.content(_get(message, "content"), where, pad)
        name = _get(message, "name")
        if name is not None:
            tokens += tok.count(_text(name, f"{where}.name")) + fmt["tokens_per_name"]
        call = _get(message, "function_call")
        if call is not None:
            tokens += _call_tokens(tok, call, f"{where}.function_call") + rules["assistant_function_call"]
        tool_calls = _get(message, "tool_calls")
        if tool_calls:
            counter.inexact(rules["tool_calls_note"])
            for j, tool_call in enumerate(tool_calls):
                function = _get(tool_call, "function")
                tokens += _call_tokens(tok, function, f"{where}.tool_calls[{j}].function")
                tokens += rules["assistant_function_call"]
        if role == "tool":
            counter.inexact(rules["tool_calls_note"])
        if role == "function":
            tokens += rules["function_role_adjustment"]
        per_message.append(tokens)

    tool_tokens = 0
    if defs:
        definition_tokens, unverified = _definition_tokens(tok, defs)
        tool_tokens = definition_tokens + rules["definitions_overhead"]
        if has_system:
            tool_tokens += rules["system_message_adjustment"]
        for what in dict.fromkeys(unverified):
            counter.inexact(f"tool schemas with {what} have no API-verified rendering")
    choice_tokens = _choice_tokens(tok, counter, function_call, "function_call", rules)
    choice_tokens += _choice_tokens(tok, counter, tool_choice, "tool_choice", rules)
    overhead = fmt["reply_priming"]
    total = sum(per_message) + counter.image_tokens + tool_tokens + choice_tokens + overhead
    return MessageCount(
        total=total,
        messages=tuple(per_message),
        tools=tool_tokens,
        tool_choice=choice_tokens,
        images=counter.image_tokens,
        overhead=overhead,
        model=model,
        snapshot=info.snapshot,
        encoding=tok.name,
        exact=not counter.reasons,
        reasons=tuple(counter.reasons),
    )


# Tool schemas repeat across requests (an agent sends the same 20 tools every turn): cache the
# count of their rendering, keyed by encoding and the schemas' repr (cheap, and it changes
# whenever their content does).
_DEFINITION_CACHE: OrderedDict[tuple[str, str], tuple[int, list[str]]] = OrderedDict()
_DEFINITION_CACHE_SIZE = 256


def _definition_tokens(tok: Tokenizer, defs: Sequence[Mapping[str, Any]]) -> tuple[int, list[str]]:
    key = (tok.name, repr(defs))
    hit = _DEFINITION_CACHE.get(key)
    if hit is not None:
        return hit
    rendered, unverified = render_functions(defs)
    result = (tok.count(rendered), unverified)
    _DEFINITION_CACHE[key] = result
    if len(_DEFINITION_CACHE) > _DEFINITION_CACHE_SIZE:
        _DEFINITION_CACHE.popitem(last=False)
    return result


def _call_tokens(tok: Tokenizer, call: Any, where: str) -> int:
    if call is None:
        raise MessageFormatError(where, "a function call needs 'name' and 'arguments'")
    name, arguments = _get(call, "name"), _get(call, "arguments")
    tokens = tok.count(_text(name, f"{where}.name"))
    if arguments is not None:
        tokens += tok.count(_text(arguments, f"{where}.arguments"))
    return tokens


def _choice_tokens(
    tok: Tokenizer, counter: _Counter, choice: Any, kind: str, rules: Mapping[str, Any]
) -> int:
    if choice is None or choice == "auto":
        return 0
    if choice == "none":
        return int(rules[f"{kind}_none"])
    if choice == "required":
        counter.inexact(f"{kind}='required' has no API-verified cost; counted as 0")
        return 0
    target = _get(choice, "function") if kind == "tool_choice" else choice
    name = _get(target, "name") if target is not None else None
    if not isinstance(name, str):
        raise MessageFormatError(kind, "must be 'none', 'auto', 'required' or name a function")
    return int(rules[f"{kind}_named"]) + tok.count(name)
