"""What-if across models: the same records counted with each model's own tokenizer and framing,
and priced (:class:`WhatIfReport`, from :meth:`~tokenomy.datasets.DatasetReport.what_if`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from tokenomy._data import table
from tokenomy._deprecation import renamed
from tokenomy.cost import Cost, cost_of_request, estimate_cost, fine_tuning_cost
from tokenomy.datasets.stats import DatasetStats
from tokenomy.errors import PriceUnavailableError
from tokenomy.registry import resolve
from tokenomy.report import html_list, html_report, html_table, money, text_table
from tokenomy.requests import RequestCount

BOUND_NOTE = "output priced at each request's max_tokens (times n): an upper bound, not an estimate"


def price(
    model: str,
    totals: Sequence[int],
    output_tokens: int,
    *,
    bound: bool,
    kind: str,
    endpoint: str | None,
    day: date,
    batch: bool,
    cached_tokens: int = 0,
    epochs: int = 1,
) -> tuple[Cost | None, str]:
    """What ``model`` charges for its totals in a partial ([records, prompt tokens, output bound,
    billed tokens, over the limit]) and ``output_tokens`` (``bound``: the requests' max_tokens), by
    the rules of ``endpoint`` (None: plain tokens); or None and why it has no price."""
    try:
        if kind == "fine-tune":
            return fine_tuning_cost(model, totals[3], epochs=epochs, as_of=day), ""
        if endpoint is None or cached_tokens:
            return estimate_cost(model, totals[1], output_tokens=output_tokens,
                                 cached_input_tokens=cached_tokens, batch=batch, as_of=day), ""  # fmt: skip
        info = resolve(model, day, warn=False)
        request = RequestCount(
            tokens=totals[1],
            model=model,
            snapshot=info.snapshot,
            encoding=info.encoding or "",
            endpoint=endpoint,
            exact=True,
            max_output_tokens=output_tokens if bound else None,
            as_of=day,
        )
        return cost_of_request(request, output_tokens=None if bound else output_tokens, batch=batch), ""
    except PriceUnavailableError as error:
        return None, str(error)


def batch_saving() -> str:
    """What the Batch API takes off the standard price, worded from ``data/pricing.toml``.

    >>> batch_saving()
    '50% off'
    """
    paid = Decimal(str(table("pricing")["batch"]["discount"]))  # the share of the standard price paid
    return f"{1 - paid:.0%} off"


@dataclass(frozen=True)
class WhatIfRow:
    """The same records counted and priced as one model (``cost`` None, and ``notes`` saying why,
    when the model has no price)."""

    model: str
    records: int
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    over_limit: int
    cost: Cost | None
    notes: tuple[str, ...] = ()

    @property
    def note(self) -> str:
        """Deprecated: the :attr:`notes` joined by ``"; "``."""
        renamed("WhatIfRow", "note", "notes")
        return "; ".join(self.notes)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (amounts as strings); ``note`` repeats ``notes`` until the next release."""
        return {
            "model": self.model, "records": self.records, "input_tokens": self.input_tokens,
            "cached_input_tokens": self.cached_input_tokens, "output_tokens": self.output_tokens,
            "over_limit": self.over_limit, "cost": None if self.cost is None else self.cost.to_dict(),
            "notes": list(self.notes), "note": "; ".join(self.notes),
        }  # fmt: skip


@dataclass(frozen=True)
class WhatIfReport:
    """Each model's exact count of the same records, and its price (:meth:`DatasetReport.what_if`)."""

    kind: str
    rows: tuple[WhatIfRow, ...]
    batch: bool
    cached_share: float
    output_is_bound: bool
    problems: int = 0
    notes: tuple[str, ...] = ()

    def _rows(self) -> list[list[object]]:
        return [
            [
                r.model,
                r.records,
                r.input_tokens,
                r.output_tokens,
                r.over_limit,
                money(r.cost.input_usd + r.cost.cached_input_usd) if r.cost else "n/a",
                money(r.cost.output_usd) if r.cost else "n/a",
                money(r.cost.usd) if r.cost else "n/a",
            ]
            for r in self.rows
        ]

    def _headers(self) -> list[str]:
        output = "output bound" if self.output_is_bound else "output tokens"
        return [
            "model",
            "records",
            "input tokens",
            output,
            "over window",
            "input cost",
            "output cost",
            "total",
        ]

    def _title(self) -> str:
        rate = f"at the Batch API rate, {batch_saving()}" if self.batch else "at the standard rate"
        cached = f", {self.cached_share:.0%} of input cached" if self.cached_share else ""
        return f"what if: the same {self.kind} records on each model ({rate}{cached})"

    def __str__(self) -> str:
        parts = [text_table(self._headers(), self._rows(), self._title())]
        parts += [f"note: {n}" for n in self.notes]
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        notes = [html_list(self.notes)] if self.notes else []
        return html_report([html_table(self._headers(), self._rows(), self._title()), *notes])

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (amounts as strings)."""
        return {
            "kind": self.kind,
            "batch": self.batch,
            "cached_share": self.cached_share,
            "output_is_bound": self.output_is_bound,
            "problems": self.problems,
            "notes": list(self.notes),
            "models": [r.to_dict() for r in self.rows],
        }


def what_if_report(
    stats: DatasetStats,
    kind: str,
    names: Sequence[str],
    *,
    endpoint: str | None,
    day: date,
    batch: bool,
    cached_share: float,
    output_tokens: int | None,
    epochs: int,
) -> WhatIfReport:
    """Price each model's totals in ``stats`` (collected with ``models=names``)."""
    rows, notes = [], []
    for name in dict.fromkeys(names):
        totals = stats.models.get(name, [0, 0, 0, 0, 0])
        records, prompt, bound, _, over = totals
        output = bound if output_tokens is None else output_tokens * records
        cached = math.floor(prompt * cached_share)
        cost, note = price(name, totals, output, bound=output_tokens is None and bound > 0, kind=kind,
                           endpoint=endpoint, day=day, batch=batch, cached_tokens=cached,
                           epochs=epochs)  # fmt: skip
        notes += list(cost.notes) if cost else [f"{name}: {note}"]
        rows.append(WhatIfRow(name, records, prompt, cached, output, over, cost, (note,) if note else ()))
    if output_tokens is None and any(r.output_tokens for r in rows):
        notes.append(BOUND_NOTE)
    return WhatIfReport(
        kind,
        tuple(rows),
        batch,
        cached_share,
        output_tokens is None,
        stats.problem_count,
        tuple(dict.fromkeys(notes)),
    )
