"""A text encoded once, with each token's character offset: the basis of exact cutting.

tiktoken encodes every pre-tokenizer piece on its own, so the encoding of a whole text is the
concatenation of its pieces' encodings. A position ``p`` where ``text[p] == " "`` and
``text[p - 1]`` is not whitespace is always a piece boundary (in every tiktoken pattern a space
inside a piece is either its first character or part of an all-whitespace piece), and cutting
there is additive on both sides: ``count(text[a:p]) + count(text[p:b]) == count(text[a:b])``.
Other token boundaries are used only after checking the short stretch around them.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt

from tokenomy._cuts import safe_cut_after, safe_cut_before
from tokenomy._tiktoken import mergeable_ranks, special_tokens, without_surrogates
from tokenomy.tokenizer import Tokenizer

# Lookup tables over code points below _TABLE (everything above is none of these): whitespace as
# str.isspace() sees it (a superset of the White_Space set tiktoken's \s matches), sentence ends,
# closing quotes.
_TABLE = 0xFF20


def _table(chars: str) -> npt.NDArray[np.bool_]:
    out = np.zeros(_TABLE + 1, dtype=np.bool_)
    out[[ord(c) for c in chars if ord(c) < _TABLE]] = True
    return out


_SPACES = _table("".join(chr(c) for c in range(_TABLE) if chr(c).isspace()))
_SENTENCE_END = _table(".!?…。！？；;:")
_CLOSERS = _table("\"')»”’")
PARAGRAPH, SENTENCE, WORD, TOKEN = 0, 1, 2, 3
KIND_NAMES = ("paragraph", "sentence", "word", "token")


@cache
def _token_byte_lengths(tok: Tokenizer) -> npt.NDArray[np.int64]:
    encoding = tok.encoding
    lengths = np.zeros(encoding.n_vocab, dtype=np.int64)
    for token_bytes, rank in mergeable_ranks(encoding).items():
        lengths[rank] = len(token_bytes)
    for name, rank in special_tokens(encoding).items():
        lengths[rank] = len(name.encode("utf-8"))
    return lengths


class Layout:
    """``text`` with its token ids and the character offset of every token boundary.

    ``cut_chars[i]`` is a character offset where a token boundary falls on a character boundary,
    and ``cut_tokens[i]`` the number of tokens before it (both start with 0).
    """

    def __init__(self, tok: Tokenizer, text: str) -> None:
        self.tok, self.text = tok, text
        self.ids = tok.encode_array(text)
        self.total = len(self.ids)
        byte_ends = np.cumsum(_token_byte_lengths(tok)[self.ids])
        if text.isascii():
            self.codepoints: npt.NDArray[np.uint32] | None = None
            self.cut_chars = np.concatenate(([0], byte_ends))
            self.cut_tokens = np.arange(self.total + 1, dtype=np.int64)
            self.all_aligned = True
        else:
            self.codepoints = None
            # UTF-8 of the text as tokenized (lone surrogates become U+FFFD, one character each)
            try:
                encoded = text.encode("utf-8")
            except UnicodeEncodeError:
                encoded = without_surrogates(text).encode("utf-8")
            data = np.frombuffer(encoded, dtype=np.uint8)
            starts = np.empty(len(data) + 1, dtype=np.bool_)  # a character starts at this byte
            np.not_equal(data & 0xC0, 0x80, out=starts[:-1])
            starts[-1] = True
            chars_through = np.cumsum(starts, dtype=np.int64)  # character index + 1 at a start
            aligned = starts[byte_ends]
            self.cut_chars = np.concatenate(([0], chars_through[byte_ends[aligned]] - 1)).astype(np.int64)
            self.cut_tokens = np.concatenate(([0], np.nonzero(aligned)[0] + 1)).astype(np.int64)
            self.all_aligned = bool(aligned.all())
            if not self.all_aligned:  # token count -> index of the last boundary at or before it
                marks = np.zeros(self.total + 1, dtype=np.bool_)
                marks[self.cut_tokens] = True
                self._index_of_token = np.cumsum(marks) - 1
        self._kinds: npt.NDArray[np.int8] | None = None
        self._safe: npt.NDArray[np.bool_] | None = None

    def prefix(self, j: int) -> Layout:
        """The layout of ``text`` up to exact cut ``j``, sharing this one's arrays (no re-encode)."""
        end, tokens = int(self.cut_chars[j]), int(self.cut_tokens[j])
        if end == len(self.text):
            return self
        new = object.__new__(Layout)
        new.tok, new.text, new.ids, new.total = self.tok, self.text[:end], self.ids[:tokens], tokens
        new.codepoints = None if self.codepoints is None else self.codepoints[:end]
        new.cut_chars, new.cut_tokens = self.cut_chars[: j + 1], self.cut_tokens[: j + 1]
        new.all_aligned = self.all_aligned
        if not self.all_aligned:
            new._index_of_token = self._index_of_token[: tokens + 1]
        new._kinds = new._safe = None  # the character after the last cut is gone: classify again
        return new

    def _points(self) -> npt.NDArray[np.uint32]:
        if self.codepoints is None:
            if self.text.isascii():
                self.codepoints = np.frombuffer(self.text.encode("ascii"), dtype=np.uint8).astype(np.uint32)
            else:
                encoded = self.text.encode("utf-32-le", "surrogatepass")
                self.codepoints = np.frombuffer(encoded, dtype=np.uint32)
        return self.codepoints

    def kinds(self) -> npt.NDArray[np.int8]:
        """The kind of boundary at each cut (PARAGRAPH, SENTENCE, WORD or TOKEN)."""
        if self._kinds is None:
            self._classify()
        assert self._kinds is not None
        return self._kinds

    def safe(self) -> npt.NDArray[np.bool_]:
        """Cuts that are additive by construction (a space after a non-space, or an end)."""
        if self._safe is None:
            self._classify()
        assert self._safe is not None
        return self._safe

    def _classify(self) -> None:
        cp = np.minimum(np.concatenate(([0, 0], self._points(), [0, 0])), _TABLE)  # padded by 2
        p = self.cut_chars + 2
        prev2, prev, nxt, nxt2 = cp[p - 2], cp[p - 1], cp[p], cp[p + 1]
        space_prev, space_next = _SPACES[prev], _SPACES[nxt]
        nl = np.uint32(10)
        paragraph = (
            ((prev2 == nl) & (prev == nl)) | ((prev == nl) & (nxt == nl)) | ((nxt == nl) & (nxt2 == nl))
        )
        ends = _SENTENCE_END[prev]
        sentence = (ends | (_CLOSERS[prev] & _SENTENCE_END[prev2])
                    | (prev == nl) | (nxt == nl))  # fmt: skip
        word = space_prev | space_next
        kinds = np.full(len(p), TOKEN, dtype=np.int8)
        kinds[word] = WORD
        kinds[sentence] = SENTENCE
        kinds[paragraph] = PARAGRAPH
        self._kinds = kinds
        safe = (nxt == 32) & ~space_prev
        safe[0] = True
        safe[-1] |= self.cut_chars[-1] == len(self.text)
        self._safe = safe

    def _walk_to(self, j: int, char: int) -> int:
        """Tokens before boundary ``char``, found by walking from index ``j`` (cuts are near)."""
        chars = self.cut_chars
        steps = 0
        while chars[j] > char and steps < 64:
            j, steps = j - 1, steps + 1
        while chars[j] < char and steps < 64:
            j, steps = j + 1, steps + 1
        return int(self.cut_tokens[j]) if chars[j] == char else self.tokens_before(char)

    def tokens_before(self, char: int) -> int:
        """Tokens before ``char``, which must be an aligned token boundary."""
        return int(self.cut_tokens[int(self.cut_chars.searchsorted(char))])

    def boundary_at_or_before_token(self, token: int) -> int:
        """Index into ``cut_*`` of the last boundary with at most ``token`` tokens before it."""
        if token >= self.total:
            return len(self.cut_tokens) - 1
        if token < 0:
            return -1
        return token if self.all_aligned else int(self._index_of_token[token])

    def first_boundary_from_token(self, token: int) -> int:
        """Index into ``cut_*`` of the first boundary with at least ``token`` tokens before it."""
        j = self.boundary_at_or_before_token(token)
        return j if j >= 0 and self.cut_tokens[j] == token else j + 1

    def verified(self, j: int) -> bool:
        """True if cutting at boundary ``j`` keeps both sides' counts as they are in the whole."""
        if self.safe()[j]:
            return True
        text, p = self.text, int(self.cut_chars[j])
        before, after = safe_cut_before(text, p), safe_cut_after(text, p)
        t_before, t_p, t_after = self._walk_to(j, before), int(self.cut_tokens[j]), self._walk_to(j, after)
        encode = self.tok.encode
        return bool(
            encode(text[before:p]) == self.ids[t_before:t_p].tolist()
            and encode(text[p:after]) == self.ids[t_p:t_after].tolist()
        )
