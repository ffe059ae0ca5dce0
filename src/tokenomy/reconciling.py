"""Predicted against billed prompt tokens: :func:`reconcile`, :class:`Reconciliation`.

A Batch API input file and its output file (or request/response pairs from the SDK) are joined by
``custom_id``: each request is counted with :func:`~tokenomy.count_request` and set beside the
``usage`` the API billed for it. The results are indexed first (a few integers per line), then the
requests are streamed and counted in batches, on every core for large files, as
:func:`~tokenomy.analyze` does; no request body is kept. Lines that cannot be joined (malformed,
unmatched, duplicated, failed or uncountable) are reported by file and line number, never dropped.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

from tokenomy._results import as_dict, get
from tokenomy._workers import map_ordered
from tokenomy.billed import Billed, ResultIndex, batches, billed_entry, index_results, numbered, record_of
from tokenomy.calibrate import Uses, constant_uses
from tokenomy.cost import cost_from_usage, estimate_cost
from tokenomy.errors import ResultFormatError, TokenomyError
from tokenomy.reconciliation import LineIssue, ModelCost, ReconciledRequest, Reconciliation
from tokenomy.registry import DateLike, day_of, resolve
from tokenomy.requests import RequestCount, count_request
from tokenomy.rules import load_rules, loaded_files, reset_rules

_BATCH_LINES = 2000
_PARALLEL_BYTES = 4 << 20


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
            record, problem = record_of(raw)
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

    def _failed(self, custom_id: str, billed: Billed, prefix: str = "") -> LineIssue:
        status = f"status {billed.status}: " if billed.status is not None else ""
        message = f"{prefix}{status}{billed.error}"
        return LineIssue(self.index.source, billed.line, custom_id, "failed", message)

    def _totals(self, model: str, billed: Billed) -> list[int]:
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
    line_batches = batches(numbered(requests, "requests"))
    if _use_pool(requests, parallel):
        for part in map_ordered(count_lines, spec, line_batches, use_pool=True):
            joiner.add(part)
    else:
        for lines in line_batches:
            joiner.add(count_lines(spec, lines))
    return joiner.finish()


def _reconcile_pairs(pairs: Any, as_of: DateLike | None, batch: bool) -> Reconciliation:
    if isinstance(pairs, (str, Path)):
        raise ResultFormatError("results", "without requests, results are (request, response) pairs")
    index = ResultIndex("pairs")
    joiner: Joiner | None = None
    lines: list[tuple[int, Any]] = []
    for position, pair in numbered(pairs, "results"):
        if not isinstance(pair, Sequence) or isinstance(pair, (str, bytes)) or len(pair) != 2:
            index.issues.append(LineIssue("pairs", position, None, "malformed",
                                          "expected a (request, response) pair"))  # fmt: skip
            continue
        request, response = pair
        record = _request_record(request, response, position)
        if isinstance(response, BaseException):
            failure = f"{type(response).__name__}: {response}"
            entry = billed_entry(position, record["custom_id"], None, failure)
        else:
            body = response if get(response, "usage") is not None else {"usage": response}
            entry = billed_entry(position, record["custom_id"], {"status_code": 200, "body": body}, None)
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
