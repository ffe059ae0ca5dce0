"""Where a text can be cut so that token counts add up: ``count(a + b) == count(a) + count(b)``.

tiktoken encodes each pre-tokenizer piece on its own, so a cut at a piece boundary is additive on
the right-hand side (no pattern looks behind). On the left-hand side it is additive when the
character before the cut is not whitespace (only ``\\s+(?!\\S)``-style alternatives look ahead).
Two cheap rules find such piece boundaries without running the pattern:

* a space whose previous character is not whitespace: in every tiktoken pattern a space inside a
  piece is its first character or part of an all-whitespace piece;
* a letter or digit followed by a character that is none of whitespace, letter, digit, combining
  mark or apostrophe: letter and number pieces cannot continue into it, and only an apostrophe can
  extend a letter piece (contractions).

``tests/test_cuts.py`` checks both rules against tiktoken on the corpus and on generated text.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import regex


@cache
def _punct_after_word() -> regex.Pattern[str]:
    import regex  # 20 ms of import: only when a cut falls back to this rule

    return regex.compile(r"(?<=[\p{L}\p{N}])(?=[^\s\p{L}\p{N}\p{M}'])")


def is_safe_space(text: str, p: int) -> bool:
    """Rule one at ``p`` (ends of the text count as safe)."""
    return p <= 0 or p >= len(text) or (text[p] == " " and not text[p - 1].isspace())


def safe_cut_before(text: str, p: int) -> int:
    """Last cut by the space rule strictly before ``p`` (0 if none)."""
    i = text.rfind(" ", 0, p)
    while i > 0 and text[i - 1].isspace():
        i = text.rfind(" ", 0, i)
    return max(i, 0)


def safe_cut_after(text: str, p: int) -> int:
    """First cut by the space rule strictly after ``p`` (``len(text)`` if none)."""
    i = text.find(" ", p + 1)
    while i != -1 and text[i - 1].isspace():
        i = text.find(" ", i + 1)
    return len(text) if i == -1 else i


def cut_near(text: str, p: int, window: int = 1 << 16) -> int:
    """An additive cut at or after ``p``, looking at most ``window`` characters ahead by the space
    rule and then by the punctuation rule; ``len(text)`` if there is none."""
    if p <= 0:
        return 0
    if p >= len(text):
        return len(text)
    cut = safe_cut_after(text, p - 1)
    if cut < len(text) and cut - p <= window:
        return cut
    match = _punct_after_word().search(text, p, min(cut, p + window))
    return match.start() if match else cut


def cut_before(text: str, p: int, window: int = 1 << 16) -> int:
    """An additive cut at or before ``p`` (0 if none found within ``window`` characters)."""
    cut = safe_cut_before(text, p + 1)
    if cut > 0 and p - cut <= window:
        return cut
    start = max(p - window, 1)
    last = 0
    for match in _punct_after_word().finditer(text, start, p + 1):
        last = match.start()
    return max(last, cut)
