"""Prompt tokens of a conversation: messages, tool definitions, tool calls and their results.

:class:`PromptCounter` prices one conversation under one prompt format (``data/chat.toml``:
the per-message framing, the text a tool call or a tool result is rendered as, the tool namespace,
structured-output sections) and records which request features it met. Both request shapes feed it:
Chat Completions ``messages`` (:func:`count_chat_messages`, here) and Responses API ``input`` items
(``requests.py``). A count is exact only when every feature it met is verified for the model's
family on that API; otherwise the notes say which rule was an estimate.
"""

from __future__ import annotations

import json
import math
import operator
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from tokenomy._data import table
from tokenomy._render import (
    MAX_SCHEMA_DEPTH,
    RenderNotes,
    RenderStyle,
    check_schema,
    render_functions,
    render_json_schema_format,
    walk,
)
from tokenomy._results import get
from tokenomy.audio import audio_seconds
from tokenomy.errors import ImageError, MessageFormatError, short
from tokenomy.files import decode_file_data, file_text
from tokenomy.images import ImageCount, count_image_for, image_size_from_data_url
from tokenomy.registry import ModelInfo
from tokenomy.rules import FormatRules
from tokenomy.tokenizer import Tokenizer

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
ImageDimensions = Mapping[str, tuple[int, int]] | Callable[[str], tuple[int, int] | None]
TEXT_PARTS = frozenset({"text", "input_text", "output_text"})


def text_value(value: Any, where: str) -> str:
    """``value`` if it is a string, else a :class:`MessageFormatError` naming ``where``."""
    if isinstance(value, str):
        return value
    raise MessageFormatError(where, f"expected a string, got {type(value).__name__}")


def as_mapping(obj: Any, where: str) -> Mapping[str, Any]:
    """A tool definition or schema as a mapping (dicts, or pydantic objects via ``model_dump``)."""
    if isinstance(obj, Mapping):
        return obj
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        dumped = dump(exclude_none=True)
        if isinstance(dumped, Mapping):
            return dumped
    raise MessageFormatError(where, f"expected an object, got {type(obj).__name__}")


def is_sequence(value: Any) -> bool:
    """True for lists and tuples of parts or items (never a string, bytes or a mapping)."""
    return isinstance(value, Iterable) and not isinstance(value, (str, bytes, bytearray, Mapping))


