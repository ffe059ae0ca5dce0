"""Coverage-guided fuzzing of the JSONL dataset reader (atheris). Run with `make fuzz`.

Invariant: counting any bytes as Batch, fine-tuning, chat or text lines either gives stats (bad
lines counted as problems) or raises a TokenomyError; records + problems = non-blank lines.
"""

from __future__ import annotations

import sys
import warnings
from datetime import date

import atheris

with atheris.instrument_imports():
    from tokenomy.datasets import JsonLine, _count_lines, _Spec
    from tokenomy.errors import TokenomyError

KINDS = ("batch", "fine-tune", "chat", "text")
DAY = date(2025, 3, 1)
warnings.simplefilter("ignore", DeprecationWarning)


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    kind = KINDS[fdp.ConsumeIntInRange(0, 3)]
    text = fdp.ConsumeUnicodeNoSurrogates(4096)
    lines = [(i + 1, JsonLine(line)) for i, line in enumerate(text.split("\n")) if line.strip()]
    try:
        stats = _count_lines(_Spec(kind, "gpt-4o-mini-2024-07-18", DAY), lines)
    except TokenomyError:
        return
    assert stats.records + stats.problem_count == len(lines)


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
