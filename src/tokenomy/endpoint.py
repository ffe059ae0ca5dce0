"""Facts about OpenAI API paths by date: :func:`endpoint_info`, :func:`endpoints`, :func:`check_request`.

A path's lifecycle (launch, deprecation, shutdown and replacement), the model kinds it takes, and
what OpenAI does with the data sent to it (training use, retention, zero data retention and its
exceptions, one entry per reading of OpenAI's table) live in ``data/endpoints.toml``; which models
a path serves comes from the registry (each model's ``endpoints``). :func:`check_request` is the
pre-flight a request goes through before it is sent. (The module is not named ``endpoints``: that
name is the function, and ``import tokenomy.endpoints`` would then give the function.)
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from tokenomy._args import check_bool
from tokenomy._data import table
from tokenomy.errors import (
    EndpointShutDownError,
    InvalidArgumentError,
    RegistryError,
    UnknownEndpointError,
    UnsupportedModelError,
    ZeroRetentionError,
    short,
)
from tokenomy.registry import ModelInfo, day_of, model_info, models

RETENTIONS = ("none", "30 days", "until deleted")  # shortest first
ZERO_RETENTION = ("eligible", "not eligible", "by default")
EFFECTS = {  # an exception's effect in data/endpoints.toml, and how a note says it
    "not eligible": "is not eligible for zero data retention",
    "may be retained": "may be kept even under zero data retention",
    "retained": "is kept even under zero data retention",
}
_NEAR = timedelta(days=60)  # an uncertain date changes an answer only for days this close to it
_SERVING = ("active", "deprecated")  # statuses in which a path takes requests


@dataclass(frozen=True)
class EndpointInfo:
    """What tokenomy knows about one API path on one date.

    ``retention`` is the longest any data of a request is kept by default (``"none"``, ``"30
    days"``, ``"until deleted"``); newer readings split it into ``abuse_monitoring_retention`` and
    ``application_state_retention``. ``zero_retention`` is ``"eligible"``, ``"not eligible"`` or
    ``"by default"`` (nothing is kept to begin with); whether an organisation has zero data
    retention is for OpenAI to approve, not for tokenomy to know. ``policy_as_read`` is the day
    the data-use facts were read from OpenAI; ``exact`` is False when a fact used rests on a
    secondary source near ``as_of`` or the policy may have changed around it (``notes`` say which).

    >>> info = endpoint_info("/v1/assistants", as_of=date(2023, 12, 1))
    >>> info.status, info.retention, info.zero_retention
    ('active', 'until deleted', 'not eligible')
    >>> endpoint_info("/v1/assistants", as_of=date(2026, 11, 30)).replacement
    '/v1/responses'
    """

    path: str
    name: str
    as_of: date
    status: str
    launched_on: date | None
    deprecated_on: date | None
    shutdown_on: date | None
    replacement: str | None
    kinds: tuple[str, ...]
    models: tuple[str, ...]
    used_for_training: bool | None
    retention: str | None
    abuse_monitoring_retention: str | None
    application_state_retention: str | None
    zero_retention: str | None
    zero_retention_exceptions: tuple[str, ...]
    policy_as_read: date | None
    sources: tuple[str, ...]
    exact: bool
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (dates as ISO strings)."""
        return {
            key: value.isoformat() if isinstance(value, date) else list(value) if isinstance(value, tuple)
            else value
            for key, value in vars(self).items()
        }  # fmt: skip


@dataclass(frozen=True)
class _Fact:
    on: date
    source: str
    replacement: str | None = None
    uncertain: str | None = None  # what an uncertain fact rests on


@dataclass(frozen=True)
class _Exception:
    name: str
    effect: str
    note: str
    models: tuple[str, ...]  # empty: triggered when the request uses `name`

    @property
    def label(self) -> str:
        return "/".join(self.models) if self.models else self.name.replace("_", " ")


@dataclass(frozen=True)
class _Policy:
    reading: str
    on: date
    source: str
    training: bool
    retention: str
    abuse_monitoring: str | None
    application_state: str | None
    zero_retention: str
    exceptions: tuple[_Exception, ...]
    note: str | None

    def key(self) -> tuple[str, ...]:
        """What a later reading can change, as text for a note."""
        limits = ", ".join(sorted(f"{e.label} ({e.effect})" for e in self.exceptions))
        return ("no" if not self.training else "yes", self.retention, self.zero_retention, limits or "none")


@dataclass(frozen=True)
class _Path:
    path: str
    name: str
    kinds: tuple[str, ...]
    launched: _Fact | None
    deprecated: _Fact | None
    shutdown: _Fact | None
    note: str | None
    policies: tuple[_Policy, ...]  # oldest reading first


def _check_keys(entry: str, raw: Any, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise RegistryError(entry, "*", "must be a table")
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise RegistryError(entry, unknown[0], f"unknown field; allowed: {sorted(allowed)}")
    return raw


def _fact(entry: str, key: str, raw: Any) -> _Fact | None:
    if raw is None:
        return None
    allowed = {"on", "source", "uncertain", "note"} | ({"replacement"} if key == "shutdown" else set())
    fact = _check_keys(f"{entry}.{key}", raw, allowed)
    if not isinstance(fact.get("on"), date) or not fact.get("source"):
        raise RegistryError(entry, key, "needs on = YYYY-MM-DD and a source")
    if fact.get("uncertain") and not fact.get("note"):
        raise RegistryError(entry, key, "an uncertain fact needs a note saying what it rests on")
    note = fact["note"] if fact.get("uncertain") else None
    return _Fact(fact["on"], fact["source"], fact.get("replacement"), note)


def _policy(reading: Mapping[str, Any], path: str, raw: Any, exceptions: dict[str, _Exception]) -> _Policy:
    entry = f"readings.{reading['name']}.{path}"
    row = _check_keys(entry, raw, {"training", "retention", "abuse_monitoring", "application_state",
                                   "zero_retention", "except", "note"})  # fmt: skip
    kept = [row[k] for k in ("retention", "abuse_monitoring", "application_state") if k in row]
    for value in kept:
        if value not in RETENTIONS:
            raise RegistryError(entry, "retention", f"{value!r} is not one of {RETENTIONS}")
    if not kept or ("retention" in row) == ("abuse_monitoring" in row or "application_state" in row):
        raise RegistryError(entry, "retention", "give retention, or abuse_monitoring and application_state")
    if row.get("zero_retention") not in ZERO_RETENTION or not isinstance(row.get("training"), bool):
        raise RegistryError(entry, "zero_retention", f"needs training = bool and one of {ZERO_RETENTION}")
    missing = [name for name in row.get("except", ()) if name not in exceptions]
    if missing:
        raise RegistryError(entry, "except", f"{missing[0]!r} is not among the reading's exceptions")
    return _Policy(
        reading=reading["name"], on=reading["on"], source=reading["source"], training=row["training"],
        retention=max(kept, key=RETENTIONS.index), abuse_monitoring=row.get("abuse_monitoring"),
        application_state=row.get("application_state"), zero_retention=row["zero_retention"],
        exceptions=tuple(exceptions[name] for name in row.get("except", ())), note=row.get("note"),
    )  # fmt: skip


def _exceptions(reading: Mapping[str, Any]) -> dict[str, _Exception]:
    result = {}
    for name, raw in reading.get("exceptions", {}).items():
        entry = f"readings.{reading['name']}.exceptions.{name}"
        exc = _check_keys(entry, raw, {"effect", "note", "models"})
        if exc.get("effect") not in EFFECTS or not exc.get("note"):
            raise RegistryError(entry, "effect", f"needs a note and an effect, one of {list(EFFECTS)}")
        if not exc.get("models") and name not in _uses():
            raise RegistryError(entry, "models", f"names no models, and {name!r} is not a [uses] key")
        result[name] = _Exception(name, exc["effect"], exc["note"], tuple(exc.get("models", ())))
    return result


@cache
def _paths() -> dict[str, _Path]:
    """Every path of ``data/endpoints.toml``, checked field by field."""
    data = table("endpoints")
    readings = data["readings"]
    if [r["on"] for r in readings] != sorted(r["on"] for r in readings):
        raise RegistryError("readings", "on", "readings must be listed oldest first")
    policies: dict[str, list[_Policy]] = {}
    for reading in readings:
        exceptions = _exceptions(reading)
        for path, raw in reading["paths"].items():
            if path not in data["paths"]:
                raise RegistryError(f"readings.{reading['name']}", path, "is not a [paths] entry")
            policies.setdefault(path, []).append(_policy(reading, path, raw, exceptions))
    result = {}
    for path, raw in data["paths"].items():
        entry = f"paths.{path}"
        row = _check_keys(entry, raw, {"name", "kinds", "launched", "deprecated", "shutdown", "note"})
        if not row.get("name"):
            raise RegistryError(entry, "name", "every path needs a name")
        facts = {key: _fact(entry, key, row.get(key)) for key in ("launched", "deprecated", "shutdown")}
        result[path] = _Path(path, row["name"], tuple(row.get("kinds", ())), facts["launched"],
                             facts["deprecated"], facts["shutdown"], row.get("note"),
                             tuple(policies.get(path, ())))  # fmt: skip
    for checked in result.values():
        target = checked.shutdown.replacement if checked.shutdown else None
        if target is not None and target not in result:
            raise RegistryError(f"paths.{checked.path}", "shutdown.replacement", f"{target!r} is not a path")
    return result


@cache
def _uses() -> dict[str, str]:
    uses: dict[str, str] = table("endpoints")["uses"]
    return uses


@cache
def _segments() -> frozenset[str]:
    names = [*table("endpoints")["paths"], *table("endpoints")["aliases"]]
    return frozenset(part for name in names for part in name.split("/") if part)


def _normalise(path: str) -> str:
    """``path`` as the data spells it: no host or query, ``/v1`` first, ids and aliases resolved."""
    text = path.strip()
    if "://" in text:
        text = urlsplit(text).path
    parts = [p for p in text.split("?")[0].split("#")[0].lower().split("/") if p]
    parts = parts[parts.index("v1") :] if "v1" in parts else ["v1", *parts]
    # object ids (thread_abc123, {thread_id}, :id) sit between the segments that name the path
    known = _segments()
    parts = [p for p in parts if p in known or not (p[0] in "{:" or any(c.isdigit() for c in p))]
    canonical = "/" + "/".join(parts)
    aliases: dict[str, str] = table("endpoints")["aliases"]
    return aliases.get(canonical, canonical)


def _row(path: str) -> _Path:
    if not isinstance(path, str):
        raise TypeError(f"path must be a str, not {type(path).__name__}")
    rows = _paths()
    canonical = _normalise(path)
    if canonical in rows:
        return rows[canonical]
    candidates = [*rows, *table("endpoints")["aliases"]]
    close = difflib.get_close_matches(canonical, candidates, n=3, cutoff=0.6) if len(canonical) <= 200 else []
    raise UnknownEndpointError(path, close)


def _day(as_of: date | str | None) -> date:
    """``as_of`` as a day: a date, a datetime (its own date) or an ISO string; None is today."""
    return day_of(as_of)


def _status(row: _Path, day: date) -> str:
    if row.shutdown is not None and day >= row.shutdown.on:
        return "shut down"
    if row.deprecated is not None and day >= row.deprecated.on:
        return "deprecated"
    if row.launched is not None and day < row.launched.on:
        return "not launched"
    return "active"


def _uncertain_notes(row: _Path, day: date) -> list[str]:
    facts = (("launch", row.launched), ("deprecation", row.deprecated), ("shutdown", row.shutdown))
    return [
        f"{row.path} {what} date {fact.on} is uncertain: {fact.uncertain}"
        for what, fact in facts
        if fact is not None and fact.uncertain and abs(fact.on - day) <= _NEAR
    ]


def _policy_on(row: _Path, day: date) -> tuple[_Policy | None, list[str]]:
    """The reading in force on ``day`` and, when it may not hold then, why."""
    if not row.policies:
        return None, [f"tokenomy holds no data-use facts for {row.path}"]
    earlier = [p for p in row.policies if p.on <= day]
    if not earlier:
        first = row.policies[0]
        return first, [f"{row.path} data-use facts as read on {first.on} ({first.reading}), the earliest "
                       f"reading tokenomy holds, later than {day}"]  # fmt: skip
    current, later = earlier[-1], [p for p in row.policies if p.on > day]
    if later and later[0].key() != current.key():
        changed = "; ".join(
            f"{field} {old} -> {new}"
            for field, old, new in zip(("training", "retention", "zero retention", "limits"),
                                       current.key(), later[0].key(), strict=True)
            if old != new
        )  # fmt: skip
        return current, [f"{row.path} data-use facts as read on {current.on} ({current.reading}); the next "
                         f"reading ({later[0].on}, {later[0].reading}) differs ({changed}) and when it "
                         "changed is not known"]  # fmt: skip
    return current, []


def _served(day: date) -> dict[str, list[str]]:
    """Registry models in service on ``day`` by the path they list (aliases resolved)."""
    served: dict[str, list[str]] = {}
    for info in models(as_of=day):
        if info.status == "shut down" or (info.released is not None and info.released > day):
            continue
        for path in dict.fromkeys(_normalise(p) for p in info.endpoints):
            served.setdefault(path, []).append(info.name)
    return served


def _info(row: _Path, day: date, served: Mapping[str, list[str]]) -> EndpointInfo:
    notes = _uncertain_notes(row, day)
    exact = not notes
    policy, caveats = _policy_on(row, day)
    exact = exact and not (caveats and policy is not None)
    off_since = table("endpoints")["training"]["off_since"]
    training = None if policy is None or day < off_since["on"] else policy.training
    if policy is not None and training is None:
        caveats.append(f"tokenomy holds no facts on training use before {off_since['on']}, when the API "
                       "stopped training on customer data by default")  # fmt: skip
    status = _status(row, day)
    facts = (row.launched, row.deprecated, row.shutdown)
    sources = [f.source for f in facts if f is not None]
    sources += [policy.source] if policy is not None else []
    sources += [off_since["source"]] if training is not None else []
    return EndpointInfo(
        path=row.path, name=row.name, as_of=day, status=status,
        launched_on=row.launched.on if row.launched else None,
        deprecated_on=row.deprecated.on if row.deprecated else None,
        shutdown_on=row.shutdown.on if row.shutdown else None,
        replacement=row.shutdown.replacement if row.shutdown else None,
        kinds=row.kinds, models=tuple(served.get(row.path, ())) if status in _SERVING else (),
        used_for_training=training,
        retention=policy.retention if policy else None,
        abuse_monitoring_retention=policy.abuse_monitoring if policy else None,
        application_state_retention=policy.application_state if policy else None,
        zero_retention=policy.zero_retention if policy else None,
        zero_retention_exceptions=tuple(f"{e.label}: {e.effect} ({e.note})"
                                        for e in (policy.exceptions if policy else ())),
        policy_as_read=policy.on if policy else None, sources=tuple(dict.fromkeys(sources)), exact=exact,
        notes=tuple(n for n in (*notes, *caveats, row.note, policy.note if policy else None) if n),
    )  # fmt: skip


def endpoint_info(path: str, *, as_of: date | str | None = None) -> EndpointInfo:
    """Facts for the API ``path`` on ``as_of`` (a date, datetime or ISO string; default today).

    ``path`` may be a full URL, lack the ``/v1`` prefix, or hold object ids
    (``/v1/threads/thread_abc123/messages``).

    >>> info = endpoint_info("chat/completions", as_of="2023-12-01")
    >>> info.path, info.retention, info.zero_retention, len(info.zero_retention_exceptions)
    ('/v1/chat/completions', '30 days', 'eligible', 1)
    >>> endpoint_info("/v1/edits", as_of=date(2026, 11, 30)).status
    'shut down'
    """
    day = _day(as_of)
    return _info(_row(path), day, _served(day))


def endpoints(*, as_of: date | str | None = None) -> list[EndpointInfo]:
    """Every API path tokenomy knows, sorted, with its facts on ``as_of`` (default today).

    >>> [e.path for e in endpoints(as_of=date(2026, 11, 30)) if e.status == "deprecated"]
    ['/v1/fine_tuning/jobs']
    """
    day = _day(as_of)
    served = _served(day)
    return [_info(row, day, served) for _, row in sorted(_paths().items())]


def _lifecycle(row: _Path, day: date) -> list[str]:
    """Notes on ``row``'s status on ``day``; raises once it is surely shut down."""
    notes = _uncertain_notes(row, day)
    status, shutdown = _status(row, day), row.shutdown
    if status == "shut down" and shutdown is not None:
        if not notes:
            raise EndpointShutDownError(row.path, shutdown.on, day, shutdown.replacement)
        notes.insert(0, f"{row.path} is shut down from {shutdown.on}, a date not surely known")
    elif status == "not launched" and row.launched is not None:
        notes.insert(0, f"{row.path} did not exist yet on {day} (launched {row.launched.on})")
    elif status == "deprecated" and row.deprecated is not None:
        until = f"; it shuts down on {shutdown.on}" if shutdown else ""
        instead = f" (replacement: {shutdown.replacement})" if shutdown and shutdown.replacement else ""
        notes.insert(0, f"{row.path} is deprecated since {row.deprecated.on}{until}{instead}")
    return notes


def _model_notes(row: _Path, info: ModelInfo, batch: bool) -> list[str]:
    """Whether ``row`` takes ``info``'s model; raises when its kind rules it out."""
    batch_path: str = table("endpoints")["batch_api"]["models_on"]
    listed = sorted(dict.fromkeys(_normalise(p) for p in info.endpoints))
    if row.kinds and info.kind not in row.kinds and row.path not in listed:
        direct = [p for p in listed if p != batch_path]
        elsewhere = (
            f"send it to {' or '.join(direct)} instead" if direct else "the registry lists no endpoint"
        )
        kinds = " or ".join(row.kinds)
        raise UnsupportedModelError(
            info.name, f"is of kind {info.kind!r}; {row.path} takes {kinds} models: {elsewhere}"
        )
    notes = []
    if not row.kinds:
        notes.append(f"tokenomy's data names no models for {row.path}; {info.name} was not checked")
    elif not listed:
        notes.append(f"the registry lists no endpoints for {info.name}; {row.path} was not checked")
    elif row.path not in listed:
        notes.append(f"the registry does not list {info.name} on {row.path} (it lists {', '.join(listed)}); "
                     "the API may refuse it")  # fmt: skip
    if batch and listed and batch_path not in listed:
        notes.append(f"the registry does not list {info.name} for the Batch API ({batch_path})")
    return notes


def _zero_retention(
    row: _Path, day: date, info: ModelInfo | None, uses: Collection[str]
) -> tuple[list[str], list[str]]:
    """What keeps a request to ``row`` from zero retention, and what could not be checked."""
    policy, caveats = _policy_on(row, day)
    if policy is None:
        return [f"{caveats[0]}, so its zero-retention coverage is unknown"], []
    read = f"({policy.reading}, as read {policy.on})"
    if policy.zero_retention == "not eligible":
        return [f"{row.path} {EFFECTS['not eligible']}: data is kept {policy.retention} {read}",
                *caveats], []  # fmt: skip
    problems, unchecked = [], []
    names = {n for n in (info.name, info.snapshot, info.alias, info.base_model) if n} if info else set()
    for exc in policy.exceptions:
        if exc.models and info is None:
            unchecked.append(f"{row.path}: {exc.note}; no model was given to check {read}")
        elif (exc.models and names & set(exc.models)) or (not exc.models and exc.name in uses):
            what = info.name if exc.models and info else exc.label
            problems.append(f"{what} on {row.path} {EFFECTS[exc.effect]}: {exc.note} {read}")
    return problems + (caveats if problems else []), unchecked


def check_request(
    path: str,
    *,
    model: str | ModelInfo | None = None,
    as_of: date | str | None = None,
    uses: Collection[str] = (),
    batch: bool = False,
    require_zero_retention: bool = False,
) -> tuple[str, ...]:
    """Pre-flight a request to ``path``: notes on what it should know, errors for what would fail.

    Raises :class:`UnknownEndpointError` (and the registry's :class:`UnknownModelError` for a model
    name), :class:`EndpointShutDownError` (naming the replacement) once ``path`` is surely shut
    down on ``as_of``, :class:`UnsupportedModelError` when the model's kind is not one the path
    takes, and, with ``require_zero_retention``, :class:`ZeroRetentionError` for anything zero data
    retention would not cover (what could not be checked, such as a model-bound exception with no
    model given, stays a note). ``uses`` names what the request carries
    (keys of ``[uses]`` in ``data/endpoints.toml``: ``image_input``, ``file_input``, ``audio_output``,
    ``code_interpreter``); ``batch=True`` also checks the Batch API's own paths (files, batches).
    Returns the notes, each once, in order: lifecycle, model, zero retention.

    >>> check_request("/v1/chat/completions", model="gpt-4o", as_of=date(2025, 1, 1))
    ()
    >>> check_request("/v1/chat/completions", as_of=date(2023, 12, 1), uses={"image_input"})[0]
    ... # doctest: +ELLIPSIS
    'image input on /v1/chat/completions is not eligible for zero data retention: ...'
    >>> check_request("/v1/edits", as_of=date(2026, 11, 30))
    Traceback (most recent call last):
    tokenomy.errors.EndpointShutDownError: /v1/edits was shut down on 2024-01-04 (as of 2026-11-30): \
send it to /v1/chat/completions instead. `tokenomy endpoints` lists each path's status.
    """
    if isinstance(uses, str):
        raise TypeError(f"uses is a collection of names, e.g. {{{short(uses)}}}, not one string")
    unknown = sorted(map(short, set(uses) - set(_uses())))
    if unknown:
        raise InvalidArgumentError("uses", unknown, f"names from {', '.join(sorted(_uses()))}")
    check_bool(batch, "batch")
    check_bool(require_zero_retention, "require_zero_retention")
    if model is not None and not isinstance(model, (str, ModelInfo)):
        raise TypeError(f"model must be a model name or a ModelInfo, not {type(model).__name__}")
    day = _day(as_of)
    row = _row(path)
    batch_api = table("endpoints")["batch_api"]
    rows = [row, *(_row(p) for p in batch_api["paths"] if p != row.path)] if batch else [row]
    notes = [note for r in rows for note in _lifecycle(r, day)]
    info = model_info(model, as_of=day) if isinstance(model, str) else model
    if info is not None:
        notes += _model_notes(row, info, batch)
    problems: list[str] = []
    for r in rows:
        found, unchecked = _zero_retention(r, day, info, uses)
        problems += found
        notes += unchecked
    if require_zero_retention and problems:
        raise ZeroRetentionError(row.path, list(dict.fromkeys(problems)))
    return tuple(dict.fromkeys([*notes, *problems]))


__all__ = ["EndpointInfo", "check_request", "endpoint_info", "endpoints"]
