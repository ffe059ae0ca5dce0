"""What a counting task is (:class:`Spec`, :class:`StreamLines`, :class:`Records`) and how one
line becomes a record or a problem on its line number: :func:`decoded` reads it as json does,
:data:`parse` faster for the common line (orjson with the ``fast`` extra); :class:`Windows` holds
the context windows records are checked against.

Every line-level problem (JSON that does not parse or nests too deep, a 5,000-digit number, a list
where a string belongs, a body :func:`~tokenomy.count_request` refuses, a broken Batch rule) is a
problem on its line; only what is not about one line (a missing vocabulary, a bad registry, an
unreadable file) raises: those are :data:`FATAL`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from tokenomy.datasets.read import MAX_LINE_BYTES, FileRange, TooLong
from tokenomy.datasets.stats import DatasetStats
from tokenomy.errors import DatasetError, EncodingError, InputFileError, RegistryError
from tokenomy.registry import resolve

_orjson_loads: Callable[[bytes], Any] | None
try:  # the `fast` extra: a Batch line parses in half the time of json's scanner (see parse)
    from orjson import loads as _orjson_loads
except ImportError:  # pragma: no cover - without the fast extra
    _orjson_loads = None

KINDS = ("batch", "fine-tune", "chat", "text")
# problems that, on every line of a first stretch, mean the call is wrong rather than the lines
MODEL_CHECKS = frozenset({"UnknownModelError", "UnsupportedModelError", "missing_model"})
FATAL = (EncodingError, RegistryError, InputFileError, MemoryError)
_MESSAGE_CHARS = 300


@dataclass(frozen=True)
class Spec:
    """What a worker needs to count a task: names and numbers only, never Encoding objects.

    ``models`` counts every record as each of these models (empty: as the record says).
    """

    kind: str
    as_of: date
    models: tuple[str, ...] = ()
    max_line_bytes: int = MAX_LINE_BYTES
    encodings_dir: str | None = None
    # the Batch file limits (requests, bytes, embedding inputs), read once where the call is made
    limits: tuple[int, int, int] = (50_000, 200_000_000, 50_000)


@dataclass(frozen=True)
class StreamLines:
    """Lines read from a compressed stream: (byte offset, line bytes or TooLong), blank included."""

    lines: list[tuple[int, Any]]


@dataclass(frozen=True)
class Records:
    """Records given as Python objects (or JSON strings for the kinds that are not text)."""

    items: list[Any]


Task = FileRange | StreamLines | Records


class NoModel(DatasetError):
    """A record names no model and none was given (a problem named ``missing_model``)."""


def decoded(number: int, raw: Any, stats: DatasetStats) -> dict[str, Any] | None:
    """The JSON object on a line (or the record itself), or None after noting the problem."""
    if raw.__class__ is TooLong:
        stats.add_problem(
            number,
            "line_too_long",
            f"the line is {raw.size:,} bytes, over the "
            "max_line_bytes limit: raise it (analyze(..., max_line_bytes=N)) to read it",
        )
        return None
    record = raw
    if raw.__class__ is bytes or isinstance(raw, str):
        try:
            record = _loads(raw)
        except RecursionError:
            stats.add_problem(number, "invalid_json", "nested too deeply to read")
            return None
        except ValueError as error:  # also invalid UTF-8 and integers of more than 4,300 digits
            message = (
                f"{error.msg} (column {error.colno})"
                if isinstance(error, json.JSONDecodeError)
                else str(error)
            )
            stats.add_problem(number, "invalid_json", f"not JSON: {message[:_MESSAGE_CHARS]}")
            return None
    if record.__class__ is dict:
        return record
    if isinstance(record, Mapping):
        return dict(record)
    stats.add_problem(number, "data_type", f"a line is a JSON object, not {kind_name(record)}")
    return None


scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _scan(raw: bytes) -> Any:
    """The JSON value of a UTF-8 line that starts with it (json's C scanner straight away)."""
    text = raw.decode()
    value, end = scan(text, 0)
    if end != len(text) and text[end:].strip(" \t\n\r"):
        raise ValueError("extra data")
    return value


# The value of a line of UTF-8 JSON, or any exception: for the common line only, the caller reads
# a line this refuses with decoded(). orjson refuses what json reads beyond the standard (NaN,
# Infinity, lone surrogates, a byte-order mark, invalid UTF-8) and reads an integer past 64 bits
# as a float of at least 2**63 where json keeps the integer: every other value is json's.
parse: Callable[[bytes], Any] = _orjson_loads if _orjson_loads is not None else _scan
BIG_FLOAT = 2.0**63  # a float this large may be orjson's reading of an integer (see parse)


def _loads(raw: bytes | str) -> Any:
    """``json.loads(raw)``, four times faster for a line of UTF-8 that starts with its value (the
    C scanner straight away); anything else goes to json.loads, which raises its own error."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        value, end = scan(text, 0)
    except (UnicodeDecodeError, StopIteration):
        return json.loads(raw)
    if end != len(text) and text[end:].strip(" \t\n\r"):
        return json.loads(raw)  # "Extra data"
    return value


class Windows(dict[str, int | None]):
    """Context windows by model on one day, each looked up once.

    >>> from datetime import date
    >>> Windows(date(2025, 6, 1))["gpt-4o-mini"]
    128000
    """

    def __init__(self, as_of: date) -> None:
        super().__init__()
        self.as_of = as_of

    def __missing__(self, model: str) -> int | None:
        window = self[model] = resolve(model, self.as_of, warn=False).context_window
        return window


def line_problem(
    stats: DatasetStats, number: int, check: str, error: BaseException, model: str | None = None
) -> None:
    if isinstance(error, NoModel):
        check = "missing_model"
    message = str(error)
    if len(message) > _MESSAGE_CHARS:
        message = message[: _MESSAGE_CHARS - 1] + "…"
    stats.add_problem(number, check, f"{model}: {message}" if model else message, error)


def short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def kind_name(value: Any) -> str:
    return {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean",
            type(None): "null"}.get(type(value), type(value).__name__)  # fmt: skip
