"""Facts about OpenAI models by name and date: :func:`model_info`, :func:`models`.

A name resolves, in order: exact name (or an alias, by date) -> fine-tuned name (the base model's
facts) -> longest known prefix (marked as an assumption) -> :class:`UnknownModelError` with the
closest names. The facts live in ``data/models.toml`` and ``data/aliases.toml``; a user registry
file (``TOKENOMY_REGISTRY``) and :func:`register_model` layer entries on top.
"""

from __future__ import annotations

import bisect
import dataclasses
import difflib
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeAlias

from tokenomy._data import load_toml, sections, table
from tokenomy.errors import RegistryError, UnknownModelError

REGISTRY_ENV_VAR = "TOKENOMY_REGISTRY"
DateLike: TypeAlias = "date | datetime | str"
PRICE_FIELDS = ("input", "cached_input", "output", "batch_input", "batch_output", "ft_training")


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens; ``None`` where the registry has no figure."""

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


_ALLOWED = {
    "kind", "family", "encoding", "context_window", "max_output_tokens", "endpoints", "released",
    "deprecated_on", "shutdown_on", "replacement", "price", "other_pricing", "source", "notes",
    "assumption", "uncertain", "alias_of", "training_cutoff", "based_on",
}  # fmt: skip
_KINDS = {"chat", "completion", "embedding", "moderation", "image", "audio-stt", "audio-tts",
          "realtime"}  # fmt: skip

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
                user_file = os.environ.get(REGISTRY_ENV_VAR)
                user = _validated(load_toml(user_file).get("models", {}), builtin) if user_file else {}
                _entries = _Layers(user, builtin) if user else builtin
    return _Layers(_overrides, _entries) if _overrides else _entries


class _Layers(Mapping[str, Any]):
    """Read-only union of mappings, the first holding a name wins; nothing is copied or parsed."""

    def __init__(self, *layers: Mapping[str, Any]) -> None:
        self._layers = layers

    def __getitem__(self, name: str) -> Any:
        for layer in self._layers:
            if name in layer:
                return layer[name]
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(name in layer for layer in self._layers)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for layer in self._layers for name in layer))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _to_date(value: Any, entry: str, field_name: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str):
        try:  # month-only dates ("2023-09") count from the first of the month
            parts = [int(p) for p in value.split("-")]
            return date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
        except (ValueError, IndexError):
            pass
    raise RegistryError(entry, field_name, f"{value!r} is not a date (YYYY-MM-DD)")


def _validated(
    raw_entries: Mapping[str, Any], known: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Check user entries completely before any is applied; fill ``based_on`` entries."""
    from tokenomy.encodings import encoding_names

    result: dict[str, dict[str, Any]] = {}
    for name, raw in raw_entries.items():
        if not isinstance(raw, Mapping):
            raise RegistryError(name, "*", "an entry must be a table of fields")
        unknown = set(raw) - _ALLOWED
        if unknown:
            close = difflib.get_close_matches(sorted(unknown)[0], sorted(_ALLOWED), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise RegistryError(name, sorted(unknown)[0], f"unknown field{hint}")
        entry: dict[str, Any] = {}
        if "based_on" in raw:
            base = raw["based_on"]
            pool = _Layers(result, known)
            if base not in pool:
                raise RegistryError(name, "based_on", f"{base!r} is not a known model")
            entry.update({k: v for k, v in pool[base].items() if k != "alias_of"})
            entry["assumption"] = f"facts of {base!r} unless overridden"
        entry.update({k: v for k, v in raw.items() if k != "based_on"})
        entry.setdefault("kind", "chat")
        entry.setdefault("source", "user registry")
        if entry["kind"] not in _KINDS:
            raise RegistryError(name, "kind", f"{entry['kind']!r} is not one of {sorted(_KINDS)}")
        if entry.get("encoding") is not None and entry["encoding"] not in encoding_names():
            raise RegistryError(name, "encoding", f"{entry['encoding']!r} is not a known encoding")
        for key in ("context_window", "max_output_tokens"):
            value = entry.get(key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                      or value <= 0):  # fmt: skip
                raise RegistryError(name, key, f"{value!r} is not a positive whole number")
        window, cap = entry.get("context_window"), entry.get("max_output_tokens")
        if window and cap and cap > window:
            raise RegistryError(name, "max_output_tokens", f"{cap} exceeds context_window {window}")
        price = entry.get("price", {})
        if not isinstance(price, Mapping):
            raise RegistryError(name, "price", "must be a table such as {input = 2.5, output = 10}")
        for key, value in price.items():
            if key not in PRICE_FIELDS:
                raise RegistryError(name, f"price.{key}", f"unknown price field; use {PRICE_FIELDS}")
            if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
                raise RegistryError(name, f"price.{key}", f"{value!r} is not a number")
            try:
                amount = Decimal(str(value))
            except ArithmeticError:
                raise RegistryError(name, f"price.{key}", f"{value!r} is not a number") from None
            if not amount.is_finite() or amount < 0:
                raise RegistryError(name, f"price.{key}", f"{value!r} must be a non-negative number")
        for key in ("released", "deprecated_on", "shutdown_on"):
            _to_date(entry.get(key), name, key)
        target = entry.get("alias_of")
        if target is not None and target not in known and target not in raw_entries:
            raise RegistryError(name, "alias_of", f"{target!r} is not a known model")
        result[name] = entry
    return result


def register_model(name: str, *, based_on: str | None = None, **fields: Any) -> ModelInfo:
    """Add or override a registry entry for this process (custom deployments, negotiated prices).

    >>> info = register_model("acme-gpt4o", based_on="gpt-4o-2024-08-06", price={"input": 2})
    >>> info.encoding, info.price.input, info.context_window
    ('o200k_base', Decimal('2'), 128000)
    """
    raw = dict(fields)
    if based_on is not None:
        raw["based_on"] = based_on
    entry = _validated({name: raw}, _all_entries())[name]
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
        released=_to_date(entry.get("released"), snapshot, "released"),
        deprecated_on=_to_date(entry.get("deprecated_on"), snapshot, "deprecated_on"),
        shutdown_on=_to_date(entry.get("shutdown_on"), snapshot, "shutdown_on"),
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
        raise ValueError(f"as_of={as_of!r} is not a date: pass a date, a datetime or 'YYYY-MM-DD'")
    raise TypeError(f"as_of must be a date, a datetime or an ISO date string, not {type(as_of).__name__}")


def _lookup(name: str, as_of: DateLike | None) -> ModelInfo:
    """The ModelInfo of ``name`` on ``as_of`` (any form :func:`day_of` takes), cached."""
    if type(as_of) is not date:
        as_of = day_of(as_of)
    key = (name, as_of)
    cached = _resolved.get(key)
    if cached is not None:
        return cached
    info = _resolve(name, as_of)
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
    matches = [p for p in prefixes if spelled.startswith(p)]
    if matches:
        prefix = max(matches, key=len)
        info = _lookup(prefixes[prefix], as_of)
        return dataclasses.replace(
            info,
            name=name,
            assumptions=(
                *info.assumptions,
                f"{name!r} is not in the registry; facts of {info.name!r} assumed (prefix {prefix!r})",
            ),
        )
    candidates = list(dict.fromkeys([*entries, *table("aliases")["aliases"]]))
    raise UnknownModelError(name, difflib.get_close_matches(spelled, candidates, n=3, cutoff=0.6))


def _fine_tune_base(name: str) -> str | None:
    if name.startswith("ft:"):
        base = name.split(":")[1]
        return base or None
    for marker in (":ft-", ".ft-"):  # legacy `curie:ft-acme-…` and Azure `gpt-35-turbo.ft-…`
        if marker in name:
            return name.split(marker)[0] or None
    return None


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
    if not isinstance(name, str):
        raise TypeError(f"model name must be a str, not {type(name).__name__}")
    info = _lookup(name, as_of)
    warn_if_retired(info)
    return info


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
