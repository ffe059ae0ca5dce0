"""Text the API renders from a request's structure before tokenizing it.

Function tools become a TypeScript namespace, structured-output schemas a ``# Response Formats``
section. What is rendered, and how, was worked out against API-billed counts
(``data/chat.toml`` names the vectors); the style switches (nested indent, property titles,
defaults) are data, chosen per model family.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tokenomy.errors import MessageFormatError

# deeper schemas are refused rather than rendered: the API caps nesting far below this
MAX_SCHEMA_DEPTH = 64
# Objects and lists in one tool definition or response schema, counted as the renderer would
# visit them (a part shared twice counts twice): the API documents at most 5,000 properties and
# 10 levels for structured outputs, so this only stops a shared structure from rendering forever.
MAX_SCHEMA_NODES = 100_000
# Nesting of objects and lists (each schema level is about two: {"properties": {"x": {...}}}).
MAX_NESTING = 4 * MAX_SCHEMA_DEPTH


def check_schema(value: Any, where: str) -> None:
    """MessageFormatError for a schema nested deeper than ``MAX_NESTING``, cyclic (which nests
    without end), or with more than ``MAX_SCHEMA_NODES`` objects and lists; checked without
    recursion, before anything else reads the schema (``repr`` or ``json.dumps`` would recurse).

    >>> cyclic = {"type": "object"}
    >>> cyclic["properties"] = {"self": cyclic}
    >>> check_schema(cyclic, "tools[0]")
    Traceback (most recent call last):
    ...
    tokenomy.errors.MessageFormatError: tools[0]: nested deeper than 256 levels (or cyclic). ...
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Iterable[Any] = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        nodes += 1
        if depth > MAX_NESTING:
            raise MessageFormatError(where, f"nested deeper than {MAX_NESTING} levels (or cyclic)")
        if nodes > MAX_SCHEMA_NODES:
            raise MessageFormatError(where, f"more than {MAX_SCHEMA_NODES:,} objects and lists")
        stack.extend((child, depth + 1) for child in children)


@dataclass(frozen=True)
class RenderStyle:
    """How one family's renderer writes function schemas.

    ``nested_indent`` spaces per nesting level; ``titles`` writes a ``// {title}`` line above a
    property that has one; ``nested_descriptions`` keeps descriptions below the top level;
    ``defaults`` appends ``// default: …`` to a property line; ``integer_enums`` is ``"values"``
    (``1 | 2``) or ``"number"``; ``multiline`` is ``"stripped"`` (each non-empty line, stripped,
    as its own ``//`` line), ``"prefixed"`` (every line prefixed, blank ones included) or
    ``"verbatim"`` (one ``//`` before the text as given); ``root_title`` places the parameters
    object's own ``title``: ``"none"``, ``"above"`` (a ``//`` line above the type) or ``"inline"``
    (``(_: // title`` before the opening brace).
    """

    nested_indent: int = 0
    titles: bool = True
    nested_descriptions: bool = True
    defaults: bool = False
    integer_enums: str = "values"
    multiline: str = "stripped"
    root_title: str = "none"


@dataclass
class RenderNotes:
    """Schema features met while rendering that the family's rules are not verified for."""

    seen: set[str]

    def add(self, feature: str) -> None:
        self.seen.add(feature)


def comment_lines(text: str, style: RenderStyle) -> list[str]:
    """A description as ``//`` comment lines.

    >>> comment_lines("Add two numbers.\\n\\n    Returns: the sum", RenderStyle())
    ['// Add two numbers.', '// Returns: the sum']
    """
    if style.multiline == "verbatim":
        return [f"// {text}"]
    if style.multiline == "prefixed":
        return [f"// {line}" for line in text.split("\n")]
    return [f"// {line.strip()}" for line in text.split("\n") if line.strip()]


