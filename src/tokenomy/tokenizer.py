"""Exact token counts: :class:`Tokenizer`, :func:`encoding_for`, :func:`count`.

A thin wrapper over tiktoken that keeps its ids, counts user text that looks like a special token
(``<|endoftext|>``) as plain text, uses both cores for large batches, and never crashes where
tiktoken panics (o200k_base on about a million spaces): such input is counted piece by piece,
with the same ids. One text at a time is :class:`~tokenomy._encoder.Encoder`'s work; this module
adds repeated, long, streamed and many texts, and model names.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING

from tokenomy._args import check_whole
from tokenomy._encoder import SWITCH_CHARS, AllowedSpecial, Encoder, any_special
from tokenomy._streams import count_blocks, count_within, even_cuts, text_blocks
from tokenomy._tiktoken import SHORT, mergeable_ranks, without_surrogates
from tokenomy._workers import cores, count_segments_parallel, count_texts_parallel
from tokenomy.encodings import encoding_names, encoding_spec
from tokenomy.errors import BudgetError, UnsupportedModelError, short
from tokenomy.registry import on_registry_change, resolve

if TYPE_CHECKING:
    import tiktoken

# count_cached keeps counts of strings from this length (while tiktoken counts, whose call on a
# short string costs some 25 times a cache hit; the fast backend's costs about what a hit does),
# up to this many characters in all, each entry weighing its length plus _ENTRY_CHARS
_CACHE_MIN_CHARS = 256
_CACHE_MIN_CHARS_TIKTOKEN = 16
_CACHE_CHARS = 8 << 20
_ENTRY_CHARS = 64
assert SHORT == 65_536  # count() inlines it: shorter texts hold no whitespace run tiktoken panics on
# count_batch goes to worker processes from this many characters in total (tiktoken backend),
# or to the fast backend's threads from this many (below, a plain loop is faster)
_PARALLEL_CHARS = 1_000_000
_FAST_PARALLEL_CHARS = 100_000


class Tokenizer(Encoder):
    """One encoding with exact, crash-free counting, by name (or a tiktoken ``Encoding``).

    ``backend="auto"`` counts with tiktoken until a conformant fast backend (if installed) repays
    its build, then with the fast one, dropping tiktoken's vocabulary; ``"fast"`` uses the fast
    one from the start, ``"tiktoken"`` never. tiktoken's ``Encoding`` is rebuilt only if something
    needs it later (``decode``, ``encoding``, special tokens).

    >>> tok = encoding_for("cl100k_base")
    >>> tok.count("tiktoken is great!"), tok.encode("tiktoken is great!")
    (6, [83, 1609, 5963, 374, 2294, 0])
    >>> tok.count("<|endoftext|>")  # user text, never a control token
    7
    """

    __slots__ = ("_cache", "_cache_chars", "_longest")

    def __init__(self, encoding: tiktoken.Encoding | str, *, backend: str = "auto") -> None:
        super().__init__(encoding, backend=backend)
        self._longest: int | None = None
        self._cache: OrderedDict[str, int] = OrderedDict()
        self._cache_chars = 0

    def _switched(self) -> None:
        _hot.clear()  # count() goes straight to the fast backend from now on

    def counter(self) -> Callable[[str], int]:
        """:meth:`count` with the least overhead per call, for loops over many short texts: the fast
        backend's own count once it serves, else :meth:`count` itself.

        The fast backend's count raises ``UnicodeEncodeError`` on a lone surrogate, where
        :meth:`count` counts it as U+FFFD (as tiktoken does): call :meth:`count` for those.

        >>> tok = encoding_for("o200k_base")
        >>> tok.counter()("hello world") == tok.count("hello world")
        True
        """
        fast = self._fast
        return self.count if fast is None else fast.count

    def count_cached(self, text: str) -> int:
        """:meth:`count`, remembering counts of repeated strings (system prompts, a conversation's
        earlier messages, documents sent again and again). Strings under ``_CACHE_MIN_CHARS``
        (``_CACHE_MIN_CHARS_TIKTOKEN`` while tiktoken counts) are counted directly: for them a
        cache miss costs more than counting. The cache holds at most ``_CACHE_CHARS`` characters,
        each entry weighing its length plus ``_ENTRY_CHARS``.

        >>> tok, prompt = encoding_for("o200k_base"), "You are a helpful assistant. " * 20
        >>> tok.count_cached(prompt) == tok.count_cached(prompt) == tok.count(prompt)
        True
        """
        cache = self._cache
        try:
            hit = cache.get(text)  # only str keys are kept: a hit is a str
        except TypeError:  # unhashable, so not a str
            hit = None
        if hit is not None:
            cache.move_to_end(text)
            return hit
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, not {type(text).__name__}")
        if len(text) < (_CACHE_MIN_CHARS if self._fast is not None else _CACHE_MIN_CHARS_TIKTOKEN):
            return self.count(text)
        n = self.count(text)
        with self._lock:
            cache[text] = n
            self._cache_chars += len(text) + _ENTRY_CHARS
            while self._cache_chars > _CACHE_CHARS and cache:
                old, _ = cache.popitem(last=False)
                self._cache_chars -= len(old) + _ENTRY_CHARS
        return n

    def count_until(self, text: str, limit: int) -> int:
        """The exact count if it is at most ``limit``, else some number above ``limit``.

        Reads only as much of ``text`` as it needs: checking whether 10 MB fit in 8,192 tokens
        costs about as much as counting the first 50 KB.

        >>> encoding_for("o200k_base").count_until("hello world", 5)
        2
        >>> encoding_for("o200k_base").count_until("hello world " * 1000, 5) > 5
        True
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise BudgetError(f"limit must be a whole number >= 0, not {short(limit)}")
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, not {type(text).__name__}")
        return count_within(text, limit, self.count, self._at_least)

    def _at_least(self, chars: int) -> int:
        """Fewest tokens ``chars`` characters can be: no token holds more than the encoding's
        longest token (each character is at least one byte)."""
        longest = self._longest
        if longest is None:
            if self.name in encoding_names():
                longest = encoding_spec(self.name)["max_token_bytes"]
            else:  # an Encoding tokenomy does not bundle
                longest = max(map(len, mergeable_ranks(self.encoding)))
            self._longest = longest
        return -(-chars // longest)

    def count_stream(self, source: IO[str] | Iterable[str], *, block_chars: int = 1 << 20,
                     max_tokens: int | None = None) -> int:  # fmt: skip
        """Exact count of a text file or an iterable of strings, in bounded memory.

        Blocks are counted up to their last additive cut; the rest waits for the next block. With
        ``max_tokens``, reading stops as soon as the count must exceed it (an endless stream
        too), and the result is then some number above ``max_tokens``, as with
        :meth:`count_until`: memory stays bounded by the budget even for text with no cut in it.

        >>> encoding_for("o200k_base").count_stream(["hello ", "wor", "ld"])
        2
        >>> import io
        >>> encoding_for("o200k_base").count_stream(io.StringIO("\\0" * 10**6), max_tokens=5) > 5
        True
        """
        block_chars = check_whole(block_chars, "block_chars", minimum=1)
        if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)
                                       or max_tokens < 0):  # fmt: skip
            raise BudgetError(f"max_tokens must be a whole number >= 0 or None, not {short(max_tokens)}")
        if isinstance(source, str):
            return self.count(source) if max_tokens is None else self.count_until(source, max_tokens)
        # against a small budget, text is settled (and read) in small pieces first
        settle = block_chars if max_tokens is None else min(block_chars, 4 * max_tokens + 1024)
        blocks = text_blocks(source, "count_stream", first=settle, most=block_chars)
        if self._waiting is not None:
            blocks = self._watch(blocks, block_chars)
        return count_blocks(blocks, self.count, self.count_until, self._at_least, settle=settle,
                            most=block_chars, max_tokens=max_tokens)  # fmt: skip

    def _watch(self, blocks: Iterable[str], block_chars: int) -> Iterator[str]:
        """``blocks``, switching to the fast backend at the first full block while tiktoken is
        not built yet: a stream this long repays the fast backend's build."""
        for block in blocks:
            if self._waiting is not None and self._core is None and len(block) >= block_chars:
                self._spend(SWITCH_CHARS)
            yield block

    def count_parallel(self, text: str, *, parts: int | None = None) -> int:
        """Exact count of one long text on every core (split at additive cuts).

        Texts under a megabyte, or machines with one core, are counted in this process.

        >>> encoding_for("o200k_base").count_parallel("hello world")
        2
        """
        if parts is not None:
            check_whole(parts, "parts", minimum=1)
        workers = cores()
        if len(text) < _PARALLEL_CHARS or workers < 2:
            return self.count(text)
        if self._fast is not None or self._spend(len(text)):
            return sum(
                self.count_batch([text[a:b] for a, b in itertools.pairwise(even_cuts(text, 4 * workers))])
            )
        pieces = parts or max(2, min(8 * workers, len(text) // 250_000))
        segments = [text[a:b] for a, b in itertools.pairwise(even_cuts(text, pieces))]
        return count_segments_parallel((_tiktoken_counter, self.name), segments, self.count)

    def count_batch(self, texts: Iterable[str]) -> list[int]:
        """Counts of ``texts`` in order; batches of over a million characters may use every core.

        tiktoken holds the GIL while it encodes, so the parallel path uses worker processes
        (started on first use, then reused) when the time measured on a first slice says the rest
        repays them; this process keeps counting meanwhile, so it is never much slower than a loop.

        >>> encoding_for("o200k_base").count_batch(["hello world", "", "tiktoken is great!"])
        [2, 0, 6]
        """
        items = texts if isinstance(texts, list) else list(texts)
        for i, text in enumerate(items):
            if not isinstance(text, str):
                raise TypeError(f"texts[{i}] must be a str, not {type(text).__name__}")
        fast = self._fast
        if fast is None and self._waiting is not None and self._spend(sum(map(len, items))):
            fast = self._fast
        if fast is not None:
            if sum(map(len, items)) < _FAST_PARALLEL_CHARS:  # starting threads costs ~100 µs
                count = self.count
                return [count(t) for t in items]
            try:  # releases the GIL and runs on every core itself
                return fast.count_batch(items)
            except UnicodeEncodeError:
                return fast.count_batch([without_surrogates(t) for t in items])
        workers = cores()
        if workers < 2 or len(items) < 2 * workers or sum(map(len, items)) < _PARALLEL_CHARS:
            count = self.count
            return [count(t) for t in items]
        return count_texts_parallel((_tiktoken_counter, self.name), items, self.count)


def _tiktoken_counter(encoding: str) -> Callable[[str], int]:
    """A worker process's counter for ``encoding``: the pool's tasks name this function, so
    ``_workers`` needs no import of this module."""
    return Tokenizer(encoding, backend="tiktoken").count


_tokenizers: dict[str, Tokenizer] = {}
_by_encoding: dict[str, Tokenizer] = {}
_tok_lock = threading.Lock()


# model name -> the hot-path callable: a fast backend's count (an int), or tiktoken's core
# encoder (a list of ids)
_hot: dict[str, Callable[[str], int | list[int]]] = {}


def _clear_model_cache() -> None:
    _tokenizers.clear()
    _hot.clear()


on_registry_change(_clear_model_cache)


def _tokenizer_for_encoding(name: str) -> Tokenizer:
    tok = _by_encoding.get(name)
    if tok is None:
        built = Tokenizer(name)
        with _tok_lock:
            tok = _by_encoding.setdefault(name, built)
    return tok


def encoding_for(model_or_encoding: str) -> Tokenizer:
    """The :class:`Tokenizer` for a model name (as of today) or an encoding name; cached.

    >>> encoding_for("gpt-4o").name, encoding_for("gpt-4").name, encoding_for("p50k_base").name
    ('o200k_base', 'cl100k_base', 'p50k_base')
    """
    tok = _tokenizers.get(model_or_encoding)
    if tok is not None:
        return tok
    if not isinstance(model_or_encoding, str):
        raise TypeError(f"model must be a str, not {type(model_or_encoding).__name__}")
    if model_or_encoding in encoding_names():
        tok = _tokenizer_for_encoding(model_or_encoding)
    else:
        info = resolve(model_or_encoding)
        if info.encoding is None:
            raise UnsupportedModelError(
                model_or_encoding,
                f"a {info.kind} model has no text tokenizer in the registry; it is billed by "
                "image, character or minute. Use a text model, or register_model(..., "
                "encoding=...) if you know its tokenizer.",
            )
        tok = _tokenizer_for_encoding(info.encoding)
    _tokenizers[model_or_encoding] = tok
    return tok


def _hot_counter(tok: Tokenizer) -> Callable[[str], int | list[int]]:
    if tok._fast is not None:
        return tok._fast.count
    core = None if tok._waiting is not None else tok._tiktoken()
    # while the fast backend may still take over, Tokenizer.count keeps the account
    return tok.count if core is None else core.encode_ordinary


def count(text: str, *, model: str = "gpt-4o", allowed_special: AllowedSpecial = ()) -> int:
    """Return how many tokens ``model`` reads in ``text``; ``<|endoftext|>`` is plain text here.

    >>> count("hello world", model="gpt-4o")
    2
    >>> count("<|endoftext|>", model="gpt-4o")
    7
    >>> count("<|endoftext|>", model="gpt-4o", allowed_special="all")
    1
    """
    if allowed_special == () if type(allowed_special) is tuple else not any_special(allowed_special):
        try:  # the hot path: one dict subscript, then tiktoken's core or the fast backend
            hot = _hot[model]
        except KeyError:
            pass
        else:
            if len(text) < 65_536:  # SHORT, as a constant: this line runs on every call
                try:
                    result = hot(text)
                except (UnicodeEncodeError, TypeError):
                    pass
                else:  # tiktoken's core returns ids, a fast backend a count
                    return result if type(result) is int else len(result)  # type: ignore[arg-type]
    tok = encoding_for(model)
    if any_special(allowed_special):
        return len(tok.encode(text, allowed_special=allowed_special))
    _hot[model] = _hot_counter(tok)
    return tok.count(text)
