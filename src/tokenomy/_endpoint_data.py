"""The rows of ``data/endpoints.toml``, read and checked once: :func:`paths`, :func:`row`, :func:`normalise`.

Each API path becomes a :class:`PathRow`: its lifecycle facts (launch, deprecation, shutdown and
replacement), the model kinds it takes, and one :class:`Policy` per reading of OpenAI's data-use
table, oldest first. What a row says on a given day (its status, the reading in force, what is
uncertain near that day) is answered here too, for :mod:`tokenomy.endpoint` and
:mod:`tokenomy.preflight` alike.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache, lru_cache
from typing import Any
from urllib.parse import urlsplit

from tokenomy._data import table
from tokenomy.errors import RegistryError, UnknownEndpointError

RETENTIONS = ("none", "30 days", "until deleted")  # shortest first
ZERO_RETENTION = ("eligible", "not eligible", "by default")
EFFECTS = {  # an exception's effect in data/endpoints.toml, and how a note says it
    "not eligible": "is not eligible for zero data retention",
    "may be retained": "may be kept even under zero data retention",
    "retained": "is kept even under zero data retention",
}
_NEAR = timedelta(days=60)  # an uncertain date changes an answer only for days this close to it


@dataclass(frozen=True)
class Fact:
    """A dated lifecycle fact: launch, deprecation or shutdown."""

    on: date
    source: str
    replacement: str | None = None
    uncertain: str | None = None  # what an uncertain fact rests on


@dataclass(frozen=True)
class Limit:
    """An exception to zero data retention, as one reading states it."""

    name: str
    effect: str
    note: str
    models: tuple[str, ...]  # empty: triggered when the request uses `name`

    @property
    def label(self) -> str:
        return "/".join(self.models) if self.models else self.name.replace("_", " ")


@dataclass(frozen=True)
class Policy:
    """What one reading of OpenAI's table says a path does with the data sent to it."""

    reading: str
    on: date
    source: str
    training: bool
    retention: str
    abuse_monitoring: str | None
    application_state: str | None
    zero_retention: str
    exceptions: tuple[Limit, ...]
    note: str | None

    def key(self) -> tuple[str, ...]:
        """What a later reading can change, as text for a note."""
        limits = ", ".join(sorted(f"{e.label} ({e.effect})" for e in self.exceptions))
        return ("no" if not self.training else "yes", self.retention, self.zero_retention, limits or "none")


@dataclass(frozen=True)
class PathRow:
    """One ``[paths."…"]`` entry with the readings of its data use."""

    path: str
    name: str
    kinds: tuple[str, ...]
    launched: Fact | None
    deprecated: Fact | None
    shutdown: Fact | None
    note: str | None
    policies: tuple[Policy, ...]  # oldest reading first

    def status(self, day: date) -> str:
        """``"active"``, ``"deprecated"``, ``"shut down"`` or ``"not launched"`` on ``day``."""
        if self.shutdown is not None and day >= self.shutdown.on:
            return "shut down"
        if self.deprecated is not None and day >= self.deprecated.on:
            return "deprecated"
        if self.launched is not None and day < self.launched.on:
            return "not launched"
        return "active"

    def uncertain_notes(self, day: date) -> list[str]:
        """A note for each uncertain lifecycle date close enough to ``day`` to change an answer."""
        facts = (("launch", self.launched), ("deprecation", self.deprecated), ("shutdown", self.shutdown))
        return [
            f"{self.path} {what} date {fact.on} is uncertain: {fact.uncertain}"
            for what, fact in facts
            if fact is not None and fact.uncertain and abs(fact.on - day) <= _NEAR
        ]

    def policy_on(self, day: date) -> tuple[Policy | None, list[str]]:
        """The reading in force on ``day`` and, when it may not hold then, why."""
        if not self.policies:
            return None, [f"tokenomy holds no data-use facts for {self.path}"]
        earlier = [p for p in self.policies if p.on <= day]
        if not earlier:
            first = self.policies[0]
            return first, [f"{self.path} data-use facts as read on {first.on} ({first.reading}), the "
                           f"earliest reading tokenomy holds, later than {day}"]  # fmt: skip
        current, later = earlier[-1], [p for p in self.policies if p.on > day]
        if later and later[0].key() != current.key():
            changed = "; ".join(
                f"{field} {old} -> {new}"
                for field, old, new in zip(("training", "retention", "zero retention", "limits"),
                                           current.key(), later[0].key(), strict=True)
                if old != new
            )  # fmt: skip
            return current, [f"{self.path} data-use facts as read on {current.on} ({current.reading}); the "
                             f"next reading ({later[0].on}, {later[0].reading}) differs ({changed}) and when "
                             "it changed is not known"]  # fmt: skip
        return current, []