class PromptCounter:
    """Running count of one request's prompt under one format and API."""

    def __init__(self, tok: Tokenizer, info: ModelInfo, rules: FormatRules, api: str,
                 dimensions: ImageDimensions | None) -> None:  # fmt: skip
        self.tok, self.info, self.rules, self.api = tok, info, rules, api
        self.api_rules = rules.apis[api]
        self.dimensions = dimensions
        self.features: set[str] = set()
        self.notes: list[str] = []
        self.per_item: list[int] = []
        self.tools_tokens = self.choice_tokens = self.format_tokens = 0
        self.image_tokens = self.file_tokens = self.audio_tokens = 0
        self.file_parts = 0
        self.first_instruction_role: str | None = None
        self.result_headers: dict[str, str] = {}
        self.first_system_text: str | None = None
        self.framing_counts: dict[str, int] = {}
        self.comment_bonus = 0
        self.assistant_text_messages = 0

    # ---- bookkeeping ---------------------------------------------------------------------------

    def feature(self, name: str) -> None:
        self.features.add(name)

    def framing(self, text: str) -> int:
        """Tokens of a role or a call/result header: few distinct strings, counted once each."""
        found = self.framing_counts.get(text)
        if found is None:
            found = self.framing_counts[text] = self.tok.count(text)
        return found

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def count(self, text: str) -> int:
        return self.tok.count_cached(text)

    # ---- content -------------------------------------------------------------------------------

    def content(self, content: Any, where: str) -> int:
        """Tokens of a message's content: a string, None, or a list of parts."""
        if content is None:
            return 0
        if isinstance(content, str):
            return self.count(content)
        if not is_sequence(content):
            raise MessageFormatError(where, "content must be a string, None or a list of parts")
        return sum(self.part(part, f"{where}[{i}]") for i, part in enumerate(content))

    def part(self, part: Any, where: str) -> int:
        if isinstance(part, str):  # the Responses API accepts bare strings in some lists
            return self.count(part)
        kind = get(part, "type")
        if not isinstance(kind, str):
            raise MessageFormatError(where, "a content part needs a 'type' string")
        if kind in TEXT_PARTS:
            return self.count(text_value(get(part, "text"), f"{where}.text"))
        if kind == "refusal":
            return self.count(text_value(get(part, "refusal"), f"{where}.refusal"))
        if kind in ("image_url", "input_image"):
            self.feature("image")
            image = get(part, "image_url")
            if kind == "input_image" and not isinstance(image, str):
                image = {"url": image, "detail": get(part, "detail")}
            self.image_tokens += self.image(image, where).tokens
            return 0
        if kind == "input_audio":
            return self.audio(get(part, "input_audio"), f"{where}.input_audio")
        if kind in ("file", "input_file"):
            return self.file(get(part, "file"), f"{where}.file") if kind == "file" else self.file(part, where)
        if not isinstance(kind, str):
            raise MessageFormatError(where, "a content part needs a 'type' string")
        self.feature(f"part:{short(kind, 40)}")
        text = get(part, "text")
        self.note(f"content part type {short(kind)} is not known to tokenomy; counted for its text only")
        return self.count(text) if isinstance(text, str) else 0

    def audio(self, clip: Any, where: str) -> int:
        """An audio clip: tokens by duration (into ``audio``) plus the part's text framing."""
        self.feature("audio")
        rules = table("chat")["audio"]
        fmt = get(clip, "format")
        data = decode_file_data(get(clip, "data"), f"{where}.data")
        seconds = audio_seconds(data, fmt if isinstance(fmt, str) else "")
        self.audio_tokens += math.floor(seconds * rules["tokens_per_second"] + 1e-9)
        return int(rules["part_framing"])

    def file(self, spec: Any, where: str) -> int:
        """A file part: its extracted text plus the format's framing."""
        self.feature("file")
        self.file_parts += 1
        data = get(spec, "file_data")
        framing = self.api_rules.file_part
        if data is None:
            self.note(f"{where}: a file given by id or URL is read by the server; framing alone counted")
            self.file_tokens += framing
            return 0
        extracted = file_text(decode_file_data(data, f"{where}.file_data"))
        if extracted.note:
            self.note(extracted.note)
        self.file_tokens += self.count(extracted.text) + framing
        return 0

    def image(self, image: Any, where: str) -> ImageCount:
        url = image if isinstance(image, str) else get(image, "url")
        detail = "auto" if isinstance(image, str) else (get(image, "detail") or "auto")
        if not isinstance(url, str):
            if get(image, "file_id") is not None:
                self.note("an image given by file id has a size only the server knows")
                return count_image_for(self.info, None, None, detail if detail in ("low", "high") else "auto")
            raise MessageFormatError(f"{where}.image_url", "an image part needs a url string")
        size: tuple[int, int] | None = None
        if url.startswith("data:"):
            try:
                size = image_size_from_data_url(url)
            except ImageError as error:
                raise ImageError(f"{where}.image_url: {error}") from None
        elif self.dimensions is not None:
            found = self.dimensions.get(url) if isinstance(self.dimensions, Mapping) else self.dimensions(url)
            size = _dimensions(found, where)
        if detail not in ("auto", "low", "high"):
            raise MessageFormatError(f"{where}.detail",
                                     f"detail is 'auto', 'low' or 'high', not {short(detail)}")  # fmt: skip
        result = count_image_for(self.info, size[0] if size else None, size[1] if size else None, detail)
        if result.notes:
            self.note("; ".join(result.notes))
        return result

    # ---- conversation elements -----------------------------------------------------------------

    def message(self, role: str, content: Any, where: str, *, name: Any = None) -> int:
        """One plain message (any role but a tool result): framing, role, content and name."""
        rules = self.rules
        if role in ("system", "developer"):
            self.feature(f"{role}_role")
            if self.first_instruction_role is None:
                self.first_instruction_role = role
        images_before, files_before = self.image_tokens, self.file_parts
        tokens = rules.tokens_per_message + self.framing(role) + self.content(content, f"{where}.content")
        if self.image_tokens > images_before:
            tokens += self.api_rules.image_message
        if self.file_parts > files_before and _only_files(content):
            tokens += self.api_rules.file_only_message
        if name is not None:
            self.feature("name")
            tokens += self.count(text_value(name, f"{where}.name")) + rules.tokens_per_name
        if role == "assistant":
            tokens += rules.assistant_extra
            if content not in (None, "", []):
                self.assistant_text_messages += 1
        if not self.per_item and role == "system" and isinstance(content, str):
            self.first_system_text = content
        self.per_item.append(tokens)
        return tokens

    def tool_calls(self, calls: Sequence[tuple[str, str, str | None]], content: Any, where: str) -> int:
        """An assistant turn that calls tools: ``(name, arguments, call id)`` per call."""
        tokens = 0
        if content not in (None, "", []):
            self.feature("assistant_text_with_tool_calls")
            tokens += self.rules.tokens_per_message + self.count("assistant") + self.content(content, where)
            tokens += self.rules.assistant_extra
        self.feature("tool_calls")
        api = self.api_rules
        if len(calls) > 1 and api.parallel_wrapper:
            self.feature("parallel_tool_calls")
            wrapper = _parallel_wrapper(calls, self)
            tokens += self.rules.tokens_per_message + self.count(api.parallel_wrapper["call_header"])
            tokens += self.count(wrapper) + api.parallel_call
            tokens += api.parallel_empty_arguments * sum(1 for _, arguments,
                _ in calls if _is_empty_object(arguments))
            for _, _, call_id in calls:
                if call_id is not None:
                    self.result_headers[call_id] = api.parallel_wrapper["result_header"]
        else:
            if len(calls) > 1:
                self.feature("parallel_tool_calls")
            for name, arguments, call_id in calls:
                header = self.rules.call_header.format(name=name)
                tokens += self.rules.tokens_per_message + self.framing(header) + self.count(arguments)
                tokens += api.tool_call
                if call_id is not None:
                    self.result_headers[call_id] = self.rules.result_header.format(name=name)
        self.per_item.append(tokens)
        return tokens

    def tool_result(self, call_id: Any, content: Any, where: str) -> int:
        """A tool's output, framed under the name of the call it answers."""
        self.feature("tool_results")
        header = self.result_headers.get(call_id) if isinstance(call_id, str) else None
        if header is None:
            self.feature("orphan_tool_result")
            self.note(f"{where}: no earlier tool call has this id, so the tool's name is unknown")
            header = self.rules.result_header.format(name="")
        tokens = self.rules.tokens_per_message + self.framing(header) + self.content(content,
            f"{where}.content") + self.api_rules.tool_result
        marker = self.api_rules.marked_output
        if marker and isinstance(content, str) and marker["contains"] in content:
            self.feature("tool_output_with_marker")
            tokens += int(marker["tokens"])
        self.per_item.append(tokens)
        return tokens

    def legacy_function_call(self, call: Any, where: str) -> int:
        """The pre-tools ``function_call`` on an assistant message (2023 rules)."""
        self.feature("legacy_functions")
        legacy = table("chat")["legacy_functions"]
        name = text_value(get(call, "name"), f"{where}.name")
        arguments = get(call, "arguments")
        tokens = self.count(name) + int(legacy["assistant_function_call"])
        if arguments is not None:
            tokens += self.count(text_value(arguments, f"{where}.arguments"))
        self.per_item[-1] += tokens
        return tokens

    # ---- request-level parts -------------------------------------------------------------------

    def tools(self, definitions: Sequence[Mapping[str, Any]]) -> int:
        """Function definitions: the rendered namespace plus the format's framing constant."""
        if not definitions:
            return 0
        self.feature("tools")
        style = self.api_rules.style or self.rules.style
        for i, definition in enumerate(definitions):
            check_schema(definition, f"tools[{i}]")
        rendered, seen = _render_cached(self.tok, definitions, style)
        for what in seen:
            self.feature(f"schema:{what}")
        api = self.api_rules
        first = self.first_instruction_role or "none"
        tokens = rendered + api.tools.get(first,
            api.tools.get("none", 0)) + api.tools_per_tool * len(definitions)
        adjustment = table("chat")["tools_adjustment"].get(self.info.snapshot)
        if adjustment is not None:
            if self.api not in adjustment:
                self.feature(f"tools on {self.info.snapshot}")
            tokens += adjustment.get(self.api, 0)
        if "property comments" in seen:
            self.feature("schema:property comments")
            tokens += api.property_comments
            self.comment_bonus = api.property_comments
        self.tools_tokens += tokens
        return tokens

    def tool_choice(self, choice: Any, where: str = "tool_choice") -> int:
        if choice is None or (isinstance(choice, str) and choice == "auto"):
            return 0
        costs = self.api_rules.tool_choice
        if choice in ("none", "required"):
            self.feature(f"tool_choice_{choice}")
            tokens = costs.get(choice, 0)
        else:
            kind = get(choice, "type")
            if kind == "allowed_tools":
                self.feature("tool_choice_allowed_tools")
                tokens = costs.get("allowed_tools", 0)
            else:
                target = get(choice, "function") or choice
                name = get(target, "name")
                if not isinstance(name, str):
                    raise MessageFormatError(where, "must be 'none', 'auto', 'required' or name a function")
                self.feature("tool_choice_named")
                tokens = costs.get("named", 0) + (self.count(name) if self.api_rules.bill_choice_name else 0)
        self.choice_tokens += tokens
        return tokens

    def json_schema(self, name: Any, schema: Any, description: Any, where: str) -> int:
        """A json_schema structured output."""
        self.feature("json_schema")
        if not isinstance(name, str) or not name:
            raise MessageFormatError(f"{where}.name", "a json_schema format needs a 'name' string")
        if not isinstance(schema, Mapping):
            raise MessageFormatError(f"{where}.schema", "must be a JSON schema object")
        api = self.api_rules
        text = render_json_schema_format(
            name, schema, api.schema_drop, description=description if isinstance(description, str) else None
        )
        if self.api == "responses":
            tokens = self.count(text) + api.text_json_schema
        else:
            # chat: the section joins the system message the tools live in, or the first system
            # message, or a system message of its own; every assistant turn (the reply and each
            # assistant message with text) carries a tag naming the format
            if self.tools_tokens:
                # the section joins the tools' system message: no reply tag, and the one token
                # that commented parameters add is gone (gt0115, gt0480-0519)
                self.feature("json_schema_with_tools")
                self.tools_tokens -= self.comment_bonus
                tokens = self.count(text) + api.json_schema_with_tools
                self.format_tokens += tokens
                return tokens
            elif self.first_system_text is not None:
                joined = self.first_system_text + api.json_schema_separator + text
                tokens = self.count(joined) - self.count(self.first_system_text)
            else:
                tokens = self.rules.tokens_per_message + self.count("system") + self.count(text)
            tag = api.json_schema_tag + self.count(name)
            tokens += tag * (1 + self.assistant_text_messages)
        self.format_tokens += tokens
        return tokens

    def json_object(self) -> int:
        self.feature("json_object")
        self.format_tokens += self.api_rules.json_object
        return self.api_rules.json_object

    def overhead(self) -> int:
        return self.rules.reply_priming

    def total(self) -> int:
        return (sum(self.per_item) + self.tools_tokens + self.choice_tokens + self.format_tokens
                + self.image_tokens + self.file_tokens + self.audio_tokens + self.overhead())  # fmt: skip

    def unverified(self) -> list[str]:
        """Features met that the format's rules are not verified for on this API, single or in
        the combinations ``data/chat.toml`` names as unverified."""
        verified = self.api_rules.verified_features
        missing = [f for f in self.features if f not in verified]
        for combination in self.api_rules.unverified_combinations:
            if set(combination) <= self.features:
                missing.append(" with ".join(combination))
        return sorted(missing)


