"""Inputs for the benchmarks: real text from TOKENOMY_CORPUS_DIR when set, else generated text.

The default backend is measured in its steady state: with the fast extra, the fast backend serves
from the first call (TOKENOMY_BACKEND=fast), as it does in a process once the work repaid its build.

Every measurement shares a benchmark group with its baseline (raw tiktoken, or a peer) so that
ratios come from one process on one machine.
"""

from __future__ import annotations

import contextlib
import os
import random
from pathlib import Path

import pytest
from tests.conftest import tiktoken_enc  # noqa: F401  (primes tiktoken's cache from the folder)

CORPUS = os.environ.get("TOKENOMY_CORPUS_DIR")
os.environ.setdefault("TOKENOMY_BACKEND", "fast")


def _corpus() -> str:
    if CORPUS:
        parts = [
            (Path(CORPUS) / name).read_text("utf-8")
            for name in ("austen.txt", "pydocs.rst.txt", "stdlib_code.txt", "multilingual.txt")
        ]
        return "\n".join(parts)
    rng = random.Random(7)
    words = [
        "the",
        "of",
        "and",
        "to",
        "in",
        "a",
        "is",
        "that",
        "for",
        "it",
        "as",
        "was",
        "with",
        "be",
        "by",
        "on",
        "not",
        "he",
        "this",
        "are",
        "or",
    ]
    return " ".join(rng.choice(words) for _ in range(2_000_000))


@pytest.fixture(scope="session")
def corpus() -> str:
    return _corpus()


@pytest.fixture(scope="session")
def short_text() -> str:
    return "Hello, how are you?!"  # 20 characters


@pytest.fixture(scope="session")
def medium_text(corpus: str) -> str:
    return corpus[100_000:102_048]


@pytest.fixture(scope="session")
def long_text(corpus: str) -> str:
    return corpus[:1_000_000]


@pytest.fixture(scope="session")
def short_texts(corpus: str) -> list[str]:
    rng = random.Random(11)
    starts = [rng.randrange(len(corpus) - 400) for _ in range(10_000)]
    return [corpus[s : s + rng.randrange(20, 400)] for s in starts]


# Quality figures gathered by the chunking benchmarks, printed after the timing tables.
QUALITY: dict[str, dict[str, object]] = {}


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if not QUALITY:
        return
    terminalreporter.write_sep("-", "chunk quality (same text, 512 tokens, re-counted with tiktoken)")
    columns = ["chunks", "max_tokens", "over_limit", "p10_fill", "lossless", "replacement_chars"]
    terminalreporter.write_line(f"{'splitter':<40}" + "".join(f"{c:>18}" for c in columns))
    for name, row in sorted(QUALITY.items()):
        terminalreporter.write_line(f"{name:<40}" + "".join(f"{row[c]!s:>18}" for c in columns))


@pytest.fixture(scope="session")
def mixed_text(corpus: str) -> str:
    """About 1 MB: prose, docs, code and 21 languages in equal parts when the corpus is set."""
    if not CORPUS:
        return corpus[:1_000_000]
    parts = [
        (Path(CORPUS) / name).read_text("utf-8")[:250_000]
        for name in ("austen.txt", "pydocs.rst.txt", "stdlib_code.txt", "multilingual.txt")
    ]
    return "\n".join(parts)


@contextlib.contextmanager
def use_backend(encoding: str, backend: str):  # type: ignore[no-untyped-def]
    """Within the block, every tokenomy call on ``encoding`` uses ``backend`` ("tiktoken"/"fast")."""
    from tests.conftest import tokenizer as make

    from tokenomy import tokenizer as module

    saved = dict(module._by_encoding)
    module._by_encoding[encoding] = make(encoding, backend)
    module._clear_model_cache()
    try:
        yield
    finally:
        module._by_encoding.clear()
        module._by_encoding.update(saved)
        module._clear_model_cache()
