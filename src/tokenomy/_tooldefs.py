"""Function definitions: read from a body, rendered as the model sees them, counted once.

Tool schemas repeat across requests (an agent sends the same tools every turn), so the count of
their rendering and the schema features met are cached, keyed by encoding, style and the schemas'
repr (cheap next to rendering, and it changes whenever their content does).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tokenomy._render import MAX_SCHEMA_DEPTH, RenderNotes, RenderStyle, render_functions, walk
from tokenomy._results import get
from tokenomy._shapes import as_mapping, is_sequence
from tokenomy.errors import MessageFormatError, short
from tokenomy.tokenizer import Tokenizer

if TYPE_CHECKING:
    from tokenomy.counter import PromptCounter


def property_schemas(params: Any) -> Iterable[Mapping[str, Any]]:
    """Every schema found under a ``properties`` object of ``params``."""
    for node in walk(params):
        if isinstance(node, Mapping):
            properties = node.get("properties")
            if isinstance(properties, Mapping):
                yield from (p for p in properties.values() if isinstance(p, Mapping))


_RENDER_CACHE: OrderedDict[tuple[str, RenderStyle, str], tuple[int, tuple[str, ...]]] = OrderedDict()
_RENDER_CACHE_SIZE = 256
_RENDER_CACHE_CHARS = 8 << 20  # keys hold the schemas' repr: a few huge ones must not pin gigabytes
_render_lock = threading.Lock()
_render_chars = 0


def render_cached(tok: Tokenizer, definitions: Sequence[Mapping[str, Any]],
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
        properties = [d for p in definitions for d in property_schemas(p.get("parameters"))]
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
def definitions_json(definitions: Sequence[Mapping[str, Any]]) -> str:
    """Stable JSON of function definitions (for reports and cache keys)."""
    return json.dumps(definitions, sort_keys=True, default=str)
