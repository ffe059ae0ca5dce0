"""tokenomy.ledger: totals, drift, records and renderings of what a guard recorded."""

from __future__ import annotations

import json
from decimal import Decimal

from tokenomy.ledger import Ledger, LedgerEntry, LedgerTotals

CHAT = "/v1/chat/completions"


def entries() -> tuple[LedgerEntry, ...]:
    usage = {"prompt_tokens": 12, "completion_tokens": 5}
    return (
        LedgerEntry("gpt-4o", CHAT, 200, 10, True, 12, 2, 5, 1, Decimal("0.001"), body={"model": "gpt-4o"}, usage=usage),
        LedgerEntry("gpt-4o", CHAT, 400, 10, True),
        LedgerEntry("gpt-4o", CHAT, 200, 7, False, stream=True, notes=("no usage",)),
        LedgerEntry("text-embedding-3-small", "/v1/embeddings", 200, 4, True, 4, None, None, None,
                    Decimal("0.0000001"), usage={"prompt_tokens": 4, "total_tokens": 4}),
    )


def test_totals_cover_billed_entries() -> None:
    """Token sums and drift count entries with a usage; the request count counts them all."""
    totals = Ledger(entries()).totals
    assert (totals.requests, totals.billed_requests) == (4, 2)
    assert (totals.predicted_tokens, totals.prompt_tokens, totals.drift) == (14, 16, 2)
    assert (totals.cached_tokens, totals.output_tokens, totals.reasoning_tokens) == (2, 5, 1)
    assert totals.cost == Decimal("0.0010001")


def test_records_and_renderings() -> None:
    """records are (endpoint, body, usage) of billed entries; to_dict is JSON; tables show each entry."""
    ledger = Ledger(entries())
    assert [r.endpoint for r in ledger.records] == [CHAT, "/v1/embeddings"]
    assert ledger.records[0] == (CHAT, {"model": "gpt-4o"}, {"prompt_tokens": 12, "completion_tokens": 5})
    data = json.loads(json.dumps(ledger.to_dict()))
    assert data["entries"][0]["drift"] == 2 and data["entries"][1]["drift"] is None
    assert data["totals"]["cost"] == "0.0010001"
    text = str(ledger)
    assert "7 ~" in text and "+2" in text and "4 requests" in text
    assert ledger._repr_html_().count("<tr>") == 6
    assert len(ledger) == 4 and list(ledger) == list(entries())
    assert str(Ledger()).splitlines()[-1].split()[:3] == ["total", "0", "requests"]


def test_earlier_entries_count_in_the_totals() -> None:
    """A ledger that keeps only its latest entries still totals every one, and shows the earlier ones."""
    every = entries()
    kept = Ledger(every[2:], earlier=LedgerTotals.of(every[:2]))
    assert kept.totals == Ledger(every).totals and len(kept) == 2
    assert str(kept).splitlines()[1].split()[:3] == ["earlier", "2", "requests"]
    assert kept.to_dict()["earlier"]["requests"] == 2 and kept.to_dict()["totals"]["requests"] == 4
    assert LedgerTotals.of(()) + LedgerTotals.of(every) == LedgerTotals.of(every)
