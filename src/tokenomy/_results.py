"""Reads API results given as plain dicts or as SDK objects with the same attributes, and keeps
tokenomy's own results immutable and JSON-ready (:func:`frozen`, :func:`plain`, :class:`Picklable`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any


def as_dict(obj: Any) -> dict[str, Any] | None:
    """A dict view of a JSON-shaped object: a Mapping, a pydantic model (by alias), or a plain
    object's public attributes; ``None`` for anything else."""
    if isinstance(obj, Mapping):
        return dict(obj)
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        dumped = dump(by_alias=True)
        return dumped if isinstance(dumped, dict) else None
    if hasattr(obj, "__dict__") and not isinstance(obj, type):
        return {k: v for k, v in vars(obj).items() if not k.startswith("_")}
    return None


def get(obj: Any, key: str) -> Any:
    """``obj[key]`` or ``obj.key``, ``None`` when absent."""
    if type(obj) is dict:  # the common case, without an ABC instance check
        return obj.get(key)
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


_ATOMS = frozenset({str, int, float, bool, type(None), Decimal})


def frozen(value: Any) -> Any:
    """``value`` with every mapping made a read-only ``MappingProxyType`` and every list a tuple,
    all the way down, for a field of a frozen result.

    >>> frozen({"a": [1, {"b": 2}]})
    mappingproxy({'a': (1, mappingproxy({'b': 2}))})
    """
    if type(value) in _ATOMS:  # most leaves: no ABC check
        return value
    if isinstance(value, Mapping):
        return MappingProxyType({k: frozen(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(frozen(v) for v in value)
    return value


def thawed(value: Any) -> Any:
    """The plain dicts and lists a :func:`frozen` value was made from (``MappingProxyType`` does
    not pickle)."""
    if isinstance(value, MappingProxyType):
        return {k: thawed(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(thawed(v) for v in value)
    return value


def plain(value: Any) -> Any:
    """JSON-ready data: results by their ``to_dict()``, mappings as dicts, sequences as lists,
    ``Decimal`` as a string (exact), dates in ISO format, objects with ``model_dump`` dumped.

    >>> plain({"usd": Decimal("0.10"), "on": date(2025, 1, 2), "kept": ((0, 3),)})
    {'usd': '0.10', 'on': '2025-01-02', 'kept': [[0, 3]]}
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, type):
        return to_dict()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    dumped = as_dict(value)
    return plain(dumped) if dumped is not None else str(value)


class Picklable:
    """For a frozen dataclass whose ``__post_init__`` freezes its mappings: pickles and copies it
    through its constructor, with the mappings thawed."""

    def __reduce__(self) -> tuple[Any, ...]:
        fields = dataclasses.fields(self)  # type: ignore[arg-type]
        values = {f.name: thawed(getattr(self, f.name)) for f in fields if f.init}
        return _rebuild, (type(self), values)


def _rebuild(cls: type[Any], values: dict[str, Any]) -> Any:
    return cls(**values)
