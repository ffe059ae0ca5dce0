"""Counting rules per prompt format: which constants and renderings a model family's bill follows.

The rules live in ``data/chat.toml`` (each with the API-billed vectors that verify it). A user can
layer corrected constants on top, for example the output of ``Reconciliation.calibrate()``, with
:func:`load_rules` or a file named by ``TOKENOMY_RULES``; loaded rules are validated whole and every
count made with them names them in its notes. A ``[formats.NAME.families."FAMILY"]`` table changes
the constants of one model family only. :func:`overridden` layers constants for the counts made
inside a ``with`` block (of this thread or task) without touching anyone else's.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokenomy._data import load_toml, table
from tokenomy._render import RenderStyle
from tokenomy.errors import RegistryError, short
from tokenomy.registry import ModelInfo

RULES_ENV_VAR = "TOKENOMY_RULES"
APIS = ("chat", "responses")

# constants of one API section; a user file may change these and nothing else
_API_INTS = (
    "tool_call", "tool_result", "parallel_call", "parallel_empty_arguments", "property_comments",
    "json_object", "json_schema", "json_schema_with_tools",
    "json_schema_tag", "tools_per_tool", "text_json_schema", "file_part", "file_only_message",
    "image_message",
)  # fmt: skip
_FORMAT_INTS = ("tokens_per_message", "tokens_per_name", "reply_priming", "assistant_extra")
# constants chosen by case: tools by the role of the first instruction message, tool choice by kind
_CASES = {"tools": ("none", "system", "developer"),
          "tool_choice": ("none", "required", "named", "allowed_tools")}  # fmt: skip
_METADATA = ("source", "calibrated_on", "note")
_LIMIT = 100_000  # no constant of a real prompt format is near this; a larger one is a typo


@dataclass(frozen=True)
class ApiRules:
    """Constants of one prompt format on one API (Chat Completions or Responses)."""

    tools: Mapping[str, int]
    tool_choice: Mapping[str, int]
    tool_call: int = 0
    tool_result: int = 0
    parallel_call: int = 0
    parallel_empty_arguments: int = 0
    parallel_wrapper: Mapping[str, str] | None = None
    property_comments: int = 0
    tools_per_tool: int = 0
    json_object: int = 0
    json_schema: int = 0
    json_schema_tag: int = 0
    json_schema_with_tools: int = 0
    json_schema_separator: str = "\n\n"
    text_json_schema: int = 0
    file_part: int = 0
    file_only_message: int = 0
    image_message: int = 0
    schema_drop: tuple[str, ...] = ("required", "additionalProperties")
    verified_features: frozenset[str] = frozenset()
    style: RenderStyle | None = None
    bill_choice_name: bool = True
    marked_output: Mapping[str, Any] | None = None
    unverified_combinations: tuple[tuple[str, ...], ...] = ()
    # a feature verified on some families only: feature -> those families
    feature_families: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class FormatRules:
    """How one prompt format frames messages, calls and tools, per API."""

    name: str
    tokens_per_message: int
    tokens_per_name: int
    reply_priming: int
    assistant_extra: int
    call_header: str
    result_header: str
    style: RenderStyle
    apis: Mapping[str, ApiRules]
    verified_families: frozenset[str]
    source: str
    plain_message_families: frozenset[str] = frozenset()
    loaded_from: tuple[str, ...] = field(default_factory=tuple)


CONSTANTS = (
    *_FORMAT_INTS,
    *(f"{api}.{key}" for api in APIS for key in _API_INTS),
    *(f"{api}.{key}.{case}" for api in APIS for key, cases in _CASES.items() for case in cases),
)  # every integer constant, named as in a rules file: "tokens_per_message", "chat.tools.system"


def constants(rules: FormatRules) -> dict[str, int]:
    """The value counts use for each name in :data:`CONSTANTS` under ``rules``.

    >>> constants(rules_for("harmony"))["responses.tools.system"]
    9
    """
    values = {name: int(getattr(rules, name)) for name in _FORMAT_INTS}
    for api in APIS:
        section = rules.apis[api]
        values.update({f"{api}.{key}": int(getattr(section, key)) for key in _API_INTS})
        for case in _CASES["tools"]:  # a missing role falls back to "none", as counting does
            values[f"{api}.tools.{case}"] = int(section.tools.get(case, section.tools.get("none", 0)))
        for case in _CASES["tool_choice"]:
            values[f"{api}.tool_choice.{case}"] = int(section.tool_choice.get(case, 0))
    return values


def nested(values: Mapping[str, int]) -> dict[str, Any]:
    """``{"chat.tools.none": 8}`` as the tables of a rules file: ``{"chat": {"tools": {"none": 8}}}``.

    >>> nested({"reply_priming": 2, "chat.tool_call": 3})
    {'reply_priming': 2, 'chat': {'tool_call': 3}}
    """
    result: dict[str, Any] = {}
    for name, value in values.items():
        *path, last = name.split(".")
        node = result
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return result


_lock = threading.Lock()
_user: dict[str, Any] = {}  # format -> constants, with "families": {family: constants}
_user_files: list[str] = []
_sources: dict[tuple[str, str | None], list[str]] = {}  # (format, family or None) -> files changing it
_cache: dict[tuple[str, str | None], FormatRules] = {}
_generation = 0  # bumped whenever user rules change, so that override caches go stale too


@dataclass
class _Override:
    layer: dict[str, dict[str, Any]]
    label: str
    cache: dict[tuple[str, str | None, int], FormatRules] = field(default_factory=dict)


_override: contextvars.ContextVar[_Override | None] = contextvars.ContextVar("tokenomy_rules", default=None)


def format_name(info: ModelInfo) -> str | None:
    """The prompt format a resolved model follows, or ``None`` if the data names none.

    >>> from tokenomy.registry import model_info
    >>> format_name(model_info("gpt-4o")), format_name(model_info("gpt-5-mini"))
    ('chatml', 'harmony')
    """
    chat = table("chat")
    by_snapshot = chat.get("format_for_snapshot", {})
    if info.snapshot in by_snapshot:
        return str(by_snapshot[info.snapshot])
    family = info.family or ""
    formats: Mapping[str, str] = chat.get("format_for_family", {})
    if family in formats:
        return str(formats[family])
    return None


def rules_state() -> tuple[int, object | None]:
    """What :func:`rules_for` answers depend on beyond its arguments and the bundled data: the
    generation of loaded user rules and the :func:`overridden` block in force (compare it by
    identity). A memo of counts keyed by it never serves counts made under other rules.

    >>> before = rules_state()
    >>> with overridden({"formats": {"chatml": {"tokens_per_message": 4}}}):
    ...     rules_state()[1] is before[1]
    False
    >>> rules_state() == before
    True
    """
    return _generation, _override.get()


def rules_for(name: str, family: str | None = None) -> FormatRules:
    """The rules of prompt format ``name`` for model ``family`` (built-in, with loaded user rules
    and any :func:`overridden` constants on top).

    >>> rules_for("chatml", "gpt-4o").tokens_per_message
    3
    """
    override = _override.get()
    if override is not None:
        key = (name, family, _generation)
        hit = override.cache.get(key)
        if hit is None:
            with _lock:
                _load_env_rules()
                hit = _build(name, family, override)
                override.cache[key] = hit
        return hit
    cached = _cache.get((name, family))
    if cached is not None:
        return cached
    with _lock:
        _load_env_rules()
        rules = _build(name, family, None)
        _cache[(name, family)] = rules
    return rules


def _layers(body: Mapping[str, Any], family: str | None) -> list[Mapping[str, Any]]:
    """The format-wide constants of a validated body, then those of ``family``."""
    layers: list[Mapping[str, Any]] = [{k: v for k, v in body.items() if k != "families"}]
    if family is not None:
        layers.append(body.get("families", {}).get(family, {}))
    return layers


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = _deep_merge(result[key], value)
        else:
            result[key] = value
    return result


def _build(name: str, family: str | None, override: _Override | None) -> FormatRules:
    formats = table("chat")["formats"]
    if name not in formats:
        raise RegistryError(f"formats.{name}", "*", "no such prompt format in data/chat.toml")
    raw: dict[str, Any] = dict(formats[name])
    layers = _layers(_user.get(name, {}), family)
    if override is not None:
        layers += _layers(override.layer.get(name, {}), family)
    for layer in layers:
        raw = _deep_merge(raw, layer)
    loaded = [*_sources.get((name, None), ()), *(_sources.get((name, family), ()) if family else ())]
    if override is not None and any(_changes_constants(layer) for layer in _layers(
            override.layer.get(name, {}), family)):  # fmt: skip
        loaded.append(override.label)
    style_name = raw.get("render_style", "default")
    styles = table("chat").get("render_styles", {})
    style = RenderStyle(**styles.get(style_name, {}))
    apis = {}
    for api in APIS:
        section = dict(raw.get(api, {}))
        apis[api] = ApiRules(
            tools=dict(section.pop("tools", {"none": 0, "system": 0, "developer": 0})),
            tool_choice=dict(section.pop("tool_choice", {})),
            parallel_wrapper=section.pop("parallel_wrapper", None),
            json_schema_separator=str(section.pop("json_schema_separator", "\n\n")),
            style=RenderStyle(**styles[section.pop("render_style")]) if "render_style" in section else None,
            bill_choice_name=bool(section.pop("bill_choice_name", True)),
            marked_output=section.pop("marked_output", None),
            unverified_combinations=tuple(tuple(c) for c in section.pop("unverified_combinations", ())),
            schema_drop=tuple(section.pop("schema_drop", ("required", "additionalProperties"))),
            verified_features=frozenset(section.pop("verified_features", ())),
            feature_families={f: frozenset(fams) for f, fams in section.pop("feature_families", {}).items()},
            **{k: int(v) for k, v in section.items() if k in _API_INTS},
        )
    return FormatRules(
        name=name,
        tokens_per_message=int(raw["tokens_per_message"]),
        tokens_per_name=int(raw["tokens_per_name"]),
        reply_priming=int(raw["reply_priming"]),
        assistant_extra=int(raw.get("assistant_extra", 0)),
        call_header=str(raw["call_header"]),
        result_header=str(raw["result_header"]),
        style=style,
        apis=apis,
        verified_families=frozenset(raw.get("verified_families", ())),
        plain_message_families=frozenset(raw.get("plain_message_families", ())),
        source=str(formats[name].get("source", "")),
        loaded_from=tuple(dict.fromkeys(loaded)),
    )


def _changes_constants(layer: Mapping[str, Any]) -> bool:
    return any(key not in _METADATA for key in layer)


def _load_env_rules() -> None:
    path = os.environ.get(RULES_ENV_VAR)
    if path and path not in _user_files:
        _apply(path, validate_rules(_read(path), source=path))


def _read(path: str | os.PathLike[str]) -> Mapping[str, Any]:
    target = Path(path)
    try:
        return load_toml(target)
    except OSError as error:
        problem = f"cannot be read ({error.strerror or error})"
        raise _bad(None, None, problem, file=str(target)) from None
    except ValueError as error:  # tomllib.TOMLDecodeError, or not UTF-8
        raise _bad(None, None, f"is not valid TOML ({error})", file=str(target)) from None


def validate_rules(raw: Mapping[str, Any], *, source: str) -> dict[str, dict[str, Any]]:
    """Check a rules table (the ``[formats.NAME]`` layout of ``data/chat.toml``) completely.

    Only integer constants of known formats may change, for the whole format or, under
    ``families.FAMILY``, for one model family; anything else is a :class:`RegistryError` naming the
    file, the entry and the field.

    >>> validate_rules({"formats": {"chatml": {"chat": {"tool_call": 2}}}}, source="mine.toml")
    {'chatml': {'chat': {'tool_call': 2}}}
    >>> validate_rules({"formats": {"harmony": {"families": {"gpt-5": {"reply_priming": 3}}}}},
    ...                source="mine.toml")
    {'harmony': {'families': {'gpt-5': {'reply_priming': 3}}}}
    """
    return _validated(raw, source, _LIMIT)


def _validated(raw: Mapping[str, Any], source: str, limit: int | None) -> dict[str, dict[str, Any]]:
    formats = raw.get("formats") if isinstance(raw, Mapping) else None
    if not isinstance(formats, Mapping) or not formats:
        raise _bad(None, "formats", "a rules file needs [formats.NAME] tables", file=source)
    known = table("chat")["formats"]
    result: dict[str, dict[str, Any]] = {}
    for name, body in formats.items():
        where = f"formats.{name}"
        if name not in known:
            raise _bad(where, None, f"unknown format; known: {sorted(known)}", file=source)
        clean = _checked_body(source, where, body, limit)
        families = body.get("families", {})
        if not isinstance(families, Mapping):
            problem = 'must be tables such as [formats.NAME.families."gpt-4o"]'
            raise _bad(where, "families", problem, file=source)
        if families:
            clean["families"] = {}
        for family, constants in families.items():
            if not isinstance(family, str) or not family:
                raise _bad(where, "families", f"{short(family)} is not a model family name", file=source)
            clean["families"][family] = _checked_body(source, f"{where}.families.{family}", constants,
                                                      limit, nested=False)  # fmt: skip
        result[name] = clean
    return result


def _checked_body(source: str, where: str, body: Any, limit: int | None, *,
                  nested: bool = True) -> dict[str, Any]:  # fmt: skip
    if not isinstance(body, Mapping):
        raise _bad(where, None, "must be a table", file=source)
    clean: dict[str, Any] = {}
    for key, value in body.items():
        if key in APIS:
            if not isinstance(value, Mapping):
                raise _bad(where, key, "must be a table of constants", file=source)
            clean[key] = {k: _checked_int(source, where, f"{key}.{k}", v, k, limit) for k, v in value.items()}
        elif key in _FORMAT_INTS:
            clean[key] = _checked_int(source, where, key, value, key, limit)
        elif key in _METADATA:
            clean[key] = str(value)
        elif key == "families" and nested:
            continue  # checked by the caller
        else:
            raise _bad(where, key, "not a constant a rules file may change", file=source)
    return clean


def _checked_int(source: str, where: str, field_name: str, value: Any, key: str, limit: int | None) -> Any:
    if key in _CASES:
        if not isinstance(value, Mapping):
            raise _bad(where, field_name, "must map cases to whole numbers", file=source)
        return {case: _checked_int(source, where, f"{field_name}.{case}", v, "", limit)
                for case, v in value.items()}  # fmt: skip
    if key and key not in _API_INTS and key not in _FORMAT_INTS:
        raise _bad(where, field_name, "not a constant a rules file may change", file=source)
    if isinstance(value, bool) or not isinstance(value, int) or (limit is not None and abs(value) > limit):
        raise _bad(where, field_name, f"{short(value)} is not a whole number of tokens", file=source)
    return value


def _bad(entry: str | None, field: str | None, problem: str, *, file: str) -> RegistryError:
    return RegistryError(entry, field, problem, file=file, setting=RULES_ENV_VAR)


def _apply(path: str, validated: Mapping[str, Mapping[str, Any]]) -> None:
    global _generation
    for name, body in validated.items():
        _user[name] = _deep_merge(_user.get(name, {}), body)
        for family, layer in [(None, body), *body.get("families", {}).items()]:
            if _changes_constants({k: v for k, v in layer.items() if k != "families"}):
                _sources.setdefault((name, family), []).append(path)
    _user_files.append(path)
    _cache.clear()
    _generation += 1


def load_rules(path: str | os.PathLike[str]) -> tuple[str, ...]:
    """Layer the constants in the TOML file at ``path`` over the built-in rules; returns the
    formats it changed. Counts made afterwards name the file in their notes.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d, "rules.toml")
    ...     _ = p.write_text("[formats.chatml.chat]\\ntool_call = 2\\n")
    ...     load_rules(p)
    ('chatml',)
    >>> reset_rules()
    """
    validated = validate_rules(_read(path), source=str(path))
    with _lock:
        _apply(str(path), validated)
    return tuple(validated)


def loaded_files() -> tuple[str, ...]:
    """The rules files layered over the built-in rules, in order (``TOKENOMY_RULES`` included).

    >>> loaded_files()
    ()
    """
    with _lock:
        _load_env_rules()
        return tuple(_user_files)


def reset_rules() -> None:
    """Forget rules loaded with :func:`load_rules` (the ``TOKENOMY_RULES`` file is read again)."""
    global _generation
    with _lock:
        _user.clear()
        _user_files.clear()
        _sources.clear()
        _cache.clear()
        _generation += 1


@contextlib.contextmanager
def overridden(changes: Mapping[str, Any], *, label: str = "in-memory rules") -> Iterator[None]:
    """Count with ``changes`` (the layout of a rules file) layered over every other rule, inside
    the ``with`` block and in this thread or task only; counts made there name ``label``.

    The changes are checked like a rules file's, without its bound on magnitudes.

    >>> from tokenomy.requests import count_request
    >>> body = {"model": "gpt-4o-2024-08-06", "messages": [{"role": "user", "content": "Hi"}]}
    >>> with overridden({"formats": {"chatml": {"tokens_per_message": 4}}}, label="test"):
    ...     count_request(body).tokens
    9
    >>> count_request(body).tokens
    8
    """
    layer = _validated(changes, label, None)
    outer = _override.get()
    if outer is not None:
        layer = {name: _deep_merge(outer.layer.get(name, {}), layer.get(name, {}))
                 for name in {**outer.layer, **layer}}  # fmt: skip
        label = f"{outer.label}, {label}"
    token = _override.set(_Override(layer, label))
    try:
        yield
    finally:
        _override.reset(token)
