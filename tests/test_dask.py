"""tokenomy.dask on a real LocalCluster (2 worker processes) equals the single-machine report."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from tests.test_datasets import _batch_lines
from tokenomy import analyze

dask = pytest.importorskip("dask", reason="the dask extra is not installed")
pytest.importorskip("distributed", reason="the dask extra is not installed")

DAY = date(2025, 3, 1)


def test_dask_report_equals_single_machine(tmp_path: Path) -> None:
    """Same JSON, byte for byte: several models, malformed lines, over-limit records, many partitions."""
    from tokenomy.dask import analyze as dask_analyze

    lines = _batch_lines(400)
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(lines) + "\n\n" + "\n".join(lines[:50]) + "\n", encoding="utf-8")
    local = analyze(path, kind="batch", as_of=DAY, parallel=False).to_dict()
    distributed = dask_analyze([str(path)], kind="batch", as_of=DAY, blocksize=40_000).to_dict()
    assert json.dumps(distributed, sort_keys=True) == json.dumps(local, sort_keys=True)
    # 2 bad lines twice, 2 models besides the first, 48 custom_ids used again
    assert local["stats"]["problem_count"] == 54 and local["stats"]["over_limit_count"] == 2
    assert local["stats"]["checks"]["duplicate_custom_id"] == 48


def test_count_tokens_on_a_bag() -> None:
    """count_tokens gives a lazy bag of exact counts."""
    import dask.bag as db

    from tokenomy import count
    from tokenomy.dask import count_tokens

    texts = ["hello world", "<|endoftext|>", "tiktoken is great!"] * 5
    bag = db.from_sequence(texts, npartitions=3)
    assert count_tokens(bag, model="gpt-4o").compute(scheduler="sync") == [
        count(t, model="gpt-4o") for t in texts
    ]


def test_cli_engine_dask(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`tokenomy analyze --engine dask` prints the same JSON as the local engine."""
    from tokenomy.cli import main

    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(_batch_lines(30)) + "\n", encoding="utf-8")
    assert main(["analyze", str(path), "--json", "--as-of", "2025-03-01"]) == 0
    local = capsys.readouterr().out
    assert main(["analyze", str(path), "--json", "--as-of", "2025-03-01", "--engine", "dask"]) == 0
    assert capsys.readouterr().out == local


def test_dataframe_tables_and_series() -> None:
    """A dask DataFrame of records gives the report of the same rows analysed locally, and
    count_tokens adds an exact column to a dask Series."""
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    from tokenomy import count
    from tokenomy.dask import analyze as dask_analyze
    from tokenomy.dask import count_tokens

    rows = [
        {"text": t, "model": "gpt-4o-2024-08-06"} for t in ["hello world", "<|endoftext|>", "x" * 500] * 7
    ]
    frame = dd.from_pandas(pd.DataFrame(rows), npartitions=3)
    local = analyze(rows, kind="text", as_of=DAY).to_dict()
    assert json.dumps(dask_analyze(frame, kind="text", as_of=DAY).to_dict(), sort_keys=True) == json.dumps(
        local, sort_keys=True
    )
    chats = [{"model": "gpt-4o-mini-2024-07-18", "messages": json.dumps([{"role": "user", "content": f"hi {i}"}])}
             for i in range(9)]  # fmt: skip
    chat_report = dask_analyze(dd.from_pandas(pd.DataFrame(chats), npartitions=2), kind="chat", as_of=DAY)
    assert chat_report.records == 9 and chat_report.stats.problem_count == 0
    series = dd.from_pandas(pd.Series([r["text"] for r in rows], name="text"), npartitions=2)
    assert count_tokens(series, model="gpt-4o").compute().tolist() == [
        count(r["text"], model="gpt-4o") for r in rows
    ]
