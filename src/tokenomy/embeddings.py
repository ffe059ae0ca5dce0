"""Embedding inputs that fit: :func:`embedding_chunks`, :func:`combine_embeddings`,
:func:`embed_long`, :func:`embed_chunks`, :func:`count_embedding_input`.

Embedding models reject input longer than their context (8,191 tokens for text-embedding-ada-002
and the text-embedding-3 models). Long text is split into exact chunks, embedded chunk by chunk
with your function, and (optionally) combined as the OpenAI cookbook does: the average of the
chunk vectors weighted by their token counts, scaled back to unit length.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt

from tokenomy._args import check_bool, check_choice, check_whole
from tokenomy._data import table
from tokenomy._deprecation import positional_options, renamed
from tokenomy._results import get
from tokenomy.chunking import BOUNDARIES, Chunk, check_budget, chunk
from tokenomy.errors import InvalidArgumentError, ResultFormatError, UnsupportedModelError, short
from tokenomy.registry import resolve
from tokenomy.tokenizer import encoding_for


def _limit(model: str, max_tokens: int | None, as_of: date | str | None) -> int:
    info = resolve(model, as_of)
    if info.context_window is None:
        raise UnsupportedModelError(model, "the registry has no input limit for it")
    if max_tokens is None:
        return info.context_window
    return min(check_budget(max_tokens), info.context_window)


def embedding_chunks(
    text: str,
    *,
    model: str = "text-embedding-3-small",
    max_tokens: int | None = None,
    boundaries: Sequence[str] = BOUNDARIES,
    as_of: date | str | None = None,
) -> list[Chunk]:
    """Exact, lossless chunks of ``text`` that each fit the embedding model's input limit on
    ``as_of`` (default today).

    >>> [c.tokens for c in embedding_chunks("lorem ipsum " * 9000)]
    [8191, 6953, 2858]
    """
    return list(chunk(text, _limit(model, max_tokens, as_of), model=model, boundaries=boundaries))


Weights = Sequence[float] | npt.ArrayLike | None


@overload
def combine_embeddings(vectors: Sequence[Sequence[float]] | npt.ArrayLike, *, weights: Weights = None,
                       normalize: bool = True) -> npt.NDArray[np.float64]: ...
@overload  # deprecated: weights given positionally (until the next release)
def combine_embeddings(vectors: Sequence[Sequence[float]] | npt.ArrayLike, weights: Weights, *,
                       normalize: bool = True) -> npt.NDArray[np.float64]: ...
def combine_embeddings(
    vectors: Sequence[Sequence[float]] | npt.ArrayLike,
    *args: Any,
    weights: Weights = None,
    normalize: bool = True,
) -> npt.NDArray[np.float64]:  # fmt: skip
    """Weighted average of equal-length vectors, scaled to unit length (a zero vector stays zero).

    >>> combine_embeddings([[1.0, 0.0], [0.0, 1.0]], weights=[3, 1]).round(4).tolist()
    [0.9487, 0.3162]
    """
    if args:
        weights = positional_options("combine_embeddings", args, ("weights",)).get("weights", weights)
    check_bool(normalize, "normalize")
    expected = "a non-empty list of equal-length vectors of finite numbers"
    try:
        matrix = np.asarray(vectors, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        raise InvalidArgumentError("vectors", vectors, expected) from None
    if matrix.ndim != 2 or matrix.shape[0] == 0 or matrix.shape[1] == 0 or not np.all(np.isfinite(matrix)):
        raise InvalidArgumentError("vectors", vectors, expected)
    if weights is None:
        w = np.ones(matrix.shape[0])
    else:
        expected = f"{matrix.shape[0]} finite weights >= 0, not all zero (one per vector)"
        try:
            w = np.asarray(weights, dtype=np.float64)
        except (ValueError, TypeError, OverflowError):
            raise InvalidArgumentError("weights", weights, expected) from None
        if w.shape != (matrix.shape[0],) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise InvalidArgumentError("weights", weights, expected)
    average: npt.NDArray[np.float64] = (w[:, None] * matrix).sum(axis=0) / w.sum()
    if normalize:
        norm = float(np.linalg.norm(average))
        if norm > 0:
            average = average / norm
    return average


def _vectors(response: Any, expected: int) -> list[list[float]]:
    data = get(response, "data")
    items = data if data is not None else response
    if not isinstance(items, (list, tuple)) or len(items) != expected:
        raise ResultFormatError("embed_fn", f"expected {expected} embeddings")
    out = []
    for i, item in enumerate(items):
        vector = get(item, "embedding") if not isinstance(item, (list, tuple, np.ndarray)) else item
        if not isinstance(vector, (list, tuple, np.ndarray)):
            raise ResultFormatError(f"embed_fn result {i}", "has no 'embedding' list of numbers")
        try:
            array = np.asarray(vector, dtype=np.float64)
        except (ValueError, TypeError, OverflowError):  # nested, ragged, or not numbers
            array = None
        if array is None or array.ndim != 1 or not array.size:
            raise ResultFormatError(f"embed_fn result {i}", "is not a flat, non-empty list of numbers")
        out.append(array.tolist())
    return out


Vector = npt.NDArray[np.float64]


def embed_chunks(
    text: str,
    embed_fn: Callable[[list[str]], Any],
    *,
    model: str = "text-embedding-3-small",
    max_tokens: int | None = None,
    batch_size: int = 256,
    as_of: date | str | None = None,
) -> list[tuple[Chunk, Vector]]:
    """Embed text of any length chunk by chunk: each chunk of :func:`embedding_chunks` with its
    vector, ``embed_fn`` called once per ``batch_size`` chunks.

    ``embed_fn`` takes a list of strings and returns the endpoint's response (or a list of
    vectors).

    >>> fake = lambda texts: [[float(len(t)), 1.0] for t in texts]  # a vector per text: its length
    >>> [(c.tokens, v.tolist()) for c, v in embed_chunks("lorem ipsum " * 9000, fake)]
    [(8191, [49139.0, 1.0]), (6953, [41718.0, 1.0]), (2858, [17143.0, 1.0])]
    """
    size = check_whole(batch_size, "batch_size", minimum=1)
    pieces = embedding_chunks(text, model=model, max_tokens=max_tokens, as_of=as_of)
    if not pieces:
        raise InvalidArgumentError("text", text, "non-empty text (the endpoint refuses empty input)")
    vectors: list[list[float]] = []
    for start in range(0, len(pieces), size):
        batch = [c.text for c in pieces[start : start + size]]
        vectors.extend(_vectors(embed_fn(batch), len(batch)))
    return [(c, np.asarray(v, dtype=np.float64)) for c, v in zip(pieces, vectors, strict=True)]


@overload
def embed_long(text: str, embed_fn: Callable[[list[str]], Any], *, model: str = "text-embedding-3-small",
               mode: Literal["average"] = "average", max_tokens: int | None = None, batch_size: int = 256,
               as_of: date | str | None = None) -> Vector: ...
@overload  # deprecated: mode="chunks" is embed_chunks() (until the next release)
def embed_long(text: str, embed_fn: Callable[[list[str]], Any], *, model: str = "text-embedding-3-small",
               mode: str, max_tokens: int | None = None, batch_size: int = 256,
               as_of: date | str | None = None) -> Vector | list[tuple[Chunk, Vector]]: ...
def embed_long(
    text: str,
    embed_fn: Callable[[list[str]], Any],
    *,
    model: str = "text-embedding-3-small",
    mode: str = "average",
    max_tokens: int | None = None,
    batch_size: int = 256,
    as_of: date | str | None = None,
) -> Vector | list[tuple[Chunk, Vector]]:  # fmt: skip
    """Embed text of any length as one unit vector: the chunks' vectors (:func:`embed_chunks`)
    averaged, weighted by their tokens.

    ``mode="chunks"`` is deprecated: it returns :func:`embed_chunks`'s list instead.

    >>> fake = lambda texts: [[1.0, 0.0] for _ in texts]
    >>> embed_long("lorem ipsum " * 9000, fake).tolist()
    [1.0, 0.0]
    """
    check_choice(mode, "mode", ("average", "chunks"))
    if mode == "chunks":
        warnings.warn('embed_long(mode="chunks") is now embed_chunks()', DeprecationWarning, stacklevel=2)
        return embed_chunks(text, embed_fn, model=model, max_tokens=max_tokens, batch_size=batch_size,
                            as_of=as_of)  # fmt: skip
    pieces = embed_chunks(text, embed_fn, model=model, max_tokens=max_tokens, batch_size=batch_size,
                          as_of=as_of)  # fmt: skip
    try:
        return combine_embeddings([v for _, v in pieces], weights=[c.tokens for c, _ in pieces])
    except InvalidArgumentError as error:  # the vectors came from embed_fn, not from the caller
        problem = f"returned vectors that cannot be averaged ({error.expected})"
        raise ResultFormatError("embed_fn", problem) from None


@dataclass(frozen=True)
class EmbeddingInputCount:
    """Tokens of an embeddings request's ``input`` (exact), and in ``notes`` each limit it breaks:
    ``ok`` is True when there is none.

    >>> result = count_embedding_input(["hello world", ""], model="text-embedding-3-small",
    ...                                as_of=date(2025, 1, 1))
    >>> result.tokens, result.per_input, result.limit, result.over_limit, result.ok
    (2, (2, 0), 8191, (), False)
    >>> result.notes
    ('input 1 is empty; the endpoint rejects empty input',)
    """

    tokens: int
    per_input: tuple[int, ...]
    limit: int
    over_limit: tuple[int, ...]
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True if the endpoint would accept the input."""
        return not self.notes

    @property
    def total(self) -> int:
        """Deprecated spelling of :attr:`tokens`."""
        renamed("EmbeddingInputCount", "total", "tokens")
        return self.tokens

    @property
    def problems(self) -> tuple[str, ...]:
        """Deprecated spelling of :attr:`notes`."""
        renamed("EmbeddingInputCount", "problems", "notes")
        return self.notes

    def __int__(self) -> int:
        return self.tokens

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"tokens": self.tokens, "per_input": list(self.per_input), "limit": self.limit,
                "over_limit": list(self.over_limit), "ok": self.ok, "notes": list(self.notes)}  # fmt: skip


