"""analyze: Batch and fine-tuning JSONL, format problems by line, exact merging, reports."""

from __future__ import annotations

import gzip
import itertools
import json
import random
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenomy import analyze, count_messages, count_request, default_epochs, estimate_cost, fine_tuning_cost
from tokenomy.datasets import DatasetStats, collect, report_from_stats
from tokenomy.datasets.lines import Records
from tokenomy.datasets.records import count_task
from tokenomy.datasets.run import finish_file, make_spec
from tokenomy.datasets.stats import FileTally
from tokenomy.errors import TokenomyError
from tokenomy.report import money

DAY = date(2025, 3, 1)


def _batch_lines(n: int = 40) -> list[str]:
    rng = random.Random(1)
    lines = []
    for i in range(n):
        model = ["gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06", "gpt-3.5-turbo-0125"][i % 3]
        content = " ".join(
            rng.choice(["alpha", "beta", "gamma", "δέλτα", "<|endoftext|>"]) for _ in range(i * 3 + 1)
        )
        body = {"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": content}]}
        lines.append(
            json.dumps(
                {"custom_id": f"req-{i}", "method": "POST", "url": "/v1/chat/completions", "body": body}
            )
        )
    huge = {
        "model": "gpt-3.5-turbo-0125",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "word " * 17000}],
    }
    lines.insert(
        5,
        json.dumps({"custom_id": "too-long", "method": "POST", "url": "/v1/chat/completions", "body": huge}),
    )
    lines.insert(7, "{not json")
    lines.insert(9, json.dumps({"custom_id": "x", "method": "POST", "url": "/v1/chat/completions"}))
    return lines


def test_batch_file_end_to_end(tmp_path: Path) -> None:
    """Totals equal count_messages per line; problems are reported by line; cost is at batch rate."""
    lines = _batch_lines()
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = analyze(path, kind="batch", as_of=DAY)
    expected: dict[str, int] = {}
    for line in lines:
        try:
            record = json.loads(line)
            body = record["body"]
        except (json.JSONDecodeError, KeyError):
            continue
        expected[body["model"]] = (
            expected.get(body["model"], 0) + count_messages(body["messages"], body["model"], as_of=DAY).tokens
        )
    assert {m.model: m.prompt_tokens for m in report.models} == expected
    assert report.records == 41 and report.stats.problem_count == 4
    # line numbers, 1-based; three models in one Batch file: each one after the first is a problem
    assert [p[:2] for p in report.stats.problems] == [(2, "mixed_models"), (3, "mixed_models"), (8, "invalid_json"),
                                                      (10, "missing_key")]
    assert report.stats.over_limit_count == 1 and report.stats.over_limit[0][1] == "too-long"
    mini = next(m for m in report.models if m.model == "gpt-4o-mini-2024-07-18")
    assert mini.cost is not None
    assert (
        mini.cost.usd
        == estimate_cost(
            mini.model, mini.prompt_tokens, output_tokens=mini.output_tokens_bound, batch=True, as_of=DAY
        ).usd
    )
    assert mini.output_tokens_bound == 50 * mini.records
    dist = report.distribution()
    assert dist["min"] <= dist["p50"] <= dist["p95"] <= dist["max"]
    assert "gpt-4o-mini-2024-07-18" in str(report) and "<table>" in report._repr_html_()
    json.dumps(report.to_dict())


def test_parallel_and_gzip_give_the_same_report(tmp_path: Path) -> None:
    """The multi-process path and a .gz file give byte-identical JSON reports."""
    lines = _batch_lines(300)
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    gz = tmp_path / "batch.jsonl.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    serial = analyze(path, kind="batch", as_of=DAY, parallel=False).to_dict()
    parallel = analyze(path, kind="batch", as_of=DAY, parallel=True).to_dict()
    zipped = analyze(gz, kind="batch", as_of=DAY).to_dict()
    assert (
        json.dumps(serial, sort_keys=True)
        == json.dumps(parallel, sort_keys=True)
        == json.dumps(zipped, sort_keys=True)
    )


