"""Dataset reports: :func:`analyze` and :class:`DatasetReport`.

Everything that adds up is exact integers in a :class:`~tokenomy.datasets.DatasetStats`; cost is
priced once per model at the end, in ``Decimal``, through :func:`~tokenomy.cost_of_request` (so an
endpoint's own rules, such as free moderations, apply) or :func:`~tokenomy.fine_tuning_cost`.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, overload

from tokenomy._data import table
from tokenomy._deprecation import positional_options, renamed
from tokenomy.cost import Cost, default_epochs
from tokenomy.datasets.plot import plot_histograms
from tokenomy.datasets.read import MAX_LINE_BYTES
from tokenomy.datasets.run import collect
from tokenomy.datasets.stats import DatasetStats
from tokenomy.datasets.whatif import BOUND_NOTE, WhatIfReport, batch_saving, price, what_if_report
from tokenomy.errors import DatasetError
from tokenomy.registry import DateLike, day_of
from tokenomy.report import html_list, html_report, html_table, money, text_table

_SHOWN_PROBLEMS = 10


@dataclass(frozen=True)
class ModelTotals:
    """One model's share of a dataset and its price (``cost`` None, and ``notes`` saying why, when
    it has no price)."""

    model: str
    records: int
    prompt_tokens: int
    output_tokens_bound: int
    billed_tokens: int
    cost: Cost | None
    notes: tuple[str, ...] = ()
    over_limit: int = 0
    output_is_bound: bool = False

    @property
    def cost_note(self) -> str:
        """Deprecated: the :attr:`notes` joined by ``"; "``."""
        renamed("ModelTotals", "cost_note", "notes")
        return "; ".join(self.notes)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (amounts as strings); ``cost_note`` repeats ``notes`` until the next
        release."""
        return {
            "model": self.model, "records": self.records, "prompt_tokens": self.prompt_tokens,
            "output_tokens_bound": self.output_tokens_bound, "billed_tokens": self.billed_tokens,
            "over_limit": self.over_limit, "output_is_bound": self.output_is_bound,
            "cost": None if self.cost is None else self.cost.to_dict(), "notes": list(self.notes),
            "cost_note": "; ".join(self.notes),
        }  # fmt: skip


