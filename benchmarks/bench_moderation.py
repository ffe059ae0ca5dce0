"""Planning moderation and embedding chunks against one tiktoken encode of the same text."""

from __future__ import annotations

import warnings

import pytest
from tests.conftest import tiktoken_enc

import tokenomy


@pytest.mark.parametrize(
    "kind", ["tiktoken encode (baseline)", "moderation_chunks (no cap)", "embedding_chunks"]
)
def test_plan_1mb(benchmark, mixed_text: str, kind: str) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = "plan-1MB-cl100k"
    warnings.simplefilter("ignore", DeprecationWarning)
    if kind.startswith("tiktoken"):
        encode = tiktoken_enc("cl100k_base").encode_ordinary
        benchmark.pedantic(lambda: encode(mixed_text), rounds=5, iterations=1)
    elif kind.startswith("moderation"):
        plan = benchmark.pedantic(
            lambda: tokenomy.moderation_chunks(mixed_text, max_tokens=None), rounds=5, iterations=1
        )
        assert max(c.tokens for c in plan.chunks) <= 4096
    else:
        chunks = benchmark.pedantic(
            lambda: tokenomy.embedding_chunks(mixed_text, model="text-embedding-3-small"),
            rounds=5,
            iterations=1,
        )
        assert max(c.tokens for c in chunks) <= 8191
