"""Text too long to hold, or to encode, at once: read in blocks, counted segment by segment.

Counts add up across an additive cut (see ``_cuts``), so a stream is counted block by block up to
each block's last such cut, and a long text in segments: only one segment's ids are held at a
time. :func:`text_blocks` is the one reader of text streams, shared by ``count_stream`` and
``chunk``. The counting functions take the counter as an argument, so they serve any tokenizer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import IO, TypeVar

from tokenomy._cuts import cut_before, cut_near

BLOCK_CHARS = 1 << 20
T = TypeVar("T")


def in_lists(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last may be shorter): lines counted or sent to a worker
    together, never more than one list held.

    >>> list(in_lists(range(5), 2))
    [[0, 1], [2, 3], [4]]
    """
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def text_blocks(source: IO[str] | Iterable[str], reader: str, *, first: int = BLOCK_CHARS,
                most: int = BLOCK_CHARS) -> Iterator[str]:  # fmt: skip
    """The blocks of a text file (``first`` characters, then twice as many each time, up to
    ``most``) or of an iterable of ``str``; a TypeError naming ``reader`` for anything else.

    >>> import io
    >>> list(text_blocks(io.StringIO("abcdefg"), "count_stream", first=2, most=4))
    ['ab', 'cdef', 'g']
    """
    read = getattr(source, "read", None)
    if callable(read):
        return _checked(_reads(read, first, most), reader)
    if isinstance(source, Iterable):
        return _checked(iter(source), reader)
    kind = type(source).__name__
    raise TypeError(f"{reader} reads a text file or an iterable of str, not {kind}")


def _reads(read: Callable[[int], str], first: int, most: int) -> Iterator[str]:
    size = first
    while block := read(size):
        yield block
        size = min(2 * size, most)


def _checked(blocks: Iterator[object], reader: str) -> Iterator[str]:
    for block in blocks:
        if not isinstance(block, str):
            raise TypeError(f"{reader} reads text; got a {type(block).__name__} block")
        yield block


def count_blocks(blocks: Iterable[str], count: Callable[[str], int], count_until: Callable[[str, int], int],
                 at_least: Callable[[int], int], *, settle: int, most: int,
                 max_tokens: int | None) -> int:  # fmt: skip
    """Exact count of the text in ``blocks``, each counted up to its last additive cut (the rest
    waits for the next block); ``settle`` characters are gathered first, twice as many each time
    up to ``most``. With ``max_tokens``, some number above it as soon as the count must exceed it.

    ``at_least(chars)`` is the fewest tokens ``chars`` characters can be.

    >>> count_blocks(["ab c", "d e"], len, lambda t, n: len(t), lambda c: 0, settle=2, most=4,
    ...              max_tokens=None)
    7
    """
    total, carry = 0, ""
    looked = 0  # carry[:looked] holds no cut worth waiting for: only what came after is searched
    for block in blocks:
        carry += block
        if max_tokens is not None:
            least = total + at_least(len(carry))
            if least > max_tokens:
                return least
        if len(carry) < settle:
            continue
        settle = min(2 * settle, most)
        start = max(looked - 1, 0)  # one character of context for the rules that look back
        cut = cut_before(carry[start:], len(carry) - 1 - start)
        cut, looked = (start + cut if cut > 0 else 0), len(carry)
        if cut > 0:
            if max_tokens is None:
                total += count(carry[:cut])
            else:
                total += count_until(carry[:cut], max_tokens - total)
                if total > max_tokens:
                    return total
            carry = carry[cut:]
            looked = len(carry)
    if max_tokens is None:
        return total + count(carry)
    return total + count_until(carry, max_tokens - total)


def count_within(text: str, limit: int, count: Callable[[str], int], at_least: Callable[[int], int]) -> int:
    """The exact count of ``text`` if it is at most ``limit``, else some number above ``limit``,
    counting prefixes that double in size (so only as much is read as needed).

    >>> count_within("a b c d", 2, len, lambda chars: 0) > 2
    True
    """
    size, n = 4 * limit + 1024, len(text)
    least = at_least(n)
    if least > limit:  # more characters than `limit` tokens can hold: no need to count them
        return least
    if n <= size:
        return count(text)
    total = start = 0
    while start < n:
        end = cut_near(text, start + size) if start + size < n else n
        total += count(text[start:end])
        if total > limit:
            return total
        start, size = end, size * 2
    return total


def count_segments(text: str, segment: int, count: Callable[[str], int]) -> int:
    """The count of ``text`` as the sum of ``count`` over segments of about ``segment`` characters,
    cut at additive points.

    >>> count_segments("hello world again", 6, len)
    17
    """
    total = start = 0
    while start < len(text):
        end = cut_near(text, start + segment)
        total += count(text[start:end])
        start = end
    return total


def even_cuts(text: str, pieces: int) -> list[int]:
    """About ``pieces`` additive cut points splitting ``text`` evenly, with both ends.

    >>> even_cuts("aaaa bbbb cccc dddd", 4)
    [0, 4, 9, 14, 19]
    """
    bounds = [0]
    for i in range(1, pieces):
        cut = cut_near(text, max(len(text) * i // pieces, bounds[-1] + 1))
        if bounds[-1] < cut < len(text):
            bounds.append(cut)
    bounds.append(len(text))
    return bounds
