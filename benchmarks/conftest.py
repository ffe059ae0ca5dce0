"""Inputs for the benchmarks: real text from TOKENOMY_CORPUS_DIR when set, else generated text.

Every measurement shares a benchmark group with its baseline (raw tiktoken, or a peer) so that
ratios come from one process on one machine.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from tests.conftest import tiktoken_enc  # noqa: F401  (primes tiktoken's cache from the folder)

CORPUS = os.environ.get("TOKENOMY_CORPUS_DIR")


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