def count_embedding_input(input: Any, *, model: str = "text-embedding-3-small",
                          as_of: date | str | None = None) -> EmbeddingInputCount:  # fmt: skip
    """Count an embeddings ``input`` as the endpoint accepts it: a string, a list of strings, a
    list of token ids, or a list of such lists; notes inputs over the model's limit on ``as_of``
    (default today), more than 2,048 inputs, more than 300,000 tokens in the request, and empty
    inputs.

    >>> result = count_embedding_input(["hello world", [9906, 1917]])
    >>> result.per_input, result.ok
    ((2, 2), True)
    """
    rules = table("endpoints")["embeddings"]
    limit = _limit(model, None, as_of)
    tok = encoding_for(model)
    if isinstance(input, str) or (isinstance(input, list) and input and all(_is_id(x) for x in input)):
        items: list[Any] = [input]
    elif isinstance(input, (list, tuple)):
        items = list(input)
    else:
        raise TypeError(f"embedding input must be a str or a list, not {type(input).__name__}")
    counts: list[int] = []
    problems: list[str] = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            counts.append(tok.count(item))
        elif isinstance(item, (list, tuple)) and all(_is_id(x) for x in item):
            bad = [x for x in item if x >= tok.n_vocab]
            if bad:
                problems.append(f"input {i} has token ids beyond the vocabulary: {short(bad[:3])}")
            counts.append(len(item))
        else:
            raise ResultFormatError(f"input[{i}]", "must be a string or a list of token ids")
        if counts[-1] == 0 and not rules["empty_input_allowed"]:
            problems.append(f"input {i} is empty; the endpoint rejects empty input")
    over = tuple(i for i, n in enumerate(counts) if n > limit)
    if over:
        problems.append(f"inputs {list(over)[:10]} exceed {model}'s {limit}-token limit")
    if len(items) > rules["max_inputs"]:
        problems.append(f"{len(items)} inputs exceed the {rules['max_inputs']}-input limit per request")
    if sum(counts) > rules["max_request_tokens"]:
        problems.append(
            f"{sum(counts)} tokens exceed the {rules['max_request_tokens']}-token limit per request"
        )
    return EmbeddingInputCount(sum(counts), tuple(counts), limit, over, tuple(problems))


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
