"""Registry entries from users: the ``TOKENOMY_REGISTRY`` file and :func:`register_model` fields,
each checked whole (every field's type and value) before any of it is used.

A :class:`~tokenomy.errors.RegistryError` names the file, the entry and the field at fault.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from tokenomy._data import load_toml
from tokenomy.encodings import encoding_names
from tokenomy.errors import RegistryError, short

PRICE_FIELDS = ("input", "cached_input", "output", "batch_input", "batch_output", "ft_training")
# A price above this (USD per 1M tokens) is a mistake, not a contract: the dearest listed is $600
# (o1-pro output); the bound also keeps Decimal arithmetic far from overflow ("1e999999").
MAX_PRICE = Decimal(1_000_000)
ALLOWED_FIELDS = {
    "kind", "family", "encoding", "context_window", "max_output_tokens", "endpoints", "released",
    "deprecated_on", "shutdown_on", "replacement", "price", "other_pricing", "source", "notes",
    "assumption", "uncertain", "alias_of", "training_cutoff", "based_on",
}  # fmt: skip
KINDS = {"chat", "completion", "embedding", "moderation", "image", "audio-stt", "audio-tts",
         "realtime"}  # fmt: skip
_TEXT_FIELDS = ("family", "replacement", "other_pricing", "source", "notes", "assumption")


def user_file(path: str, builtin: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The entries of the user registry file, validated whole; a RegistryError naming the file
    (and the entry and field) for anything wrong, from a missing file to a wrong type."""
    try:
        raw = load_toml(path)
    except OSError as error:  # missing, a folder, unreadable
        raise RegistryError(None, None, f"cannot be read ({error.strerror or error})", file=path) from None
    except UnicodeDecodeError:
        raise RegistryError(None, None, "is not UTF-8 text", file=path) from None
    except ValueError as error:  # tomllib.TOMLDecodeError
        raise RegistryError(None, None, f"is not valid TOML ({error})", file=path) from None
    unknown = sorted(set(raw) - {"models"})
    if unknown:
        raise RegistryError(None, unknown[0], 'unknown table; a registry file holds [models."name"] tables',
                            file=path)  # fmt: skip
    models = raw.get("models", {})
    if not isinstance(models, Mapping):
        raise RegistryError(None, "models", 'must be tables such as [models."my-deploy"]', file=path)
    return validated(models, builtin, file=path)


class Layers(Mapping[str, Any]):
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


def to_date(value: Any, entry: str, field_name: str, file: str | None = None) -> date | None:
    """A registry date (a date, "YYYY-MM-DD" or "YYYY-MM") or None; a RegistryError otherwise.

    >>> to_date("2023-09", "gpt-4", "released")
    datetime.date(2023, 9, 1)
    """
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str):
        try:  # month-only dates ("2023-09") count from the first of the month
            parts = [int(p) for p in value.split("-")]
            return date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
        except (ValueError, IndexError):
            pass
    raise RegistryError(entry, field_name, f"{short(value)} is not a date (YYYY-MM-DD)", file=file)


def validated(raw_entries: Mapping[str, Any], known: Mapping[str, Mapping[str, Any]], *,
              file: str | None = None) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Check user entries completely before any is applied; fill ``based_on`` entries."""
    result: dict[str, dict[str, Any]] = {}
    for name, raw in raw_entries.items():
        def refuse(field_name: str | None, problem: str, name: str = name) -> RegistryError:
            return RegistryError(name, field_name, problem, file=file)

        if not isinstance(name, str) or not name.strip():
            raise RegistryError(short(name), None, "a model needs a non-empty name", file=file)
        if not isinstance(raw, Mapping):
            raise refuse(None, "an entry must be a table of fields")
        unknown = sorted(k for k in raw if not isinstance(k, str) or k not in ALLOWED_FIELDS)
        if unknown:
            first = str(unknown[0])
            close = difflib.get_close_matches(first, sorted(ALLOWED_FIELDS), n=1) if len(first) < 100 else []
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise refuse(first, f"unknown field{hint}")
        entry: dict[str, Any] = {}
        if "based_on" in raw:
            base = raw["based_on"]
            pool = Layers(result, known)
            if not isinstance(base, str) or base not in pool:
                raise refuse("based_on", f"{short(base)} is not a known model")
            entry.update({k: v for k, v in pool[base].items() if k != "alias_of"})
            entry["assumption"] = f"facts of {base!r} unless overridden"
        entry.update({k: v for k, v in raw.items() if k != "based_on"})
        entry.setdefault("kind", "chat")
        entry.setdefault("source", "user registry")
        _check_fields(entry, raw_entries, known, refuse)
        for key in ("released", "deprecated_on", "shutdown_on"):
            to_date(entry.get(key), name, key, file)
        result[name] = entry
    return result


def _check_fields(entry: Mapping[str, Any], raw_entries: Mapping[str, Any], known: Mapping[str, Any],
                 refuse: Callable[[str, str], RegistryError]) -> None:  # fmt: skip
    """Every field of one merged entry has a usable type and value."""
    kind = entry["kind"]
    if not isinstance(kind, str) or kind not in KINDS:
        raise refuse("kind", f"{short(kind)} is not one of {sorted(KINDS)}")
    encoding = entry.get("encoding")
    if encoding is not None and (not isinstance(encoding, str) or encoding not in encoding_names()):
        raise refuse("encoding", f"{short(encoding)} is not one of {', '.join(encoding_names())}")
    for key in _TEXT_FIELDS:
        if entry.get(key) is not None and not isinstance(entry[key], str):
            raise refuse(key, f"{short(entry[key])} is not text")
    cutoff = entry.get("training_cutoff")
    if cutoff is not None and not isinstance(cutoff, (str, date)):
        raise refuse("training_cutoff", f"{short(cutoff)} is not a date or text")
    for key in ("endpoints", "uncertain"):
        value = entry.get(key)
        if value is not None and (not isinstance(value, (list, tuple))
                                  or not all(isinstance(v, str) for v in value)):  # fmt: skip
            raise refuse(key, f"{short(value)} is not a list of text")
    for key in ("context_window", "max_output_tokens"):
        value = entry.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or not 0 < value <= 1 << 40):  # fmt: skip
            raise refuse(key, f"{short(value)} is not a whole number of tokens from 1 to 2^40")
    window, cap = entry.get("context_window"), entry.get("max_output_tokens")
    if window and cap and cap > window:
        raise refuse("max_output_tokens", f"{cap} exceeds context_window {window}")
    price = entry.get("price", {})
    if not isinstance(price, Mapping):
        raise refuse("price", "must be a table such as {input = 2.5, output = 10}")
    for key, value in price.items():
        where = f"price.{key}"[:100]
        if key not in PRICE_FIELDS:
            raise refuse(where, f"unknown price field; use {', '.join(PRICE_FIELDS)}")
        if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
            raise refuse(where, f"{short(value)} is not a number")
        try:
            amount = Decimal(value if isinstance(value, (str, Decimal)) else str(value))
        except ArithmeticError:
            raise refuse(where, f"{short(value)} is not a number") from None
        if not amount.is_finite() or not 0 <= amount <= MAX_PRICE:
            raise refuse(where, f"{short(value)} is not a price from 0 to {MAX_PRICE} USD per 1M tokens")
    target = entry.get("alias_of")
    if target is not None and (not isinstance(target, str)
                               or (target not in known and target not in raw_entries)):  # fmt: skip
        raise refuse("alias_of", f"{short(target)} is not a known model")
