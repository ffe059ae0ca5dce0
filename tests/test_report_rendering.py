"""Rendered results: the text (``str``) and HTML (``_repr_html_``) of DatasetReport, Reconciliation,
Ledger and RequestCount, built from small real inputs whose ids and model names hold markup.

The HTML must parse with balanced tags, open no tag the renderer does not write itself, show the
user's text as text (escaped), and show the figures ``to_dict()`` gives; ``repr()`` is one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest

from tokenomy import analyze, count_request, reconcile
from tokenomy.report import money

SCRIPT = '<script>alert("x")</script>'
IMG = "<img src=x onerror=alert(1)>"
BOOM = "<b>boom</b>"
NEWLINE_ID = "req-1\nline 9  forged-row"
CHAT = "/v1/chat/completions"
# every tag the renderers write (report.py): anything else in the HTML came from user text
RENDERED_TAGS = {"div", "style", "table", "caption", "thead", "tbody", "tr", "th", "td", "p", "b", "ul", "li"}
VOID = {"br", "hr", "img", "meta", "input", "link", "col", "wbr", "area", "base", "embed", "source", "track"}


class Page(HTMLParser):
    """An HTML fragment parsed strictly: every end tag closes the tag open last."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.tags: list[str] = []
        self.texts: list[str] = []
        self.errors: list[str] = []
        self.feed(markup)
        self.close()
        if self.open:
            self.errors.append(f"never closed: {self.open}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1] if self.open else 'nothing'}")
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    @property
    def text(self) -> str:
        """The text a reader sees: entities decoded, tags gone."""
        return "".join(self.texts)


def check_html(markup: str, *shown: str) -> Page:
    """Parse ``markup``; it must be well formed, open only the renderer's tags and show ``shown``."""
    page = Page(markup)
    assert page.errors == []
    assert set(page.tags) <= RENDERED_TAGS, sorted(set(page.tags) - RENDERED_TAGS)
    for text in shown:
        assert text in page.text, text
    return page


def tokens(n: int) -> str:
    return f"{n:,}"


# ---- DatasetReport -----------------------------------------------------------------------------------


def batch_line(custom_id: str, model: str, content: str, **body: Any) -> dict[str, Any]:
    return {"custom_id": custom_id, "method": "POST", "url": CHAT,
            "body": {"model": model, "messages": [{"role": "user", "content": content}], **body}}  # fmt: skip


@pytest.fixture(scope="module")
def dataset() -> Any:
    """Four Batch lines: one over gpt-4-0613's window (its custom_id a script tag), one plain, the
    first id used again, and one whose model is an img tag."""
    lines = [
        batch_line(SCRIPT, "gpt-4-0613", "Hello", max_tokens=9000),
        batch_line("plain", "gpt-4-0613", "Hi there"),
        batch_line(SCRIPT, "gpt-4-0613", "again"),
        batch_line("other", IMG, "x"),
    ]
    return analyze(lines, kind="batch", as_of=date(2024, 6, 1))


def dataset_figures(report: Any) -> list[str]:
    data = report.to_dict()
    shown = [tokens(data["records"]), tokens(data["total_tokens"]), tokens(data["stats"]["problem_count"]),
             money(Decimal(data["total_cost"]))]  # fmt: skip
    for row in data["models"]:
        shown += [row["model"], tokens(row["records"]), tokens(row["prompt_tokens"]),
                  tokens(row["output_tokens_bound"]), money(Decimal(row["cost"]["total"]))]  # fmt: skip
    return shown


def test_dataset_report_html_parses_escapes_and_shows_its_figures(dataset: Any) -> None:
    """The report's HTML is well formed, shows the script-tag custom_id and img-tag model as text,
    and shows the records, tokens, problems and costs of to_dict()."""
    assert dataset.stats.over_limit_count == 1 and dataset.stats.problem_count >= 2
    markup = dataset._repr_html_()
    check_html(markup, SCRIPT, IMG, *dataset_figures(dataset))
    assert "<script" not in markup and "<img" not in markup


def test_dataset_report_text_shows_its_figures(dataset: Any) -> None:
    """The text report shows the same figures, and the user's ids as written."""
    text = str(dataset)
    for shown in (*dataset_figures(dataset), SCRIPT, IMG):
        assert shown in text, shown


