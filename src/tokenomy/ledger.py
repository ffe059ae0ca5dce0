"""What requests sent through a guard were predicted to bill and did bill: :class:`Ledger`.

A :class:`LedgerEntry` is one HTTP exchange the guard counted: the prompt tokens tokenomy predicted
for the body as sent, the figures of the API's ``usage`` (billed prompt, cached, output and
reasoning tokens), their cost in ``Decimal`` USD and the drift (billed minus predicted). A
:class:`Ledger` is a frozen snapshot of entries with totals, a text table and an HTML table;
:attr:`Ledger.records` gives the ``(endpoint, body, usage)`` triples a calibration reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any, NamedTuple

from tokenomy.report import html_table, text_table


class UsageRecord(NamedTuple):
    """One request body and the ``usage`` the API billed for it, as sent and as received.

    :attr:`Ledger.records` (``guard.ledger.records`` for a :class:`~tokenomy.openai.Guard`) gives
    one per request billed with a ``usage``:

    >>> body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}
    >>> usage = {"prompt_tokens": 8, "completion_tokens": 5}
    >>> entry = LedgerEntry("gpt-4o", "/v1/chat/completions", 200, 8, True, prompt_tokens=8,
    ...                     output_tokens=5, body=body, usage=usage)
    >>> [record] = Ledger((entry,)).records
    >>> record.endpoint, record.body["model"], record.usage["prompt_tokens"]
    ('/v1/chat/completions', 'gpt-4o', 8)
    """

    endpoint: str
    body: Mapping[str, Any]
    usage: Mapping[str, Any]


@dataclass(frozen=True)
class LedgerEntry:
    """One request the guard counted and the response it got.

    ``predicted_tokens`` is :func:`~tokenomy.count_request` on the body as sent (None when it could
    not be counted); ``prompt_tokens``, ``cached_tokens``, ``output_tokens`` and
    ``reasoning_tokens`` come from the response's ``usage`` (None without one: an error status, or
    a stream without ``stream_options.include_usage``); ``cost`` prices that usage.
    """

    model: str
    endpoint: str
    status: int
    predicted_tokens: int | None
    exact: bool
    prompt_tokens: int | None = None
    cached_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost: Decimal | None = None
    stream: bool = False
    body: Mapping[str, Any] = field(default_factory=dict, repr=False)
    usage: Mapping[str, Any] | None = field(default=None, repr=False)
    notes: tuple[str, ...] = ()

    @property
    def drift(self) -> int | None:
        """Billed minus predicted prompt tokens (None unless both are known).

        >>> LedgerEntry("gpt-4o", "/v1/chat/completions", 200, 12, True, prompt_tokens=13).drift
        1
        """
        if self.prompt_tokens is None or self.predicted_tokens is None:
            return None
        return self.prompt_tokens - self.predicted_tokens

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (the cost as a string, to keep it exact)."""
        return {
            "model": self.model, "endpoint": self.endpoint, "status": self.status,
            "predicted_tokens": self.predicted_tokens, "exact": self.exact,
            "prompt_tokens": self.prompt_tokens, "cached_tokens": self.cached_tokens,
            "output_tokens": self.output_tokens, "reasoning_tokens": self.reasoning_tokens,
            "cost": None if self.cost is None else str(self.cost), "drift": self.drift,
            "stream": self.stream, "body": dict(self.body),
            "usage": None if self.usage is None else dict(self.usage), "notes": list(self.notes),
        }  # fmt: skip


