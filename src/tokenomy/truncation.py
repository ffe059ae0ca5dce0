"""Cut text to a token budget, exactly: :func:`truncate`, :class:`Truncation`, :func:`fits`.

The kept text is a prefix, a suffix, or prefix + marker + suffix of the input; it counts at most
``max_tokens`` when encoded on its own, and keeping one more piece of the input would exceed the
budget. Only the kept region (plus a margin) is encoded, so cutting a 10 MB document to 8,192
tokens costs about as much as encoding 40 KB.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import numpy as np

from tokenomy._args import check_choice, check_str
from tokenomy._cuts import cut_before, cut_near
from tokenomy._layout import Layout
from tokenomy.chunking import check_budget
from tokenomy.errors import BudgetError, short
from tokenomy.tokenizer import Tokenizer, encoding_for

SIDES = ("end", "start", "middle")


@dataclass(frozen=True)
class Truncation:
    """What was kept and exactly what was cut.

    ``text`` is what to send; ``tokens`` its count on its own. ``kept`` are the ``(start, end)``
    character ranges of the input that ``text`` holds (two ranges for ``side="middle"``);
    ``dropped_chars`` and ``dropped_tokens`` measure the rest, and ``truncated`` says if anything
    was cut. ``dropped_tokens`` is counted when first read, so that cutting a long document
    costs only the kept part.
    """

    text: str
    tokens: int
    kept: tuple[tuple[int, int], ...]
    dropped_chars: int
    marker: str = ""
    _dropped_text: str = field(default="", repr=False, compare=False)
    _encoding: str = field(default="", repr=False, compare=False)

    @property
    def truncated(self) -> bool:
        """True if anything was cut."""
        return self.dropped_chars > 0

    @cached_property
    def dropped_tokens(self) -> int:
        """Tokens of the input that were cut (exact: the cuts are additive)."""
        return encoding_for(self._encoding).count(self._dropped_text) if self._dropped_text else 0


def _prefix_layout(tok: Tokenizer, text: str, max_tokens: int) -> Layout:
    """Layout of the shortest prefix (ending at an additive cut) holding more than max_tokens."""
    end = len(text)
    size = 5 * max_tokens + 256
    while True:
        cut = cut_near(text, size) if size < end else end
        layout = Layout(tok, text[:cut])
        if layout.total > max_tokens or cut >= end:
            return layout
        # grow by the density seen so far, with a margin, so a second pass nearly always suffices
        size = max(2 * size, int(cut * 1.25 * max_tokens / max(layout.total, 1)) + 256)


def _suffix_layout(tok: Tokenizer, text: str, max_tokens: int) -> tuple[int, Layout]:
    """Start and layout of the shortest suffix (from an additive cut) holding over max_tokens."""
    size = 5 * max_tokens + 256
    while True:
        start = cut_before(text, len(text) - size) if size < len(text) else 0
        layout = Layout(tok, text[start:])
        if layout.total > max_tokens or start == 0:
            return start, layout
        seen = len(text) - start
        size = max(2 * size, int(seen * 1.25 * max_tokens / max(layout.total, 1)) + 256)


def longest_prefix_layout(tok: Tokenizer, text: str, max_tokens: int) -> Layout:
    """The layout of the longest exact prefix of ``text`` within ``max_tokens`` (encoded once)."""
    layout = _prefix_layout(tok, text, max_tokens)
    if layout.total <= max_tokens:
        return layout
    j = layout.boundary_at_or_before_token(max_tokens)
    while j > 0 and not layout.verified(j):
        j -= 1
    return layout.prefix(j)


def longest_prefix(tok: Tokenizer, text: str, max_tokens: int) -> tuple[int, int]:
    """End and token count of the longest exact prefix of ``text`` within ``max_tokens``."""
    layout = longest_prefix_layout(tok, text, max_tokens)
    return len(layout.text), layout.total


def longest_suffix(tok: Tokenizer, text: str, max_tokens: int) -> tuple[int, int]:
    """Start and token count of the longest exact suffix of ``text`` within ``max_tokens``."""
    offset, layout = _suffix_layout(tok, text, max_tokens)
    if layout.total <= max_tokens:
        return offset, layout.total
    j = int(np.searchsorted(layout.cut_tokens, layout.total - max_tokens))
    last = len(layout.cut_chars) - 1
    while j < last and not layout.verified(j):
        j += 1
    return offset + int(layout.cut_chars[j]), layout.total - int(layout.cut_tokens[j])


def truncate(
    text: str,
    max_tokens: int,
    *,
    model: str = "gpt-4o",
    side: str = "end",
    marker: str = "…",
    as_of: date | None = None,
) -> Truncation:
    """Shorten ``text`` to at most ``max_tokens`` tokens, cutting at the ``side`` named.

    ``side="end"`` keeps the beginning, ``"start"`` keeps the end, ``"middle"`` keeps both ends
    joined by ``marker`` (whose tokens count toward the budget).

    >>> t = truncate("The quick brown fox jumps over the lazy dog.", 4, model="gpt-4o")
    >>> t.text, t.tokens, t.dropped_tokens
    ('The quick brown fox', 4, 6)
    >>> truncate("The quick brown fox jumps over the lazy dog.", 6, side="middle").text
    'The quick brown… dog.'
    """
    limit = check_budget(max_tokens)
    check_choice(side, "side", SIDES)
    check_str(text, "text")
    check_str(marker, "marker")
    tok = encoding_for(model)
    if side == "end":
        end, tokens = longest_prefix(tok, text, limit)
        return _result(tok, text, text[:end], tokens, ((0, end),), "")
    if side == "start":
        start, tokens = longest_suffix(tok, text, limit)
        return _result(tok, text, text[start:], tokens, ((start, len(text)),), "")
    return _middle(tok, text, limit, marker)


def _result(tok: Tokenizer, text: str, kept: str, tokens: int,
            ranges: tuple[tuple[int, int], ...], marker: str) -> Truncation:  # fmt: skip
    dropped_chars = len(text) - sum(b - a for a, b in ranges)
    if dropped_chars == 0:
        return Truncation(kept, tokens, ranges, 0)
    # the cuts are additive, so the dropped part counts exactly on its own
    if len(ranges) == 1:
        a, b = ranges[0]
        dropped = text[b:] if a == 0 else text[:a]
    else:
        (_, head_end), (tail_start, _) = ranges
        dropped = text[head_end:tail_start]
    return Truncation(kept, tokens, ranges, dropped_chars, marker, dropped, tok.name)


def _middle(tok: Tokenizer, text: str, limit: int, marker: str) -> Truncation:
    total = tok.count(text) if len(text) <= 16 * limit else None
    if total is not None and total <= limit:
        return Truncation(text, total, ((0, len(text)),), 0)
    budget = limit - tok.count(marker)
    while budget > 0:
        head_end, _ = longest_prefix(tok, text, (budget + 1) // 2)
        rest = text[head_end:]
        tail_rel, _ = longest_suffix(tok, rest, budget // 2)
        tail_start = head_end + tail_rel
        if tail_start <= head_end:  # the whole text fits after all
            return Truncation(text, tok.count(text), ((0, len(text)),), 0)
        joined = text[:head_end] + marker + text[tail_start:]
        tokens = tok.count(joined)
        if tokens <= limit:
            return _result(tok, text, joined, tokens, ((0, head_end), (tail_start, len(text))), marker)
        budget -= tokens - limit  # the junctions merged differently: shrink and retry
    raise BudgetError(f"max_tokens={limit} leaves no room beside the marker {short(marker)}: raise "
                      "max_tokens")


def fits(text: str, max_tokens: int, *, model: str = "gpt-4o") -> bool:
    """True if ``text`` counts at most ``max_tokens``; stops reading as soon as it cannot.

    >>> fits("hello world", 2, model="gpt-4o"), fits("hello world", 1, model="gpt-4o")
    (True, False)
    """
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 0:
        raise BudgetError(f"max_tokens must be a whole number >= 0, not {short(max_tokens)}")
    return encoding_for(model).count_until(text, max_tokens) <= max_tokens
