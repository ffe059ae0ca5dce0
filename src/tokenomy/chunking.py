"""Token-exact, lossless, boundary-aware chunks: :func:`chunk`, :func:`chunk_ids`.

Every chunk counts at most ``max_tokens`` when encoded on its own, ``text[start:end] == chunk.text``
and, without overlap, the chunks tile the input exactly. The text is encoded once; cuts are taken
only where the counts of both sides add up to the whole (see ``_layout``).

Where a chunk ends: among the cuts that fill it to at least 80% of ``max_tokens``, the best kind
in ``boundaries`` order wins (paragraph, then sentence, then word), the latest of that kind;
if none qualifies, the latest exact cut. When the rest of the text would leave a tail chunk under
a quarter of the limit, the last two chunks are balanced: the cut is sought within a quarter of
the limit of half of what remains (so neither chunk ends up under a quarter of the limit).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from tokenomy._cuts import cut_before, safe_cut_after, safe_cut_before
from tokenomy._layout import KIND_NAMES, Layout
from tokenomy._streams import text_blocks
from tokenomy.errors import BudgetError, InvalidArgumentError, short
from tokenomy.tokenizer import Tokenizer, encoding_for

BOUNDARIES = ("paragraph", "sentence", "word")  # "token" is always the last resort
_MIN_FILL = 0.8


@dataclass(frozen=True)
class Chunk:
    """One piece of the input: ``text == input[start:end]``, ``tokens`` counted on its own.

    >>> doc = "One short line. Another sentence follows here, and it is longer. The end is near."
    >>> pieces = list(chunk(doc, 16, model="gpt-4o"))
    >>> [(piece.index, piece.start, piece.end, piece.tokens) for piece in pieces]
    [(0, 0, 64, 14), (1, 64, 81, 5)]
    >>> all(doc[piece.start:piece.end] == piece.text for piece in pieces)
    True
    """

    text: str
    start: int
    end: int
    tokens: int
    index: int

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"index": self.index, "start": self.start, "end": self.end, "tokens": self.tokens,
                "text": self.text}  # fmt: skip


def check_budget(max_tokens: object, name: str = "max_tokens", *, minimum: int = 1) -> int:
    """``max_tokens`` as an int of at least ``minimum``, or a BudgetError saying what is wrong: the
    one check of a token budget. A cut or a chunk needs at least 1 token to keep; asking whether
    text fits (:func:`~tokenomy.fits`) takes 0.

    >>> check_budget(0, minimum=0)
    0
    """
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < minimum:
        raise BudgetError(f"{name} must be a whole number of tokens >= {minimum}, not {short(max_tokens)}")
    return max_tokens


class _Planner:
    def __init__(self, layout: Layout, max_tokens: int, boundaries: Sequence[str]) -> None:
        self.layout, self.max = layout, max_tokens
        order = [KIND_NAMES.index(kind) for kind in boundaries]
        rank = np.full(len(KIND_NAMES), len(order), dtype=np.int8)
        rank[order] = np.arange(len(order), dtype=np.int8)
        self.ranks = rank[layout.kinds()]
        self._last = (-1, -1)  # (char, index) of the last end returned: the next chunk's start

    def end_for(self, a: int, ta: int, final: bool) -> tuple[int, int] | None:
        """Index of the best end cut for a chunk starting at char ``a``; None if all fits."""
        layout, limit = self.layout, self.max
        remaining = layout.total - ta
        if remaining <= limit and final:
            return None
        hi, lo = ta + limit, ta + math.ceil(_MIN_FILL * limit)
        if final and remaining < 2 * limit and remaining - limit < limit // 4:
            half = (remaining + 1) // 2  # balance the last two chunks instead of a tiny tail
            hi, lo = min(ta + limit, ta + half + limit // 4), ta + max(half - limit // 4, 1)
        j_hi = layout.boundary_at_or_before_token(hi)
        start_index = self._last[1] if self._last[0] == a else int(layout.cut_chars.searchsorted(a))
        first_by_tokens = layout.first_boundary_from_token(lo)
        j_lo = max(first_by_tokens, start_index + 1)
        if j_lo <= j_hi:
            window = self.ranks[j_lo : j_hi + 1]
            # best rank first, latest first within a rank
            order = np.lexsort((-np.arange(len(window)), window))
            for k in order:
                j = j_lo + int(k)
                if layout.verified(j):
                    return self._found(j)
        j = min(j_lo, j_hi + 1) - 1
        while j >= 0 and layout.cut_chars[j] > a:  # nothing in the preferred window: latest exact cut
            if layout.verified(j):
                return self._found(j)
            j -= 1
        return None if remaining <= limit else (-1, -1)

    def _found(self, j: int) -> tuple[int, int]:
        p = int(self.layout.cut_chars[j])
        self._last = (p, j)
        return p, int(self.layout.cut_tokens[j])


def _plan(layout: Layout, max_tokens: int, overlap: int, boundaries: Sequence[str], final: bool,
          first: int = 0) -> list[tuple[int, int, int]]:  # fmt: skip
    """(start, end, tokens) of each chunk of ``layout.text`` from char ``first``."""
    planner = _Planner(layout, max_tokens, boundaries)
    text, n, tok = layout.text, len(layout.text), layout.tok
    spans: list[tuple[int, int, int]] = []
    a: int = first
    ta: int | None = layout.tokens_before(first)
    while a < n:
        if ta is not None:
            found = planner.end_for(a, ta, final)
            if found is None:
                spans.append((a, n, layout.total - ta))
                break
            b, tb = found
            if b >= 0:
                spans.append((a, b, tb - ta))
                a, ta = _overlap_start(layout, a, b, tb, overlap) if overlap and b < n else (b, tb)
                continue
        elif final and (rest := tok.count(text[a:])) <= max_tokens:
            spans.append((a, n, rest))
            break
        # no exact cut ahead (one huge piece): cut inside it and count the chunk on its own
        b, tokens = _forced_end(tok, text, a, max_tokens)
        j = int(layout.cut_chars.searchsorted(b, "right")) - 1
        for _ in range(64):  # prefer ending where exact planning can resume
            if j < 0 or layout.cut_chars[j] <= a:
                break
            if layout.verified(j):
                p = int(layout.cut_chars[j])
                own = tok.count(text[a:p])
                if own <= max_tokens:
                    b, tokens = p, own
                    break
            j -= 1
        spans.append((a, b, tokens))
        k = int(layout.cut_chars.searchsorted(b))
        exact = k < len(layout.cut_chars) and layout.cut_chars[k] == b and layout.verified(k)
        a, ta = b, (int(layout.cut_tokens[k]) if exact else None)
    return spans


def _forced_end(tok: Tokenizer, text: str, a: int, max_tokens: int) -> tuple[int, int]:
    """Longest prefix of text[a:] (at least one character) that counts <= max_tokens alone."""
    lo, hi = a + 1, min(len(text), a + 8 * max_tokens + 8)
    best = (lo, tok.count(text[a:lo]))
    if best[1] > max_tokens:
        raise BudgetError(
            f"the character {text[a]!r} at offset {a} alone is {best[1]} tokens, more than "
            f"max_tokens={max_tokens}: raise max_tokens"
        )
    while lo <= hi:
        mid = (lo + hi) // 2
        n = tok.count(text[a:mid])
        if n <= max_tokens:
            best, lo = (mid, n), mid + 1
        else:
            hi = mid - 1
    return best


def _overlap_start(layout: Layout, a: int, b: int, tb: int, overlap: int) -> tuple[int, int]:
    j = layout.boundary_at_or_before_token(tb - overlap)
    cut_chars, cut_tokens = layout.cut_chars, layout.cut_tokens
    while j < len(cut_chars) and int(cut_chars[j]) <= a:
        j += 1
    while j < len(cut_chars) and int(cut_chars[j]) < b:
        if layout.verified(j):
            return int(cut_chars[j]), int(cut_tokens[j])
        j += 1
    return b, tb


def chunk(
    text: str | IO[str] | Iterable[str],
    max_tokens: int,
    *,
    model: str = "gpt-4o",
    overlap: int = 0,
    boundaries: Sequence[str] = BOUNDARIES,
) -> Iterator[Chunk]:
    """Split ``text`` (a string, a text file or an iterable of strings) into exact chunks.

    >>> doc = "One short line. Another sentence follows here, and it is longer. The end is near."
    >>> for piece in chunk(doc, 16, model="gpt-4o"):
    ...     print(repr(piece.text), piece.tokens)
    'One short line. Another sentence follows here, and it is longer.' 14
    ' The end is near.' 5
    """
    limit = _check_arguments(max_tokens, overlap, boundaries)
    tok = encoding_for(model)
    if isinstance(text, str):
        yield from _chunks_of(tok, text, 0, limit, overlap, boundaries, final=True, index=0)
        return
    yield from _chunk_stream(tok, text, limit, overlap, boundaries)


def _check_arguments(max_tokens: object, overlap: object, boundaries: Sequence[str]) -> int:
    """The checks chunk() and chunk_ids() share; returns ``max_tokens``."""
    limit = check_budget(max_tokens)
    if isinstance(overlap, bool) or not isinstance(overlap, int) or not 0 <= overlap < limit:
        raise BudgetError(f"overlap must be a whole number from 0 to max_tokens - 1, not {short(overlap)}")
    check_boundaries(boundaries)
    return limit


def check_boundaries(boundaries: Sequence[str]) -> None:
    """InvalidArgumentError for boundary names chunk() does not know (a lone string is a mistake:
    ``"word"`` would be read as five letters)."""
    if isinstance(boundaries, str):
        example = f"({short(boundaries)},)"
        raise InvalidArgumentError("boundaries", boundaries, f"a sequence of names, such as {example}")
    if not isinstance(boundaries, Iterable):
        raise TypeError(f"boundaries must be a sequence of names such as {BOUNDARIES}")
    names = list(boundaries)
    unknown = [b for b in names if not isinstance(b, str) or b not in BOUNDARIES]
    if unknown:
        raise InvalidArgumentError("boundaries", unknown, f"names from {', '.join(BOUNDARIES)}")


def chunks_of_layout(layout: Layout, limit: int, boundaries: Sequence[str], *, overlap: int = 0,
                     offset: int = 0, index: int = 0, final: bool = True) -> Iterator[Chunk]:  # fmt: skip
    """The chunks of an already encoded text (offsets shifted by ``offset``)."""
    text = layout.text
    for i, (a, b, tokens) in enumerate(_plan(layout, limit, overlap, boundaries, final)):
        yield Chunk(text[a:b], offset + a, offset + b, tokens, index + i)


def _chunks_of(tok: Tokenizer, text: str, offset: int, limit: int, overlap: int,
               boundaries: Sequence[str], final: bool, index: int) -> Iterator[Chunk]:  # fmt: skip
    if text:
        yield from chunks_of_layout(Layout(tok, text), limit, boundaries, overlap=overlap,
                                    offset=offset, index=index, final=final)  # fmt: skip


def _chunk_stream(tok: Tokenizer, source: IO[str] | Iterable[str], limit: int, overlap: int,
                  boundaries: Sequence[str]) -> Iterator[Chunk]:  # fmt: skip
    """Chunk a stream block by block; the last chunk of each block is re-planned with the next."""
    carry, offset, index = "", 0, 0
    for block in text_blocks(source, "chunk()"):
        carry += block
        cut = cut_before(carry, len(carry))
        if cut <= 0 or len(carry) < 8 * limit:
            continue
        layout = Layout(tok, carry[:cut])
        keep = 0
        for a, b, tokens in _plan(layout, limit, overlap, boundaries, final=False):
            keep = a
            # a chunk is settled only if its whole look-ahead window lies inside this block
            if layout.tokens_before(a) + 2 * limit > layout.total:
                break
            yield Chunk(carry[a:b], offset + a, offset + b, tokens, index)
            index += 1
        carry, offset = carry[keep:], offset + keep
    yield from _chunks_of(tok, carry, offset, limit, overlap, boundaries, final=True, index=index)


def chunk_ids(
    text: str, max_tokens: int, *, model: str = "gpt-4o", overlap: int = 0,
    boundaries: Sequence[str] = BOUNDARIES,
) -> list[npt.NDArray[np.int64]]:  # fmt: skip
    """Token ids of each chunk of :func:`chunk`, as numpy arrays (the chunks' own encodings).

    The text is encoded once: a chunk whose ends are verified cuts, with a cut additive by
    construction between them, is a slice of the whole text's ids; any other chunk (cut inside
    one long piece) is encoded on its own, so its ids are always its text's own.

    >>> [a.tolist() for a in chunk_ids("hello world", 1, model="gpt-4o")]
    [[24912], [2375]]
    """
    limit = _check_arguments(max_tokens, overlap, boundaries)
    tok = encoding_for(model)
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    if not text:
        return []
    layout = Layout(tok, text)
    cut_chars = layout.cut_chars
    out = []
    for a, b, _ in _plan(layout, limit, overlap, boundaries, final=True):
        ja, jb = int(cut_chars.searchsorted(a)), int(cut_chars.searchsorted(b))
        aligned = jb < len(cut_chars) and cut_chars[ja] == a and cut_chars[jb] == b
        if aligned and _slice_is_own(layout, ja, jb):
            out.append(layout.ids[int(layout.cut_tokens[ja]) : int(layout.cut_tokens[jb])].astype(np.int64))
        else:
            out.append(tok.encode_array(text[a:b]).astype(np.int64))
    return out


def chunk_tokens(
    text: str, max_tokens: int, *, model: str = "gpt-4o", overlap: int = 0,
    boundaries: Sequence[str] = BOUNDARIES,
) -> list[npt.NDArray[np.int64]]:  # fmt: skip
    """Deprecated name of :func:`chunk_ids` (a name ending in ``tokens`` is a count; these are ids).

    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", DeprecationWarning)
    ...     [a.tolist() for a in chunk_tokens("hello world", 1, model="gpt-4o")]
    [[24912], [2375]]
    """
    warnings.warn("chunk_tokens() is now chunk_ids()", DeprecationWarning, stacklevel=2)
    return chunk_ids(text, max_tokens, model=model, overlap=overlap, boundaries=boundaries)


def _slice_is_own(layout: Layout, ja: int, jb: int) -> bool:
    """True if the ids between cuts ``ja`` and ``jb`` are what ``text[a:b]`` encodes to alone:
    both cuts verified, and a cut additive by construction at or between them (then the chunk is
    verified stretch + stretch between such cuts + verified stretch, each encoded as in the whole)."""
    if not (layout.verified(ja) and layout.verified(jb)):
        return False
    text, a, b = layout.text, int(layout.cut_chars[ja]), int(layout.cut_chars[jb])
    after_a = a if layout.safe()[ja] else safe_cut_after(text, a)
    before_b = b if layout.safe()[jb] else safe_cut_before(text, b)
    return after_a <= before_b
