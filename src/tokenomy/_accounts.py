"""A guard's running account: requests in flight, exchanges finished, USD reserved and spent.

:class:`Ticket` is a request the guard admitted: what was sent, its count and its reserved worst
case. When its response ends, :meth:`Accounts.record` files the exchange; it is priced and made a
:class:`~tokenomy.ledger.LedgerEntry` only when the ledger (or ``spent``) is read, unless a cost
limit needs its price at once. A ticket keeps the body as the bytes sent, parsed again only for
the ledger: a guard that lives long holds one bytes object per request, not a tree of dicts for
the garbage collector to walk.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from tokenomy._data import table
from tokenomy._results import get
from tokenomy._usage import decode_usage_part
from tokenomy.cost import usage_usd
from tokenomy.errors import TokenomyError
from tokenomy.ledger import NO_TOTALS, Ledger, LedgerEntry, LedgerTotals
from tokenomy.requests import RequestCount

KEPT_BODY_BYTES = 16 << 20  # request bodies a bounded ledger keeps, in all
# a JSON answer's usage is kept undecoded (from its "usage" key to the body's end) up to this size
_KEPT_PART_BYTES = 4096


class Ticket:
    """A request admitted by the guard: its JSON body as sent, its predicted tokens and whether
    they are exact (None, False: not counted), and its reserved worst case. It keeps numbers, not
    the :class:`~tokenomy.RequestCount`: the ledger holds a ticket per request for as long as the
    guard lives, and plain values are nothing for the garbage collector to walk."""

    __slots__ = ("content", "endpoint", "exact", "model", "notes", "reserved", "tokens", "worst")

    def __init__(self, endpoint: str, content: bytes, model: str, count: RequestCount | None,
                 worst: Decimal | None, reserved: bool, notes: tuple[str, ...] = ()) -> None:  # fmt: skip
        self.endpoint, self.content, self.model = endpoint, content, model
        self.tokens: int | None = None if count is None else count.tokens
        self.exact = count is not None and count.exact
        self.worst, self.reserved, self.notes = worst, reserved, notes


class _Done:
    """A finished exchange as recorded on the request's path: its usage decoded, priced and built
    later (``part``: the bytes of a JSON answer's usage, not decoded yet)."""

    __slots__ = ("charged", "cost", "notes", "part", "status", "stream", "ticket", "usage")

    def __init__(self, ticket: Ticket, status: int, usage: dict[str, Any] | None, stream: bool,
                 notes: tuple[str, ...], part: bytes | None) -> None:  # fmt: skip
        self.ticket, self.status, self.usage, self.stream = ticket, status, usage, stream
        self.notes = ticket.notes + notes if notes else ticket.notes
        self.part = part
        self.cost: Decimal | None = None
        self.charged: Decimal | None = None

    def entry(self, *, with_body: bool = True) -> LedgerEntry:
        usage, ticket = self.usage, self.ticket
        body = json.loads(ticket.content) if with_body else {}
        return LedgerEntry(
            model=ticket.model, endpoint=ticket.endpoint, status=self.status,
            predicted_tokens=ticket.tokens, exact=ticket.exact,
            prompt_tokens=_figure(usage, "prompt"), cached_tokens=_figure(usage, "cached"),
            output_tokens=_figure(usage, "output"), reasoning_tokens=_figure(usage, "reasoning"),
            cost=self.cost, stream=self.stream, body=body if isinstance(body, dict) else {}, usage=usage,
            notes=self.notes,
        )  # fmt: skip


class Accounts:
    """USD spent and reserved under one lock, and every exchange filed, for one guard.

    ``limit`` is the guard's ``max_cost_usd`` (None: no cost limit, so nothing is priced until
    the ledger is read); ``as_of`` the day prices are taken on (None: the request's own day);
    ``keep`` how many exchanges the ledger keeps (None: all), the earlier ones summed; with a
    ``keep``, also no more than ``KEPT_BODY_BYTES`` of their bodies (a built entry holds its body
    parsed, several times the size of its bytes).
    """

    def __init__(self, limit: Decimal | None, as_of: date | None, keep: int | None = None) -> None:
        self.limit, self.as_of, self.keep = limit, as_of, keep
        self.lock = threading.Lock()
        self._done: deque[_Done] = deque()  # exchanges filed since the ledger was last read, in order
        self._entries: deque[LedgerEntry] = deque()  # the ones before them, priced and built
        self._earlier = NO_TOTALS  # the sums of those no longer kept
        self._sizes: deque[int] = deque()  # body bytes of each kept exchange, entries then filed
        self._kept_bytes = 0
        self._spent = Decimal(0)
        self._reserved = Decimal(0)

    @property
    def spent(self) -> Decimal:
        """USD billed so far, counting the worst case of responses that reported no usage."""
        with self.lock:
            self._settle()
            return self._spent

    @property
    def reserved(self) -> Decimal:
        """USD held for the worst case of requests in flight."""
        with self.lock:
            return self._reserved

    def ledger(self) -> Ledger:
        """Every exchange filed so far (a snapshot)."""
        with self.lock:
            self._settle()
            return Ledger(tuple(self._entries), self._earlier)

    def reserve(self, worst: Decimal) -> Decimal | None:
        """Hold ``worst`` if it fits under the limit (None); else the running cost it would top."""
        with self.lock:
            running = self._spent + self._reserved
            if self.limit is None or running + worst <= self.limit:
                self._reserved += worst
                return None
            return running

    def hold(self, worst: Decimal) -> None:
        """Hold ``worst`` whatever the limit (a request sent over budget on purpose)."""
        with self.lock:
            self._reserved += worst

    def release(self, ticket: Ticket) -> None:
        """Give back the ticket's reservation: its request got no response."""
        if ticket.reserved and ticket.worst is not None:
            with self.lock:
                self._reserved -= ticket.worst

    def record(self, ticket: Ticket, status: int, usage: dict[str, Any] | None, stream: bool,
               notes: tuple[str, ...], part: bytes | None = None) -> None:  # fmt: skip
        """File the exchange (its usage, or the ``part`` of its body that holds it) and settle the
        ticket's reservation; decoded and priced now only under a cost limit."""
        if part is not None and len(part) > _KEPT_PART_BYTES:  # much follows the usage: read it now
            usage, problems = decode_usage_part(part)
            part, notes = None, notes + problems
        done = _Done(ticket, status, usage, stream, notes, part)
        if self.limit is not None:
            self._price(done)
        with self.lock:
            if ticket.reserved and ticket.worst is not None:
                self._reserved -= ticket.worst
            if done.charged is not None:
                self._spent += done.charged
            self._done.append(done)
            size = len(ticket.content)
            self._sizes.append(size)
            self._kept_bytes += size
            if self.keep is not None and (len(self._sizes) > self.keep or self._kept_bytes > KEPT_BODY_BYTES):
                self._forget()

    def _price(self, done: _Done) -> None:
        if done.part is not None:
            done.usage, problems = decode_usage_part(done.part)
            done.part, done.notes = None, done.notes + problems
        ok, ticket = 200 <= done.status < 300, done.ticket
        if done.usage is not None and ok:
            try:
                done.cost = usage_usd(ticket.model, done.usage, as_of=self.as_of)
            except (TokenomyError, TypeError) as exc:
                done.notes += (f"usage not priced: {exc}",)
        if ok and done.usage is None:
            done.notes += ("no usage in the response" + (
                "; its worst case stays in the running cost" if ticket.worst else ""),)  # fmt: skip
        kept = ticket.worst if ok and ticket.worst else Decimal(0)  # no usage: the worst case stays
        done.charged = done.cost if done.cost is not None else kept

    def _settle(self) -> None:
        """Price and build the entries filed since the last read (the lock is held)."""
        while self._done:
            done = self._done.popleft()
            self._settle_one(done)
            self._entries.append(done.entry())

    def _settle_one(self, done: _Done) -> None:
        if done.charged is None:
            self._price(done)
            self._spent += done.charged or 0

    def _forget(self) -> None:
        """Sum the oldest exchanges into the earlier totals until ``keep`` are left, their bodies
        within ``KEPT_BODY_BYTES`` (the lock is held): a guard that lives long holds a bounded
        ledger."""
        assert self.keep is not None
        while self._sizes and (len(self._sizes) > self.keep or self._kept_bytes > KEPT_BODY_BYTES):
            self._kept_bytes -= self._sizes.popleft()
            if self._entries:
                entry = self._entries.popleft()
            else:
                done = self._done.popleft()
                self._settle_one(done)
                entry = done.entry(with_body=False)
            self._earlier = self._earlier + LedgerTotals.of((entry,))


def _figure(usage: Mapping[str, Any] | None, name: str) -> int | None:
    """A usage figure (``[usage_fields]`` of ``data/endpoints.toml``) under its first name present."""
    if usage is None:
        return None
    names: Sequence[str] = table("endpoints")["usage_fields"][name]
    for dotted in names:
        value: Any = usage
        for key in dotted.split("."):
            value = get(value, key) if value is not None else None
        if value is not None:
            return value if isinstance(value, int) and not isinstance(value, bool) else None
    return None
