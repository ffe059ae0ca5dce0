"""Dataset reports: :func:`analyze` over JSONL files or records, :class:`DatasetReport`.

Batch API input files, fine-tuning chat files, chat requests or plain texts are counted record by
record, streamed (bounded memory) and, for large files, on every core. Everything that adds up is
kept as exact integers in a mergeable partial (:class:`DatasetStats`), so any split of the work
merges to the same report; cost is priced once, at the end, in ``Decimal``.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from tokenomy._data import table
from tokenomy._results import get
from tokenomy.cost import Cost, default_epochs, estimate_cost, fine_tuning_cost
from tokenomy.errors import PriceUnavailableError, TokenomyError
from tokenomy.registry import DateLike, _lookup, day_of
from tokenomy.report import html_table, text_table

KINDS = ("batch", "fine-tune", "chat", "text")
LIST_CAP = 100  # over-limit records and problems kept by line number (the count is exact)
_BATCH_LINES = 2000
_PARALLEL_BYTES = 4 << 20


@dataclass
class DatasetStats:
    """Exact, mergeable partial results: integers, a sparse histogram and capped lists.

    ``merge`` is associative and commutative: lists keep the ``LIST_CAP`` smallest line numbers.
    """

    records: int = 0
    histogram: Counter[int] = field(default_factory=Counter)
    models: dict[str, list[int]] = field(default_factory=dict)  # records, prompt, output bound, billed
    over_limit: list[tuple[int, str, int, int]] = field(default_factory=list)  # line, id, tokens, limit
    over_limit_count: int = 0
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # line, check, message
    problem_count: int = 0
    checks: Counter[str] = field(default_factory=Counter)

    def add_record(self, model: str, tokens: int, output_bound: int, billed: int) -> None:
        self.records += 1
        self.histogram[tokens] += 1
        row = self.models.setdefault(model, [0, 0, 0, 0])
        row[0] += 1
        row[1] += tokens
        row[2] += output_bound
        row[3] += billed

    def add_over_limit(self, line: int, record_id: str, tokens: int, limit: int) -> None:
        self.over_limit_count += 1
        self.over_limit.append((line, record_id, tokens, limit))
        if len(self.over_limit) > 2 * LIST_CAP:
            self.over_limit = sorted(self.over_limit)[:LIST_CAP]

    def add_problem(self, line: int, check: str, message: str) -> None:
        self.problem_count += 1
        self.checks[check] += 1
        self.problems.append((line, check, message))
        if len(self.problems) > 2 * LIST_CAP:
            self.problems = sorted(self.problems)[:LIST_CAP]

    def merge(self, other: DatasetStats) -> DatasetStats:
        """A new partial holding both; neither input is changed."""
        models = {k: list(v) for k, v in self.models.items()}
        for name, row in other.models.items():
            mine = models.setdefault(name, [0, 0, 0, 0])
            for i, value in enumerate(row):
                mine[i] += value
        return DatasetStats(
            records=self.records + other.records,
            histogram=self.histogram + other.histogram,
            models=models,
            over_limit=sorted(self.over_limit + other.over_limit)[:LIST_CAP],
            over_limit_count=self.over_limit_count + other.over_limit_count,
            problems=sorted(self.problems + other.problems)[:LIST_CAP],
            problem_count=self.problem_count + other.problem_count,
            checks=self.checks + other.checks,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for sending partials between processes or machines)."""
        return {
            "records": self.records, "histogram": {str(k): v for k, v in sorted(self.histogram.items())},
            "models": {k: v for k, v in sorted(self.models.items())},
            "over_limit": sorted(self.over_limit)[:LIST_CAP], "over_limit_count": self.over_limit_count,
            "problems": sorted(self.problems)[:LIST_CAP], "problem_count": self.problem_count,
            "checks": dict(sorted(self.checks.items())),
        }  # fmt: skip


@dataclass(frozen=True)
class ModelTotals:
    """One model's share of a dataset and its price."""

    model: str
    records: int
    prompt_tokens: int
    output_tokens_bound: int
    billed_tokens: int
    cost: Cost | None
    cost_note: str = ""


