"""reconcile() on a generated 100,000-line Batch job (input and output files in the API's format),
beside analyze() of the same input file as the baseline: one process, both cores, and a fresh
process whose peak RSS during the reconcile alone is the figure for bounded memory (Linux).

Size from TOKENOMY_BENCH_RECONCILE_LINES (default 100000). Every output line bills the cookbook
count of its request, so the run also checks that all of them reconcile exactly.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import warnings
from datetime import date
from pathlib import Path

import pytest
from tests.conftest import tiktoken_enc

import tokenomy

LINES = int(os.environ.get("TOKENOMY_BENCH_RECONCILE_LINES", "100000"))
DAY = date(2025, 6, 2)
CHILD = """
import json, sys, time
import tokenomy

def rss(field):
    line = next(l for l in open("/proc/self/status") if l.startswith(field))
    return int(line.split()[1]) / 1024

tokenomy.count_request({"model": "gpt-4o-mini-2024-07-18", "messages": [{"role": "user", "content": "hi"}]})
loaded_mb = rss("VmHWM")  # loading the vocabulary peaks higher than what stays resident
open("/proc/self/clear_refs", "w").write("5")  # Linux: reset the peak, so what follows is measured alone
base_mb = rss("VmRSS")
start = time.perf_counter()
result = tokenomy.reconcile(sys.argv[1], sys.argv[2], as_of="2025-06-02")
seconds = time.perf_counter() - start
print(json.dumps({"requests": len(result.requests), "equal": result.accuracy().equal, "seconds": seconds,
                  "peak_rss_mb": rss("VmHWM"), "rss_before_mb": base_mb, "vocabulary_load_peak_mb": loaded_mb}))
"""


@pytest.fixture(scope="module")
def batch_job(tmp_path_factory: pytest.TempPathFactory, corpus: str) -> tuple[Path, Path]:
    rng = random.Random(2)
    encode = tiktoken_enc("o200k_base").encode_ordinary
    folder = tmp_path_factory.mktemp("reconcile")
    inputs, outputs = folder / "input.jsonl", folder / "output.jsonl"
    with inputs.open("w", encoding="utf-8") as fi, outputs.open("w", encoding="utf-8") as fo:
        for i in range(LINES):
            start = rng.randrange(len(corpus) - 2000)
            messages = [
                {"role": "system", "content": "You are a careful assistant that summarises text."},
                {"role": "user", "content": corpus[start : start + rng.randrange(100, 1500)]},
            ]
            body = {"model": "gpt-4o-mini-2024-07-18", "max_tokens": 200, "messages": messages}
            fi.write(json.dumps({"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions", "body": body}) + "\n")
            prompt = 3 + sum(3 + len(encode(m["role"])) + len(encode(m["content"])) for m in messages)
            output = rng.randrange(50, 200)
            usage = {"prompt_tokens": prompt, "completion_tokens": output, "total_tokens": prompt + output,
                     "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                     "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0}}
            reply = {"id": f"chatcmpl-{i}", "object": "chat.completion", "created": 1748865600,
                     "model": "gpt-4o-mini-2024-07-18", "usage": usage,
                     "choices": [{"index": 0, "finish_reason": "stop",
                                  "message": {"role": "assistant", "content": corpus[start : start + 4 * output]}}]}
            fo.write(json.dumps({"id": f"batch_req_{i}", "custom_id": f"r{i}", "error": None,
                                 "response": {"status_code": 200, "request_id": f"req_{i}", "body": reply}}) + "\n")
    tokenomy.reconcile(inputs, outputs, as_of=DAY, parallel=True)  # warm: vocabulary, caches, worker pool
    return inputs, outputs


@pytest.mark.parametrize(
    "kind", ["analyze the input (one process)", "reconcile (one process)", "reconcile (both cores)",
             "reconcile (fresh process, peak RSS)"],
)
def test_reconcile_100k(benchmark, batch_job: tuple[Path, Path], kind: str) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = "reconcile-100k-batch-lines"
    warnings.simplefilter("ignore", DeprecationWarning)
    inputs, outputs = batch_job
    if kind.startswith("analyze"):
        report = benchmark.pedantic(lambda: tokenomy.analyze(inputs, as_of=DAY, parallel=False), rounds=1, iterations=1)
        assert report.records == LINES
    elif kind.startswith("reconcile (fresh"):
        run = lambda: subprocess.run([sys.executable, "-c", CHILD, str(inputs), str(outputs)],  # noqa: E731
                                     capture_output=True, text=True, check=True)
        figures = json.loads(benchmark.pedantic(run, rounds=1, iterations=1).stdout)
        print(f"\nreconcile, fresh process: {figures}")
        benchmark.extra_info.update(figures)
        assert figures["equal"] == figures["requests"] == LINES
        assert figures["peak_rss_mb"] - figures["rss_before_mb"] < 250, figures
    else:
        parallel = kind.endswith("cores)")
        result = benchmark.pedantic(lambda: tokenomy.reconcile(inputs, outputs, as_of=DAY, parallel=parallel),
                                    rounds=1, iterations=1)
        assert result.accuracy().equal == len(result.requests) == LINES  # every line billed as counted
        assert result.issues == ()
    benchmark.extra_info["lines_per_second"] = LINES / benchmark.stats.stats.mean
