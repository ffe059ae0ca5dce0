"""Reads the TOML files of ``data/`` once per process, lazily, under a lock.

The wheel ships ``data/`` as ``tokenomy/data``; a source checkout reads the top-level ``data/``.

Every fact in ``data/`` names its source, in one of three places: the ``source`` key of its row
(or of the row it is part of); for a table whose keys are all data, such as ``[prefixes]`` in
``aliases.toml``, where a ``source`` key would be read as one more entry, the file's ``[sources]``
table under that table's name; for a file written from one source (``encodings.toml``,
``canaries.toml``), the ``# Source:`` line of its opening comment. A fact that rests on a secondary
source or on a choice says so (``uncertain``, ``assumption``). ``tests/test_data.py`` checks each row.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterator, Mapping
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


class _Sections(Mapping[str, dict[str, Any]]):
    """The ``[key."name"]`` tables of a TOML text, each parsed on first access.

    Parsing all 180 models takes about 50 ms; a count needs one or two of them.
    """

    def __init__(self, text: str, key: str) -> None:
        self._text, self._key = text, key
        starts = [(m.group(1), m.start()) for m in re.finditer(rf'^\[{key}\."([^"]+)"\][ \t]*$', text, re.M)]
        ends = [start for _, start in starts[1:]] + [len(text)]
        self._spans = {name: (start, end) for (name, start), end in zip(starts, ends, strict=True)}
        self._parsed: dict[str, dict[str, Any]] = {}

    def __getitem__(self, name: str) -> dict[str, Any]:
        try:
            return self._parsed[name]
        except KeyError:
            start, end = self._spans[name]
        parsed: dict[str, Any] = tomllib.loads(self._text[start:end])[self._key][name]
        return self._parsed.setdefault(name, parsed)

    def __contains__(self, name: object) -> bool:
        return name in self._spans

    def __iter__(self) -> Iterator[str]:
        return iter(self._spans)

    def __len__(self) -> int:
        return len(self._spans)


_sections: dict[tuple[str, str], _Sections] = {}


def sections(name: str, key: str) -> Mapping[str, dict[str, Any]]:
    """The ``[key."…"]`` tables of ``data/<name>.toml`` by name, each parsed when first read
    (equal to ``table(name)[key]``; callers must not mutate them).

    >>> sections("models", "models")["gpt-4o-2024-08-06"]["encoding"]
    'o200k_base'
    """
    try:
        return _sections[(name, key)]
    except KeyError:
        pass
    with _lock:
        if (name, key) not in _sections:
            text = (data_dir() / f"{name}.toml").read_text(encoding="utf-8")
            _sections[(name, key)] = _Sections(text, key)
        return _sections[(name, key)]
