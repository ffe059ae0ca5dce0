"""Counting rules per prompt format: which constants and renderings a model family's bill follows.

The rules live in ``data/chat.toml`` (each with the API-billed vectors that verify it). A user can
layer corrected constants on top, for example the output of ``Reconciliation.calibrate()``, with
:func:`load_rules` or a file named by ``TOKENOMY_RULES``; loaded rules are validated whole and every
count made with them names them in its notes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
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
    "tool_call", "parallel_call", "parallel_empty_arguments", "property_comments", "json_object",
    "json_schema", "json_schema_with_tools",
    "json_schema_tag", "tools_per_tool", "text_json_schema", "file_part", "file_only_message",
    "image_message",
)  # fmt: skip
_FORMAT_INTS = ("tokens_per_message", "tokens_per_name", "reply_priming", "assistant_extra")


@dataclass(frozen=True)
class ApiRules:
    """Constants of one prompt format on one API (Chat Completions or Responses)."""

    tools: Mapping[str, int]
    tool_choice: Mapping[str, int]
    tool_call: int = 0
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


_lock = threading.Lock()
_user: dict[str, Any] = {}
_user_files: list[str] = []
_cache: dict[str, FormatRules] = {}


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


def rules_for(name: str) -> FormatRules:
    """The rules of prompt format ``name`` (built-in, with any loaded user rules on top)."""
    cached = _cache.get(name)
    if cached is not None:
        return cached
    with _lock:
        _load_env_rules()
        raw = _merged(name)
        rules = _build(name, raw)
        _cache[name] = rules
    return rules


def _merged(name: str) -> dict[str, Any]:
    formats = table("chat")["formats"]
    if name not in formats:
        raise RegistryError(f"formats.{name}", "*", "no such prompt format in data/chat.toml")
    merged = _deep_merge(formats[name], _user.get(name, {}))
    return merged


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = _deep_merge(result[key], value)
        else:
            result[key] = value
    return result


def _build(name: str, raw: Mapping[str, Any]) -> FormatRules:
    style_name = raw.get("render_style", "default")
    styles = table("chat").get("render_styles", {})
    style = RenderStyle(**styles.get(style_name, {}))
    apis = {}
    styles = table("chat").get("render_styles", {})
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
        source=str(raw.get("source", "")),
        loaded_from=tuple(_user_files) if name in _user else (),
    )


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

    Only integer constants of known formats may change; anything else is a :class:`RegistryError`
    naming the file, the entry and the field.

    >>> validate_rules({"formats": {"chatml": {"chat": {"tool_call": 2}}}}, source="mine.toml")
    {'chatml': {'chat': {'tool_call': 2}}}
    """
    formats = raw.get("formats")
    if not isinstance(formats, Mapping) or not formats:
        raise _bad(None, "formats", "a rules file needs [formats.NAME] tables", file=source)
    known = table("chat")["formats"]
    result: dict[str, dict[str, Any]] = {}
    for name, body in formats.items():
        where = f"formats.{name}"
        if name not in known:
            raise _bad(where, None, f"unknown format; known: {sorted(known)}", file=source)
        if not isinstance(body, Mapping):
            raise _bad(where, None, "must be a table", file=source)
        clean: dict[str, Any] = {}
        for key, value in body.items():
            if key in APIS:
                if not isinstance(value, Mapping):
                    raise _bad(where, key, "must be a table of constants", file=source)
                clean[key] = {k: _checked_int(source, where, f"{key}.{k}", v, k) for k, v in value.items()}
            elif key in _FORMAT_INTS:
                clean[key] = _checked_int(source, where, key, value, key)
            elif key in ("source", "calibrated_on", "note"):
                clean[key] = str(value)
            else:
                raise _bad(where, key, "not a constant a rules file may change", file=source)
        result[name] = clean
    return result


def _bad(entry: str | None, field: str | None, problem: str, *, file: str) -> RegistryError:
    return RegistryError(entry, field, problem, file=file, setting=RULES_ENV_VAR)


def _checked_int(source: str, where: str, field_name: str, value: Any, key: str) -> Any:
    if key in ("tools", "tool_choice"):
        if not isinstance(value, Mapping) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value.values()
        ):
            raise _bad(where, field_name, "must map cases to whole numbers", file=source)
        return dict(value)
    if key not in _API_INTS and key not in _FORMAT_INTS:
        raise _bad(where, field_name, "not a constant a rules file may change", file=source)
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > 100_000:
        raise _bad(where, field_name, f"{short(value)} is not a whole number of tokens", file=source)
    return value


def _apply(path: str, validated: Mapping[str, Mapping[str, Any]]) -> None:
    for name, body in validated.items():
        _user[name] = _deep_merge(_user.get(name, {}), body)
    _user_files.append(path)
    _cache.clear()


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


def reset_rules() -> None:
    """Forget rules loaded with :func:`load_rules` (the ``TOKENOMY_RULES`` file is read again)."""
    with _lock:
        _user.clear()
        _user_files.clear()
        _cache.clear()
