"""Facts about OpenAI models by name and date: :func:`model_info`, :func:`models`.

A name resolves, in order: exact name (or an alias, by date) -> fine-tuned name (the base model's
facts) -> longest known prefix, when the rest of the name is a snapshot date, a version or a
deployment tag (marked as an assumption) -> :class:`UnknownModelError` with the closest names (so
a typo such as ``gpt-4o-mni`` is refused, not priced as gpt-4o). The facts live in
``data/models.toml`` and ``data/aliases.toml``; a user registry file (``TOKENOMY_REGISTRY``) and
:func:`register_model` layer entries on top, each validated whole before any of it is used.
"""

from __future__ import annotations

import bisect
import dataclasses
import difflib
import os
import re
import sys
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, TypeAlias

from tokenomy._data import sections, table
from tokenomy._registry_entries import ALLOWED_FIELDS, PRICE_FIELDS, Layers, to_date, user_file, validated
from tokenomy.errors import InvalidArgumentError, RegistryError, UnknownModelError

REGISTRY_ENV_VAR = "TOKENOMY_REGISTRY"
DateLike: TypeAlias = "date | datetime | str"
# Names longer than this get no "did you mean" (difflib is quadratic in the name's length).
_MAX_SUGGESTED_NAME = 200
# the names tests/test_hostile.py and tests/test_hardening.py read here (the rules moved out)
_ALLOWED, _validated = ALLOWED_FIELDS, validated


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens; ``None`` where the registry has no figure.

    >>> price = model_info("gpt-4o-2024-08-06", as_of=date(2025, 1, 1)).price
    >>> price.input, price.cached_input, price.output, price.batch_input
    (Decimal('2.5'), Decimal('1.25'), Decimal('10'), Decimal('1.25'))
    >>> model_info("text-embedding-3-small", as_of=date(2025, 1, 1)).price.output is None
    True
    """

    input: Decimal | None = None
    cached_input: Decimal | None = None
    output: Decimal | None = None
    batch_input: Decimal | None = None
    batch_output: Decimal | None = None
    ft_training: Decimal | None = None


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about one model on one date.

    ``name`` is what was asked for; ``snapshot`` the registry entry whose facts these are (an
    alias's target on ``as_of``). ``assumptions`` lists every fact that is a choice rather than a
    documented value; ``uncertain`` names fields that rest on secondary sources.

    >>> info = model_info("gpt-3.5-turbo", as_of=date(2023, 12, 20))
    >>> info.snapshot, info.context_window
    ('gpt-3.5-turbo-0613', 4096)
    """

    name: str
    snapshot: str
    kind: str
    family: str | None
    encoding: str | None
    context_window: int | None
    max_output_tokens: int | None
    endpoints: tuple[str, ...]
    price: Price
    as_of: date
    released: date | None = None
    deprecated_on: date | None = None
    shutdown_on: date | None = None
    replacement: str | None = None
    alias: str | None = None
    base_model: str | None = None
    other_pricing: str | None = None
    source: str = ""
    notes: str | None = None
    assumptions: tuple[str, ...] = ()
    uncertain: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        """``"active"``, ``"deprecated"`` or ``"shut down"`` on ``as_of``."""
        if self.shutdown_on is not None and self.as_of >= self.shutdown_on:
            return "shut down"
        if self.deprecated_on is not None and self.as_of >= self.deprecated_on:
            return "deprecated"
        return "active"

    @property
    def fine_tuned(self) -> bool:
        """True for ``ft:`` and legacy ``:ft-`` names."""
        return self.base_model is not None


_lock = threading.Lock()
_entries: Mapping[str, dict[str, Any]] | None = None
_overrides: dict[str, dict[str, Any]] = {}
_resolved: dict[tuple[str, date], ModelInfo] = {}
_on_change: list[Callable[[], None]] = []


def on_registry_change(callback: Callable[[], None]) -> None:
    """Call ``callback`` whenever :func:`register_model` changes the registry (cache resets)."""
    _on_change.append(callback)


