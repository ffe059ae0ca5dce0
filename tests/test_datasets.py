"""analyze: Batch and fine-tuning JSONL, format problems by line, exact merging, reports."""

from __future__ import annotations

import gzip
import itertools
import json
import random
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenomy import analyze, count_messages, default_epochs, estimate_cost, fine_tuning_cost
from tokenomy.datasets import DatasetStats, collect, report_from_stats
from tokenomy.datasets.records import Records, count_task
from tokenomy.datasets.run import finish_file, make_spec
from tokenomy.datasets.stats import FileTally

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
        mini.cost.total
        == estimate_cost(
            mini.model, mini.prompt_tokens, mini.output_tokens_bound, batch=True, as_of=DAY
        ).total
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
    assert report.total_cost == expected.total


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
    assert report.total_cost == report_from_stats(whole, "batch", as_of=DAY).total_cost


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