@dataclass(frozen=True)
class LedgerTotals:
    """Sums over a ledger; token sums and drift cover the entries that carry a ``usage``.

    :attr:`Ledger.totals` (``guard.ledger.totals`` for a :class:`~tokenomy.openai.Guard`) makes one:

    >>> billed = LedgerEntry("gpt-4o", "/v1/chat/completions", 200, 12, True, prompt_tokens=13,
    ...                      output_tokens=5, cost=Decimal("0.0001"))
    >>> refused = LedgerEntry("gpt-4o", "/v1/chat/completions", 429, 40, True)  # no usage came back
    >>> totals = Ledger((billed, refused)).totals
    >>> totals.requests, totals.billed_requests, totals.predicted_tokens, totals.prompt_tokens, totals.drift
    (2, 1, 12, 13, 1)
    >>> totals.cost
    Decimal('0.0001')
    """

    requests: int
    billed_requests: int
    predicted_tokens: int
    prompt_tokens: int
    cached_tokens: int
    output_tokens: int
    reasoning_tokens: int
    drift: int
    cost: Decimal

    def __add__(self, other: LedgerTotals) -> LedgerTotals:
        return LedgerTotals(*(a + b for a, b in zip(_sums(self), _sums(other), strict=True)))

    @classmethod
    def of(cls, entries: Iterable[LedgerEntry]) -> LedgerTotals:
        """The sums over ``entries``; tokens and drift over those billed with a ``usage``."""
        counts, cost = [0] * 8, Decimal(0)
        for e in entries:
            counts[0] += 1
            if e.cost is not None:
                cost += e.cost
            if e.prompt_tokens is not None:
                figures = (1, e.predicted_tokens, e.prompt_tokens, e.cached_tokens, e.output_tokens,
                           e.reasoning_tokens, e.drift)  # fmt: skip
                for i, figure in enumerate(figures, 1):
                    counts[i] += figure or 0
        requests, billed, predicted, prompt, cached, output, reasoning, drift = counts
        return cls(requests, billed, predicted, prompt, cached, output, reasoning, drift, cost)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (the cost as a string)."""
        return {
            "requests": self.requests, "billed_requests": self.billed_requests,
            "predicted_tokens": self.predicted_tokens, "prompt_tokens": self.prompt_tokens,
            "cached_tokens": self.cached_tokens, "output_tokens": self.output_tokens,
            "reasoning_tokens": self.reasoning_tokens, "drift": self.drift, "cost": str(self.cost),
        }  # fmt: skip


def _sums(totals: LedgerTotals) -> tuple[Any, ...]:
    return tuple(getattr(totals, f.name) for f in fields(totals))


NO_TOTALS = LedgerTotals(0, 0, 0, 0, 0, 0, 0, 0, Decimal(0))

HEADERS = ("model", "endpoint", "status", "predicted", "billed", "drift", "cached", "output",
           "reasoning", "USD")  # fmt: skip


@dataclass(frozen=True)
class Ledger:
    """Entries in the order their responses finished, with totals; a snapshot, never updated.

    ``earlier`` sums the entries no longer kept (a guard keeps its latest ``ledger_entries``):
    :attr:`totals` covers them too.

    >>> entry = LedgerEntry("gpt-4o", "/v1/chat/completions", 200, 12, True, prompt_tokens=13,
    ...                     cached_tokens=0, output_tokens=5, reasoning_tokens=0, cost=Decimal("0.0001"))
    >>> ledger = Ledger((entry,))
    >>> ledger.totals.cost, ledger.totals.drift
    (Decimal('0.0001'), 1)
    >>> print(ledger)
    model   endpoint              status  predicted  billed  drift  cached  output  reasoning      USD
    gpt-4o  /v1/chat/completions     200         12      13     +1       0       5          0  $0.0001
    total   1 request                            12      13     +1       0       5          0  $0.0001
    """

    entries: tuple[LedgerEntry, ...] = ()
    earlier: LedgerTotals = NO_TOTALS

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[LedgerEntry]:
        return iter(self.entries)

    @property
    def totals(self) -> LedgerTotals:
        """Sums over every entry, earlier ones included; tokens and drift over the entries billed
        with a ``usage``."""
        totals = LedgerTotals.of(self.entries)
        return totals + self.earlier if self.earlier.requests else totals

    @property
    def records(self) -> tuple[UsageRecord, ...]:
        """``(endpoint, body, usage)`` of every entry billed with a ``usage``, for calibration."""
        return tuple(UsageRecord(e.endpoint, e.body, e.usage) for e in self.entries if e.usage is not None)

    def _rows(self) -> list[list[object]]:
        rows: list[list[object]] = [
            [e.model, e.endpoint, e.status, _tokens(e.predicted_tokens, e.exact), e.prompt_tokens,
             _signed(e.drift), e.cached_tokens, e.output_tokens, e.reasoning_tokens, _usd(e.cost)]
            for e in self.entries
        ]  # fmt: skip
        if self.earlier.requests:
            e = self.earlier
            rows.insert(0, ["earlier", f"{e.requests} request{'' if e.requests == 1 else 's'}", None,
                            e.predicted_tokens, e.prompt_tokens, _signed(e.drift), e.cached_tokens,
                            e.output_tokens, e.reasoning_tokens, _usd(e.cost)])  # fmt: skip
        t = self.totals
        plural = "" if t.requests == 1 else "s"
        rows.append(["total", f"{t.requests} request{plural}", None, t.predicted_tokens,
                     t.prompt_tokens, _signed(t.drift), t.cached_tokens, t.output_tokens,
                     t.reasoning_tokens, _usd(t.cost)])  # fmt: skip
        return rows

    def __str__(self) -> str:
        return text_table(HEADERS, self._rows())

    def _repr_html_(self) -> str:
        return html_table(HEADERS, self._rows(), "tokenomy guard ledger")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: every entry, the sums of those no longer kept, then the totals."""
        return {"entries": [e.to_dict() for e in self.entries], "earlier": self.earlier.to_dict(),
                "totals": self.totals.to_dict()}  # fmt: skip


def _tokens(tokens: int | None, exact: bool) -> str | None:
    if tokens is None:
        return None
    return f"{tokens:,}" + ("" if exact else " ~")


def _signed(value: int | None) -> str | None:
    return None if value is None else f"{value:+,}" if value else "0"


def _usd(amount: Decimal | None) -> str | None:
    if amount is None:
        return None
    return f"${amount.normalize():f}" if amount else "$0"
