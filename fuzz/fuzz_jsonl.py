"""Coverage-guided fuzzing of the JSONL dataset reader (atheris). Run with `make fuzz`.

Invariant: counting any bytes as Batch, fine-tuning, chat or text lines never raises: every
non-blank line is counted or has a problem (records <= lines <= records + problems).
"""

from __future__ import annotations

import sys
import warnings
from datetime import date

import atheris

with atheris.instrument_imports():
    from tokenomy.datasets.lines import StreamLines
    from tokenomy.datasets.records import count_task
    from tokenomy.datasets.run import make_spec

KINDS = ("batch", "fine-tune", "chat", "text")
DAY = date(2025, 3, 1)
warnings.simplefilter("ignore", DeprecationWarning)


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    kind = KINDS[fdp.ConsumeIntInRange(0, 3)]
    data = fdp.ConsumeBytes(4096)
    lines, offset = [], 0
    for line in data.split(b"\n"):
        lines.append((offset, line))
        offset += len(line) + 1
    stats, tally = count_task(make_spec(kind, "gpt-4o-mini-2024-07-18", as_of=DAY), StreamLines(lines))
    assert stats.records <= tally.requests <= stats.records + stats.problem_count


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