def render_functions(
    definitions: Sequence[Mapping[str, Any]], style: RenderStyle, notes: RenderNotes | None = None
) -> str:
    """The ``namespace functions`` block for function definitions (name, description, parameters).

    >>> print(render_functions([{"name": "ping", "description": "Ping."}], RenderStyle()))
    namespace functions {
    <BLANKLINE>
    // Ping.
    type ping = () => any;
    <BLANKLINE>
    } // namespace functions
    """
    notes = notes if notes is not None else RenderNotes(set())
    for i, definition in enumerate(definitions):
        check_schema(definition, f"tools[{i}]")
    lines = ["namespace functions {", ""]
    for i, definition in enumerate(definitions):
        description = definition.get("description")
        if description:
            lines += comment_lines(str(description), style)
        else:
            notes.add("functions without a description")
        name = definition["name"]
        params = definition.get("parameters")
        if params is not None and not isinstance(params, Mapping):
            raise MessageFormatError(f"tools[{i}].parameters", "must be a JSON schema object")
        schema = _Schema(params or {}, style, notes)
        root_title = schema.root.get("title") if style.root_title != "none" else None
        if root_title:
            notes.add("parameters with a title")
        if root_title and style.root_title == "above":
            lines.append(f"// {root_title}")
        if schema.root.get("properties"):
            if root_title and style.root_title == "inline":
                lines.append(f"type {name} = (_: // {root_title}")
                lines.append("{")
            else:
                lines.append(f"type {name} = (_: {{")
            lines.append(schema.properties(schema.root, 0))
            lines.append("}) => any;")
        else:
            lines.append(f"type {name} = () => any;")
        lines.append("")
    lines.append("} // namespace functions")
    return "\n".join(lines)


class _Schema:
    """One function's parameter schema, with ``$ref`` resolved against its ``$defs``."""

    def __init__(self, root: Mapping[str, Any], style: RenderStyle, notes: RenderNotes) -> None:
        self.root, self.style, self.notes = root, style, notes
        defs = root.get("$defs") or root.get("definitions") or {}
        self.defs: Mapping[str, Any] = defs if isinstance(defs, Mapping) else {}
        self.resolving: list[str] = []
        self.nesting = 0

    def properties(self, schema: Mapping[str, Any], depth: int) -> str:
        if depth > MAX_SCHEMA_DEPTH:
            raise MessageFormatError("tool parameters",
                f"schema nested deeper than {MAX_SCHEMA_DEPTH} levels")
        properties = schema.get("properties") or {}
        if not isinstance(properties, Mapping):
            raise MessageFormatError("tool parameters", "'properties' must be an object")
        required = schema.get("required") or ()
        if not isinstance(required, (list, tuple)):
            raise MessageFormatError("tool parameters", "'required' must be a list of names")
        indent = " " * (self.style.nested_indent * depth)
        lines: list[str] = []
        for key, raw in properties.items():
            with self.expanded(raw, f"property {key!r}") as prop:
                title = prop.get("title")
                if title and self.style.titles:
                    lines.append(f"// {title}")
                description = prop.get("description")
                if description and (depth == 0 or self.style.nested_descriptions):
                    lines += comment_lines(str(description), self.style)
                line = f"{key}{'' if key in required else '?'}: {self.type(prop, depth)},"
                if "default" in prop:
                    if self.style.defaults:
                        line += f" // default: {_json(prop['default'])}"
                    else:
                        self.notes.add("default values")
            lines.append(line)
        return "\n".join(indent + line if line else line for line in lines)

    @contextmanager
    def expanded(self, prop: Any, where: str) -> Iterator[Mapping[str, Any]]:
        """``prop`` with its ``$ref`` chain inlined from ``$defs``. The definitions stay marked as
        open until the caller has rendered what is inside them: a reference back into one of them
        is recursive and renders as its own keys without the ``$ref`` (usually ``any``)."""
        if not isinstance(prop, Mapping):
            raise MessageFormatError(f"tool parameter {where}", "must be a JSON schema object")
        opened = len(self.resolving)
        try:
            ref = prop.get("$ref")
            while isinstance(ref, str):
                name = ref.rsplit("/", 1)[-1]
                target = self.defs.get(name)
                rest = {k: v for k, v in prop.items() if k != "$ref"}
                if not isinstance(target, Mapping) or name in self.resolving:
                    self.notes.add("$ref that does not resolve to a $defs entry, or is recursive")
                    prop = rest
                    break
                self.resolving.append(name)
                prop = {**target, **rest}
                ref = prop.get("$ref")
            yield prop
        finally:
            del self.resolving[opened:]

    def _type_of(self, prop: Any, where: str, depth: int) -> str:
        with self.expanded(prop, where) as schema:
            return self.type(schema, depth)

    def type(self, prop: Mapping[str, Any], depth: int) -> str:
        # ``depth`` counts object levels (it sets indentation); array items and anyOf options nest
        # too, so the limit counts every schema on the path
        if self.nesting >= MAX_SCHEMA_DEPTH:
            raise MessageFormatError("tool parameters",
                f"schema nested deeper than {MAX_SCHEMA_DEPTH} levels")
        self.nesting += 1
        try:
            return self._type(prop, depth)
        finally:
            self.nesting -= 1

    def _type(self, prop: Mapping[str, Any], depth: int) -> str:
        kind = prop.get("type")
        options = prop.get("anyOf") or prop.get("oneOf")
        if isinstance(kind, list):
            self.notes.add("type lists")
            return " | ".join(self.type({**prop, "type": k}, depth) for k in kind)
        if isinstance(options, list):
            self.notes.add("anyOf / oneOf")
            return " | ".join(self._type_of(o, "option", depth) for o in options)
        enum = prop.get("enum")
        if "const" in prop:
            self.notes.add("const")
            return _json(prop["const"])
        if kind == "string":
            return " | ".join(_json(v) for v in enum) if enum else "string"
        if kind in ("number", "integer"):
            if enum:
                self.notes.add("numeric enums")
                if self.style.integer_enums == "values":
                    return " | ".join(_json(v) for v in enum)
            return "number"
        if kind in ("boolean", "null"):
            return str(kind)
        if kind == "object" or (kind is None and "properties" in prop):
            if not prop.get("properties"):
                return "object"
            self.notes.add("nested objects")
            return "{\n" + self.properties(prop, depth + 1) + "\n}"
        if kind == "array":
            items = prop.get("items")
            if isinstance(items, Mapping):
                inner = self._type_of(items, "items", depth)
                return f"({inner})[]" if " | " in inner else f"{inner}[]"
            return "any[]"
        if enum:
            return " | ".join(_json(v) for v in enum)
        self.notes.add("parameters without a known type")
        return "any"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def stripped_schema(schema: Any, drop: Sequence[str]) -> Any:
    """``schema`` without the keys in ``drop``, at every level (names inside ``properties`` kept).

    >>> stripped_schema({"type": "object", "required": ["a"], "properties": {"required": {}}}, ["required"])
    {'type': 'object', 'properties': {'required': {}}}
    """
    return _strip(schema, frozenset(drop), 0, in_properties=False)


