"""analyze() on a generated 100,000-line Batch API file of short chats (one to three messages of
about 30 characters each, the shape of a chatbot corpus), side by side with the plain loops an
analyst would write: json.loads + the cookbook count with tiktoken, and with the fast backend.

``test_ratios`` runs every case interleaved, round after round on the same file, and prints the
median of each and its ratio to each loop (the shared machine's load moves between runs; it moves
all cases of one round alike). The parametrized cases give pytest-benchmark's own table.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from tests.conftest import tiktoken_enc

import tokenomy
from tokenomy import _workers, tokenizer
from tokenomy.datasets import batch, lines, records

LINES = 100_000
DAY = date(2025, 6, 1)
ROLES = (("user",), ("system", "user"), ("user", "assistant", "user"))


@pytest.fixture(scope="module")
def batch_file(tmp_path_factory: pytest.TempPathFactory, corpus: str) -> Path:
    rng = random.Random(2)
    path = tmp_path_factory.mktemp("batch") / "short-chats.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for i in range(LINES):
            messages = []
            for role in ROLES[rng.randrange(3)]:
                start = rng.randrange(len(corpus) - 100)
                messages.append({"role": role, "content": corpus[start : start + rng.randrange(20, 41)]})
            body = {"model": "gpt-4o-mini", "max_tokens": 100, "messages": messages}
            record = {"custom_id": f"chat-{i}", "method": "POST", "url": "/v1/chat/completions", "body": body}
            out.write(json.dumps(record) + "\n")
    return path


def cookbook_loop(path: Path, count: Callable[[str], int]) -> int:
    """What an analyst writes first: json.loads each line, then the cookbook's chat formula."""
    total = 0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            messages = json.loads(line)["body"]["messages"]
            total += 3 + sum(3 + count(m["role"]) + count(m["content"]) for m in messages)
    return total


@contextlib.contextmanager
def backend(name: str) -> Iterator[None]:
    """tokenomy on ``name`` ("tiktoken" or "fast") from the first count, worker pool included;
    "tiktoken" is tokenomy without the fast extra: json's scanner reads the lines, not orjson."""
    saved, saved_parse = os.environ.get("TOKENOMY_BACKEND"), batch.parse

    def reset() -> None:
        tokenizer._by_encoding.clear()
        tokenizer._clear_model_cache()
        records._counters.clear()
        _workers._close()  # workers fork again, with this backend and parser

    os.environ["TOKENOMY_BACKEND"] = name
    batch.parse = lines._scan if name == "tiktoken" else saved_parse
    reset()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("TOKENOMY_BACKEND", None)
        else:
            os.environ["TOKENOMY_BACKEND"] = saved
        batch.parse = saved_parse
        reset()


def _cases(path: Path) -> dict[str, Callable[[], int]]:
    encode = tiktoken_enc("o200k_base").encode_ordinary
    fast = tokenizer.encoding_for("o200k_base")._fast
    cases: dict[str, Callable[[], int]] = {
        "json + tiktoken loop": lambda: cookbook_loop(path, lambda text: len(encode(text))),
        "analyze, one process": lambda: tokenomy.analyze(path, as_of=DAY, parallel=False).total_tokens,
        "analyze, both cores": lambda: tokenomy.analyze(path, as_of=DAY).total_tokens,
    }
    if fast is not None:
        cases["json + fast-backend loop"] = lambda: cookbook_loop(path, fast.count)
    return cases


CASES = ["json + tiktoken loop", "json + fast-backend loop", "analyze, one process", "analyze, both cores",
         "analyze, one process, tiktoken backend", "analyze, both cores, tiktoken backend"]  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_analyze_100k_short_chats(benchmark, batch_file: Path, case: str) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = "analyze-100k-short-chats"
    on_tiktoken = case.endswith("tiktoken backend")
    with backend("tiktoken") if on_tiktoken else contextlib.nullcontext():
        cases = _cases(batch_file)
        run = cases.get(case.removesuffix(", tiktoken backend"))
        if run is None:
            pytest.skip("the fast extra is not installed")
        expected = cookbook_loop(batch_file, lambda text: len(tiktoken_enc("o200k_base").encode_ordinary(text)))
        total = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    assert total == expected  # every path gives the cookbook's exact total
    if benchmark.stats is not None:  # None under --benchmark-disable
        benchmark.extra_info["records_per_second"] = LINES / benchmark.stats.stats.median


def test_ratios(batch_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every case, interleaved, ROUNDS times: medians and the ratios the README records."""
    rounds = int(os.environ.get("TOKENOMY_BENCH_ROUNDS", "5"))
    times: dict[str, list[float]] = {}
    for _ in range(rounds):
        for on_tiktoken in (False, True):
            with backend("tiktoken") if on_tiktoken else contextlib.nullcontext():
                cases = _cases(batch_file)
                cases["analyze, one process"]()  # warm: vocabulary, framings, the pool's fork
                cases["analyze, both cores"]()
                for name, run in cases.items():
                    if on_tiktoken and "loop" in name:
                        continue
                    label = f"{name}, tiktoken backend" if on_tiktoken else name
                    started = time.perf_counter()
                    run()
                    times.setdefault(label, []).append(time.perf_counter() - started)
    median = {name: statistics.median(values) for name, values in times.items()}
    loops = [name for name in median if "loop" in name]
    with capsys.disabled():
        print(f"\n{'case':<42}{'median':>9}" + "".join(f"{'vs ' + loop.split(' + ')[1]:>24}" for loop in loops))
        for name in CASES:
            if name in median:
                ratios = "".join(f"{median[loop] / median[name]:>23.2f}x" for loop in loops)
                print(f"{name:<42}{median[name]:>8.3f}s{ratios}")
        print(f"load average {os.getloadavg()[0]:.2f}, {rounds} rounds, {_workers.cores()} cores")


def test_dask_100k_short_chats(benchmark, batch_file: Path) -> None:  # type: ignore[no-untyped-def]
    """The same file on a Dask LocalCluster (2 worker processes, its start-up included)."""
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    from tokenomy.dask import analyze as dask_analyze

    benchmark.group = "analyze-100k-short-chats"
    report = benchmark.pedantic(lambda: dask_analyze([str(batch_file)], as_of=DAY), rounds=1, iterations=1)
    assert report.to_dict() == tokenomy.analyze(batch_file, as_of=DAY).to_dict()
