"""The worker pool: results in order, this process working too, a pool that cannot start or dies
falls back to counting here, and the pool stops without a traceback at exit or on SIGINT."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from tokenomy import _workers, analyze, tokenizer
from tokenomy.tokenizer import Tokenizer

DAY = date(2025, 6, 1)


@pytest.fixture
def no_pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A pool that cannot start, as in a sandbox without semaphores."""

    def refuse() -> None:
        raise OSError(38, "Function not implemented (no sem_open)")

    monkeypatch.setattr(_workers, "pool", refuse)
    yield
    _workers._unavailable = None


def test_free_cores_counts_other_work() -> None:
    """free_cores is between 0 and the cores this process may use, this process counted as busy."""
    assert 0 <= _workers.free_cores() <= _workers.cores()


def _square(spec: int, task: int) -> int:
    return spec * task * task


def _die_in_a_worker(spec: int, task: int) -> int:
    if os.getpid() != spec and task == 3:
        os._exit(1)  # a worker killed (out of memory, say)
    return task


def test_results_come_in_order_with_the_pool() -> None:
    """map_ordered gives fn(spec, task) in task order, shared with worker processes."""
    assert list(_workers.map_ordered(_square, 2, range(40), use_pool=True)) == [2 * i * i for i in range(40)]


def test_a_pool_that_cannot_start_counts_here(no_pool: None) -> None:
    """No pool: every task is counted in this process, and the pool is not tried again."""
    assert list(_workers.map_ordered(_square, 1, range(10), use_pool=True)) == [i * i for i in range(10)]
    assert _workers._unavailable is not None and not _workers.worth_a_pool(1e9)


def test_a_worker_that_dies_is_replaced_by_this_process() -> None:
    """A broken pool (a worker gone) mid-way: its tasks are counted here, the result is complete."""
    try:
        got = list(_workers.map_ordered(_die_in_a_worker, os.getpid(), range(12), use_pool=True))
    finally:
        _workers._unavailable = None
    assert got == list(range(12))


def test_count_batch_without_a_pool(no_pool: None) -> None:
    """count_batch on the tiktoken backend, pool refused: the exact counts, from this process."""
    tok = Tokenizer("o200k_base", backend="tiktoken")
    texts = ["hello world, " * (i % 50 + 1) for i in range(3200)]
    assert sum(map(len, texts)) > 1_000_000
    assert tok.count_batch(texts) == [tok.count(t) for t in texts]
    assert tok.count_parallel("".join(texts)) == tok.count("".join(texts))


def test_analyze_without_a_pool(no_pool: None, tmp_path: Path) -> None:
    """analyze(parallel=True) with no pool gives the serial report."""
    lines = [json.dumps({"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
                         "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"hi {i}"}]}})
             for i in range(300)]  # fmt: skip
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    assert analyze(path, as_of=DAY, parallel=True).to_dict() == analyze(path, as_of=DAY, parallel=False).to_dict()


def test_the_decision_is_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    """Work left under the pool's start-up cost stays here, and so does work on a machine whose
    other core is busy; one core never starts a pool."""
    monkeypatch.setattr(_workers, "cores", lambda: 2)
    monkeypatch.setattr(_workers, "free_cores", lambda: 2.0)
    monkeypatch.setattr(_workers, "_unavailable", None)
    monkeypatch.setattr(_workers, "_start_method", lambda: "forkserver")
    monkeypatch.setattr(_workers, "_pool", None)
    assert not _workers.worth_a_pool(0.5) and _workers.worth_a_pool(5.0)
    monkeypatch.setattr(_workers, "free_cores", lambda: 1.0)  # another process on the other core
    assert not _workers.worth_a_pool(5.0)
    monkeypatch.setattr(_workers, "cores", lambda: 1)
    assert not _workers.worth_a_pool(1e9)


_SCRIPT = """
import json, os, signal, sys, threading, time
sys.path[:0] = {paths!r}
if {thread!r}:  # a notebook kernel has threads: the pool then uses a fork server
    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
import tokenomy
from tokenomy import _workers
from tokenomy.datasets import run
run._RANGE_BYTES = 4096  # many tasks, so that workers take some
path = {path!r}
report = tokenomy.analyze(path, as_of="2025-06-01", parallel=True)
print(report.records, _workers._pool is not None, flush=True)
if {interrupt!r}:  # what a kernel shutdown does: SIGINT to the whole process group
    try:
        os.killpg(os.getpgid(0), signal.SIGINT)
        time.sleep(1)
    except KeyboardInterrupt:
        pass
"""


@pytest.mark.parametrize("thread", [False, True], ids=["fork", "forkserver"])
@pytest.mark.parametrize("interrupt", [False, True], ids=["exit", "sigint"])
def test_the_pool_stops_without_a_traceback(tmp_path: Path, thread: bool, interrupt: bool) -> None:
    """A process that used the pool exits cleanly, also after SIGINT reached its workers."""
    lines = [json.dumps({"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
                         "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"hi {i}"}]}})
             for i in range(2000)]  # fmt: skip
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    script = _SCRIPT.format(paths=sys.path, thread=thread, path=str(path), interrupt=interrupt)
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                          timeout=120, start_new_session=True)  # fmt: skip
    assert done.stdout.strip() == "2000 True"
    assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr, done.stderr
    assert done.returncode == 0


_made: list[str] = []


def _length_counter(argument: str) -> Callable[[str], int]:
    _made.append(argument)
    return len


def test_a_recipe_builds_its_counter_once_per_process() -> None:
    """A worker builds the counter a recipe names once, then reuses it for every task."""
    recipe = (_length_counter, "once")
    assert _workers._count_texts(recipe, ["a", "bb"]) == [1, 2]
    assert _workers._count_one(recipe, "ccc") == 3
    assert _made.count("once") == 1


def test_the_tokenizer_recipe_travels_by_reference() -> None:
    """The recipe count_batch sends to workers pickles as a name (any start method can rebuild it),
    and the counter it builds counts as tiktoken does."""
    recipe = (tokenizer._tiktoken_counter, "o200k_base")
    assert pickle.loads(pickle.dumps(recipe)) == recipe
    assert len(pickle.dumps(recipe)) < 200
    assert _workers._count_texts(recipe, ["hello world", ""]) == [2, 0]


def test_count_texts_parallel_with_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the pool in use, the counts of a tiktoken batch come back complete and in order."""
    monkeypatch.setattr(_workers, "worth_a_pool", lambda seconds: True)
    tok = Tokenizer("o200k_base", backend="tiktoken")
    texts = [f"text number {i}, " * (i % 7 + 1) for i in range(400)]
    got = _workers.count_texts_parallel((tokenizer._tiktoken_counter, tok.name), texts, tok.count)
    assert got == [tok.count(t) for t in texts]