def test_dataset_report_repr_is_one_line(dataset: Any) -> None:
    """repr() is one line naming the kind, records and tokens."""
    line = repr(dataset)
    assert "\n" not in line and tokens(dataset.records) in line and tokens(dataset.total_tokens) in line


def test_dataset_report_text_keeps_a_newline_id_on_its_row() -> None:
    """A custom_id holding a newline stays on its row of the text report (it cannot forge a row)."""
    report = analyze([batch_line(NEWLINE_ID, "gpt-4-0613", "Hello", max_tokens=9000)], as_of=date(2024, 6, 1))
    over = str(report).split("\n\n")[-2]  # the over-the-window table, before the notes
    assert over.count("\n") == 1, over


def test_what_if_report_html_parses() -> None:
    """The what-if table is well formed and shows each model's input tokens."""
    report = analyze([batch_line("a", "gpt-4o-mini", SCRIPT)], as_of=date(2025, 6, 1))
    what_if = report.what_if(["gpt-4o", "gpt-4"])
    check_html(what_if._repr_html_(), *(tokens(r.input_tokens) for r in what_if.rows))
    assert "\n" not in repr(what_if)


# ---- Reconciliation ----------------------------------------------------------------------------------

MODEL = "gpt-4o-2024-08-06"


def result_line(custom_id: str, status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"custom_id": custom_id, "response": {"status_code": status, "body": body}}


@pytest.fixture(scope="module")
def reconciliation() -> Any:
    """Two joined requests, one with an img-tag model (uncountable), a result whose custom_id is a
    script tag (unmatched) and a failed one whose error message holds markup."""
    usage = {"prompt_tokens": 9, "completion_tokens": 3}
    requests = [batch_line("r1", MODEL, "Hi"), batch_line("r2", MODEL, "Hello there"),
                batch_line("r3", IMG, "Hi"), batch_line("r4", MODEL, "Hi")]  # fmt: skip
    results = [result_line("r1", 200, {"model": MODEL, "usage": usage}),
               result_line("r2", 200, {"model": MODEL, "usage": {"prompt_tokens": 10, "completion_tokens": 3}}),
               result_line("r3", 200, {"usage": usage}),
               result_line(SCRIPT, 200, {"usage": usage}),
               result_line("r4", 500, {"error": {"message": BOOM}})]  # fmt: skip
    return reconcile(requests, results, as_of="2025-06-01")


def reconciliation_figures(result: Any) -> list[str]:
    data = result.to_dict()
    shown = [tokens(data["summary"]["requests"]), tokens(data["predicted_tokens"]), tokens(data["prompt_tokens"]),
             tokens(data["output_tokens"])]  # fmt: skip
    for row in data["costs"]:
        shown += [row["model"], tokens(row["requests"]), tokens(row["prompt_tokens"])]
    for row in data["by_model"]:
        shown += [row["group"], tokens(row["requests"]), str(row["max_error"])]
    return shown


def test_reconciliation_html_parses_escapes_and_shows_its_figures(reconciliation: Any) -> None:
    """The reconciliation's HTML is well formed, shows ids, model names and error messages with
    markup as text, and shows the summary, per-model and cost figures of to_dict()."""
    assert {i.kind for i in reconciliation.issues} >= {"unmatched", "failed", "uncountable"}
    markup = reconciliation._repr_html_()
    check_html(markup, SCRIPT, IMG, BOOM, *reconciliation_figures(reconciliation))
    assert "<script" not in markup and "<img" not in markup and BOOM not in markup


def test_reconciliation_text_shows_its_figures(reconciliation: Any) -> None:
    """The text shows the same figures, and the user's ids and messages as written."""
    text = str(reconciliation)
    for shown in (*reconciliation_figures(reconciliation), SCRIPT, BOOM):
        assert shown in text, shown


def test_reconciliation_repr_is_one_line(reconciliation: Any) -> None:
    """repr() is one line, whatever the ids hold."""
    assert "\n" not in repr(reconciliation)


def test_reconciliation_shows_its_amounts(reconciliation: Any) -> None:
    """The billed and predicted USD of to_dict() appear as report.money writes them, as in the
    dataset report, so that two different small amounts never show as the same figure."""
    data = reconciliation.to_dict()
    page = check_html(reconciliation._repr_html_())
    for amount in (data["billed_usd"], data["estimated_usd"]):
        assert money(Decimal(amount)) in page.text and money(Decimal(amount)) in str(reconciliation)


