"""What the API billed: Batch output lines and SDK responses read into per-request entries.

:func:`index_results` reads a Batch output file (JSONL, plain or ``.gz``) or its records into a
:class:`ResultIndex` keyed by ``custom_id``: a few integers per line (billed prompt, cached, output
and reasoning tokens, status), never the response bodies. Usage in both shapes is read: Chat
Completions (``prompt_tokens``...) and Responses (``input_tokens``...).
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

from tokenomy._results import as_dict, get
from tokenomy._streams import in_lists
from tokenomy.errors import InputFileError, ResultFormatError, short
from tokenomy.reconciliation import LineIssue
from tokenomy.registry import DateLike, day_of

_BATCH_LINES = 2000


def numbered(source: Any, what: str) -> Iterator[tuple[int, Any]]:
    """(line number, line or record): a JSONL file (plain or .gz) line by line, or records."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            raw: Any = gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")  # noqa: SIM115
        except OSError as error:
            raise InputFileError(str(path), error.strerror or str(error)) from None
        except ValueError as error:  # a NUL byte or a lone surrogate in the path
            raise InputFileError(short(str(path)), f"not a usable path ({error})") from None
        with io.TextIOWrapper(raw, encoding="utf-8", newline="\n") as handle:  # JSONL lines end at \n
            try:
                for number, line in enumerate(handle, start=1):
                    if line.strip():
                        yield number, line
            except (UnicodeDecodeError, OSError, EOFError) as error:
                reason = getattr(error, "reason", None) or str(error)
                raise InputFileError(str(path), f"not UTF-8 text or not readable ({reason})") from None
        return
    if isinstance(source, (Mapping, bytes)) or not isinstance(source, Iterable):
        raise ResultFormatError(what, "must be a JSONL path or an iterable of records")
    yield from enumerate(source, start=1)