def _is_empty_object(arguments: str) -> bool:
    return arguments.strip() in ("{}", "")


def _parallel_wrapper(calls: Sequence[tuple[str, str, str | None]], counter: PromptCounter) -> str:
    """The ``multi_tool_use.parallel`` call that several tool calls in one message are billed as:
    each call's arguments parsed and written back compactly (kept as text if that fails)."""
    uses = []
    for name, arguments, _ in calls:
        try:
            parameters: Any = json.loads(arguments) if arguments.strip() else {}
        except (ValueError, RecursionError):  # RecursionError: nested past the parser's limit
            _unknown_arguments(counter)
            parameters = arguments
        uses.append({"recipient_name": f"functions.{name}", "parameters": parameters})
    try:
        return json.dumps({"tool_uses": uses}, ensure_ascii=False, separators=(",", ":"))
    except RecursionError:  # parsed, but three levels more are too deep to write back
        _unknown_arguments(counter)
        uses = [{**use, "parameters": arguments} for use, (_, arguments, _) in zip(uses, calls, strict=True)]
        return json.dumps({"tool_uses": uses}, ensure_ascii=False, separators=(",", ":"))


def _unknown_arguments(counter: PromptCounter) -> None:
    counter.feature("parallel_tool_calls_with_invalid_json")
    counter.note("parallel tool call arguments that are not JSON, or nest too deep to rewrite: "
                 "billed text unknown")  # fmt: skip