def test_fine_tuning_file(tmp_path: Path) -> None:
    """Format checks name the problem; billed tokens times default epochs at the training rate."""
    good = {
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello."},
        ]
    }
    records = [good] * 20 + [
        {"messages": [{"role": "user", "content": "no answer"}]},
        {"messages": [{"role": "wizard", "content": "x"}, {"role": "assistant", "content": "y"}]},
        {"messages": [{"role": "user", "content": "x", "extra": 1}, {"role": "assistant", "content": "y"}]},
        {"prompt": "legacy"},
        ["not", "an", "object"],
    ]
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    report = analyze(path, kind="fine-tune", model="gpt-4o-mini-2024-07-18", as_of=DAY)
    assert dict(report.stats.checks) == {
        "example_missing_assistant_message": 1,
        "unrecognized_role": 1,
        "message_unrecognized_key": 1,
        "missing_messages_list": 1,
        "data_type": 1,
    }
    per_example = count_messages(good["messages"], "gpt-4o-mini-2024-07-18", as_of=DAY).tokens
    assert report.records == 20 and report.epochs == default_epochs(20) == 5
    expected = fine_tuning_cost("gpt-4o-mini-2024-07-18", 20 * per_example, epochs=5, as_of=DAY)
    assert report.total_usd == expected.usd


def test_text_and_chat_records() -> None:
    """Plain records work too: strings, {'text': ...} and chat requests."""
    text = analyze(["hello world", {"text": "tiktoken is great!"}], kind="text", model="gpt-4o", as_of=DAY)
    assert text.total_tokens == 2 + 6
    chat = analyze(
        [{"model": "gpt-4o-2024-08-06", "messages": [{"role": "user", "content": "hi"}]}],
        kind="chat",
        as_of=DAY,
    )
    assert (
        chat.total_tokens
        == count_messages([{"role": "user", "content": "hi"}], "gpt-4o-2024-08-06", as_of=DAY).tokens
    )


LINES = _batch_lines()


@given(cuts=st.lists(st.integers(0, len(LINES)), max_size=6), seed=st.integers(0, 1000))
@settings(max_examples=40, deadline=None)
def test_any_partition_and_merge_order_gives_the_same_report(cuts: list[int], seed: int) -> None:
    """Merging partials of any partitioning, in any order, equals a single pass exactly."""
    whole = collect(LINES, "batch", as_of=DAY, parallel=False)
    bounds = sorted({0, len(LINES), *cuts})
    spec = make_spec("batch", as_of=DAY)
    file = FileTally(*spec.limits)
    parts = []
    for a, b in itertools.pairwise(bounds):
        stats, tally = count_task(spec, Records(LINES[a:b]))
        parts.append(stats.shift_lines(file.add(tally)))
    random.Random(seed).shuffle(parts)
    merged = DatasetStats()
    for part in parts:
        merged = part.merge(merged) if seed % 2 else merged.merge(part)
    merged = finish_file(merged, file, spec)
    assert json.dumps(merged.to_dict(), sort_keys=True) == json.dumps(whole.to_dict(), sort_keys=True)
    report = report_from_stats(merged, "batch", as_of=DAY)
    assert report.total_usd == report_from_stats(whole, "batch", as_of=DAY).total_usd


def test_plot_is_sized_to_the_data() -> None:
    """plot() draws one histogram per model with labelled axes; a context window far beyond the
    data is not drawn (it would squash the data at 0); counts spread over orders of magnitude
    get a log axis."""
    matplotlib = pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    matplotlib.use("Agg")
    texts = ["hello world", "a longer line of text here"] * 3
    report = analyze([{"text": t, "model": m} for t in texts for m in ("gpt-4o", "gpt-4")], kind="text", as_of=DAY)
    ax = report.plot()
    assert ax.get_xlabel() == "input tokens per record" and ax.get_ylabel() == "records"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("gpt-4o" in label for label in labels) and any(label.startswith("gpt-4 ") for label in labels)
    assert not any("window" in label for label in labels) and ax.get_xscale() == "linear"
    assert ax.get_xlim()[1] < 100
    spread = analyze(["hi", "word " * 9000], kind="text", model="gpt-4", as_of=DAY)  # gpt-4: an 8,192 window
    ax = spread.plot()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert ax.get_xscale() == "log" and any("window (8,192)" in label for label in labels)


