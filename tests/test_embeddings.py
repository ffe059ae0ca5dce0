"""Embedding inputs: limits, chunking, combination, request counting."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.conftest import tiktoken_enc
from tokenomy import (
    InvalidArgumentError,
    combine_embeddings,
    count_embedding_input,
    embed_long,
    embedding_chunks,
)


def test_chunks_fit_the_model_limit() -> None:
    """Chunks of long text are at most 8,191 tokens each and tile the input."""
    text = "The embedding input limit matters. " * 4000
    chunks = embedding_chunks(text, model="text-embedding-ada-002")
    enc = tiktoken_enc("cl100k_base")
    assert "".join(c.text for c in chunks) == text
    assert all(c.tokens == len(enc.encode_ordinary(c.text)) <= 8191 for c in chunks)
    assert all(c.tokens <= 100 for c in embedding_chunks(text[:2000], max_tokens=100))


def test_combination_matches_direct_computation() -> None:
    """The weighted, re-normalised average equals numpy computed by hand."""
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(5, 16))
    weights = np.array([10, 200, 3, 50, 7], dtype=float)
    expected = (vectors * weights[:, None]).sum(0) / weights.sum()
    expected /= np.linalg.norm(expected)
    assert np.allclose(combine_embeddings(vectors.tolist(), weights.tolist()), expected)
    raw = combine_embeddings(vectors, normalize=False)
    assert np.allclose(raw, vectors.mean(0))
    assert np.array_equal(combine_embeddings([[0.0, 0.0], [0.0, 0.0]]), np.zeros(2))


@pytest.mark.parametrize(
    ("vectors", "weights"),
    [([], None), ([[1.0], [1.0, 2.0]], None), ([[1.0, float("nan")]], None), ([[1.0]], [1, 2]),
     ([[1.0]], [-1]), ([[1.0]], [0])],
)  # fmt: skip
def test_combination_rejects_bad_input(vectors: Any, weights: Any) -> None:
    """Unequal dimensions, NaN, wrong or negative weights raise InvalidArgumentError (a ValueError)."""
    with pytest.raises(InvalidArgumentError):
        combine_embeddings(vectors, weights)


def test_embed_long_average_and_chunks() -> None:
    """embed_long batches calls and weights chunk vectors by their tokens."""
    text = "alpha beta gamma " * 6000
    seen: list[int] = []

    def fake(texts: list[str]) -> dict[str, Any]:
        seen.append(len(texts))
        return {"data": [{"embedding": [float(len(t)), 1.0]} for t in texts]}

    chunks = embed_long(text, fake, mode="chunks", batch_size=1)
    assert isinstance(chunks, list) and seen == [1] * len(chunks)
    vector = embed_long(text, fake)
    pieces = embedding_chunks(text)
    expected = combine_embeddings([[float(len(c.text)), 1.0] for c in pieces], [c.tokens for c in pieces])
    assert np.allclose(vector, expected)


def test_count_embedding_input_shapes_and_limits() -> None:
    """Strings, id lists and lists of either are counted; limits are reported, not raised."""
    enc = tiktoken_enc("cl100k_base")
    ids = enc.encode_ordinary("hello world")
    assert count_embedding_input("hello world").per_input == (len(ids),)
    assert count_embedding_input(ids).per_input == (len(ids),)
    assert count_embedding_input([ids, "hi"]).per_input == (len(ids), 1)
    too_long = count_embedding_input(["word " * 9000, ""])
    assert too_long.over_limit == (0,) and not too_long.ok
    assert any("empty" in p for p in too_long.problems)
    many = count_embedding_input(["x"] * 2049)
    assert any("2048" in p for p in many.problems)
    with pytest.raises(TypeError):
        count_embedding_input(3.5)
