"""Reads the TOML files of ``data/`` once per process, lazily, under a lock.

The wheel ships ``data/`` as ``tokenomy/data``; a source checkout reads the top-level ``data/``.
"""

from __future__ import annotations

import sys
import threading
from functools import cache
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

_lock = threading.Lock()


@cache
def data_dir() -> Path:
    """Folder holding the registry's TOML files."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "data", here.parents[1] / "data"):
        if (candidate / "models.toml").is_file():
            return candidate
    raise FileNotFoundError(f"tokenomy's data folder is missing (looked in {here / 'data'})")


_tables: dict[str, dict[str, Any]] = {}


def table(name: str) -> dict[str, Any]:
    """The parsed ``data/<name>.toml`` (cached; callers must not mutate it)."""
    try:
        return _tables[name]
    except KeyError:
        pass
    with _lock:
        if name not in _tables:
            _tables[name] = load_toml(data_dir() / f"{name}.toml")
        return _tables[name]


def load_toml(path: str | Path) -> dict[str, Any]:
    """Parse a user-supplied TOML file."""
    with Path(path).open("rb") as handle:
        parsed: dict[str, Any] = tomllib.load(handle)
    return parsed