def test_text_files_json_and_plain_lines(tmp_path: Path) -> None:
    """A text-kind file may hold JSON lines ("..." or {"text": ...}) or plain text lines."""
    path = tmp_path / "texts.jsonl"
    path.write_text('"hello world"\n{"text": "tiktoken is great!"}\nplain line here\n', encoding="utf-8")
    report = analyze(path, kind="text", model="gpt-4o", as_of=DAY)
    assert report.records == 3 and report.total_tokens == 2 + 6 + 3


def test_partition_stats_count_every_line() -> None:
    """A single pass over the generated lines counts every well-formed record."""
    whole = collect(LINES, "batch", as_of=DAY, parallel=False)
    assert whole.records == len(LINES) - 2 and whole.problem_count - whole.checks["mixed_models"] == 2


def test_progress_bar_on_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """progress=True draws a tqdm bar on stderr for file input (the progress extra)."""
    pytest.importorskip("tqdm", reason="the progress extra is not installed")
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(_batch_lines(20)) + "\n", encoding="utf-8")
    report = analyze(path, kind="batch", as_of=DAY, progress=True, parallel=False)
    assert report.records == 21 and "tokenomy analyze" in capsys.readouterr().err


WHAT_IF_MODELS = ["gpt-4o", "gpt-4o-mini", "gpt-4", "gpt-5-mini", "gpt-3.5-turbo-0125"]


def _varied_lines() -> list[dict[str, object]]:
    """Plain chats, a tool definition, a named message, an image: every kind of framing."""
    rng = random.Random(3)
    tool = {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}  # fmt: skip
    lines = []
    for i in range(60):
        messages: list[dict[str, object]] = [{"role": rng.choice(["user", "system"]), "content": f"Question {i}?"}]
        body: dict[str, object] = {"model": "gpt-4o-mini", "max_tokens": 20 + i, "messages": messages}
        if i % 5 == 1:
            body["tools"] = [tool]
        if i % 7 == 2:
            messages.append({"role": "user", "name": "ann", "content": "and you?"})
        if i % 11 == 3:
            messages.append({"role": "user", "content": [{"type": "text", "text": "see"}, {"type": "image_url",
                             "image_url": {"url": "https://example.com/cat.png", "detail": "low"}}]})  # fmt: skip
        lines.append({"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions", "body": body})
    return lines


def test_what_if_equals_per_model_recounts(tmp_path: Path) -> None:
    """what_if re-counts each line with each model's own tokenizer and framing: its totals equal
    count_request on every body with the model replaced, and analyze(model=...) of the file."""
    lines = _varied_lines()
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    report = analyze(path, as_of=DAY)
    what_if = report.what_if(WHAT_IF_MODELS)
    refused = 0
    for row in what_if.rows:
        expected = []
        for x in lines:
            try:
                expected.append(count_request({**x["body"], "model": row.model}, as_of=DAY))  # type: ignore[dict-item]
            except TokenomyError:  # images on a model without vision: a problem for that model only
                refused += 1
        assert row.records == len(expected) and row.input_tokens == sum(c.tokens for c in expected), row.model
        assert row.output_tokens == sum(c.max_output_tokens or 0 for c in expected)
        alone = analyze(path, model=row.model, as_of=DAY)
        assert alone.total_tokens == row.input_tokens
        assert row.cost is not None and row.cost.usd == estimate_cost(
            row.model, row.input_tokens, output_tokens=row.output_tokens, batch=True, as_of=DAY).usd  # fmt: skip
    assert what_if.problems == refused > 0
    totals = {r.model: r.input_tokens for r in what_if.rows}
    assert totals["gpt-4"] != totals["gpt-4o"]  # cl100k and o200k differ: counts, not a price ratio
    cached = report.what_if("gpt-4o, gpt-4o-mini", batch=False, cached_share=0.5, output_tokens=10)
    for row in cached.rows:
        assert row.output_tokens == 600 and row.cached_input_tokens == row.input_tokens // 2
        assert row.cost is not None and row.cost.usd == estimate_cost(
            row.model, row.input_tokens, output_tokens=600, cached_input_tokens=row.input_tokens // 2,
            as_of=DAY).usd  # fmt: skip
    assert "gpt-4o-mini" in str(cached) and "<table>" in cached._repr_html_()
    json.dumps(cached.to_dict())


