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
    embed_chunks,
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
    assert np.allclose(combine_embeddings(vectors.tolist(), weights=weights.tolist()), expected)
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
        combine_embeddings(vectors, weights=weights)


def test_embed_long_average_and_chunks() -> None:
    """embed_long batches calls and weights chunk vectors by their tokens."""
    text = "alpha beta gamma " * 6000
    seen: list[int] = []

    def fake(texts: list[str]) -> dict[str, Any]:
        seen.append(len(texts))
        return {"data": [{"embedding": [float(len(t)), 1.0]} for t in texts]}

    chunks = embed_chunks(text, fake, batch_size=1)
    assert isinstance(chunks, list) and seen == [1] * len(chunks)
    vector = embed_long(text, fake)
    pieces = embedding_chunks(text)
    expected = combine_embeddings([[float(len(c.text)), 1.0] for c in pieces], weights=[c.tokens for c in pieces])
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
    assert any("empty" in p for p in too_long.notes)
    many = count_embedding_input(["x"] * 2049)
    assert any("2048" in p for p in many.notes)
    with pytest.raises(TypeError):
        count_embedding_input(3.5)


def test_one_return_type_per_function() -> None:
    """embed_long returns one vector; embed_chunks the chunks with theirs; mode="chunks" still works, warning."""
    fake = lambda texts: [[1.0, 0.0] for _ in texts]  # noqa: E731
    text = "alpha beta " * 6000
    assert isinstance(embed_long(text, fake), np.ndarray)
    pairs = embed_chunks(text, fake)
    with pytest.warns(DeprecationWarning, match="embed_chunks"):
        old = embed_long(text, fake, mode="chunks")
    assert [(c, v.tolist()) for c, v in old] == [(c, v.tolist()) for c, v in pairs]  # type: ignore[union-attr]
    assert [c for c, _ in pairs] == embedding_chunks(text)


def test_combine_embeddings_weights_are_a_keyword() -> None:
    """weights is a keyword; given positionally it still works, with a DeprecationWarning."""
    with pytest.warns(DeprecationWarning, match="weights=... by keyword"):
        old = combine_embeddings([[1.0, 0.0], [0.0, 1.0]], [3, 1])  # type: ignore[call-overload]
    assert np.array_equal(old, combine_embeddings([[1.0, 0.0], [0.0, 1.0]], weights=[3, 1]))


def test_input_count_speaks_tokens_and_notes() -> None:
    """count_embedding_input counts ``tokens`` and lists what the endpoint would refuse in ``notes``."""
    result = count_embedding_input(["hello world", ""])
    assert result.tokens == int(result) == 2 and not result.ok
    assert any("empty" in n for n in result.notes) and list(result.notes) == result.to_dict()["notes"]
    assert count_embedding_input("hi", as_of="2024-06-01").ok