def _all_entries() -> Mapping[str, dict[str, Any]]:
    """Every entry by name: runtime registrations, then the user file, then the built-in rows
    (read lazily: a count of one model parses that model's rows only)."""
    global _entries
    if _entries is None:
        with _lock:
            if _entries is None:
                builtin = sections("models", "models")
                path = os.environ.get(REGISTRY_ENV_VAR)
                user = user_file(path, builtin) if path else {}
                _entries = Layers(user, builtin) if user else builtin
    return Layers(_overrides, _entries) if _overrides else _entries


def register_model(name: str, *, based_on: str | None = None, **fields: Any) -> ModelInfo:
    """Add or override a registry entry for this process (custom deployments, negotiated prices).

    All or nothing: an entry with any bad field raises :class:`RegistryError` and leaves the
    registry as it was.

    >>> info = register_model("acme-gpt4o", based_on="gpt-4o-2024-08-06", price={"input": 2})
    >>> info.encoding, info.price.input, info.context_window
    ('o200k_base', Decimal('2'), 128000)
    """
    if not isinstance(name, str):
        raise TypeError(f"model name must be a str, not {type(name).__name__}")
    raw = dict(fields)
    if based_on is not None:
        raw["based_on"] = based_on
    entry = validated({name: raw}, _all_entries())[name]
    try:  # every fact built once before the entry is kept: nothing half-registered
        _info(name, name, entry, date.today())
    except (TypeError, ValueError, ArithmeticError) as error:
        raise RegistryError(name, None, f"cannot be used ({error})") from None
    with _lock:
        _overrides[name] = entry
        _resolved.clear()
    for callback in _on_change:
        callback()
    return _lookup(name, date.today())


def _price(raw: Mapping[str, Any] | None) -> Price:
    raw = raw or {}
    return Price(**{k: Decimal(str(raw[k])) for k in PRICE_FIELDS if k in raw})


def _price_on(snapshot: str, current: Mapping[str, Any] | None, as_of: date,
              notes: list[str]) -> Price:  # fmt: skip
    """The price ``snapshot`` had on ``as_of``: the current row unless a dated change is later."""
    earlier = [
        h for h in table("pricing").get("history", ()) if h["model"] == snapshot and as_of < h["until"]
    ]
    if not earlier:
        return _price(current)
    change = min(earlier, key=lambda h: h["until"])
    notes.append(f"price before {change['until']} ({change['source']})")
    if change.get("uncertain"):
        notes.append(change["uncertain"])
    # current batch prices belong to the current price; the old one gets the discount rule
    kept = {k: v for k, v in (current or {}).items() if not k.startswith("batch_")}
    return _price({**kept, **change["price"]})


def _info(asked: str, snapshot: str, entry: Mapping[str, Any], as_of: date, **extra: Any) -> ModelInfo:
    assumptions = list(extra.pop("assumptions", ()))
    if entry.get("assumption"):
        assumptions.insert(0, entry["assumption"])
    price = _price_on(snapshot, entry.get("price"), as_of, assumptions)
    return ModelInfo(
        name=asked,
        snapshot=snapshot,
        kind=entry.get("kind", "chat"),
        family=entry.get("family"),
        encoding=entry.get("encoding"),
        context_window=entry.get("context_window"),
        max_output_tokens=entry.get("max_output_tokens"),
        endpoints=tuple(entry.get("endpoints", ())),
        price=price,
        as_of=as_of,
        released=to_date(entry.get("released"), snapshot, "released"),
        deprecated_on=to_date(entry.get("deprecated_on"), snapshot, "deprecated_on"),
        shutdown_on=to_date(entry.get("shutdown_on"), snapshot, "shutdown_on"),
        replacement=entry.get("replacement"),
        other_pricing=entry.get("other_pricing"),
        source=entry.get("source", ""),
        notes=entry.get("notes"),
        assumptions=tuple(assumptions),
        uncertain=tuple(entry.get("uncertain") or ()),
        **extra,
    )


def _alias_target(name: str, as_of: date) -> tuple[str, list[str]] | None:
    alias = table("aliases")["aliases"].get(name)
    if alias is None:
        return None
    moves = alias["moves"]
    i = bisect.bisect_right([m["on"] for m in moves], as_of) - 1
    notes = [f"{name!r} resolved to its target on {as_of.isoformat()}"]
    near = any(abs((m["on"] - as_of).days) <= 60 for m in moves[1:])
    if alias.get("uncertain") and near:  # an uncertain switch date matters only near the switch
        notes.append(alias["uncertain"])
    if i < 0:
        notes.append(f"{name!r} did not exist yet on {as_of.isoformat()}; its first target is used")
        i = 0
    return moves[i]["to"], notes