def _check_keys(entry: str, raw: Any, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise RegistryError(entry, "*", "must be a table")
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise RegistryError(entry, unknown[0], f"unknown field; allowed: {sorted(allowed)}")
    return raw


def _fact(entry: str, key: str, raw: Any) -> Fact | None:
    if raw is None:
        return None
    allowed = {"on", "source", "uncertain", "note"} | ({"replacement"} if key == "shutdown" else set())
    fact = _check_keys(f"{entry}.{key}", raw, allowed)
    if not isinstance(fact.get("on"), date) or not fact.get("source"):
        raise RegistryError(entry, key, "needs on = YYYY-MM-DD and a source")
    if fact.get("uncertain") and not fact.get("note"):
        raise RegistryError(entry, key, "an uncertain fact needs a note saying what it rests on")
    note = fact["note"] if fact.get("uncertain") else None
    return Fact(fact["on"], fact["source"], fact.get("replacement"), note)


def _policy(reading: Mapping[str, Any], path: str, raw: Any, exceptions: dict[str, Limit]) -> Policy:
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
    return Policy(
        reading=reading["name"], on=reading["on"], source=reading["source"], training=row["training"],
        retention=max(kept, key=RETENTIONS.index), abuse_monitoring=row.get("abuse_monitoring"),
        application_state=row.get("application_state"), zero_retention=row["zero_retention"],
        exceptions=tuple(exceptions[name] for name in row.get("except", ())), note=row.get("note"),
    )  # fmt: skip


def _exceptions(reading: Mapping[str, Any]) -> dict[str, Limit]:
    result = {}
    for name, raw in reading.get("exceptions", {}).items():
        entry = f"readings.{reading['name']}.exceptions.{name}"
        exc = _check_keys(entry, raw, {"effect", "note", "models"})
        if exc.get("effect") not in EFFECTS or not exc.get("note"):
            raise RegistryError(entry, "effect", f"needs a note and an effect, one of {list(EFFECTS)}")
        if not exc.get("models") and name not in known_uses():
            raise RegistryError(entry, "models", f"names no models, and {name!r} is not a [uses] key")
        result[name] = Limit(name, exc["effect"], exc["note"], tuple(exc.get("models", ())))
    return result


@cache
def paths() -> dict[str, PathRow]:
    """Every path of ``data/endpoints.toml``, checked field by field."""
    data = table("endpoints")
    readings = data["readings"]
    if [r["on"] for r in readings] != sorted(r["on"] for r in readings):
        raise RegistryError("readings", "on", "readings must be listed oldest first")
    policies: dict[str, list[Policy]] = {}
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
        result[path] = PathRow(path, row["name"], tuple(row.get("kinds", ())), facts["launched"],
                               facts["deprecated"], facts["shutdown"], row.get("note"),
                               tuple(policies.get(path, ())))  # fmt: skip
    for checked in result.values():
        target = checked.shutdown.replacement if checked.shutdown else None
        if target is not None and target not in result:
            raise RegistryError(f"paths.{checked.path}", "shutdown.replacement", f"{target!r} is not a path")
    return result


@cache
def known_uses() -> dict[str, str]:
    """``[uses]``: what a request can carry that changes its zero-retention coverage, described."""
    described: dict[str, str] = table("endpoints")["uses"]
    return described


@cache
def _segments() -> frozenset[str]:
    names = [*table("endpoints")["paths"], *table("endpoints")["aliases"]]
    return frozenset(part for name in names for part in name.split("/") if part)


@lru_cache(maxsize=1024)  # a few spellings of a few dozen paths; bounded against endless ids
def normalise(path: str) -> str:
    """``path`` as the data spells it: no host or query, ``/v1`` first, ids and aliases resolved.

    >>> normalise("https://api.openai.com/v1/threads/thread_abc123/messages?limit=2")
    '/v1/threads/messages'
    """
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


def row(path: str) -> PathRow:
    """The row of ``path`` in any spelling :func:`normalise` takes; :class:`UnknownEndpointError` names
    the closest known paths."""
    if not isinstance(path, str):
        raise TypeError(f"path must be a str, not {type(path).__name__}")
    rows = paths()
    canonical = normalise(str(path))
    if canonical in rows:
        return rows[canonical]
    candidates = [*rows, *table("endpoints")["aliases"]]
    close = difflib.get_close_matches(canonical, candidates, n=3, cutoff=0.6) if len(canonical) <= 200 else []
    raise UnknownEndpointError(path, close)