def _only_files(content: Any) -> bool:
    return is_sequence(content) and all(get(p, "type") in ("file", "input_file") for p in content)


def _dimensions(found: Any, where: str) -> tuple[int, int] | None:
    """``(width, height)`` from what ``image_dimensions`` gave for a URL (numpy integers too)."""
    if found is None:
        return None
    sides = list(found) if is_sequence(found) and not isinstance(found, Mapping) else []
    try:
        if len(sides) != 2 or any(isinstance(v, (bool, float)) for v in sides):
            raise TypeError
        width, height = operator.index(sides[0]), operator.index(sides[1])
    except TypeError:
        width = height = 0
    if width <= 0 or height <= 0:
        problem = f"image_dimensions gave {short(found)}, not (width, height) in pixels"
        raise MessageFormatError(f"{where}.image_url", problem)
    return width, height


def _property_schemas(params: Any) -> Iterable[Mapping[str, Any]]:
    """Every schema found under a ``properties`` object of ``params``."""
    for node in walk(params):
        if isinstance(node, Mapping):
            properties = node.get("properties")
            if isinstance(properties, Mapping):
                yield from (p for p in properties.values() if isinstance(p, Mapping))


# Tool schemas repeat across requests (an agent sends the same tools every turn): cache the
# count of their rendering and the schema features met, keyed by encoding, style and the
# schemas' repr (cheap next to rendering, and it changes whenever their content does).
_RENDER_CACHE: OrderedDict[tuple[str, RenderStyle, str], tuple[int, tuple[str, ...]]] = OrderedDict()
_RENDER_CACHE_SIZE = 256
_RENDER_CACHE_CHARS = 8 << 20  # keys hold the schemas' repr: a few huge ones must not pin gigabytes
_render_lock = threading.Lock()
_render_chars = 0