@dataclass(frozen=True)
class DatasetReport:
    """Tokens per record, totals, distribution, over-limit records, problems by line and cost."""

    kind: str
    stats: DatasetStats
    models: tuple[ModelTotals, ...]
    epochs: int | None = None
    as_of: date | None = None
    batch: bool = False
    endpoint: str | None = None
    notes: tuple[str, ...] = ()
    # what was analysed, kept for what_if (a path, files, or a list of records; None for an iterator)
    source: Any = field(default=None, repr=False, compare=False)
    max_line_bytes: int = field(default=MAX_LINE_BYTES, repr=False, compare=False)

    @property
    def records(self) -> int:
        """Records counted (lines with a problem that stopped the count excluded)."""
        return self.stats.records

    @property
    def total_tokens(self) -> int:
        """Prompt (or example) tokens over all records."""
        return sum(m.prompt_tokens for m in self.models)

    @property
    def total_usd(self) -> Decimal | None:
        """What the priced models cost together (None if none could be priced)."""
        costs = [m.cost.usd for m in self.models if m.cost is not None]
        return sum(costs, Decimal(0)) if costs else None

    @property
    def total_cost(self) -> Decimal | None:
        """Deprecated spelling of :attr:`total_usd`."""
        renamed("DatasetReport", "total_cost", "total_usd")
        return self.total_usd

    def _histogram(self, model: str | None) -> Counter[int]:
        return self.stats.histograms.get(model, Counter()) if model is not None else self.stats.histogram

    def percentile(self, p: float, *, model: str | None = None) -> int | None:
        """Nearest-rank percentile of tokens per record (exact, from the histogram)."""
        hist = self._histogram(model)
        n = sum(hist.values())
        if n == 0:
            return None
        rank, seen = max(1, math.ceil(p / 100 * n)), 0
        for tokens in sorted(hist):
            seen += hist[tokens]
            if seen >= rank:
                return tokens
        return max(hist)

    def distribution(self, *, model: str | None = None) -> dict[str, int | float | None]:
        """min, p50, p90, p95, p99, max and mean tokens per record (of one model, or all)."""
        hist = self._histogram(model)
        if not hist:
            return dict.fromkeys(("min", "p50", "p90", "p95", "p99", "max", "mean"))
        mean = sum(k * v for k, v in hist.items()) / sum(hist.values())
        return {
            "min": min(hist),
            "p50": self.percentile(50, model=model),
            "p90": self.percentile(90, model=model),
            "p95": self.percentile(95, model=model),
            "p99": self.percentile(99, model=model),
            "max": max(hist),
            "mean": round(mean, 2),
        }

    def what_if(
        self,
        models: str | Iterable[str],
        *,
        batch: bool | None = None,
        cached_share: float = 0.0,
        output_tokens: int | None = None,
    ) -> WhatIfReport:
        """The same records counted again as each of ``models`` (its own tokenizer and framing
        rules: exact counts, not a price ratio) and priced.

        ``batch`` defaults to the Batch rate for Batch files; ``cached_share`` of each model's
        input is priced at its cached rate; ``output_tokens`` per record replaces the requests'
        own output caps (an upper bound) as the output.

        >>> lines = [{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
        ...           "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}}]
        >>> rows = analyze(lines, as_of="2025-06-01").what_if(["gpt-4o", "gpt-4"]).rows
        >>> [(r.model, r.input_tokens) for r in rows]
        [('gpt-4o', 8), ('gpt-4', 8)]
        """
        names = [m.strip() for m in models.split(",")] if isinstance(models, str) else list(models)
        if (
            isinstance(cached_share, bool)
            or not isinstance(cached_share, (int, float))
            or not 0 <= cached_share <= 1
        ):
            raise DatasetError(f"cached_share is a fraction from 0 to 1, not {cached_share!r}")
        if output_tokens is not None and (
            isinstance(output_tokens, bool) or not isinstance(output_tokens, int) or output_tokens < 0
        ):
            raise DatasetError(f"output_tokens is a whole number per record, not {output_tokens!r}")
        if self.source is None:
            raise DatasetError(
                "what_if reads the records again: analyze a file, or a list of records, "
                "not a one-shot iterator"
            )
        stats = collect(
            self.source, self.kind, as_of=self.as_of, models=names, max_line_bytes=self.max_line_bytes
        )
        return what_if_report(
            stats,
            self.kind,
            names,
            endpoint=self.endpoint,
            day=self.as_of or date.today(),
            batch=self.batch if batch is None else bool(batch),
            cached_share=float(cached_share),
            output_tokens=output_tokens,
            epochs=self.epochs or 1,
        )

    # ---- rendering -------------------------------------------------------------------------------

    def _summary_rows(self) -> list[list[object]]:
        s = self.stats
        rows: list[list[object]] = [["records", self.records]]
        if self.kind == "batch" and s.requests:
            rows.append(
                [
                    "file",
                    f"{s.requests:,} requests, {s.bytes / 1e6:,.1f} MB"
                    if s.bytes
                    else f"{s.requests:,} requests",
                ]
            )
        rows.append(["input tokens", self.total_tokens])
        dist = self.distribution()
        if dist["min"] is not None:
            rows.append(
                [
                    "tokens per record",
                    f"min {dist['min']:,} · median {dist['p50']:,} · p95 "
                    f"{dist['p95']:,} · max {dist['max']:,} · mean {dist['mean']:,}",
                ]
            )
        rows += [
            [
                "over the context window" if self.kind != "fine-tune" else "over the example limit",
                s.over_limit_count,
            ],
            ["problems", s.problem_count],
        ]
        if self.epochs is not None:
            rows.append(["epochs", self.epochs])
        rate = " (Batch API rate)" if self.batch and self.kind == "batch" else ""
        rows.append([f"estimated cost{rate}", money(self.total_usd)])
        return rows

    def _model_headers(self) -> list[str]:
        output = "output bound" if any(m.output_is_bound for m in self.models) else "output tokens"
        if self.kind == "fine-tune":
            return ["model", "records", "tokens", "billed tokens", "over limit", "training cost", "rate"]
        return ["model", "records", "input tokens", output, "over window", "input cost", "output cost",
                "total", "rate"]  # fmt: skip

    def _model_rows(self) -> list[list[object]]:
        rows: list[list[object]] = []
        for m in self.models:
            c = m.cost
            rate = ("n/a" if c is None else "free" if c.usd == 0 and m.prompt_tokens
                    else "training" if self.kind == "fine-tune" else f"batch ({batch_saving()})" if c.batch
                    else "standard")  # fmt: skip
            total = money(c.usd) if c else "n/a"
            if self.kind == "fine-tune":
                rows.append([m.model, m.records, m.prompt_tokens, m.billed_tokens, m.over_limit, total, rate])
            else:
                rows.append([m.model, m.records, m.prompt_tokens, m.output_tokens_bound, m.over_limit,
                             money(c.input_usd + c.cached_input_usd) if c else "n/a",
                             money(c.output_usd) if c else "n/a", total, rate])  # fmt: skip
        return rows

    def _problem_rows(self) -> list[list[object]]:
        return [
            [f"line {line:,}", check, message]
            for line, check, message in sorted(self.stats.problems)[:_SHOWN_PROBLEMS]
        ]

    def _over_rows(self) -> list[list[object]]:
        return [
            [f"line {line:,}", rid, model, tokens, limit]
            for line, rid, model, tokens, limit in sorted(self.stats.over_limit)[:_SHOWN_PROBLEMS]
        ]

    def _title(self) -> str:
        when = f" as of {self.as_of.isoformat()}" if self.as_of else ""
        return f"{self.kind} dataset{when}"

    def __str__(self) -> str:
        parts = [text_table(["", ""], self._summary_rows(), self._title())]
        if self.models:
            parts.append(text_table(self._model_headers(), self._model_rows()))
        if self.stats.problems:
            shown = sorted(self.stats.problems)[:_SHOWN_PROBLEMS]
            more = self.stats.problem_count - len(shown)
            rows = [[f"line {n:,}", check, m if len(m) <= 90 else m[:89] + "…"] for n, check, m in shown]
            table = text_table(["problem", "check", "message"], rows)
            parts.append(table + (f"\n… and {more:,} more" if more > 0 else ""))
        if self.stats.over_limit:
            parts.append(text_table(["over the window", "id", "model", "tokens", "limit"], self._over_rows()))
        if self.notes:
            parts.append("\n".join(f"note: {n}" for n in self.notes))
        return "\n\n".join(parts)

    def __repr__(self) -> str:
        return (
            f"<DatasetReport {self.kind}: {self.records:,} records, {self.total_tokens:,} tokens, "
            f"{len(self.models)} model(s), {self.stats.problem_count:,} problems, {money(self.total_usd)}>"
        )

    def _repr_html_(self) -> str:
        parts = [html_table(["", ""], self._summary_rows(), self._title())]
        if self.models:
            parts.append(html_table(self._model_headers(), self._model_rows(), "per model"))
        if self.stats.problems:
            more = self.stats.problem_count - len(self._problem_rows())
            title = f"first problems ({self.stats.problem_count:,} in all)" if more > 0 else "problems"
            parts.append(html_table(["line", "check", "message"], self._problem_rows(), title))
        if self.stats.over_limit:
            parts.append(
                html_table(
                    ["line", "id", "model", "tokens", "limit"],
                    self._over_rows(),
                    f"over the window ({self.stats.over_limit_count:,} in all)",
                )
            )
        if self.notes:
            parts.append(html_list(self.notes, "notes"))
        return html_report(parts)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (amounts as strings); ``total_cost`` repeats ``total_usd`` until the
        next release."""
        return {
            "kind": self.kind,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "records": self.records,
            "total_tokens": self.total_tokens,
            "distribution": self.distribution(),
            "epochs": self.epochs,
            "batch": self.batch,
            "endpoint": self.endpoint,
            "total_usd": None if self.total_usd is None else str(self.total_usd),
            "total_cost": None if self.total_usd is None else str(self.total_usd),
            "models": [m.to_dict() for m in self.models],
            "notes": list(self.notes),
            "stats": self.stats.to_dict(),
        }

    def plot(self, *, ax: Any = None) -> Any:
        """Histogram of tokens per record, one per model, on a log axis when the counts spread over
        more than two orders of magnitude; a model's context window is drawn only when the data
        reaches near it (needs matplotlib: ``pip install "tokenomy[plot]"``)."""
        hists = {m.model: self.stats.histograms.get(m.model, Counter()) for m in self.models}
        over = {m.model: m.over_limit for m in self.models}
        return plot_histograms(hists, over, f"{self.kind} dataset: {self.records:,} records", self.as_of, ax)


def _endpoint(stats: DatasetStats, kind: str) -> str | None:
    if kind == "chat":
        return "/v1/chat/completions"
    if kind != "batch":
        return None
    countable = table("endpoints")["request_counting"]
    urls = sorted((row[0], url) for url, row in stats.urls.items() if url in countable)
    return urls[0][1] if urls else "/v1/chat/completions"


def report_from_stats(
    stats: DatasetStats,
    kind: str,
    *,
    as_of: DateLike | None = None,
    epochs: int | None = None,
    source: Any = None,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> DatasetReport:
    """Price merged stats: Batch at the batch rate, fine-tuning as billed tokens x epochs."""
    day = day_of(as_of)
    if kind == "fine-tune":
        epochs = epochs if epochs is not None else default_epochs(stats.records)
    batch, endpoint = kind == "batch", _endpoint(stats, kind)
    totals, notes = [], []
    for name, row in sorted(stats.models.items()):
        records, prompt, bound, billed, over = row
        cost, note = price(name, row, bound, bound=bound > 0, kind=kind, endpoint=endpoint, day=day,
                           batch=batch, epochs=epochs or 1)  # fmt: skip
        notes += list(cost.notes) if cost else [note]
        notes_ = (note,) if note else ()
        totals.append(ModelTotals(name, records, prompt, bound, billed, cost, notes_, over, bound > 0))
    if any(t.output_is_bound for t in totals):
        notes.append(BOUND_NOTE)
    if batch and any(t.cost is not None and t.cost.batch for t in totals):
        notes.append(f"priced at the Batch API rate: {batch_saving()} the standard price where no batch "
                     "price is listed")
    for name, model_notes in sorted(stats.notes.items()):
        notes += [f"{name}: {n}" if len(stats.notes) > 1 else n for n in model_notes]
    notes += [f"{n:,} {reason}: checked, not counted" for reason, n in sorted(stats.skipped.items())]
    return DatasetReport(kind, stats, tuple(totals), epochs, day, batch, endpoint,
                         tuple(dict.fromkeys(notes)), source, max_line_bytes)  # fmt: skip


def _kept(source: Any) -> Any:
    """``source`` if it can be read again (a path, or a tuple of paths or records), else None."""
    if isinstance(source, (str, os.PathLike)):
        return source
    if isinstance(source, Mapping):
        return (source,)
    if isinstance(source, Sequence):
        return tuple(source)  # the caller's list may change after the call; the report does not
    return None


@overload
def analyze(source: str | os.PathLike[str] | Iterable[Any], *, kind: str = "batch", model: str | None = None,
            as_of: DateLike | None = None, epochs: int | None = None, parallel: bool | None = None,
            progress: bool | None = None, max_line_bytes: int = MAX_LINE_BYTES) -> DatasetReport: ...
@overload  # deprecated: kind and model given positionally (until the next release)
def analyze(source: str | os.PathLike[str] | Iterable[Any], kind: str, model: str | None = None, *,
            as_of: DateLike | None = None, epochs: int | None = None, parallel: bool | None = None,
            progress: bool | None = None, max_line_bytes: int = MAX_LINE_BYTES) -> DatasetReport: ...
def analyze(
    source: str | os.PathLike[str] | Iterable[Any],
    *args: Any,
    kind: str = "batch",
    model: str | None = None,
    as_of: DateLike | None = None,
    epochs: int | None = None,
    parallel: bool | None = None,
    progress: bool | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> DatasetReport:  # fmt: skip
    """Analyse a JSONL file (plain, ``.gz``, ``.bz2`` or ``.xz``), a list of files, or records.

    ``kind`` is ``"batch"`` (Batch API input lines, checked against the Batch API's rules),
    ``"fine-tune"`` (chat fine-tuning examples), ``"chat"`` (chat requests) or ``"text"`` (strings
    or ``{"text": ...}``). A line that breaks a rule, or cannot be read, is a problem on its line
    number and the rest is still counted; lines over ``max_line_bytes`` (64 MiB) are such problems.
    What is not about one line raises at once: a missing vocabulary, an unreadable or truncated
    file (:class:`~tokenomy.errors.InputFileError`), a model unknown on every line.
    ``parallel=None`` uses worker processes when the time measured on the first lines says the
    rest repays them; ``progress=None`` shows a bar only in a terminal or notebook.

    >>> lines = [{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
    ...           "body": {"model": "gpt-4o-mini-2024-07-18", "max_tokens": 10,
    ...                    "messages": [{"role": "user", "content": "Hello"}]}}]
    >>> report = analyze(lines, kind="batch", as_of=date(2025, 1, 1))
    >>> report.records, report.total_tokens, report.models[0].output_tokens_bound
    (1, 8, 10)
    """
    if args:
        moved = positional_options("analyze", args, ("kind", "model"))
        kind, model = moved.get("kind", kind), moved.get("model", model)
    stats = collect(
        source, kind, model, as_of=as_of, parallel=parallel, progress=progress, max_line_bytes=max_line_bytes
    )
    return report_from_stats(
        stats, kind, as_of=as_of, epochs=epochs, source=_kept(source), max_line_bytes=max_line_bytes
    )