def record_of(raw: Any) -> tuple[Any, str | None]:
    """The record of a line (decoded when it is JSON text), or the reason it is malformed."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as error:
            return None, f"not JSON: {error.msg} at column {error.colno}"
        except RecursionError:
            return None, "JSON nested deeper than the parser reads"
    record = raw if isinstance(raw, Mapping) else as_dict(raw)
    if record is None:
        return None, f"a line is a JSON object, not {type(raw).__name__}"
    return record, None


class Billed(NamedTuple):
    line: int
    model: str | None
    status: int | None
    error: str | None
    prompt: int = 0
    cached: int = 0
    output: int = 0
    reasoning: int = 0


def _field(obj: Any, key: str) -> Any:
    return obj.get(key) if type(obj) is dict else get(obj, key)  # parsed JSON is plain dicts: fast path


def _usage(usage: Any) -> tuple[int, int, int, int]:
    """(prompt, cached, output, reasoning) from Chat Completions or Responses usage."""
    prompt = _field(usage, "prompt_tokens")
    prompt = _field(usage, "input_tokens") if prompt is None else prompt
    output = _field(usage, "completion_tokens")
    output = _field(usage, "output_tokens") if output is None else output
    details = _field(usage, "prompt_tokens_details") or _field(usage, "input_tokens_details")
    out_details = _field(usage, "completion_tokens_details") or _field(usage, "output_tokens_details")
    cached = _field(details, "cached_tokens") if details is not None else 0
    reasoning = _field(out_details, "reasoning_tokens") if out_details is not None else 0
    values = (prompt, cached or 0, output or 0, reasoning or 0)
    if prompt is None:
        raise ResultFormatError("usage", "has neither prompt_tokens nor input_tokens")
    if not all(type(v) is int and v >= 0 for v in values):
        raise ResultFormatError("usage", f"token counts must be whole numbers >= 0, not {values}")
    if values[1] > values[0] or values[3] > values[2]:
        raise ResultFormatError("usage", "cached tokens exceed the prompt, or reasoning tokens the output")
    return values


def _created(body: Any) -> date | None:
    stamp = _field(body, "created") or _field(body, "created_at")
    if isinstance(stamp, (int, float)) and not isinstance(stamp, bool) and 0 < stamp < 1 << 40:
        return datetime.fromtimestamp(stamp, timezone.utc).date()
    return None


class Entry(NamedTuple):
    """One result line read: its id, and what was billed or why it cannot be used."""

    line: int
    custom_id: str | None
    billed: Billed | None
    problem: str | None
    day: date | None


def billed_entry(line: int, custom_id: Any, response: Any, error: Any) -> Entry:
    """A failure (error, or a status other than 200), the billed usage, or why the line is malformed."""
    if not isinstance(custom_id, str):
        return Entry(line, None, None, "no custom_id string", None)
    status = _field(response, "status_code") if response is not None else None
    body = _field(response, "body") if response is not None else None
    if error is not None or (status is not None and status != 200) or response is None:
        reason = error if error is not None else _field(body, "error")
        message = _field(reason, "message") if reason is not None and not isinstance(reason, str) else reason
        return Entry(line, custom_id, Billed(line, None, status, str(message or reason or "no response")),
                      None, None)  # fmt: skip
    usage = _field(body, "usage")
    try:
        if usage is None:
            raise ResultFormatError("response.body.usage", "a successful result carries usage")
        counts = _usage(usage)
    except ResultFormatError as problem:
        return Entry(line, custom_id, None, str(problem), None)
    model = _field(body, "model")
    billed = Billed(line, model if isinstance(model, str) else None, status, None, *counts)
    return Entry(line, custom_id, billed, None, _created(body))


def read_results(lines: Sequence[tuple[int, Any]]) -> list[Entry]:
    """Read Batch output lines (JSON text or records) into small entries."""
    entries = []
    for line, raw in lines:
        record, problem = record_of(raw)
        if record is None:
            entries.append(Entry(line, None, None, problem, None))
            continue
        response, error = record.get("response"), record.get("error")
        if response is None and error is None and "usage" in record:
            response = {"status_code": 200, "body": record}  # a response body on its own
        entries.append(billed_entry(line, record.get("custom_id"), response, error))
    return entries


@dataclass
class ResultIndex:
    """Billed usage by ``custom_id``, a few integers per result line; the lines that could not
    be read as results are kept as issues."""

    source: str
    billed: dict[str, Billed] = field(default_factory=dict)
    issues: list[LineIssue] = field(default_factory=list)
    first_day: date | None = None
    last_day: date | None = None

    def add(self, entries: Iterable[Entry]) -> None:
        """Index read results, in line order: the first line of a ``custom_id`` is the one used."""
        for e in entries:
            if e.billed is None:
                self.issues.append(LineIssue(self.source, e.line, e.custom_id, "malformed", str(e.problem)))
            elif e.custom_id is None:
                continue  # pragma: no cover - an entry with usage always has an id
            elif e.custom_id in self.billed:
                self.issues.append(LineIssue(self.source, e.line, e.custom_id, "duplicate",
                    f"custom_id already on line {self.billed[e.custom_id].line}; this line is not used"))
            else:
                self.billed[e.custom_id] = e.billed
                if e.day is not None:
                    self.first_day = min(e.day, self.first_day or e.day)
                    self.last_day = max(e.day, self.last_day or e.day)

    def day(self, as_of: DateLike | None) -> tuple[date, tuple[str, ...]]:
        """The day to count on: ``as_of``, else the day of the earliest result, else today."""
        if as_of is not None or self.first_day is None:
            return day_of(as_of), ()
        if self.last_day != self.first_day:
            return self.first_day, (f"results were created from {self.first_day} to {self.last_day}; "
                                    f"counted as of {self.first_day} (as_of= chooses the day)",)  # fmt: skip
        return self.first_day, ()


def index_results(results: str | Path | Iterable[Any]) -> ResultIndex:
    """Index a Batch output file (or its lines as records) by ``custom_id``, in this process: a
    result line is parsed faster than it is sent to a worker.

    >>> index = index_results([{"custom_id": "a", "response": {"status_code": 200,
    ...     "body": {"usage": {"prompt_tokens": 9, "completion_tokens": 2}}}}])
    >>> index.billed["a"].prompt, index.issues
    (9, [])
    """
    index = ResultIndex(str(results) if isinstance(results, (str, Path)) else "results")
    for lines in batches(numbered(results, "results")):
        index.add(read_results(lines))
    return index


def batches(items: Iterable[tuple[int, Any]]) -> Iterator[list[tuple[int, Any]]]:
    """Numbered lines in lists of a few thousand: counted together, sent to a worker together."""
    return in_lists(items, _BATCH_LINES)