def _render_cached(tok: Tokenizer, definitions: Sequence[Mapping[str, Any]],
                   style: RenderStyle) -> tuple[int, tuple[str, ...]]:  # fmt: skip
    global _render_chars
    try:
        key = (tok.name, style, repr(definitions))
    except RecursionError:  # nested far past what render_functions accepts
        raise MessageFormatError("tools", f"a schema nested deeper than {MAX_SCHEMA_DEPTH} levels") from None
    hit = _RENDER_CACHE.get(key)
    if hit is None:
        notes = RenderNotes(set())
        text = render_functions(definitions, style, notes)
        commented = ("description", "title") if style.titles else ("description",)
        properties = [d for p in definitions for d in _property_schemas(p.get("parameters"))]
        if any(k in d for d in properties for k in commented):
            notes.add("property comments")
        hit = (tok.count(text), tuple(sorted(notes.seen)))
        with _render_lock:
            if key not in _RENDER_CACHE:
                _RENDER_CACHE[key] = hit
                _render_chars += len(key[2])
            while len(_RENDER_CACHE) > _RENDER_CACHE_SIZE or _render_chars > _RENDER_CACHE_CHARS:
                old, _ = _RENDER_CACHE.popitem(last=False)
                _render_chars -= len(old[2])
    return hit