def test_the_report_reads_well(tmp_path: Path) -> None:
    """One HTML view: summary, per-model costs in $ with the batch rate marked, the first problems by
    line, the notes; the text form says the same without internals; repr is one line."""
    lines = [json.dumps(x) for x in _varied_lines()]
    lines.insert(4, "{oops")
    lines.insert(9, json.dumps({"custom_id": "r1", "method": "GET", "url": "/v1/chat/completions",
                                "body": {"model": "gpt-4o-mini", "messages": []}}))  # fmt: skip
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    report = analyze(path, as_of=DAY)
    html = report._repr_html_()
    for part in ("batch dataset", "input cost", "output cost", "batch (50% off)", "line 5", "invalid_json",
                 "line 10", "duplicate_custom_id", "upper bound", "<li>"):  # fmt: skip
        assert part in html, part
    assert "$" in html and "Decimal" not in html
    text = str(report)
    assert "line 5" in text and "upper bound" in text and "$" in text and "Counter" not in text
    assert "histogram" not in text and len(text.splitlines()) < 60
    assert repr(report).startswith("<DatasetReport batch: 61 records") and "\n" not in repr(report)
    assert money(Decimal("0.09503895")) == "$0.0950" and money(Decimal("1234.5")) == "$1,234.50"
    json.dumps(report.to_dict())


def test_stats_round_trip_through_plain_data() -> None:
    """DatasetStats.from_dict(to_dict()) is the same partial (what Dask and worker processes send)."""
    stats = collect(LINES, "batch", as_of=DAY)
    again = DatasetStats.from_dict(json.loads(json.dumps(stats.to_dict())))
    assert again == stats and again.to_dict() == stats.to_dict()


def test_progress_only_when_asked_or_attached(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """progress=True draws a tqdm.auto bar; by default, with no terminal or notebook, nothing."""
    pytest.importorskip("tqdm", reason="the progress extra is not installed")
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(_batch_lines(20)) + "\n", encoding="utf-8")
    analyze(path, as_of=DAY)
    assert capsys.readouterr().err == ""
    analyze(path, as_of=DAY, progress=True)
    assert "tokenomy analyze" in capsys.readouterr().err


def test_cli_what_if(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`tokenomy analyze FILE --what-if a,b` prints the report and the table; --json holds both."""
    from tokenomy.cli import main

    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in _varied_lines()), encoding="utf-8")
    assert main(["analyze", str(path), "--as-of", "2025-06-01", "--what-if", "gpt-4o,gpt-4o-mini,gpt-5-mini"]) == 0
    out = capsys.readouterr().out
    assert "what if" in out and "gpt-5-mini" in out
    assert main(["analyze", str(path), "--as-of", "2025-06-01", "--what-if", "gpt-4o", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["what_if"]["models"][0]["model"] == "gpt-4o" and data["records"] == 60
    assert main(["analyze", str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_analyze_options_are_keywords() -> None:
    """kind and model are keywords; the old positional form gives the same report, warning."""
    records = ["hello world", {"text": "tiktoken is great!"}]
    with pytest.warns(DeprecationWarning, match="kind=..., model=... by keyword"):
        old = analyze(records, "text", "gpt-4o", as_of=DAY)  # type: ignore[call-overload]
    new = analyze(records, kind="text", model="gpt-4o", as_of=DAY)
    assert old.to_dict() == new.to_dict() and new.total_usd is not None
    assert new.to_dict()["models"] == [m.to_dict() for m in new.models]


def test_report_keeps_its_own_copy_of_the_records() -> None:
    """A list of records changed after analyze does not change what what_if counts."""
    records = ["hello world"]
    report = analyze(records, kind="text", model="gpt-4o", as_of=DAY)
    records.append("more words " * 100)
    assert report.what_if(["gpt-4o"]).rows[0].input_tokens == report.total_tokens


def test_the_batch_rate_is_worded_from_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Batch API's saving in the report, the what-if title and the note is the share of
    data/pricing.toml, not a figure in code."""
    from tokenomy._data import table

    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in _varied_lines()), encoding="utf-8")
    monkeypatch.setitem(table("pricing")["batch"], "discount", 0.4)
    report = analyze(path, as_of=DAY)
    what_if = report.what_if(["gpt-4o-mini"], batch=True)
    assert "batch (60% off)" in report._repr_html_() and "at the Batch API rate, 60% off" in str(what_if)
    assert any(note.startswith("priced at the Batch API rate: 60% off") for note in report.notes)
