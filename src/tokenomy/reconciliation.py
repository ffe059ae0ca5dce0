"""The result of :func:`~tokenomy.reconcile`: :class:`Reconciliation` and its rows.

Per request, the prompt tokens tokenomy predicted beside those the API billed; summaries per
model, family and feature (:class:`Accuracy`); per model the billed cost beside the same usage at
the predicted prompt (:class:`ModelCost`); and every line that could not be joined (:class:`LineIssue`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from tokenomy.calibrate import Calibration, Observation, Uses, calibrate
from tokenomy.cost import Cost
from tokenomy.report import html_table, money, text_table

ISSUE_KINDS = ("malformed", "unmatched", "duplicate", "failed", "uncountable")


@dataclass(frozen=True, slots=True)
class ReconciledRequest:
    """One request: the prompt tokens tokenomy predicted and those the API billed, and why they
    may differ (``features``, ``notes``, and the counting constants ``uses`` added, with how often).

    >>> from tokenomy import reconcile
    >>> requests = [{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
    ...              "body": {"model": "gpt-4o-2024-08-06", "messages": [{"role": "user", "content": "Hi"}]}}]
    >>> billed = [{"custom_id": "a", "response": {"status_code": 200, "body": {
    ...              "usage": {"prompt_tokens": 9, "completion_tokens": 2}}}}]
    >>> row = reconcile(requests, billed, as_of="2025-06-01").requests[0]
    >>> row.custom_id, row.model, row.predicted_tokens, row.billed_tokens, row.difference, row.exact
    ('a', 'gpt-4o-2024-08-06', 8, 9, -1, True)
    >>> row.uses
    (('tokens_per_message', 1), ('reply_priming', 1))
    """

    custom_id: str
    line: int  # of the request in the input (its position among pairs)
    result_line: int
    model: str
    family: str | None
    endpoint: str
    prompt_format: str | None
    predicted_tokens: int
    billed_tokens: int
    cached_tokens: int
    output_tokens: int
    reasoning_tokens: int
    exact: bool  # whether count_request promised its figure
    max_output_tokens: int | None
    features: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    uses: Uses = ()

    @property
    def difference(self) -> int:
        """Predicted minus billed prompt tokens (positive: tokenomy counted more)."""
        return self.predicted_tokens - self.billed_tokens

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "custom_id": self.custom_id, "line": self.line, "result_line": self.result_line,
            "model": self.model, "family": self.family, "endpoint": self.endpoint,
            "prompt_format": self.prompt_format, "predicted_tokens": self.predicted_tokens,
            "billed_tokens": self.billed_tokens, "difference": self.difference,
            "cached_tokens": self.cached_tokens, "output_tokens": self.output_tokens,
            "reasoning_tokens": self.reasoning_tokens, "exact": self.exact,
            "max_output_tokens": self.max_output_tokens, "features": list(self.features),
            "notes": list(self.notes), "uses": dict(self.uses),
        }  # fmt: skip


@dataclass(frozen=True)
class LineIssue:
    """A line that was not reconciled: where (file, line number), which request, and why.

    ``kind`` is ``malformed`` (not a Batch line, or no usable usage), ``unmatched`` (no line with
    this ``custom_id`` on the other side), ``duplicate``, ``failed`` (an error or a status other
    than 200) or ``uncountable`` (tokenomy could not count the body; the message says why).

    >>> from tokenomy import reconcile
    >>> requests = [{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
    ...              "body": {"model": "gpt-4o-2024-08-06", "messages": [{"role": "user", "content": "Hi"}]}}]
    >>> billed = [{"custom_id": "b", "response": {"status_code": 200, "body": {
    ...              "usage": {"prompt_tokens": 8, "completion_tokens": 2}}}}]
    >>> issues = reconcile(requests, billed, as_of="2025-06-01").issues
    >>> [(issue.source, issue.line, issue.custom_id, issue.kind) for issue in issues]
    [('requests', 1, 'a', 'unmatched'), ('results', 1, 'b', 'unmatched')]
    >>> issues[1].message
    'no request line has this custom_id (its usage is in the totals)'
    """

    source: str
    line: int
    custom_id: str | None
    kind: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"source": self.source, "line": self.line, "custom_id": self.custom_id,
                "kind": self.kind, "message": self.message}  # fmt: skip


@dataclass(frozen=True)
class Accuracy:
    """How predictions compared with billing over one group of requests (a model, a feature)."""

    group: str
    requests: int
    equal: int
    within_2: int
    total_error: int  # sum of |predicted - billed|
    max_error: int
    predicted_tokens: int
    billed_tokens: int

    @property
    def exact_share(self) -> float:
        """Share of requests whose predicted prompt tokens equal the billed ones."""
        return self.equal / self.requests if self.requests else 0.0

    @property
    def within_2_share(self) -> float:
        """Share of requests predicted within 2 tokens."""
        return self.within_2 / self.requests if self.requests else 0.0

    @property
    def mean_error(self) -> float:
        """Mean of |predicted - billed| in tokens."""
        return self.total_error / self.requests if self.requests else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "group": self.group, "requests": self.requests, "equal": self.equal,
            "within_2": self.within_2, "exact_share": self.exact_share,
            "within_2_share": self.within_2_share, "mean_error": self.mean_error,
            "max_error": self.max_error, "predicted_tokens": self.predicted_tokens,
            "billed_tokens": self.billed_tokens,
        }  # fmt: skip

    def _row(self) -> list[object]:
        return [self.group, self.requests, f"{self.exact_share:.1%}", f"{self.within_2_share:.1%}",
                f"{self.mean_error:.2f}", self.max_error]  # fmt: skip


@dataclass(frozen=True)
class ModelCost:
    """What one model's requests were billed (every successful result line, joined or not), and
    what the pre-flight count would have priced the same usage at: the predicted prompt with the
    billed output and cache, so that the two differ by what the counting error costs."""

    model: str
    requests: int
    prompt_tokens: int
    cached_tokens: int
    output_tokens: int
    reasoning_tokens: int
    predicted_tokens: int
    billed: Cost | None
    estimated: Cost | None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (amounts as strings)."""
        return {
            "model": self.model, "requests": self.requests, "prompt_tokens": self.prompt_tokens,
            "cached_tokens": self.cached_tokens, "output_tokens": self.output_tokens,
            "reasoning_tokens": self.reasoning_tokens, "predicted_tokens": self.predicted_tokens,
            "billed": None if self.billed is None else self.billed.to_dict(),
            "estimated": None if self.estimated is None else self.estimated.to_dict(),
            "notes": list(self.notes),
        }  # fmt: skip


