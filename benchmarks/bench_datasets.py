"""analyze() on a generated 100,000-line Batch API file: one process, both cores, Dask, and a
plain loop of json.loads + tiktoken counts (the cookbook way) as the baseline."""

from __future__ import annotations

import json
import random
import warnings
from datetime import date
from pathlib import Path

import pytest
from tests.conftest import tiktoken_enc

import tokenomy

LINES = 100_000
DAY = date(2025, 3, 1)


@pytest.fixture(scope="module")
def batch_file(tmp_path_factory: pytest.TempPathFactory, corpus: str) -> Path:
    rng = random.Random(2)
    path = tmp_path_factory.mktemp("batch") / "batch.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for i in range(LINES):
            start = rng.randrange(len(corpus) - 2000)
            messages = [
                {"role": "system", "content": "You are a careful assistant that summarises text."},
                {"role": "user", "content": corpus[start : start + rng.randrange(100, 1500)]},
            ]
            body = {"model": "gpt-4o-mini-2024-07-18", "max_tokens": 200, "messages": messages}
            out.write(
                json.dumps(
                    {"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions", "body": body}
                )
                + "\n"
            )
    return path


@pytest.fixture(scope="module")
def expected_total(batch_file: Path) -> int:
    return _plain_loop(batch_file)


def _plain_loop(path: Path) -> int:
    encode = tiktoken_enc("o200k_base").encode_ordinary
    total = 0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            messages = json.loads(line)["body"]["messages"]
            total += 3 + sum(3 + len(encode(m["role"])) + len(encode(m["content"])) for m in messages)
    return total


@pytest.mark.parametrize(
    "kind", ["plain tiktoken loop", "analyze (one process)", "analyze (both cores)", "dask LocalCluster"]
)
def test_analyze_100k(benchmark, batch_file: Path, expected_total: int, kind: str) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = "analyze-100k-batch-lines"
    warnings.simplefilter("ignore", DeprecationWarning)
    if kind == "plain tiktoken loop":
        total = benchmark.pedantic(_plain_loop, args=(batch_file,), rounds=1, iterations=1)
    elif kind == "dask LocalCluster":
        pytest.importorskip("distributed")
        from tokenomy.dask import analyze as dask_analyze

        report = benchmark.pedantic(
            lambda: dask_analyze([str(batch_file)], as_of=DAY), rounds=1, iterations=1
        )
        total = report.total_tokens
    else:
        parallel = kind.endswith("cores)")
        report = benchmark.pedantic(
            lambda: tokenomy.analyze(batch_file, as_of=DAY, parallel=parallel), rounds=1, iterations=1
        )
        total = report.total_tokens
    assert total == expected_total  # every path gives the cookbook's exact total
    benchmark.extra_info["records_per_second"] = LINES / benchmark.stats.stats.mean
