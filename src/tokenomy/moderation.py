"""Long moderation input, as the endpoint treats it: :func:`moderation_chunks`,
:func:`merge_moderation`, :func:`moderate_long`, :func:`moderate_long_batch`.

The moderation endpoint checks long input in chunks of 4,096 tokens, truncates beyond 32,768, and
reports per category the maximum score over the chunks (``data/endpoints.toml``). tokenomy plans
the same chunks client-side, says exactly what a cap leaves unchecked, and merges per-chunk
results the documented way. It never calls the API: you pass a function or the results.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, overload

from tokenomy._args import check_whole
from tokenomy._data import table
from tokenomy._deprecation import positional_options
from tokenomy._layout import Layout
from tokenomy._results import as_dict, get
from tokenomy.chunking import BOUNDARIES, Chunk, check_boundaries, check_budget, chunks_of_layout
from tokenomy.errors import BudgetError, ResultFormatError, short
from tokenomy.tokenizer import encoding_for
from tokenomy.truncation import longest_prefix_layout

# text-moderation-latest, the default before, was shut down on 2025-10-27 (data/models.toml)
DEFAULT_MODEL = "omni-moderation-latest"


def _rules() -> dict[str, Any]:
    rules: dict[str, Any] = table("endpoints")["moderations"]
    return rules


@dataclass(frozen=True)
class ModerationPlan:
    """The chunks to send, which input each belongs to, and what a cap left unchecked.

    ``texts`` is the list to pass as the endpoint's ``input``. For each input, ``checked_until``
    is the character offset where checking stops (its length when nothing was cut) and
    ``dropped_tokens`` / ``dropped_chars`` measure the rest.

    >>> plan = moderation_chunks(["Hello!", "You are great. " * 3000], max_tokens=8192)
    >>> plan.input_index, [c.tokens for c in plan.chunks], plan.texts[0]
    ((0, 1, 1), [2, 4096, 4096], 'Hello!')
    >>> plan.truncated, plan.dropped_tokens, plan.checked_until[1] < len("You are great. " * 3000)
    (True, (0, 3809), True)
    """

    chunks: tuple[Chunk, ...]
    input_index: tuple[int, ...]
    checked_until: tuple[int, ...]
    dropped_tokens: tuple[int, ...]
    dropped_chars: tuple[int, ...]
    model: str
    chunk_tokens: int
    max_tokens: int | None

    @property
    def texts(self) -> list[str]:
        """Chunk texts in order: the ``input`` array to send."""
        return [c.text for c in self.chunks]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "model": self.model, "chunk_tokens": self.chunk_tokens, "max_tokens": self.max_tokens,
            "chunks": [c.to_dict() for c in self.chunks], "input_index": list(self.input_index),
            "checked_until": list(self.checked_until), "dropped_tokens": list(self.dropped_tokens),
            "dropped_chars": list(self.dropped_chars), "truncated": self.truncated,
        }  # fmt: skip

    @property
    def truncated(self) -> bool:
        """True if any input was cut at ``max_tokens``."""
        return any(self.dropped_chars)

    @property
    def inputs(self) -> int:
        """Number of original inputs."""
        return len(self.checked_until)


def moderation_chunks(
    text: str | Sequence[str],
    *,
    model: str = DEFAULT_MODEL,
    chunk_tokens: int | None = None,
    max_tokens: int | str | None = "default",
    boundaries: Sequence[str] = BOUNDARIES,
) -> ModerationPlan:
    """Plan the chunks the moderation endpoint would check for ``text`` (or a list of texts).

    ``max_tokens`` defaults to the endpoint's 32,768-token cap; ``None`` checks everything. An
    empty input, or one whose first character alone is over ``max_tokens``, is sent as one empty
    chunk, as the endpoint takes ``""`` (its result then covers nothing: ``dropped_chars`` says so).

    >>> plan = moderation_chunks("You are great. " * 3000, model="omni-moderation-latest")
    >>> [c.tokens for c in plan.chunks], plan.truncated
    ([4096, 4096, 3809], False)
    """
    rules = _rules()
    size = check_budget(rules["chunk_tokens"] if chunk_tokens is None else chunk_tokens, "chunk_tokens")
    cap = rules["max_tokens"] if isinstance(max_tokens, str) and max_tokens == "default" else max_tokens
    if cap is not None:
        cap = check_budget(cap, "max_tokens")
    if not isinstance(text, (str, Sequence)) or isinstance(text, (bytes, bytearray)):
        raise TypeError(f"moderation input must be a str or a list of str, not {type(text).__name__}")
    inputs = [text] if isinstance(text, str) else list(text)
    if not inputs:
        raise BudgetError("moderation input is empty: pass a string or a non-empty list of strings")
    check_boundaries(boundaries)
    tok = encoding_for(model)
    chunks: list[Chunk] = []
    owners: list[int] = []
    checked, dropped_tokens, dropped_chars = [], [], []
    for i, item in enumerate(inputs):
        if not isinstance(item, str):
            raise TypeError(f"moderation input {i} must be a str, not {type(item).__name__}")
        # one encode per input: the capped prefix's layout is planned directly
        layout = longest_prefix_layout(tok, item, cap) if cap is not None else Layout(tok, item)
        end = len(layout.text)
        rest = item[end:]
        if end:
            for piece in chunks_of_layout(layout, size, boundaries, index=len(chunks)):
                chunks.append(piece)
                owners.append(i)
        else:  # the endpoint takes "": every input gets a result, even if it covers nothing
            chunks.append(Chunk("", 0, 0, 0, len(chunks)))
            owners.append(i)
        checked.append(end)
        dropped_chars.append(len(rest))
        dropped_tokens.append(tok.count(rest) if rest else 0)
    return ModerationPlan(
        tuple(chunks), tuple(owners), tuple(checked), tuple(dropped_tokens), tuple(dropped_chars),
        model, size, cap,
    )  # fmt: skip


def _flatten(results: Any) -> list[Any]:
    """Per-chunk results from a list of results, a list of responses, or one response."""
    if get(results, "results") is not None and not isinstance(results, (list, tuple)):
        results = [results]
    if not isinstance(results, (list, tuple)):
        raise ResultFormatError("results", "expected a list of moderation results or responses")
    flat: list[Any] = []
    for i, item in enumerate(results):
        inner = get(item, "results")
        if inner is not None:
            if not isinstance(inner, (list, tuple)):
                raise ResultFormatError(f"results[{i}].results", "must be a list")
            flat.extend(inner)
        else:
            flat.append(item)
    return flat


def _read(result: Any, where: str) -> tuple[bool, dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    flagged = get(result, "flagged")
    categories = as_dict(get(result, "categories"))
    scores = as_dict(get(result, "category_scores"))
    if not isinstance(flagged, bool) or categories is None or scores is None:
        raise ResultFormatError(
            where, "a moderation result needs 'flagged', 'categories' and 'category_scores'"
        )
    for key, value in scores.items():
        # a NaN compares false both ways, so it would hide a higher score depending on the order
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not (math.isfinite(value) and value >= 0)):  # fmt: skip
            raise ResultFormatError(f"{where}.category_scores[{short(key)}]",
                                    f"{short(value)} is not a score (a number >= 0)")  # fmt: skip
    for key, value in categories.items():
        if value is not None and not isinstance(value, bool):
            raise ResultFormatError(f"{where}.categories[{short(key)}]",
                                    f"{short(value)} is not true or false")  # fmt: skip
    applied = get(result, "category_applied_input_types")
    return flagged, categories, scores, (as_dict(applied) if applied is not None else None)


@overload
def merge_moderation(results: Any, *, plan: ModerationPlan | None = None) -> list[dict[str, Any]]: ...
@overload  # deprecated: plan given positionally (until the next release)
def merge_moderation(results: Any, plan: ModerationPlan | None) -> list[dict[str, Any]]: ...
def merge_moderation(results: Any, *args: Any, plan: ModerationPlan | None = None) -> list[dict[str, Any]]:
    """One result per original input, merged from per-chunk results the documented way.

    ``flagged`` and each category flag are true if any chunk's is; each score is the maximum over
    the chunks; ``category_applied_input_types`` are united. ``max_score_chunk`` says which chunk
    (index into the plan's chunks) gave each maximum. Categories the library does not know are
    carried through unchanged.

    >>> a = {"flagged": True, "categories": {"hate": True}, "category_scores": {"hate": 0.9901}}
    >>> b = {"flagged": False, "categories": {"hate": False}, "category_scores": {"hate": 0.1901}}
    >>> merge_moderation([a, b])[0]["category_scores"]
    {'hate': 0.9901}
    """
    if args:
        plan = positional_options("merge_moderation", args, ("plan",)).get("plan", plan)
    if plan is not None and not isinstance(plan, ModerationPlan):
        raise TypeError(f"plan must be a ModerationPlan (from moderation_chunks), not {type(plan).__name__}")
    flat = _flatten(results)
    owners = list(plan.input_index) if plan is not None else [0] * len(flat)
    inputs = plan.inputs if plan is not None else 1
    if not flat:
        raise ResultFormatError("results", "no results given")
    if len(flat) != len(owners):
        raise ResultFormatError(
            "results",
            f"{len(flat)} results for {len(owners)} planned chunks; they must match one to one",
        )
    merged: list[dict[str, Any]] = [
        {"flagged": False, "categories": {}, "category_scores": {}, "max_score_chunk": {}}
        for _ in range(inputs)
    ]
    for k, (result, owner) in enumerate(zip(flat, owners, strict=True)):
        flagged, categories, scores, applied = _read(result, f"results[{k}]")
        out = merged[owner]
        out["flagged"] = out["flagged"] or flagged
        for name, value in categories.items():
            out["categories"][name] = bool(out["categories"].get(name)) or bool(value)
        for name, value in scores.items():
            if value is None:
                out["category_scores"].setdefault(name, None)
                continue
            best = out["category_scores"].get(name)
            if best is None or value > best:
                out["category_scores"][name] = value
                out["max_score_chunk"][name] = k
        if applied is not None:
            types = out.setdefault("category_applied_input_types", {})
            for name, kinds in applied.items():
                seen = types.setdefault(name, [])
                seen.extend(t for t in (kinds or ()) if t not in seen)
    for owner in range(inputs):
        if owner not in owners:
            raise ResultFormatError("plan", f"input {owner} has no chunk to merge")
    return merged


@overload  # a str is also a Sequence[str]: this overload comes first, so a str gets one dict
def moderate_long(  # type: ignore[overload-overlap]
    text: str, moderate_fn: Callable[[list[str]], Any], *, model: str = DEFAULT_MODEL,
    chunk_tokens: int | None = None, max_tokens: int | str | None = "default", batch_size: int = 32,
) -> dict[str, Any]: ...
@overload  # deprecated: a list of texts is moderate_long_batch() (until the next release)
def moderate_long(text: Sequence[str], moderate_fn: Callable[[list[str]], Any], *, model: str = DEFAULT_MODEL,
                  chunk_tokens: int | None = None, max_tokens: int | str | None = "default",
                  batch_size: int = 32) -> list[dict[str, Any]]: ...
def moderate_long(
    text: str | Sequence[str],
    moderate_fn: Callable[[list[str]], Any],
    *,
    model: str = DEFAULT_MODEL,
    chunk_tokens: int | None = None,
    max_tokens: int | str | None = "default",
    batch_size: int = 32,
) -> dict[str, Any] | list[dict[str, Any]]:  # fmt: skip
    """Moderate one text of any length: plan its chunks, call ``moderate_fn`` once per batch of
    chunk texts, and merge the results into one.

    ``moderate_fn`` receives a list of strings and returns the endpoint's response (or its list
    of results), e.g. ``lambda texts: client.moderations.create(model=..., input=texts)``. A list
    of texts is :func:`moderate_long_batch`'s (given here, it is deprecated and gives that list).

    >>> fake = lambda texts: {"results": [{"flagged": False, "categories": {"hate": False},
    ...                                    "category_scores": {"hate": 0.01}} for _ in texts]}
    >>> moderate_long("hello " * 10_000, fake)["category_scores"]
    {'hate': 0.01}
    """
    if not isinstance(text, str):
        warnings.warn("moderate_long() of a list of texts is now moderate_long_batch()", DeprecationWarning,
                      stacklevel=2)  # fmt: skip
    merged = _moderate(text, moderate_fn, model=model, chunk_tokens=chunk_tokens, max_tokens=max_tokens,
                       batch_size=batch_size)  # fmt: skip
    return merged[0] if isinstance(text, str) else merged


def moderate_long_batch(
    texts: Sequence[str],
    moderate_fn: Callable[[list[str]], Any],
    *,
    model: str = DEFAULT_MODEL,
    chunk_tokens: int | None = None,
    max_tokens: int | str | None = "default",
    batch_size: int = 32,
) -> list[dict[str, Any]]:
    """:func:`moderate_long` for each of ``texts``: one merged result per text, in order, the
    chunks of all of them sent ``batch_size`` at a time.

    >>> fake = lambda texts: {"results": [{"flagged": "bad" in t, "categories": {"hate": "bad" in t},
    ...                                    "category_scores": {"hate": 0.9 if "bad" in t else 0.01}}
    ...                                   for t in texts]}
    >>> [r["flagged"] for r in moderate_long_batch(["fine", "bad " * 9000], fake)]
    [False, True]
    """
    if isinstance(texts, str):
        raise TypeError("moderate_long_batch() takes a list of texts; moderate_long() takes one str")
    return _moderate(texts, moderate_fn, model=model, chunk_tokens=chunk_tokens, max_tokens=max_tokens,
                     batch_size=batch_size)  # fmt: skip


def _moderate(text: str | Sequence[str], moderate_fn: Callable[[list[str]], Any], *, model: str,
              chunk_tokens: int | None, max_tokens: int | str | None,
              batch_size: int) -> list[dict[str, Any]]:  # fmt: skip
    size = check_whole(batch_size, "batch_size", minimum=1)
    plan = moderation_chunks(text, model=model, chunk_tokens=chunk_tokens, max_tokens=max_tokens)
    results: list[Any] = []
    texts = plan.texts
    for start in range(0, len(texts), size):
        batch = texts[start : start + size]
        got = _flatten(moderate_fn(batch))
        if len(got) != len(batch):
            raise ResultFormatError("moderate_fn", f"returned {len(got)} results for {len(batch)} inputs")
        results.extend(got)
    return merge_moderation(results, plan=plan)