def _strip(value: Any, drop: frozenset[str], depth: int, *, in_properties: bool) -> Any:
    if depth > MAX_SCHEMA_DEPTH:
        raise MessageFormatError("response format schema", f"nested deeper than {MAX_SCHEMA_DEPTH} levels")
    if isinstance(value, Mapping):
        return {
            k: _strip(v, drop, depth + 1, in_properties=(k == "properties" and not in_properties))
            for k, v in value.items()
            if in_properties or k not in drop
        }
    if isinstance(value, list):
        return [_strip(v, drop, depth + 1, in_properties=False) for v in value]
    return value


def render_json_schema_format(name: str, schema: Any, drop: Sequence[str], *, description: str | None) -> str:
    """The ``# Response Formats`` section for a json_schema structured output.

    >>> schema = {"type": "object", "required": []}
    >>> render_json_schema_format("answer", schema, ["required"], description=None)
    '# Response Formats\\n\\n## answer\\n\\n{"type":"object"}'
    """
    check_schema(schema, "response format schema")
    head = f"# Response Formats\n\n## {name}\n\n"
    if description:
        head += "".join(f"{line}\n" for line in comment_lines(description, RenderStyle()))
    return head + _json(stripped_schema(schema, drop))


def walk(value: Any) -> Iterator[Any]:
    """Every mapping and list inside a JSON-shaped value, depth first."""
    stack = [value]
    while stack:
        item = stack.pop()
        yield item
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
