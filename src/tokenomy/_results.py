"""Reads API results given as plain dicts or as SDK objects with the same attributes."""

from __future__ import annotations

from collections.abc import Mapping
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