def day_of(as_of: DateLike | None) -> date:
    """The day ``as_of`` names: a date, a datetime (its date) or an ISO string; ``None`` is today.

    >>> day_of("2024-06-01"), day_of(datetime(2024, 6, 1, 23, 59)), day_of("2024-06-01T08:00:00Z")
    (datetime.date(2024, 6, 1), datetime.date(2024, 6, 1), datetime.date(2024, 6, 1))
    """
    if as_of is None:
        return date.today()
    if isinstance(as_of, datetime):  # a datetime is a date too, but does not compare with one
        return as_of.date()
    if isinstance(as_of, date):
        return as_of
    if isinstance(as_of, str):
        try:
            return date.fromisoformat(as_of)
        except ValueError:
            try:
                return datetime.fromisoformat(as_of.replace("Z", "+00:00")).date()
            except ValueError:
                pass
        raise InvalidArgumentError("as_of", as_of, "a date, a datetime or 'YYYY-MM-DD'")
    raise TypeError(f"as_of must be a date, a datetime or an ISO date string, not {type(as_of).__name__}")


def _lookup(name: str, as_of: DateLike | None) -> ModelInfo:
    """The ModelInfo of ``name`` on ``as_of`` (any form :func:`day_of` takes), cached."""
    if type(name) is not str:
        if not isinstance(name, str):
            raise TypeError(f"model name must be a str, not {type(name).__name__}")
        name = str(name)  # a str subclass: cached under the plain string
    if type(as_of) is not date:
        as_of = day_of(as_of)
    key = (name, as_of)
    cached = _resolved.get(key)
    if cached is not None:
        return cached
    info = _resolve(name, as_of)
    if len(_resolved) >= 4096:  # a service asked about endless distinct names keeps bounded memory
        _resolved.clear()
    _resolved[key] = info
    return info


def _resolve(name: str, as_of: date) -> ModelInfo:
    entries = _all_entries()
    spelled = name.strip()
    for variant, canonical in table("aliases")["spellings"].items():
        if spelled.startswith(variant):
            spelled = canonical + spelled[len(variant) :]
    dated = None if spelled in _overrides else _alias_target(spelled, as_of)
    if dated is not None:
        target, notes = dated
        merged = {**entries[spelled], **entries[target]}
        for k in ("deprecated_on", "shutdown_on", "replacement", "uncertain"):
            merged[k] = entries[spelled].get(k)  # the alias's own retirement, not its target's
        return _info(name, target, merged, as_of, alias=spelled, assumptions=notes[1:])
    if spelled in entries:
        entry = entries[spelled]
        alias_of = entry.get("alias_of")
        if alias_of and alias_of in entries:
            merged = {**entry, **entries[alias_of]}
            for k in ("deprecated_on", "shutdown_on", "replacement", "uncertain"):
                merged[k] = entry.get(k)
            return _info(name, alias_of, merged, as_of, alias=spelled)
        return _info(name, spelled, entry, as_of)
    base = _fine_tune_base(spelled)
    if base is not None:
        info = _lookup(base, as_of)
        return dataclasses.replace(
            info,
            name=name,
            base_model=base,
            price=Price(ft_training=info.price.ft_training),
            assumptions=(
                *info.assumptions,
                "fine-tuned model: tokenizer and windows of its base model; usage prices of "
                "fine-tuned models differ from the base and are not in the registry "
                "(register_model adds them)",
            ),
        )
    prefixes = table("aliases")["prefixes"]
    matches = [p for p in prefixes if spelled.startswith(p) and _is_suffix(spelled[len(p) :], p)]
    if matches:
        prefix = max(matches, key=len)
        info = _lookup(prefixes[prefix], as_of)
        return dataclasses.replace(
            info,
            name=name,
            assumptions=(
                *info.assumptions,
                f"{name!r} is not in the registry; facts of {info.name!r} assumed (prefix {prefix!r} "
                "and a snapshot or version suffix)",
            ),
        )
    candidates = list(dict.fromkeys([*entries, *table("aliases")["aliases"]]))
    close = difflib.get_close_matches(spelled, candidates, n=3, cutoff=0.6) if len(
        spelled) <= _MAX_SUGGESTED_NAME else []  # fmt: skip
    raise UnknownModelError(name, close)


