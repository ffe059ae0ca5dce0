"""Cut text to a token budget, exactly: :func:`truncate`, :class:`Truncation`, :func:`fits`.

The kept text is a prefix, a suffix, or prefix + marker + suffix of the input; it counts at most
``max_tokens`` when encoded on its own, and keeping one more piece of the input would exceed the
budget. Only the kept region (plus a margin) is encoded, so cutting a 10 MB document to 8,192
tokens costs about as much as encoding 40 KB.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

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

    >>> text = "The quick brown fox jumps over the lazy dog."
    >>> cut = truncate(text, 6, model="gpt-4o", side="middle")
    >>> cut.text, cut.tokens, cut.kept, cut.marker
    ('The quick brown… dog.', 6, ((0, 15), (39, 44)), '…')
    >>> cut.truncated, cut.dropped_chars, cut.dropped_tokens
    (True, 24, 5)
    """

    text: str
    tokens: int
    kept: tuple[tuple[int, int], ...]
    dropped_chars: int
    marker: str = ""
    # what was cut and its encoding, set by _cut(): dropped_tokens counts it when first read
    _dropped_text: str = field(default="", init=False, repr=False, compare=False)
    _encoding: str = field(default="", init=False, repr=False, compare=False)

    @property
    def truncated(self) -> bool:
        """True if anything was cut."""
        return self.dropped_chars > 0

    @cached_property
    def dropped_tokens(self) -> int:
        """Tokens of the input that were cut (exact: the cuts are additive)."""
        return encoding_for(self._encoding).count(self._dropped_text) if self._dropped_text else 0

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (``dropped_tokens`` counted now if it was not yet)."""
        return {
            "text": self.text, "tokens": self.tokens, "kept": [list(r) for r in self.kept],
            "dropped_chars": self.dropped_chars, "dropped_tokens": self.dropped_tokens,
            "truncated": self.truncated, "marker": self.marker,
        }  # fmt: skip


def _cut(kept: str, tokens: int, ranges: tuple[tuple[int, int], ...], dropped_chars: int, marker: str,
         dropped: str, encoding: str) -> Truncation:  # fmt: skip
    """A :class:`Truncation` that remembers the ``dropped`` text, to count it only if asked."""
    result = Truncation(kept, tokens, ranges, dropped_chars, marker)
    object.__setattr__(result, "_dropped_text", dropped)
    object.__setattr__(result, "_encoding", encoding)
    return result


def nothing_kept(tok: Tokenizer, text: str) -> Truncation:
    """The :class:`Truncation` of ``text`` cut whole: nothing kept, all of it dropped.

    >>> nothing_kept(encoding_for("gpt-4o"), "hello world").dropped_tokens
    2
    """
    return _cut("", 0, ((0, 0),), len(text), "", text, tok.name)


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
    """Shorten ``text`` to at most ``max_tokens`` tokens (at least 1), cutting at the ``side`` named.

    ``side="end"`` keeps the beginning, ``"start"`` keeps the end, ``"middle"`` keeps both ends
    joined by ``marker`` (whose tokens count toward the budget). ``as_of`` changes nothing (a
    model's tokenizer does not depend on the day) and is deprecated.

    >>> t = truncate("The quick brown fox jumps over the lazy dog.", 4, model="gpt-4o")
    >>> t.text, t.tokens, t.dropped_tokens
    ('The quick brown fox', 4, 6)
    >>> truncate("The quick brown fox jumps over the lazy dog.", 6, side="middle").text
    'The quick brown… dog.'
    """
    if as_of is not None:
        warnings.warn("truncate() ignores as_of (a model's tokenizer does not depend on the day): "
                      "stop passing it, it goes in the next release", DeprecationWarning,
                      stacklevel=2)  # fmt: skip
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
    return _cut(kept, tokens, ranges, dropped_chars, marker, dropped, tok.name)


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

    ``max_tokens=0`` is a fair question (only ``""`` fits), where :func:`truncate` and
    :func:`~tokenomy.chunk` need at least 1 token to keep; all three refuse a negative budget or
    one that is no whole number with a :class:`~tokenomy.BudgetError`.

    >>> fits("hello world", 2, model="gpt-4o"), fits("hello world", 1, model="gpt-4o")
    (True, False)
    >>> fits("", 0), fits("a", 0)
    (True, False)
    """
    limit = check_budget(max_tokens, minimum=0)
    return encoding_for(model).count_until(text, limit) <= limit