# ---- Chat Completions -----------------------------------------------------------------------


def chat_definitions(tools: Any, functions: Any, counter: PromptCounter) -> list[Mapping[str, Any]]:
    """Function definitions from ``tools`` (and legacy ``functions``), each checked for a name."""
    defs: list[Mapping[str, Any]] = []

    def add(definition: Any, where: str) -> None:
        definition = as_mapping(definition, where)
        if not isinstance(definition.get("name"), str) or not definition["name"]:
            raise MessageFormatError(f"{where}.name", "a function needs a 'name' string")
        defs.append(definition)

    if tools is not None and not is_sequence(tools):
        raise MessageFormatError("tools", "must be a list of tool objects")
    for i, tool in enumerate(() if tools is None else tools):
        kind = get(tool, "type")
        if kind not in (None, "function"):
            counter.feature(f"tool_type:{short(kind, 40)}")
            counter.note(f"tools[{i}] of type {short(kind)} is defined by the server; its cost is not "
                         "counted")  # fmt: skip
            continue
        add(get(tool, "function"), f"tools[{i}].function")
    if functions is not None and not is_sequence(functions):
        raise MessageFormatError("functions", "must be a list of function objects")
    for i, function in enumerate(functions or ()):
        add(function, f"functions[{i}]")
    return defs


def count_chat_messages(counter: PromptCounter, messages: Any, body: Mapping[str, Any]) -> None:
    """Feed a Chat Completions request (its ``messages`` and request-level fields) to ``counter``."""
    if not is_sequence(messages):
        raise MessageFormatError("messages", "expected a list of message objects")
    messages = list(messages)
    legacy_defs = body.get("functions")
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        message = message if type(message) is dict else _fields(message)
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


_MESSAGE_FIELDS = ("role", "content", "tool_calls", "tool_call_id", "name", "function_call")


def _fields(message: Any) -> dict[str, Any]:
    """The message fields counting reads, from a mapping or an SDK object."""
    if isinstance(message, Mapping):
        return {key: message.get(key) for key in _MESSAGE_FIELDS}
    return {key: getattr(message, key, None) for key in _MESSAGE_FIELDS}


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


def definitions_json(definitions: Sequence[Mapping[str, Any]]) -> str:
    """Stable JSON of function definitions (for reports and cache keys)."""
    return json.dumps(definitions, sort_keys=True, default=str)