@cache
def _suffix_pattern() -> re.Pattern[str]:
    """One or more of the suffixes of ``data/aliases.toml``, each after a '-'."""
    alternatives = "|".join(f"(?:{s['pattern']})" for s in table("aliases")["suffixes"]["patterns"])
    return re.compile(f"(?:-(?:{alternatives}))+")


def _is_suffix(rest: str, prefix: str) -> bool:
    """True if ``rest`` (what follows ``prefix`` in a name) is a snapshot date, a version or a
    deployment tag: only then are the prefix's facts assumed."""
    return _suffix_pattern().fullmatch(rest if not prefix.endswith("-") else "-" + rest) is not None


def _fine_tune_base(name: str) -> str | None:
    if name.startswith("ft:"):
        base = name.split(":")[1]
        return base or None
    for marker in (":ft-", ".ft-"):  # legacy `curie:ft-acme-…` and Azure `gpt-35-turbo.ft-…`
        if marker in name:
            return name.split(marker)[0] or None
    return None


def resolve(name: str, as_of: DateLike | None = None, *, warn: bool = True) -> ModelInfo:
    """The registry's facts for ``name`` on ``as_of``; warns (once per call) if it is retired.

    >>> resolve("gpt-4o", "2024-06-01").snapshot
    'gpt-4o-2024-05-13'
    """
    if not isinstance(name, str):
        raise TypeError(f"model name must be a str, not {type(name).__name__}")
    info = _lookup(name, as_of)
    if warn:
        warn_if_retired(info)
    return info


def model_info(name: str, *, as_of: DateLike | None = None) -> ModelInfo:
    """Facts for ``name`` on ``as_of`` (a date, datetime or ISO string; default today); warns if
    the model is retired by then.

    >>> model_info("gpt-4o", as_of=date(2024, 6, 1)).snapshot
    'gpt-4o-2024-05-13'
    >>> model_info("gpt-4o", as_of=date(2024, 11, 1)).snapshot
    'gpt-4o-2024-08-06'
    >>> model_info("ft:gpt-4.1-mini-2025-04-14:acme::8abc", as_of=date(2025, 6, 1)).encoding
    'o200k_base'
    >>> model_info("gpt-4o", as_of="2024-06-01").snapshot
    'gpt-4o-2024-05-13'
    """
    return resolve(name, as_of)


def _caller_stacklevel() -> int:
    """warnings.warn stacklevel of the first frame outside tokenomy."""
    frame, level = sys._getframe(1), 1
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith("tokenomy"):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level


def warn_if_retired(info: ModelInfo) -> None:
    """Issue a ``DeprecationWarning`` naming the replacement when ``info`` is retired.

    The warning points at the caller's line, outside tokenomy.
    """
    status = info.status
    if status == "active":
        return
    when = info.shutdown_on if status == "shut down" else info.deprecated_on
    replacement = f"; replacement: {info.replacement}" if info.replacement else ""
    warnings.warn(
        f"{info.name!r} is {status} as of {info.as_of.isoformat()} (since {when}){replacement}",
        DeprecationWarning,
        stacklevel=_caller_stacklevel(),
    )


def models(kind: str | None = None, *, as_of: DateLike | None = None) -> list[ModelInfo]:
    """Every registered model (optionally of one ``kind``), sorted by name.

    >>> "gpt-4o" in [m.name for m in models("chat")]
    True
    """
    if kind is not None and not isinstance(kind, str):
        raise TypeError(f"kind must be a str such as 'chat', not {type(kind).__name__}")
    day = day_of(as_of)
    infos = [_lookup(name, day) for name in sorted(_all_entries())]
    return [i for i in infos if kind is None or i.kind == kind]


def _reset_for_tests() -> None:
    """Forget runtime registrations and the user file (tests only)."""
    global _entries
    with _lock:
        _entries = None
        _overrides.clear()
        _resolved.clear()
    for callback in _on_change:
        callback()


__all__ = [
    "DateLike",
    "ModelInfo",
    "Price",
    "day_of",
    "model_info",
    "models",
    "register_model",
    "resolve",
    "warn_if_retired",
]