@dataclass(frozen=True)
class Reconciliation:
    """Predicted against billed prompt tokens per request, with summaries, cost and every issue.

    ``prompt_tokens`` (and cached, output, reasoning) are the sums of the billed usage over every
    successful result line; ``predicted_tokens`` the sum of tokenomy's counts over the joined
    requests. ``rules_files`` names the user rules the counts were made with.
    """

    requests: tuple[ReconciledRequest, ...]
    issues: tuple[LineIssue, ...]
    costs: tuple[ModelCost, ...]
    batch: bool
    as_of: date
    rules_files: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def predicted_tokens(self) -> int:
        """Prompt tokens tokenomy predicted, over the joined requests."""
        return sum(r.predicted_tokens for r in self.requests)

    @property
    def prompt_tokens(self) -> int:
        """Prompt tokens billed, over every successful result line."""
        return sum(c.prompt_tokens for c in self.costs)

    @property
    def cached_tokens(self) -> int:
        """Cached prompt tokens billed (part of :attr:`prompt_tokens`)."""
        return sum(c.cached_tokens for c in self.costs)

    @property
    def output_tokens(self) -> int:
        """Output tokens billed, reasoning included."""
        return sum(c.output_tokens for c in self.costs)

    @property
    def reasoning_tokens(self) -> int:
        """Reasoning tokens billed (part of :attr:`output_tokens`)."""
        return sum(c.reasoning_tokens for c in self.costs)

    @property
    def billed_usd(self) -> Decimal | None:
        """What the billed usage cost (None if no model could be priced)."""
        costs = [c.billed.usd for c in self.costs if c.billed is not None]
        return sum(costs, Decimal(0)) if costs else None

    @property
    def estimated_usd(self) -> Decimal | None:
        """The same usage priced at the predicted prompt tokens (None if no model could be priced)."""
        costs = [c.estimated.usd for c in self.costs if c.estimated is not None]
        return sum(costs, Decimal(0)) if costs else None

    def issues_of(self, kind: str) -> tuple[LineIssue, ...]:
        """The issues of one kind (``failed``, ``unmatched``, ``malformed``, ...)."""
        if kind not in ISSUE_KINDS:
            raise ValueError(f"kind must be one of {ISSUE_KINDS}, not {kind!r}")
        return tuple(i for i in self.issues if i.kind == kind)

    def accuracy(self) -> Accuracy:
        """Exact share, within-2 share, mean and largest error over every joined request."""
        return _accuracy("all", self.requests)

    def by_model(self) -> tuple[Accuracy, ...]:
        """:meth:`accuracy` per model, as the requests named it."""
        return _grouped(self.requests, lambda r: (r.model,))

    def by_family(self) -> tuple[Accuracy, ...]:
        """:meth:`accuracy` per model family and prompt format."""
        return _grouped(self.requests, lambda r: (f"{r.family or '?'} ({r.prompt_format or 'text'})",))

    def by_feature(self) -> tuple[Accuracy, ...]:
        """:meth:`accuracy` per request feature (tool calls, images, ...) and per endpoint; a
        request counts under each of its features."""
        return _grouped(self.requests, lambda r: (r.endpoint, *r.features))

    def calibrate(self, *, held_out: float = 0.5) -> Calibration:
        """Fit the counting constants per prompt format and model family to what was billed,
        checked on ``held_out`` of each group's requests (a fixed split by ``custom_id``).

        >>> from tokenomy.reconciling import reconcile
        >>> lines = [{"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
        ...           "body": {"model": "gpt-4o-2024-08-06",
        ...                    "messages": [{"role": "user", "content": "Hi"}] * n}}
        ...          for i, n in enumerate([1, 2, 3, 4] * 4)]
        >>> out = [{"custom_id": f"r{i}", "response": {"status_code": 200, "body": {
        ...            "usage": {"prompt_tokens": 3 + 6 * n, "completion_tokens": 1}}}}
        ...        for i, n in enumerate([1, 2, 3, 4] * 4)]
        >>> fitted = reconcile(lines, out, as_of="2025-06-01").calibrate()
        >>> fitted.groups[0].changes, fitted.exact_before, fitted.exact_after
        ((('tokens_per_message', 3, 4),), 0.0, 1.0)
        """
        observations = (
            Observation(r.custom_id, r.prompt_format, r.family, r.uses, r.predicted_tokens, r.billed_tokens)
            for r in self.requests if r.prompt_format is not None
        )  # fmt: skip
        return calibrate(observations, fraction=held_out, as_of=self.as_of,
                         source=f"usage billed for {len(self.requests)} requests")  # fmt: skip

    # ---- rendering ------------------------------------------------------------------------------

    def _summary_rows(self) -> list[list[object]]:
        total = self.accuracy()
        counts = {kind: len(self.issues_of(kind)) for kind in ISSUE_KINDS}
        return [
            ["requests reconciled", total.requests],
            ["predicted = billed", f"{total.equal:,} ({total.exact_share:.1%})"],
            ["within 2 tokens", f"{total.within_2:,} ({total.within_2_share:.1%})"],
            ["mean error (tokens)", f"{total.mean_error:.2f}"],
            ["largest error (tokens)", total.max_error],
            ["predicted prompt tokens", self.predicted_tokens],
            ["billed prompt tokens", self.prompt_tokens],
            ["billed cached / output / reasoning tokens",
             f"{self.cached_tokens:,} / {self.output_tokens:,} / {self.reasoning_tokens:,}"],
            ["billed cost (USD)" + (", batch rate" if self.batch else ""), _usd(self.billed_usd)],
            ["at the predicted prompt tokens (USD)", _usd(self.estimated_usd)],
            ["issues", ", ".join(f"{n} {kind}" for kind, n in counts.items() if n) or "none"],
        ]  # fmt: skip

    _ACCURACY = ("", "requests", "exact", "within 2", "mean error", "max error")
    _COSTS = ("model", "billed lines", "prompt", "cached", "output", "billed USD", "predicted USD")

    def _cost_rows(self) -> list[list[object]]:
        return [[c.model, c.requests, c.prompt_tokens, c.cached_tokens, c.output_tokens,
                 _usd(None if c.billed is None else c.billed.usd),
                 _usd(None if c.estimated is None else c.estimated.usd)] for c in self.costs]  # fmt: skip

    def _notes(self) -> list[str]:
        notes = list(self.notes)
        notes += [f"{c.model}: {n}" for c in self.costs for n in c.notes]
        if self.rules_files:
            notes.append(f"counted with user rules {', '.join(self.rules_files)}")
        return list(dict.fromkeys(notes))

    def __str__(self) -> str:
        title = f"reconciliation as of {self.as_of.isoformat()}"
        parts = [text_table(["", "value"], self._summary_rows(), title)]
        parts.append(text_table(("model", *self._ACCURACY[1:]), [a._row() for a in self.by_model()]))
        parts.append(text_table(self._COSTS, self._cost_rows()))
        features = sorted(self.by_feature(), key=lambda a: (a.equal - a.requests, -a.requests, a.group))
        parts.append(text_table(("feature", *self._ACCURACY[1:]), [a._row() for a in features[:25]]))
        if self.issues:
            rows = [[Path(i.source).name, i.line, i.custom_id or "", i.kind, i.message[:80]]
                    for i in self.issues[:20]]  # fmt: skip
            table = text_table(["file", "line", "custom_id", "issue", "message"], rows)
            if len(self.issues) > 20:
                table += f"\n... and {len(self.issues) - 20} more (to_dict() lists all)"
            parts.append(table)
        text = "\n\n".join(parts)
        return "\n".join([text, *(f"note: {n}" for n in self._notes())])

    def _repr_html_(self) -> str:
        parts = [
            html_table(["", "value"], self._summary_rows(), f"reconciliation as of {self.as_of.isoformat()}"),
            html_table(("model", *self._ACCURACY[1:]), [a._row() for a in self.by_model()]),
            html_table(self._COSTS, self._cost_rows()),
            html_table(("feature", *self._ACCURACY[1:]), [a._row() for a in self.by_feature()]),
        ]
        if self.issues:
            rows = [[i.source, i.line, i.custom_id, i.kind, i.message] for i in self.issues]
            parts.append(html_table(["file", "line", "custom_id", "issue", "message"], rows))
        return "".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: summaries, costs (amounts as strings), every issue and request."""
        return {
            "as_of": self.as_of.isoformat(), "batch": self.batch, "summary": self.accuracy().to_dict(),
            "predicted_tokens": self.predicted_tokens, "prompt_tokens": self.prompt_tokens,
            "cached_tokens": self.cached_tokens, "output_tokens": self.output_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "billed_usd": None if self.billed_usd is None else str(self.billed_usd),
            "estimated_usd": None if self.estimated_usd is None else str(self.estimated_usd),
            "by_model": [a.to_dict() for a in self.by_model()],
            "by_family": [a.to_dict() for a in self.by_family()],
            "by_feature": [a.to_dict() for a in self.by_feature()],
            "costs": [c.to_dict() for c in self.costs], "issues": [i.to_dict() for i in self.issues],
            "rules_files": list(self.rules_files), "notes": self._notes(),
            "requests": [r.to_dict() for r in self.requests],
        }  # fmt: skip


def _usd(amount: Decimal | None) -> str:
    return money(amount)  # three significant digits: two small amounts never show as the same


def _accuracy(group: str, rows: Iterable[ReconciledRequest]) -> Accuracy:
    n = equal = near = total = worst = predicted = billed = 0
    for r in rows:
        error = abs(r.difference)
        n, equal, near = n + 1, equal + (error == 0), near + (error <= 2)
        total, worst = total + error, max(worst, error)
        predicted, billed = predicted + r.predicted_tokens, billed + r.billed_tokens
    return Accuracy(group, n, equal, near, total, worst, predicted, billed)


def _grouped(rows: Sequence[ReconciledRequest],
             keys: Callable[[ReconciledRequest], tuple[str, ...]]) -> tuple[Accuracy, ...]:  # fmt: skip
    groups: dict[str, list[ReconciledRequest]] = {}
    for r in rows:
        for key in keys(r):
            groups.setdefault(key, []).append(r)
    return tuple(_accuracy(k, v) for k, v in sorted(groups.items()))
