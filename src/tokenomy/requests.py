"""What a request body's prompt bills, for any endpoint: :func:`count_request`, :class:`RequestCount`.

Chat Completions ``messages`` and Responses API ``input`` items are priced by the same
:class:`~tokenomy.messages.PromptCounter` under the model family's prompt format; completions,
embeddings and moderations count their input text. The result says whether every rule used is
verified for that family and those request features (``exact``), and why not (``notes``).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from tokenomy._args import check_bool
from tokenomy._content import ImageDimensions
from tokenomy._data import table
from tokenomy._plainchat import PlainChats
from tokenomy._results import get
from tokenomy._shapes import as_mapping, is_sequence, text_value
from tokenomy.counter import PromptCounter
from tokenomy.embeddings import count_embedding_input
from tokenomy.errors import MessageFormatError, TokenomyError, UnsupportedModelError, short
from tokenomy.messages import count_chat_messages, count_chat_request_parts
from tokenomy.preflight import check_request
from tokenomy.registry import ModelInfo, resolve
from tokenomy.report import html_list, html_table
from tokenomy.rules import FormatRules, format_name, rules_for
from tokenomy.tokenizer import encoding_for


@dataclass(frozen=True)
class RequestCount:
    """Prompt tokens of one request body, as the API's usage reports them, with a breakdown.

    ``messages`` holds each message's (or Responses input item's) tokens, framing included, images
    excluded; ``tools``, ``tool_choice``, ``response_format``, ``images``, ``files`` and ``audio``
    the parts billed once per request; ``overhead`` the reply priming. ``exact`` is True only when
    every rule used is verified for this model family and these request features; ``notes`` says
    why not, and names any user rules loaded.

    >>> body = {"model": "gpt-4o-2024-08-06", "max_tokens": 50, "messages": [
    ...     {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}
    >>> counted = count_request(body, as_of=date(2025, 1, 1))
    >>> counted.tokens, counted.messages, counted.overhead, counted.exact, counted.max_output_tokens
    (15, (7, 5), 3, True, 50)
    >>> int(counted) == counted.to_dict()["tokens"] == 15
    True
    """

    tokens: int
    model: str
    snapshot: str
    encoding: str
    endpoint: str
    exact: bool
    notes: tuple[str, ...] = ()
    messages: tuple[int, ...] = ()
    tools: int = 0
    tool_choice: int = 0
    response_format: int = 0
    images: int = 0
    files: int = 0
    audio: int = 0
    overhead: int = 0
    features: tuple[str, ...] = ()
    prompt_format: str | None = None
    max_output_tokens: int | None = None
    as_of: date | None = None

    def __int__(self) -> int:
        return self.tokens

    def __index__(self) -> int:
        return self.tokens

    @property
    def total(self) -> int:
        """Deprecated spelling of :attr:`tokens`."""
        warnings.warn("RequestCount.total is now .tokens", DeprecationWarning, stacklevel=2)
        return self.tokens

    @property
    def reasons(self) -> tuple[str, ...]:
        """Deprecated spelling of :attr:`notes`."""
        warnings.warn("RequestCount.reasons is now .notes", DeprecationWarning, stacklevel=2)
        return self.notes

    def _repr_html_(self) -> str:
        """The count and its breakdown as a table for notebooks, the notes as a list."""
        rows: list[list[object]] = [[f"messages[{i}]" if self.endpoint.endswith("completions")
                                     else f"input[{i}]", n] for i, n in enumerate(self.messages)]  # fmt: skip
        parts = ("tools", "tool_choice", "response_format", "images", "files", "audio", "overhead")
        rows += [[part, getattr(self, part)] for part in parts if getattr(self, part)]
        rows.append(["total", self.tokens])
        title = (f"{self.tokens:,} prompt tokens: {self.snapshot} on {self.endpoint}, "
                 f"{'exact' if self.exact else 'not exact'}")  # fmt: skip
        notes = html_list(list(self.notes), "notes") if self.notes else ""
        return "<div>" + html_table(["part", "tokens"], rows, title) + notes + "</div>"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return {
            "tokens": self.tokens, "model": self.model, "snapshot": self.snapshot,
            "encoding": self.encoding, "endpoint": self.endpoint, "exact": self.exact,
            "notes": list(self.notes), "messages": list(self.messages), "tools": self.tools,
            "tool_choice": self.tool_choice, "response_format": self.response_format,
            "images": self.images, "files": self.files, "audio": self.audio,
            "overhead": self.overhead, "features": list(self.features),
            "prompt_format": self.prompt_format, "max_output_tokens": self.max_output_tokens,
            "as_of": None if self.as_of is None else self.as_of.isoformat(),
        }  # fmt: skip


MessageCount = RequestCount  # the name count_messages returned before count_request existed


def _endpoint(path: str) -> str:
    paths = table("endpoints")["request_counting"]
    if type(path) is str and path in paths:
        return path
    if not isinstance(path, str):
        raise TypeError(f"endpoint must be a str, not {type(path).__name__}")
    normal = path if path.startswith("/v1/") else "/v1/" + path.lstrip("/")
    if normal not in paths:
        raise MessageFormatError("endpoint", f"{short(path)} is not one of {sorted(paths)}")
    return normal


def count_request(
    body: Mapping[str, Any],
    *,
    endpoint: str = "/v1/chat/completions",
    as_of: date | str | None = None,
    image_dimensions: ImageDimensions | None = None,
    require_zero_retention: bool = False,
) -> RequestCount:
    """Prompt tokens the API bills for ``body`` sent to ``endpoint`` (``usage.prompt_tokens`` or
    ``usage.input_tokens``), before sending it.

    ``image_dimensions`` maps http(s) image URLs to ``(width, height)`` (or is a callable); URLs
    are never fetched. The endpoint pre-flight (:func:`~tokenomy.endpoint.check_request`) adds its
    notes: a shut-down endpoint or a model the endpoint does not take raises, and so, with
    ``require_zero_retention``, does anything zero data retention would not cover.

    >>> body = {"model": "gpt-4o-2024-08-06", "messages": [{"role": "user", "content": "Hi"}]}
    >>> count_request(body).tokens
    8
    >>> count_request({"model": "gpt-4o-2024-08-06", "input": "Hi"}, endpoint="/v1/responses").tokens
    8
    """
    if type(body) is not dict and not isinstance(body, Mapping):
        dumped = as_mapping(body, "body")
        body = dumped
    check_bool(require_zero_retention, "require_zero_retention")
    dimensions = image_dimensions
    if dimensions is not None and not (isinstance(dimensions, Mapping) or callable(dimensions)):
        raise TypeError("image_dimensions maps image URLs to (width, height): a mapping or a callable, "
                        f"not {type(image_dimensions).__name__}")  # fmt: skip
    path = _endpoint(endpoint)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise MessageFormatError("body.model", "a request body needs a 'model' string")
    info = resolve(model, as_of)
    if path == _CHAT:
        plain = _PLAIN.count(body, info, path, require_zero_retention)
        if plain is not None:
            return plain
    return _count_resolved(body, info, path, require_zero_retention, dimensions)


def _count_resolved(body: Mapping[str, Any], info: ModelInfo, path: str, strict: bool,
                    dimensions: ImageDimensions | None = None) -> RequestCount:  # fmt: skip
    """count_request of ``body`` once its model is resolved (and any retirement warned of)."""
    kind = table("endpoints")["request_counting"][path]
    try:
        if kind in ("chat", "responses"):
            counted = _count_conversation(body, info, path, kind, dimensions)
        else:
            counted = _count_plain(body, info, path, kind)
    except TokenomyError:
        raise
    except ValueError as error:  # a value JSON has no form for (a numpy array has no truth value)
        problem = f"holds a value tokenomy cannot read ({short(str(error))})"
        raise MessageFormatError("body", problem) from None
    uses = {use for use, feature in (("image_input", "image"), ("file_input", "file"))
            if feature in counted.features}  # fmt: skip
    compliance = _preflight(path, info, frozenset(uses), strict)
    if compliance:
        counted = dataclasses.replace(counted, notes=tuple(dict.fromkeys((*counted.notes, *compliance))))
    return counted


def _rules_of(info: ModelInfo) -> FormatRules:
    """The prompt rules ``info`` counts under now (the default format's when its family has none)."""
    return rules_for(format_name(info) or table("chat")["default_format"], info.family)


_CHAT = "/v1/chat/completions"
_PLAIN = PlainChats(_count_resolved)  # the framings of plain chats met so far


_PREFLIGHT: dict[tuple[str, str, date, frozenset[str], bool], tuple[str, ...]] = {}


def _preflight(path: str, info: ModelInfo, uses: frozenset[str], strict: bool) -> tuple[str, ...]:
    """check_request's notes, remembered per path, model, day and uses (they are facts of the
    data, the same for every body); errors are raised again each time, never cached."""
    key = (path, info.name, info.as_of, uses, strict)
    notes = _PREFLIGHT.get(key)
    if notes is None:
        notes = check_request(path, model=info, as_of=info.as_of, uses=uses, require_zero_retention=strict)
        if len(_PREFLIGHT) > 1024:
            _PREFLIGHT.clear()
        _PREFLIGHT[key] = notes
    return notes


def _count_conversation(body: Mapping[str, Any], info: ModelInfo, path: str, api: str,
                        dimensions: ImageDimensions | None) -> RequestCount:  # fmt: skip
    if info.encoding is None:
        raise UnsupportedModelError(info.name,
            f"a {info.kind} model has no text tokenizer to count a {path} prompt")
    name = format_name(info)
    reasons: list[str] = []
    if name is None:
        name = table("chat")["default_format"]
        reasons.append(f"no prompt format is known for the {info.family or info.snapshot} family; "
                       f"the {name} format is assumed")  # fmt: skip
    rules = _rules_of(info)
    counter = PromptCounter(encoding_for(info.encoding), info, rules, api, dimensions)
    if api == "chat":
        if "messages" not in body:
            raise MessageFormatError("body.messages", f"a {path} request needs 'messages'")
        count_chat_messages(counter, body["messages"], body)
        count_chat_request_parts(counter, body)
    else:
        _count_responses(counter, body)
    if info.family not in rules.verified_families and name == format_name(info):
        reasons.append(f"the {name} rules are not verified against API-billed counts for the "
                       f"{info.family or info.snapshot} family")  # fmt: skip
    plain = {"system_role", "developer_role", "instructions", "name"}
    if info.family in rules.plain_message_families and counter.features - plain:
        reasons.append(f"the {info.family} family is verified on plain messages only; "
                       f"{', '.join(sorted(counter.features - plain))} not")  # fmt: skip
    for feature in counter.unverified():
        reasons.append(f"{feature.replace('_', ' ')}: no API-verified rule for {name} on the {api} API")
    reasons += counter.notes
    if rules.loaded_from:
        reasons.append(f"constants from user rules {', '.join(rules.loaded_from)} (not verified by tokenomy)")
    for parameter, known in table("chat")["verified_parameter_fields"][api].items():
        value = body.get(parameter)
        for key in value if isinstance(value, Mapping) else ():
            if key not in known:
                reasons.append(f"{parameter}.{str(key)[:40]}: not verified to leave the billed input "
                               "unchanged (the server may add text of its own)")  # fmt: skip
    for state in table("chat")["server_state_fields"][api]:
        if body.get(state) is not None:
            reasons.append(f"{state}: the server adds stored context that the body does not hold")
    unsettled = table("chat")["unsettled_billing"].get(api)
    if unsettled is not None and info.as_of < unsettled["until"]:
        reasons.append(unsettled["note"])
    reasons += info.assumptions
    return RequestCount(
        tokens=counter.total(), model=info.name, snapshot=info.snapshot, encoding=info.encoding,
        endpoint=path, exact=not reasons, notes=tuple(dict.fromkeys(reasons)),
        messages=tuple(counter.per_item), tools=counter.tools_tokens, tool_choice=counter.choice_tokens,
        response_format=counter.format_tokens, images=counter.image_tokens, files=counter.file_tokens,
        audio=counter.audio_tokens, overhead=counter.overhead(), features=tuple(sorted(counter.features)),
        prompt_format=name, max_output_tokens=_output_cap(body, api), as_of=info.as_of,
    )  # fmt: skip


def _count_responses(counter: PromptCounter, body: Mapping[str, Any]) -> None:
    """Feed a Responses API body (instructions, input items, tools, text format) to ``counter``."""
    instructions = body.get("instructions")
    if instructions:
        counter.feature("instructions")
        counter.message("developer", text_value(instructions, "instructions"), "instructions")
    items = body.get("input")
    if isinstance(items, str):
        counter.message("user", items, "input")
    elif items is not None:
        if not is_sequence(items):
            raise MessageFormatError("input", "must be a string or a list of items")
        _responses_items(counter, list(items))
    tools = body.get("tools")
    if tools is not None and not is_sequence(tools):
        raise MessageFormatError("tools", "must be a list of tools")
    definitions = []
    for i, tool in enumerate(tools or ()):
        tool = as_mapping(tool, f"tools[{i}]")
        if tool.get("type") == "function":
            if not isinstance(tool.get("name"), str) or not tool["name"]:
                raise MessageFormatError(f"tools[{i}].name", "a function tool needs a 'name' string")
            definitions.append(tool)
        else:
            counter.feature(f"tool_type:{short(tool.get('type'), 40)}")
            counter.note(f"tools[{i}] of type {short(tool.get('type'))} is defined by the server; "
                         "its prompt cost is not counted")  # fmt: skip
    counter.tools(definitions)
    counter.tool_choice(body.get("tool_choice"))
    text = body.get("text")
    fmt = get(text, "format") if text is not None else None
    if fmt is not None:
        kind = get(fmt, "type")
        if kind == "json_schema":
            counter.json_schema(get(fmt, "name"), get(fmt, "schema"), get(fmt, "description"), "text.format")
        elif kind == "json_object":
            counter.json_object()
        elif kind != "text":
            raise MessageFormatError("text.format.type",
                                     f"{short(kind)} is not text, json_object or json_schema")  # fmt: skip


def _responses_items(counter: PromptCounter, items: Sequence[Any]) -> None:
    i = 0
    while i < len(items):
        item, where = items[i], f"input[{i}]"
        kind = get(item, "type")
        role = get(item, "role")
        if kind in (None, "message") and role is not None:
            if role not in ("user", "assistant", "system", "developer"):
                raise MessageFormatError(
                    f"{where}.role", f"role {short(role)} is not user, assistant, system or developer"
                )
            counter.message(role, get(item, "content"), where)
        elif kind == "function_call":
            group = []
            while i < len(items) and get(items[i], "type") == "function_call":
                call = items[i]
                group.append((
                    text_value(get(call, "name"), f"input[{i}].name"),
                    text_value(get(call, "arguments"), f"input[{i}].arguments"),
                    get(call, "call_id"),
                ))  # fmt: skip
                i += 1
            counter.tool_calls(group, None, where)
            continue
        elif kind == "function_call_output":
            output = get(item, "output")
            if not isinstance(output, str) and not is_sequence(output):
                raise MessageFormatError(f"{where}.output", "must be a string or a list of content parts")
            counter.tool_result(get(item, "call_id"), output, where)
        elif kind == "reasoning":
            counter.feature("reasoning_items")
            counter.note("reasoning items passed back are billed by the server's own record of them")
        elif isinstance(kind, str):
            counter.feature(f"item:{short(kind, 40)}")
            counter.note(f"{where}: input item type {short(kind)} is not known to tokenomy; counted for "
                         "its text")  # fmt: skip
            content = get(item, "content")
            counter.message("user", content if isinstance(content, str) or is_sequence(content) else None,
                where)  # fmt: skip
        else:
            raise MessageFormatError(where, "an input item needs a 'type' or a 'role'")
        i += 1


def _count_plain(body: Mapping[str, Any], info: ModelInfo, path: str, kind: str) -> RequestCount:
    """Completions, embeddings and moderations: the input text's own tokens."""
    notes: list[str] = list(info.assumptions)
    per_input: tuple[int, ...]
    if kind == "embeddings":
        counted = count_embedding_input(body.get("input", ""), model=info.name)
        per_input, notes = counted.per_input, notes + list(counted.notes)
        encoding = info.encoding or ""
    else:
        if info.encoding is None:
            raise UnsupportedModelError(info.name, f"has no text tokenizer to count a {path} request")
        tok = encoding_for(info.encoding)
        encoding = tok.name
        raw = body.get("prompt" if kind == "completions" else "input", "")
        inputs = [raw] if isinstance(raw,
            str) or (is_sequence(raw) and all(isinstance(x, int) for x in raw)) else raw
        if not is_sequence(inputs):
            raise MessageFormatError("body.prompt" if kind == "completions" else "body.input",
                                     "must be a string, a list of strings or token ids")  # fmt: skip
        counts = []
        for i, item in enumerate(inputs):
            if isinstance(item, str):
                counts.append(tok.count(item))
            elif is_sequence(item) and all(isinstance(x, int) and not isinstance(x, bool) for x in item):
                counts.append(len(item))
            elif kind == "moderations" and get(item, "type") in ("text", "image_url"):
                text = get(item, "text")
                counts.append(tok.count(text) if isinstance(text, str) else 0)
            else:
                raise MessageFormatError(f"input[{i}]", "must be a string or a list of token ids")
        per_input = tuple(counts)
    return RequestCount(
        tokens=sum(per_input), model=info.name, snapshot=info.snapshot, encoding=encoding,
        endpoint=path, exact=not notes, notes=tuple(notes), messages=per_input,
        max_output_tokens=_output_cap(body, kind) if kind == "completions" else None, as_of=info.as_of,
    )  # fmt: skip


# Output caps and choice counts past this are refused (no model writes 2^40 tokens); it keeps a
# 10^400 max_tokens from reaching Decimal arithmetic.
_MOST_OUTPUT = 1 << 40


def _output_cap(body: Mapping[str, Any], kind: str) -> int | None:
    """The most output the request allows: its cap field times the number of choices."""
    fields = table("endpoints")["output_cap_fields"][kind]
    choices = body.get("n") if kind != "responses" else None
    if choices is not None and (isinstance(choices, bool) or not isinstance(choices, int)
                                or not 1 <= choices <= _MOST_OUTPUT):  # fmt: skip
        raise MessageFormatError("body.n", f"{short(choices)} is not a whole number of choices >= 1")
    field = next((f for f in fields if body.get(f) is not None), None)
    if field is None:
        return None
    cap = body[field]
    if isinstance(cap, bool) or not isinstance(cap, int) or not 0 <= cap <= _MOST_OUTPUT:
        raise MessageFormatError(f"body.{field}",
                                 f"{short(cap)} is not a whole number of tokens from 0 to 2^40")  # fmt: skip
    prompts = body.get("prompt") if kind == "completions" else None
    copies = choices or 1
    if is_sequence(prompts) and prompts and not all(isinstance(x, int) for x in prompts):
        copies *= len(prompts)
    if cap * copies > _MOST_OUTPUT:
        raise MessageFormatError(f"body.{field}", f"{cap} tokens x {copies} choices is more than 2^40 tokens")
    return cap * copies


def count_messages(
    messages: Sequence[Any],
    model: str,
    *,
    tools: Sequence[Any] | None = None,
    tool_choice: Any = None,
    functions: Sequence[Any] | None = None,
    function_call: Any = None,
    response_format: Any = None,
    as_of: date | str | None = None,
    image_dimensions: ImageDimensions | None = None,
) -> RequestCount:
    """Prompt tokens of a Chat Completions request given as its parts (see :func:`count_request`).

    >>> chat = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi"}]
    >>> count_messages(chat, "gpt-4o").tokens
    16
    """
    body: dict[str, Any] = {"model": model, "messages": messages}
    for key, value in (("tools", tools), ("tool_choice", tool_choice), ("functions", functions),
                       ("function_call", function_call), ("response_format", response_format)):  # fmt: skip
        if value is not None:
            body[key] = value
    return count_request(body, as_of=as_of, image_dimensions=image_dimensions)