def test_reconciliation_text_keeps_a_newline_id_on_its_row() -> None:
    """An unmatched result whose custom_id holds a newline stays on its row of the text."""
    result = reconcile([batch_line("a", MODEL, "Hi")],
                       [result_line(NEWLINE_ID, 200, {"usage": {"prompt_tokens": 9, "completion_tokens": 1}})],
                       as_of="2025-06-01")  # fmt: skip
    issues = str(result).split("\n\n")[-1].splitlines()
    rows = [line for line in issues if not line.startswith("note:")]
    assert len(rows) == 1 + len(result.issues), rows


def test_calibration_html_parses(reconciliation: Any) -> None:
    """A calibration's table is well formed; its repr is one line."""
    fitted = reconciliation.calibrate()
    check_html(fitted._repr_html_())
    assert "\n" not in repr(fitted)


# ---- Ledger (tokenomy.openai) ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ledger() -> Iterator[Any]:
    """A guard's ledger after two real requests to the local test server, plus an entry whose model
    is a script tag (the guard refuses unknown models before sending, so none reaches the wire)."""
    openai = pytest.importorskip("openai", reason="the openai extra is not installed")
    guard_module = pytest.importorskip("tokenomy.openai", reason="the openai extra is not installed")
    from tests.openai_server import APIServer

    with APIServer() as server:
        guard = guard_module.Guard(as_of=date(2025, 1, 1))
        client = guard.wrap(openai.OpenAI(api_key="sk-test", base_url=server.url, max_retries=0))
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": SCRIPT}])
        client.responses.create(model="gpt-4o", input="Say hello.")
        real = guard.ledger
    hostile = guard_module.LedgerEntry(SCRIPT, CHAT, 200, 12, False, prompt_tokens=13, cached_tokens=0,
                                       output_tokens=5, reasoning_tokens=0, cost=Decimal("0.0000263"))  # fmt: skip
    yield guard_module.Ledger((*real.entries, hostile))


def ledger_figures(ledger: Any) -> list[str]:
    data = ledger.to_dict()
    totals = data["totals"]
    shown = [tokens(totals["predicted_tokens"]), tokens(totals["prompt_tokens"]), tokens(totals["output_tokens"]),
             f"{totals['requests']} requests", f"${Decimal(totals['cost']).normalize():f}"]  # fmt: skip
    for entry in data["entries"]:
        shown += [entry["model"], entry["endpoint"], str(entry["status"]), tokens(entry["prompt_tokens"])]
    return shown


def test_ledger_html_parses_escapes_and_shows_its_figures(ledger: Any) -> None:
    """The ledger's HTML is well formed, shows a script-tag model as text, and shows each entry's
    and the totals' figures of to_dict()."""
    markup = ledger._repr_html_()
    check_html(markup, SCRIPT, *ledger_figures(ledger))
    assert "<script" not in markup


def test_ledger_text_shows_its_figures(ledger: Any) -> None:
    """The text ledger shows the same figures."""
    text = str(ledger)
    for shown in ledger_figures(ledger):
        assert shown in text, shown


def test_ledger_repr_is_one_line(ledger: Any) -> None:
    """repr() is one line (request bodies and usage are left out of it)."""
    line = repr(ledger)
    assert "\n" not in line and "messages" not in line


# ---- RequestCount ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def counted() -> Any:
    body = {"model": "gpt-4o", "messages": [{"role": "system", "content": SCRIPT}, {"role": "user", "content": "Hi"}]}
    return count_request(body, as_of=date(2025, 1, 1))


def test_request_count_text_is_one_line_with_its_figures(counted: Any) -> None:
    """str() and repr() of a RequestCount are one line holding its tokens, model and endpoint."""
    data = counted.to_dict()
    for line in (str(counted), repr(counted)):
        assert "\n" not in line
        for shown in (f"tokens={data['tokens']}", data["model"], data["endpoint"], data["snapshot"]):
            assert shown in line, shown


def test_request_count_html_parses_and_shows_its_figures(counted: Any) -> None:
    """A RequestCount renders as HTML with its tokens and per-message breakdown."""
    data = counted.to_dict()
    check_html(counted._repr_html_(), tokens(data["tokens"]), data["model"], *map(tokens, data["messages"]))
