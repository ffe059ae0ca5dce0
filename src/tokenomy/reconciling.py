"""Predicted against billed prompt tokens: :func:`reconcile`, :class:`Reconciliation`.

A Batch API input file and its output file (or request/response pairs from the SDK) are joined by
``custom_id``: each request is counted with :func:`~tokenomy.count_request` and set beside the
``usage`` the API billed for it. The results are indexed first (a few integers per line), then the
requests are streamed and counted in batches, on every core for large files, as
:func:`~tokenomy.analyze` does; no request body is kept. Lines that cannot be joined (malformed,
unmatched, duplicated, failed or uncountable) are reported by file and line number, never dropped.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

from tokenomy._results import as_dict, get
from tokenomy._workers import map_ordered
from tokenomy.calibrate import Uses, constant_uses
from tokenomy.cost import cost_from_usage, estimate_cost
from tokenomy.errors import InputFileError, ResultFormatError, TokenomyError, short
from tokenomy.reconciliation import LineIssue, ModelCost, ReconciledRequest, Reconciliation
from tokenomy.registry import DateLike, day_of, resolve
from tokenomy.requests import RequestCount, count_request
from tokenomy.rules import load_rules, loaded_files, reset_rules

_BATCH_LINES = 2000
_PARALLEL_BYTES = 4 << 20


# ---- reading ------------------------------------------------------------------------------------


def _numbered(source: Any, what: str) -> Iterator[tuple[int, Any]]:
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


def _record(raw: Any) -> tuple[Any, str | None]:
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


class _Billed(NamedTuple):
    line: int
    model: str | None
    status: int | None
    error: str | None
    prompt: int = 0
    cached: int = 0
    output: int = 0
    reasoning: int = 0


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if type(obj) is dict else get(obj, key)  # parsed JSON is plain dicts: fast path


def _usage(usage: Any) -> tuple[int, int, int, int]:
    """(prompt, cached, output, reasoning) from Chat Completions or Responses usage."""
    prompt = _get(usage, "prompt_tokens")
    prompt = _get(usage, "input_tokens") if prompt is None else prompt
    output = _get(usage, "completion_tokens")
    output = _get(usage, "output_tokens") if output is None else output
    details = _get(usage, "prompt_tokens_details") or _get(usage, "input_tokens_details")
    out_details = _get(usage, "completion_tokens_details") or _get(usage, "output_tokens_details")
    cached = _get(details, "cached_tokens") if details is not None else 0
    reasoning = _get(out_details, "reasoning_tokens") if out_details is not None else 0
    values = (prompt, cached or 0, output or 0, reasoning or 0)
    if prompt is None:
        raise ResultFormatError("usage", "has neither prompt_tokens nor input_tokens")
    if not all(type(v) is int and v >= 0 for v in values):
        raise ResultFormatError("usage", f"token counts must be whole numbers >= 0, not {values}")
    if values[1] > values[0] or values[3] > values[2]:
        raise ResultFormatError("usage", "cached tokens exceed the prompt, or reasoning tokens the output")
    return values


def _created(body: Any) -> date | None:
    stamp = _get(body, "created") or _get(body, "created_at")
    if isinstance(stamp, (int, float)) and not isinstance(stamp, bool) and 0 < stamp < 1 << 40:
        return datetime.fromtimestamp(stamp, timezone.utc).date()
    return None


class _Entry(NamedTuple):
    """One result line read: its id, and what was billed or why it cannot be used."""

    line: int
    custom_id: str | None
    billed: _Billed | None
    problem: str | None
    day: date | None


def _entry(line: int, custom_id: Any, response: Any, error: Any) -> _Entry:
    """A failure (error, or a status other than 200), the billed usage, or why the line is malformed."""
    if not isinstance(custom_id, str):
        return _Entry(line, None, None, "no custom_id string", None)
    status = _get(response, "status_code") if response is not None else None
    body = _get(response, "body") if response is not None else None
    if error is not None or (status is not None and status != 200) or response is None:
        reason = error if error is not None else _get(body, "error")
        message = _get(reason, "message") if reason is not None and not isinstance(reason, str) else reason
        return _Entry(line, custom_id, _Billed(line, None, status, str(message or reason or "no response")),
                      None, None)  # fmt: skip
    usage = _get(body, "usage")
    try:
        if usage is None:
            raise ResultFormatError("response.body.usage", "a successful result carries usage")
        counts = _usage(usage)
    except ResultFormatError as problem:
        return _Entry(line, custom_id, None, str(problem), None)
    model = _get(body, "model")
    billed = _Billed(line, model if isinstance(model, str) else None, status, None, *counts)
    return _Entry(line, custom_id, billed, None, _created(body))


def read_results(lines: Sequence[tuple[int, Any]]) -> list[_Entry]:
    """Read Batch output lines (JSON text or records) into small entries."""
    entries = []
    for line, raw in lines:
        record, problem = _record(raw)
        if record is None:
            entries.append(_Entry(line, None, None, problem, None))
            continue
        response, error = record.get("response"), record.get("error")
        if response is None and error is None and "usage" in record:
            response = {"status_code": 200, "body": record}  # a response body on its own
        entries.append(_entry(line, record.get("custom_id"), response, error))
    return entries


@dataclass
class ResultIndex:
    """Billed usage by ``custom_id``, a few integers per result line; the lines that could not
    be read as results are kept as issues."""

    source: str
    billed: dict[str, _Billed] = field(default_factory=dict)
    issues: list[LineIssue] = field(default_factory=list)
    first_day: date | None = None
    last_day: date | None = None

    def add(self, entries: Iterable[_Entry]) -> None:
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
    for lines in _batches(_numbered(results, "results")):
        index.add(read_results(lines))
    return index


def _use_pool(source: Any, parallel: bool | None) -> bool:
    """Worker processes when asked, or by default for files of 4 MB and more."""
    if parallel is not None:
        return parallel
    if not isinstance(source, (str, Path)):
        return False
    try:
        return os.stat(source).st_size >= _PARALLEL_BYTES
    except (OSError, ValueError):  # missing, unreadable or not a path: reading it says why
        return False


# ---- counting (in worker processes for large files) ----------------------------------------------


@dataclass(frozen=True)
class CountSpec:
    """What a worker needs to count request lines as the caller would: the day and the rules."""

    as_of: date
    rules_files: tuple[str, ...]
    source: str


class _Counted(NamedTuple):
    custom_id: str
    line: int
    model: str
    family: str | None
    endpoint: str
    prompt_format: str | None
    tokens: int
    exact: bool
    max_output_tokens: int | None
    features: tuple[str, ...]
    notes: tuple[str, ...]
    uses: Uses


def count_lines(spec: CountSpec, lines: Sequence[tuple[int, Any]]) -> tuple[list[_Counted], list[LineIssue]]:
    """Count Batch input lines (JSON text or records): the counts, and the lines that failed."""
    if loaded_files() != spec.rules_files:  # a worker started before the caller loaded rules
        reset_rules()
        for path in spec.rules_files:
            if path not in loaded_files():
                load_rules(path)
    issues: list[LineIssue] = []
    families: dict[str, str | None] = {}
    done: list[tuple[str, int, Mapping[str, Any], RequestCount, str | None]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # retired models: the table names them
        for line, raw in lines:
            record, problem = _record(raw)
            custom_id = record.get("custom_id") if record is not None else None
            body = record.get("body") if record is not None else None
            if problem is None:
                problem = _batch_line_problem(record, custom_id, body)
            if problem is not None:
                cid = custom_id if isinstance(custom_id, str) else None
                issues.append(LineIssue(spec.source, line, cid, "malformed", problem))
                continue
            assert record is not None and isinstance(body, Mapping)
            try:
                result = count_request(body, endpoint=record["url"], as_of=spec.as_of)
                if body["model"] not in families:
                    families[body["model"]] = resolve(body["model"], spec.as_of, warn=False).family
            except TokenomyError as error:
                issues.append(LineIssue(spec.source, line, custom_id, "uncountable",
                                        f"{type(error).__name__}: {error}"))  # fmt: skip
                continue
            done.append((str(custom_id), line, body, result, families[body["model"]]))
        uses = constant_uses([(body, result, family) for _, _, body, result, family in done])
    counted = [
        _Counted(custom_id, line, result.model, family, result.endpoint, result.prompt_format, result.tokens,
                 result.exact, result.max_output_tokens, result.features, result.notes, used)
        for (custom_id, line, _, result, family), used in zip(done, uses, strict=True)
    ]  # fmt: skip
    return counted, issues


def _batch_line_problem(record: Any, custom_id: Any, body: Any) -> str | None:
    missing = [k for k in ("custom_id", "url", "body") if k not in record]
    if missing:
        return f"a Batch input line needs {', '.join(missing)}"
    if not isinstance(custom_id, str):
        return "custom_id must be a string"
    if not isinstance(record["url"], str):
        return "url must be an API path such as /v1/chat/completions"
    if not isinstance(body, Mapping) or not isinstance(body.get("model"), str):
        return "body must be an object with a 'model' string"
    return None


# ---- joining ------------------------------------------------------------------------------------


class Joiner:
    """Joins counted request lines with the result index as they arrive, then prices the totals."""

    def __init__(self, index: ResultIndex, spec: CountSpec, *, batch: bool,
                 notes: Sequence[str] = ()) -> None:  # fmt: skip
        self.index, self.spec, self.batch, self.notes = index, spec, batch, list(notes)
        self.rows: list[ReconciledRequest] = []
        self.issues: list[LineIssue] = []
        self.seen: set[str] = set()
        # per model: lines, prompt, cached, output, reasoning (billed), predicted prompt
        self.totals: dict[str, list[int]] = {}
        self._interned: dict[Any, Any] = {}

    def _intern(self, value: Any) -> Any:
        return self._interned.setdefault(value, value)

    def add(self, part: tuple[list[_Counted], list[LineIssue]]) -> None:
        """Join one batch of counted lines."""
        counted, issues = part
        self.issues += issues
        for c in counted:
            billed = self.index.billed.pop(c.custom_id, None)
            if billed is None:
                if c.custom_id in self.seen:
                    kind, message = "duplicate", "custom_id already used on an earlier line"
                else:
                    kind, message = "unmatched", f"no result has this custom_id (predicted {c.tokens} tokens)"
                self.issues.append(LineIssue(self.spec.source, c.line, c.custom_id, kind, message))
                continue
            self.seen.add(c.custom_id)
            if billed.error is not None:
                self.issues.append(self._failed(c.custom_id, billed, f"request on line {c.line}: "))
                continue
            self.rows.append(ReconciledRequest(
                c.custom_id, c.line, billed.line, self._intern(c.model), self._intern(c.family),
                self._intern(c.endpoint), c.prompt_format, c.tokens, billed.prompt, billed.cached,
                billed.output, billed.reasoning, c.exact, c.max_output_tokens, self._intern(c.features),
                self._intern(c.notes), self._intern(c.uses)))  # fmt: skip
            self._totals(c.model, billed)[5] += c.tokens

    def _failed(self, custom_id: str, billed: _Billed, prefix: str = "") -> LineIssue:
        status = f"status {billed.status}: " if billed.status is not None else ""
        message = f"{prefix}{status}{billed.error}"
        return LineIssue(self.index.source, billed.line, custom_id, "failed", message)

    def _totals(self, model: str, billed: _Billed) -> list[int]:
        row = self.totals.setdefault(model, [0] * 6)
        for i, value in enumerate((1, billed.prompt, billed.cached, billed.output, billed.reasoning)):
            row[i] += value
        return row

    def finish(self) -> Reconciliation:
        """Report the results no request matched, price each model, and build the result."""
        for custom_id, billed in self.index.billed.items():
            if billed.error is not None:
                self.issues.append(self._failed(custom_id, billed, "no request line has this custom_id; "))
                continue
            self.issues.append(LineIssue(self.index.source, billed.line, custom_id, "unmatched",
                                         "no request line has this custom_id (its usage is in the totals)"))
            self._totals(billed.model or "?", billed)
        self.index.billed.clear()
        issues = sorted(self.index.issues + self.issues, key=lambda i: (i.source, i.line))
        costs = tuple(self._price(model, row) for model, row in sorted(self.totals.items()))
        notes = self.notes
        if self.rows and any(not r.exact for r in self.rows):
            notes.append(f"{sum(not r.exact for r in self.rows)} predictions were marked estimates by "
                         "count_request (see each request's notes)")  # fmt: skip
        return Reconciliation(tuple(self.rows), tuple(issues), costs, self.batch, self.spec.as_of,
                              self.spec.rules_files, tuple(notes))  # fmt: skip

    def _price(self, model: str, row: list[int]) -> ModelCost:
        lines, prompt, cached, output, reasoning, predicted = row
        usage = {"prompt_tokens": prompt, "completion_tokens": output,
                 "prompt_tokens_details": {"cached_tokens": cached},
                 "completion_tokens_details": {"reasoning_tokens": reasoning}}  # fmt: skip
        notes: list[str] = []
        billed = estimated = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # a retired model's usage is still priced
            try:
                billed = cost_from_usage(model, usage, batch=self.batch, as_of=self.spec.as_of)
                estimated = estimate_cost(model, predicted, output, min(cached, predicted), batch=self.batch,
                                          as_of=self.spec.as_of)  # fmt: skip
            except TokenomyError as error:
                notes.append(f"not priced: {error}")
        return ModelCost(model, lines, prompt, cached, output, reasoning, predicted, billed, estimated,
                         tuple(notes))  # fmt: skip


# ---- the entry point ----------------------------------------------------------------------------


def reconcile(
    requests: str | Path | Iterable[Any] | None,
    results: str | Path | Iterable[Any],
    *,
    as_of: DateLike | None = None,
    batch: bool | None = None,
    parallel: bool | None = None,
) -> Reconciliation:
    """Join requests with what the API billed for them: predicted against billed prompt tokens.

    ``requests`` is a Batch input file (JSONL, plain or ``.gz``) or its lines as records;
    ``results`` the Batch output file or its lines. With ``requests=None``, ``results`` are
    ``(request, response)`` pairs from the SDK: a request body (or a Batch input line) and the
    response, its ``usage``, or the exception raised. Counts are made as of ``as_of``, by default
    the day the earliest result was created. ``batch`` (default: True for Batch output) prices
    usage at the Batch rate.

    >>> lines = [{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
    ...           "body": {"model": "gpt-4o-2024-08-06", "messages": [{"role": "user", "content": "Hi"}]}}]
    >>> out = [{"id": "b1", "custom_id": "a", "error": None, "response": {"status_code": 200,
    ...         "request_id": "r", "body": {"usage": {"prompt_tokens": 8, "completion_tokens": 9}}}}]
    >>> result = reconcile(lines, out, as_of="2025-06-01")
    >>> result.requests[0].predicted_tokens, result.requests[0].billed_tokens, result.accuracy().equal
    (8, 8, 1)
    >>> reconcile(None, [({"model": "gpt-4o-2024-08-06", "input": "Hi"},
    ...                   {"usage": {"input_tokens": 8, "output_tokens": 1}})]).requests[0].difference
    0
    """
    if requests is None:
        return _reconcile_pairs(results, as_of, bool(batch))
    index = index_results(results)
    day, notes = index.day(as_of)
    source = str(requests) if isinstance(requests, (str, Path)) else "requests"
    spec = CountSpec(day, loaded_files(), source)
    joiner = Joiner(index, spec, batch=True if batch is None else batch, notes=notes)
    batches = _batches(_numbered(requests, "requests"))
    if _use_pool(requests, parallel):
        for part in map_ordered(count_lines, spec, batches, use_pool=True):
            joiner.add(part)
    else:
        for lines in batches:
            joiner.add(count_lines(spec, lines))
    return joiner.finish()


def _batches(items: Iterator[tuple[int, Any]]) -> Iterator[list[tuple[int, Any]]]:
    batch: list[tuple[int, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= _BATCH_LINES:
            yield batch
            batch = []
    if batch:
        yield batch


def _reconcile_pairs(pairs: Any, as_of: DateLike | None, batch: bool) -> Reconciliation:
    if isinstance(pairs, (str, Path)):
        raise ResultFormatError("results", "without requests, results are (request, response) pairs")
    index = ResultIndex("pairs")
    joiner: Joiner | None = None
    lines: list[tuple[int, Any]] = []
    for position, pair in _numbered(pairs, "results"):
        if not isinstance(pair, Sequence) or isinstance(pair, (str, bytes)) or len(pair) != 2:
            index.issues.append(LineIssue("pairs", position, None, "malformed",
                                          "expected a (request, response) pair"))  # fmt: skip
            continue
        request, response = pair
        record = _request_record(request, response, position)
        if isinstance(response, BaseException):
            entry = _entry(position, record["custom_id"], None, f"{type(response).__name__}: {response}")
        else:
            body = response if get(response, "usage") is not None else {"usage": response}
            entry = _entry(position, record["custom_id"], {"status_code": 200, "body": body}, None)
        index.add([entry])
        if joiner is None:  # the day of the first response, as for a Batch output
            day, _ = index.day(as_of)
            joiner = Joiner(index, CountSpec(day, loaded_files(), "pairs"), batch=batch)
        lines.append((position, record))
        if len(lines) >= _BATCH_LINES:
            joiner.add(count_lines(joiner.spec, lines))
            lines = []
    if joiner is None:
        joiner = Joiner(index, CountSpec(day_of(as_of), loaded_files(), "pairs"), batch=batch)
    joiner.add(count_lines(joiner.spec, lines))
    return joiner.finish()


def _request_record(request: Any, response: Any, position: int) -> dict[str, Any]:
    """A Batch input line for an SDK request: its own if given, else one with the endpoint the
    body's shape (and the usage's field names) implies."""
    record = request if isinstance(request, Mapping) else as_dict(request)
    if record is None:
        return {"custom_id": f"#{position}", "body": None}
    if "body" in record and "url" in record:
        return {**record, "custom_id": str(record.get("custom_id", f"#{position}"))}
    usage = get(response, "usage") if not isinstance(response, BaseException) else None
    usage = response if usage is None and not isinstance(response, BaseException) else usage
    if "messages" in record:
        url = "/v1/chat/completions"
    elif get(usage, "input_tokens") is not None or "instructions" in record:
        url = "/v1/responses"
    elif "prompt" in record:
        url = "/v1/completions"
    else:
        url = "/v1/embeddings"
    return {"custom_id": f"#{position}", "url": url, "body": record}