@dataclass(frozen=True)
class DatasetReport:
    """Tokens per record, totals, distribution, over-limit records, format problems and cost."""

    kind: str
    stats: DatasetStats
    models: tuple[ModelTotals, ...]
    epochs: int | None = None
    as_of: date | None = None

    @property
    def records(self) -> int:
        """Records counted (format problems excluded)."""
        return self.stats.records

    @property
    def total_tokens(self) -> int:
        """Prompt (or example) tokens over all records."""
        return sum(m.prompt_tokens for m in self.models)

    @property
    def total_cost(self) -> Decimal | None:
        """Sum of the priced models (None if none could be priced)."""
        costs = [m.cost.total for m in self.models if m.cost is not None]
        return sum(costs, Decimal(0)) if costs else None

    def percentile(self, p: float) -> int | None:
        """Nearest-rank percentile of tokens per record (exact, from the histogram)."""
        n = self.stats.records
        if n == 0:
            return None
        rank, seen = max(1, math.ceil(p / 100 * n)), 0
        for tokens in sorted(self.stats.histogram):
            seen += self.stats.histogram[tokens]
            if seen >= rank:
                return tokens
        return max(self.stats.histogram)

    def distribution(self) -> dict[str, int | float | None]:
        """min, p50, p90, p95, p99, max and mean tokens per record."""
        hist = self.stats.histogram
        if not hist:
            return dict.fromkeys(("min", "p50", "p90", "p95", "p99", "max", "mean"))
        mean = sum(k * v for k, v in hist.items()) / self.stats.records
        return {
            "min": min(hist), "p50": self.percentile(50), "p90": self.percentile(90),
            "p95": self.percentile(95), "p99": self.percentile(99), "max": max(hist), "mean": round(mean, 2),
        }  # fmt: skip

    def _summary_rows(self) -> list[list[object]]:
        rows: list[list[object]] = [["records", self.records], ["tokens", self.total_tokens]]
        rows += [[f"tokens per record, {k}", v] for k, v in self.distribution().items()]
        rows += [["records over the limit", self.stats.over_limit_count],
                 ["format problems", self.stats.problem_count]]  # fmt: skip
        if self.epochs is not None:
            rows.append(["epochs", self.epochs])
        total = self.total_cost
        rows.append(["estimated cost (USD)", "n/a" if total is None else f"${total:.4f}"])
        return rows

    def _model_rows(self) -> list[list[object]]:
        return [
            [m.model, m.records, m.prompt_tokens, m.output_tokens_bound,
             "n/a" if m.cost is None else f"${m.cost.total:.4f}"]
            for m in self.models
        ]  # fmt: skip

    def __str__(self) -> str:
        parts = [text_table(["", "value"], self._summary_rows(), f"{self.kind} dataset")]
        parts.append(text_table(["model", "records", "tokens", "output bound", "cost"], self._model_rows()))
        if self.stats.over_limit:
            rows = [
                [f"line {line}", rid, tokens, limit]
                for line, rid, tokens, limit in self.stats.over_limit[:10]
            ]
            parts.append(text_table(["over the limit", "id", "tokens", "limit"], rows))
        if self.stats.problems:
            rows = [[f"line {line}", check, msg[:70]] for line, check, msg in self.stats.problems[:10]]
            parts.append(text_table(["problem", "check", "message"], rows))
        notes = sorted({m.cost_note for m in self.models if m.cost_note})
        parts += [f"note: {n}" for n in notes]
        return "\n\n".join(parts)

    def _repr_html_(self) -> str:
        return html_table(["", "value"], self._summary_rows(), f"{self.kind} dataset") + html_table(
            ["model", "records", "tokens", "output bound", "cost"], self._model_rows()
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (amounts as strings)."""
        return {
            "kind": self.kind, "as_of": self.as_of.isoformat() if self.as_of else None,
            "records": self.records, "total_tokens": self.total_tokens, "distribution": self.distribution(),
            "epochs": self.epochs,
            "total_cost": None if self.total_cost is None else str(self.total_cost),
            "models": [
                {"model": m.model, "records": m.records, "prompt_tokens": m.prompt_tokens,
                 "output_tokens_bound": m.output_tokens_bound, "billed_tokens": m.billed_tokens,
                 "cost": None if m.cost is None else m.cost.to_dict(), "cost_note": m.cost_note}
                for m in self.models
            ],
            "stats": self.stats.to_dict(),
        }  # fmt: skip

    def plot(self, ax: Any = None) -> Any:
        """Histogram of tokens per record with each model's limit marked (needs matplotlib)."""
        try:
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError('report.plot() needs matplotlib: pip install "tokenomy[plot]"') from None
        if ax is None:
            _, ax = plt.subplots()
        values = sorted(self.stats.histogram)
        ax.hist(
            values,
            weights=[self.stats.histogram[v] for v in values],
            bins=min(50, max(len(values), 1)),
        )
        for m in self.models:
            info = _lookup(m.model, self.as_of or date.today())
            if info.context_window:
                ax.axvline(info.context_window, color="red", linestyle="--", label=f"{m.model} window")
        ax.set_xlabel("tokens per record")
        ax.set_ylabel("records")
        if self.models:
            ax.legend(loc="best")
        return ax


# ---- reading ------------------------------------------------------------------------------------


def _open(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="strict", newline="\n")
    return path.open(encoding="utf-8", errors="strict", newline="\n")  # JSONL lines end at \n only


class JsonLine(str):
    """A line read from a JSONL file: JSON text to decode (unlike a ``str`` record, which for
    ``kind="text"`` is the text itself)."""

    __slots__ = ()


def _lines(source: Any) -> Iterator[tuple[int, Any]]:
    """(line number, record) pairs: file lines as :class:`JsonLine`, records as given."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            handle = _open(path)
        except OSError as error:
            raise TokenomyError(f"cannot read {path}: {error.strerror or error}") from None
        with handle:
            try:
                for number, line in enumerate(handle, start=1):
                    if line.strip():
                        yield number, JsonLine(line)
            except UnicodeDecodeError as error:
                raise TokenomyError(f"{path} is not UTF-8 text ({error.reason})") from None
        return
    if isinstance(source, Mapping):
        source = [source]
    for number, record in enumerate(source, start=1):
        yield number, record


# ---- counting one record ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    kind: str
    model: str | None
    as_of: date


def _count_record(spec: _Spec, number: int, raw: Any, stats: DatasetStats) -> None:
    from tokenomy.cost import cost_of_request
    from tokenomy.requests import count_messages, count_request
    from tokenomy.tokenizer import count

    record = raw
    if isinstance(raw, JsonLine) or (isinstance(raw, str) and spec.kind != "text"):
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as error:
            if spec.kind != "text":
                stats.add_problem(number, "invalid_json", f"not JSON: {error.msg} at column {error.colno}")
                return
            record = raw.rstrip("\r\n")  # a plain-text file: one text per line
    try:
        if spec.kind == "batch":
            _count_batch_line(spec, number, record, stats, lambda body, url, as_of: cost_of_request(
                count_request(body, endpoint=url, as_of=as_of)))
        elif spec.kind == "fine-tune":
            _count_example(spec, number, record, stats, count_messages)
        elif spec.kind == "chat":
            model = _model_for(spec, record)
            messages = get(record, "messages")
            result = count_messages(messages, model, tools=get(record, "tools"), as_of=spec.as_of)
            stats.add_record(model, result.tokens, 0, result.tokens)
            _check_window(spec, number, str(number), model, result.tokens, 0, stats)
        else:
            text = record if isinstance(record, str) else get(record, "text")
            if not isinstance(text, str):
                stats.add_problem(number, "missing_text", 'a text record is a string or {"text": ...}')
                return
            model = _model_for(spec, record if isinstance(record, Mapping) else {})
            tokens = count(text, model=model)
            stats.add_record(model, tokens, 0, tokens)
            _check_window(spec, number, str(number), model, tokens, 0, stats)
    except TokenomyError as error:
        stats.add_problem(number, type(error).__name__, str(error))


def _model_for(spec: _Spec, record: Any) -> str:
    model = spec.model or get(record, "model") or get(get(record, "body") or {}, "model")
    if not isinstance(model, str):
        raise TokenomyError("no model: pass model=... or give each record a 'model'")
    return model


def _check_window(spec: _Spec, number: int, record_id: str, model: str, tokens: int,
                  output: int, stats: DatasetStats) -> None:  # fmt: skip
    window = _lookup(model, spec.as_of).context_window
    if window is not None and tokens + output > window:
        stats.add_over_limit(number, record_id, tokens + output, window)


def _count_batch_line(spec: _Spec, number: int, record: Any, stats: DatasetStats, price: Any) -> None:
    if not isinstance(record, Mapping):
        stats.add_problem(number, "data_type", "a Batch API line is a JSON object")
        return
    missing = [k for k in ("custom_id", "method", "url", "body") if k not in record]
    if missing:
        stats.add_problem(number, "missing_key", f"missing {', '.join(missing)}")
        return
    body = dict(record["body"]) if isinstance(record["body"], Mapping) else None
    if body is None:
        stats.add_problem(number, "data_type", "'body' must be an object")
        return
    if spec.model:
        body["model"] = spec.model
    cost = price(body, record["url"], as_of=spec.as_of)
    bound = cost.output_tokens if cost.output_is_bound else 0
    stats.add_record(body["model"], cost.input_tokens, bound, cost.input_tokens)
    _check_window(spec, number, str(record["custom_id"]), body["model"], cost.input_tokens, bound, stats)


def _count_example(spec: _Spec, number: int, record: Any, stats: DatasetStats, count_messages: Any) -> None:
    rules = table("finetuning")
    checks = rules["checks"]
    if not isinstance(record, Mapping):
        stats.add_problem(number, "data_type", "an example is a JSON object")
        return
    messages = record.get("messages")
    if not messages or not isinstance(messages, list):
        stats.add_problem(number, "missing_messages_list", "no 'messages' list")
        return
    for i, message in enumerate(messages):
        if (
            not isinstance(message, Mapping)
            or "role" not in message
            or ("content" not in message and "tool_calls" not in message and "function_call" not in message)
        ):
            stats.add_problem(number, "message_missing_key", f"message {i} lacks 'role' or 'content'")
            return
        unknown = set(message) - set(checks["message_keys"])
        if unknown:
            stats.add_problem(number, "message_unrecognized_key", f"message {i} has {sorted(unknown)}")
            return
        if message["role"] not in checks["roles"]:
            stats.add_problem(number, "unrecognized_role", f"message {i} has role {message['role']!r}")
            return
        content = message.get("content")
        if content is not None and not isinstance(content, (str, list)):
            stats.add_problem(number, "missing_content", f"message {i} content is not text")
            return
    if not any(m.get("role") == "assistant" for m in messages):
        stats.add_problem(number, "example_missing_assistant_message", "no assistant message")
        return
    model = _model_for(spec, record)
    tokens = count_messages(messages, model, tools=record.get("tools"), functions=record.get("functions"),
                            as_of=spec.as_of).tokens  # fmt: skip
    limit = int(rules["examples"]["max_tokens"])
    stats.add_record(model, tokens, 0, min(tokens, limit))
    if tokens > limit:
        stats.add_over_limit(number, str(number), tokens, limit)


def _count_lines(spec: _Spec, lines: list[tuple[int, Any]]) -> DatasetStats:
    stats = DatasetStats()
    for number, raw in lines:
        _count_record(spec, number, raw, stats)
    return stats


def _count_lines_quietly(spec: _Spec, lines: list[tuple[int, Any]]) -> DatasetStats:
    """_count_lines without a retired-model warning per record (the report names the models)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return _count_lines(spec, lines)


# ---- the report -------------------------------------------------------------------------------


def _batches(items: Iterator[tuple[int, Any]], size: int) -> Iterator[list[tuple[int, Any]]]:
    batch: list[tuple[int, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def collect(source: Any, kind: str = "batch", model: str | None = None, *, as_of: DateLike | None = None,
            parallel: bool | None = None, progress: bool | None = None) -> DatasetStats:  # fmt: skip
    """The mergeable partial for ``source`` (what :func:`analyze` prices)."""
    if kind not in KINDS:
        raise TokenomyError(f"kind must be one of {KINDS}, not {kind!r}")
    spec = _Spec(kind, model, day_of(as_of))
    if model is not None:
        _lookup(model, spec.as_of)  # an unknown model fails once, up front
    is_file = isinstance(source, (str, Path))
    big = is_file and Path(source).is_file() and Path(source).stat().st_size >= _PARALLEL_BYTES
    use_pool = big if parallel is None else parallel
    bar = _progress(source, progress)
    stats = DatasetStats()
    batches = _batches(_lines(source), _BATCH_LINES)
    if use_pool:
        from tokenomy._workers import map_batches

        for partial, done in map_batches(_count_lines_quietly, spec, batches):
            stats = stats.merge(partial)
            bar(done)
    else:
        for batch in batches:
            stats = stats.merge(_count_lines_quietly(spec, batch))
            bar(sum(len(str(raw)) for _, raw in batch))
    bar(None)
    return stats


def _progress(source: Any, wanted: bool | None) -> Any:
    """A callable advancing a tqdm bar (if tqdm is installed and a terminal is attached)."""
    show = wanted if wanted is not None else sys.stderr.isatty()
    if not show or not isinstance(source, (str, Path)):
        return lambda done: None
    try:
        from tqdm import tqdm
    except ImportError:
        return lambda done: None
    bar = tqdm(total=Path(source).stat().st_size, unit="B", unit_scale=True, desc="tokenomy analyze")

    def advance(done: int | None) -> None:
        if done is None:
            bar.close()
        else:
            bar.update(done)

    return advance


def report_from_stats(stats: DatasetStats, kind: str, *, as_of: DateLike | None = None,
                      epochs: int | None = None) -> DatasetReport:  # fmt: skip
    """Price merged stats: Batch at the batch rate, fine-tuning as billed tokens x epochs."""
    day = day_of(as_of)
    if kind == "fine-tune":
        epochs = epochs if epochs is not None else default_epochs(stats.records)
    totals = []
    for name, (records, prompt, bound, billed) in sorted(stats.models.items()):
        cost, note = None, ""
        try:
            if kind == "fine-tune":
                cost = fine_tuning_cost(name, billed, epochs=epochs or 1, as_of=day)
            else:
                cost = estimate_cost(name, prompt, bound, batch=kind == "batch", as_of=day)
                if bound:
                    note = "output priced at the requests' max_tokens: an upper bound"
        except PriceUnavailableError as error:
            note = str(error)
        totals.append(ModelTotals(name, records, prompt, bound, billed, cost, note))
    return DatasetReport(kind, stats, tuple(totals), epochs, day)


def analyze(
    source: str | Path | Iterable[Any],
    kind: str = "batch",
    model: str | None = None,
    *,
    as_of: DateLike | None = None,
    epochs: int | None = None,
    parallel: bool | None = None,
    progress: bool | None = None,
) -> DatasetReport:
    """Analyse a JSONL file (plain or ``.gz``) or an iterable of records.

    ``kind`` is ``"batch"`` (Batch API input lines), ``"fine-tune"`` (chat fine-tuning examples),
    ``"chat"`` (chat requests) or ``"text"`` (strings or ``{"text": ...}``). Malformed lines are
    reported by line number; the rest is still counted.

    >>> lines = [{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
    ...           "body": {"model": "gpt-4o-mini-2024-07-18", "max_tokens": 10,
    ...                    "messages": [{"role": "user", "content": "Hello"}]}}]
    >>> report = analyze(lines, kind="batch", as_of=date(2025, 1, 1))
    >>> report.records, report.total_tokens, report.models[0].output_tokens_bound
    (1, 8, 10)
    """
    stats = collect(source, kind, model, as_of=as_of, parallel=parallel, progress=progress)
    return report_from_stats(stats, kind, as_of=as_of, epochs=epochs)
