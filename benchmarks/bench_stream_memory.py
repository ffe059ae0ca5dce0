"""count_stream on a generated file far larger than memory budgets: peak RSS stays bounded.

Size from TOKENOMY_BENCH_STREAM_MB (default 1024). The count runs in a fresh subprocess so its
peak RSS (ru_maxrss) is its own; the figure goes to benchmarks/README.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SIZE_MB = int(os.environ.get("TOKENOMY_BENCH_STREAM_MB", "1024"))
CHILD = """
import json, resource, sys, time
import tokenomy
tok = tokenomy.encoding_for("o200k_base")
start = time.perf_counter()
with open(sys.argv[1], encoding="utf-8") as handle:
    tokens = tok.count_stream(handle)
seconds = time.perf_counter() - start
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"tokens": tokens, "seconds": seconds, "peak_rss_mb": peak_mb}))
"""


def test_count_stream_memory(tmp_path: Path, corpus: str) -> None:
    block = (corpus[:4_000_000] + "\n").encode("utf-8")
    path = tmp_path / "big.txt"
    with path.open("wb") as out:
        written = 0
        while written < SIZE_MB << 20:
            out.write(block)
            written += len(block)
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True
    )
    figures = json.loads(result.stdout)
    figures["file_mb"] = round(written / (1 << 20))
    print(f"\ncount_stream: {figures}")
    assert figures["peak_rss_mb"] <= 150, figures  # issue 13: one vocabulary, bounded blocks
    if SIZE_MB <= 64:
        pytest.skip("small run: exactness is covered by tests/test_truncation.py")
