"""Exact token counts: :class:`Tokenizer`, :func:`encoding_for`, :func:`count`.

A thin wrapper over tiktoken that keeps its ids, counts user text that looks like a special token
(``<|endoftext|>``) as plain text, uses both cores for large batches, and never crashes where
tiktoken panics (o200k_base on about a million spaces): such input is counted piece by piece,
with the same ids.
"""

from __future__ import annotations

import itertools
import operator
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any, Literal

from tokenomy._args import check_choice, check_whole
from tokenomy._cuts import cut_before, cut_near
from tokenomy._workers import cores, count_segments_parallel, count_texts_parallel
from tokenomy.backends import backend_mode, fast_backend, fast_offered, note_tiktoken
from tokenomy.encodings import encoding_names, encoding_spec, forget_encoding, load_encoding
from tokenomy.errors import BudgetError, InvalidArgumentError, UnsupportedModelError, short
from tokenomy.registry import _lookup, on_registry_change, warn_if_retired

if TYPE_CHECKING:  # imported where used: a first count needs none of them with a fast backend
    import numpy as np
    import numpy.typing as npt
    import regex
    import tiktoken

AllowedSpecial = Literal["all"] | Collection[str]

# A whitespace run this long may overflow tiktoken's regex engine (it panics from about 1,000,000
# characters on o200k_base). Runs of 2 * _RUN_STEP characters or more are always detected by
# sampling every _RUN_STEP-th character, so the check costs O(n / _RUN_STEP).
_RUN_STEP = 32_768
# count_cached keeps counts of strings from this length, up to this many characters in all
_CACHE_MIN_CHARS = 256
_CACHE_CHARS = 8 << 20
# texts shorter than this cannot hold a run worth checking for (count() inlines the value)
_SHORT = 2 * _RUN_STEP
assert _SHORT == 65_536
# pieces longer than this are encoded on their own, without the regex engine
_LONG_PIECE = 8_192
# in the piece-by-piece path, plain runs of text are encoded in segments of about this size
_SEGMENT = 1 << 20
# count_batch goes to worker processes from this many characters in total (tiktoken backend),
# or to the fast backend's threads from this many (below, a plain loop is faster)
_PARALLEL_CHARS = 1_000_000
_FAST_PARALLEL_CHARS = 100_000
# Building the fast backend's vocabulary costs about as much as tiktoken counting 16M characters
# (about 1 s for o200k_base, more than building tiktoken's), so tiktoken serves first, and the fast
# backend is built once this much work went through tiktoken (ski rental: at most twice the cost
# of the best choice in hindsight), or at once for a call that big when nothing is built yet.
# Each call also counts as _CALL_CHARS characters: its fixed cost.
_SWITCH_CHARS = 16 << 20
_CALL_CHARS = 32


def _without_surrogates(text: str) -> str:
    # tiktoken's own treatment of lone surrogates: each becomes U+FFFD
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _has_long_whitespace_run(text: str) -> bool:
    step = _RUN_STEP
    previous = text[0].isspace()
    for i in range(step, len(text), step):
        current = text[i].isspace()
        if current and previous and text[i - step : i + 1].isspace():
            return True
        previous = current
    return False


class Tokenizer:
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

    __slots__ = ("_cache", "_cache_chars", "_core", "_encoding", "_fast", "_lock", "_longest", "_pieces",
                 "_reason", "_waiting", "name")  # fmt: skip

    def __init__(self, encoding: tiktoken.Encoding | str, *, backend: str = "auto") -> None:
        check_choice(backend, "backend", ("auto", "fast", "tiktoken"))
        if isinstance(encoding, str):
            self.name: str = encoding
            self._encoding: tiktoken.Encoding | None = None
            encoding_spec(encoding)  # an unknown name fails here, with suggestions
        else:
            import tiktoken  # whoever passes an Encoding has imported it already

            if not isinstance(encoding, tiktoken.Encoding):
                kind = type(encoding).__name__
                raise TypeError(f"encoding must be a name or a tiktoken Encoding, not {kind}")
            self.name, self._encoding = encoding.name, encoding
        self._pieces: regex.Pattern[str] | None = None
        self._longest: int | None = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, int] = OrderedDict()
        self._cache_chars = 0
        self._fast = None
        # tiktoken's core encoder, once built: skips a Python frame per call on the hot path
        self._core: Any = None if self._encoding is None else self._encoding._core_bpe
        if backend == "auto" and backend_mode() == "fast":
            backend = "fast"
        if backend == "fast":
            self._fast = fast_backend(self.name)
        # characters tiktoken may still count before the fast backend is built (None: never)
        self._waiting: int | None = None
        # why tiktoken serves, for backend_info() (None: the choice is recorded elsewhere)
        self._reason: str | None = None
        if backend == "auto":
            offered = fast_offered(self.name)
            if offered is not None:
                self._waiting = _SWITCH_CHARS
                self._reason = (f"{offered} is installed; it is built once about {_SWITCH_CHARS >> 20}M "
                                "characters are counted (that repays its build)")  # fmt: skip
            elif backend_mode() == "tiktoken":
                self._reason = "TOKENOMY_BACKEND=tiktoken"
            else:
                self._reason = "no fast backend installed for this encoding (pip install 'tokenomy[fast]')"
        if self._fast is None and self._waiting is None:
            self._tiktoken()

    def _tiktoken(self) -> Any:
        """tiktoken's core encoder, building the Encoding on first use; ``None`` if the fast
        backend took over (a switch in another thread is waited for, not raced)."""
        core = self._core
        if core is None:
            with self._lock:
                if self._fast is not None:
                    return None
                if self._core is None:
                    encoding = self.encoding
                    if self._reason is not None:
                        note_tiktoken(self.name, self._reason)
                    self._core = encoding._core_bpe
                core = self._core
        return core

    def _spend(self, chars: int) -> bool:
        """Account ``chars`` of work to tiktoken; True if the fast backend serves from now on."""
        left = self._waiting
        if left is None:
            return False
        left -= chars + _CALL_CHARS
        if left > 0 and (chars < _SWITCH_CHARS or self._core is not None):
            self._waiting = left
            return False
        with self._lock:
            if self._waiting is not None:
                self._waiting = None
                # one vocabulary in memory at a time: tiktoken's goes before the fast one is built
                # (and is rebuilt only if asked for again, or if the fast backend fails its check)
                self._encoding = self._core = None
                forget_encoding(self.name)
                self._fast = fast_backend(self.name)
                _hot.clear()
        return self._fast is not None

    def __repr__(self) -> str:
        return f"<Tokenizer {self.name} ({self.backend})>"

    @property
    def backend(self) -> str:
        """Name of the backend that counts: ``"tiktoken"`` or a conformant fast one."""
        return self._fast.name if self._fast is not None else "tiktoken"

    @property
    def encoding(self) -> tiktoken.Encoding:
        """The tiktoken ``Encoding`` of this encoding (built on first use when a fast backend serves)."""
        if self._encoding is None:
            self._encoding = load_encoding(self.name)
        return self._encoding

    @property
    def n_vocab(self) -> int:
        """Number of token ids, special tokens included."""
        return int(self.encoding.n_vocab)

    def count(self, text: str) -> int:
        """Exact number of tokens in ``text``; special-token look-alikes count as text."""
        fast = self._fast
        if fast is None and self._waiting is not None and isinstance(text, str) and self._spend(len(text)):
            fast = self._fast
        if fast is not None:
            try:
                return fast.count(text)
            except UnicodeEncodeError:
                return fast.count(_without_surrogates(text))
            except TypeError:
                raise TypeError(f"text must be a str, not {type(text).__name__}") from None
        core = self._core or self._tiktoken()
        if core is None:
            return self.count(text)
        if len(text) < 2 * _RUN_STEP:
            try:
                return len(core.encode_ordinary(text))
            except UnicodeEncodeError:
                return len(core.encode_ordinary(_without_surrogates(text)))
            except TypeError:
                raise TypeError(f"text must be a str, not {type(text).__name__}") from None
        return self._count_long(text)

    def _count_long(self, text: str) -> int:
        """Count a long text segment by segment, split at additive cuts: the ids of one segment
        at a time are held (a list of a gigabyte's ids would take several gigabytes)."""
        if len(text) <= _SEGMENT:
            return len(self._encode_long(text))
        total = start = 0
        while start < len(text):
            end = cut_near(text, start + _SEGMENT)
            piece = text[start:end]
            total += len(self._encode_long(piece)) if len(piece) >= _SHORT else self.count(piece)
            start = end
        return total

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
        """:meth:`count`, remembering counts of repeated long strings (system prompts, documents
        sent again and again). Strings under ``_CACHE_MIN_CHARS`` are counted directly: for them
        a cache miss costs more than counting. The cache holds at most ``_CACHE_CHARS`` characters.

        >>> tok, prompt = encoding_for("o200k_base"), "You are a helpful assistant. " * 20
        >>> tok.count_cached(prompt) == tok.count_cached(prompt) == tok.count(prompt)
        True
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, not {type(text).__name__}")
        if len(text) < _CACHE_MIN_CHARS:
            return self.count(text)
        cache = self._cache
        hit = cache.get(text)
        if hit is not None:
            cache.move_to_end(text)
            return hit
        n = self.count(text)
        with self._lock:
            cache[text] = n
            self._cache_chars += len(text)
            while self._cache_chars > _CACHE_CHARS and cache:
                old, _ = cache.popitem(last=False)
                self._cache_chars -= len(old)
        return n

    def encode(self, text: str, *, allowed_special: AllowedSpecial = ()) -> list[int]:
        """Token ids of ``text``, as tiktoken gives them.

        Special tokens are plain text unless named in ``allowed_special`` (or ``"all"``).

        >>> encoding_for("cl100k_base").encode("<|endoftext|>", allowed_special="all")
        [100257]
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, not {type(text).__name__}")
        if _any_special(allowed_special):
            return self._encode_with_special(text, allowed_special)
        if self._fast is not None or self._spend(len(text)):
            assert self._fast is not None
            try:
                return list(self._fast.encode(text))
            except UnicodeEncodeError:
                return list(self._fast.encode(_without_surrogates(text)))
        core = self._core or self._tiktoken()
        if core is None:
            return self.encode(text)
        if len(text) < 2 * _RUN_STEP:
            try:
                return core.encode_ordinary(text)  # type: ignore[no-any-return]
            except UnicodeEncodeError:
                return core.encode_ordinary(_without_surrogates(text))  # type: ignore[no-any-return]
        return self._encode_long(text)

    def encode_array(self, text: str) -> npt.NDArray[np.uint32]:
        """Token ids of ``text`` as a numpy array (special-token look-alikes are text)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, not {type(text).__name__}")
        if self._fast is not None or self._spend(len(text)):
            assert self._fast is not None
            try:
                return self._fast.encode_array(text)
            except UnicodeEncodeError:
                return self._fast.encode_array(_without_surrogates(text))
        import numpy as np

        if self._tiktoken() is None:
            return self.encode_array(text)
        if len(text) < _SHORT or not _has_long_whitespace_run(text):
            try:
                return self.encoding.encode_to_numpy(text, disallowed_special=())
            except UnicodeEncodeError:
                return self.encoding.encode_to_numpy(_without_surrogates(text), disallowed_special=())
            except BaseException as error:  # a Rust panic derives from BaseException only
                if type(error).__name__ != "PanicException":
                    raise
        return np.asarray(self._encode_by_pieces(text), dtype=np.uint32)

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids`` (invalid UTF-8 at a cut becomes U+FFFD, as in tiktoken).

        >>> encoding_for("cl100k_base").decode([83, 1609, 5963, 374, 2294, 0])
        'tiktoken is great!'
        """
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def decode_bytes(self, ids: Sequence[int]) -> bytes:
        """Raw bytes of ``ids``; an id the encoding does not have is an InvalidArgumentError."""
        if isinstance(ids, (str, bytes, bytearray)):
            raise TypeError(f"ids must be a sequence of token ids, not {type(ids).__name__}")
        try:
            values = [operator.index(i) for i in ids]
        except TypeError:
            raise TypeError("ids must be a sequence of whole numbers (token ids)") from None
        n_vocab = self.n_vocab
        for i in values:
            if not 0 <= i < n_vocab:
                raise InvalidArgumentError("ids", i, f"token ids from 0 to {n_vocab - 1} ({self.name})")
        try:
            return self.encoding.decode_bytes(values)
        except KeyError:  # an id inside the range that no token has (a gap before the specials)
            missing = next(i for i in values if not self._has_id(i))
            raise InvalidArgumentError("ids", missing, f"ids of tokens {self.name} has") from None

    def _has_id(self, i: int) -> bool:
        try:
            self.encoding.decode_single_token_bytes(i)
        except KeyError:
            return False
        return True

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
        size, n = 4 * limit + 1024, len(text)
        least = self._at_least(n)
        if least > limit:  # more characters than `limit` tokens can hold: no need to count them
            return least
        if n <= size:
            return self.count(text)
        total = start = 0
        while start < n:
            end = cut_near(text, start + size) if start + size < n else n
            total += self.count(text[start:end])
            if total > limit:
                return total
            start, size = end, size * 2
        return total

    def _at_least(self, chars: int) -> int:
        """Fewest tokens ``chars`` characters can be: no token holds more than the encoding's
        longest token (each character is at least one byte)."""
        longest = self._longest
        if longest is None:
            if self.name in encoding_names():
                longest = encoding_spec(self.name)["max_token_bytes"]
            else:  # an Encoding tokenomy does not bundle
                longest = max(map(len, self.encoding._mergeable_ranks))
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
        read = getattr(source, "read", None)
        if callable(read):
            blocks: Iterable[str] = _reads(read, settle, block_chars)
        elif isinstance(source, Iterable):
            blocks = source
        else:
            kind = type(source).__name__
            raise TypeError(f"count_stream reads a text file or an iterable of str, not {kind}")
        total, carry = 0, ""
        looked = 0  # carry[:looked] holds no cut worth waiting for: only what came after is searched
        for block in blocks:
            if not isinstance(block, str):
                raise TypeError(f"count_stream reads text; got a {type(block).__name__} block")
            if self._waiting is not None and self._core is None and len(block) >= block_chars:
                self._spend(_SWITCH_CHARS)  # a stream this long repays the fast backend's build
            carry += block
            if max_tokens is not None:
                least = total + self._at_least(len(carry))
                if least > max_tokens:
                    return least
            if len(carry) < settle:
                continue
            settle = min(2 * settle, block_chars)
            start = max(looked - 1, 0)  # one character of context for the rules that look back
            cut = cut_before(carry[start:], len(carry) - 1 - start)
            cut, looked = (start + cut if cut > 0 else 0), len(carry)
            if cut > 0:
                if max_tokens is None:
                    total += self.count(carry[:cut])
                else:
                    total += self.count_until(carry[:cut], max_tokens - total)
                    if total > max_tokens:
                        return total
                carry = carry[cut:]
                looked = len(carry)
        if max_tokens is None:
            return total + self.count(carry)
        return total + self.count_until(carry, max_tokens - total)

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
                self.count_batch([text[a:b] for a, b in itertools.pairwise(_even_cuts(text, 4 * workers))])
            )
        pieces = parts or max(2, min(8 * workers, len(text) // 250_000))
        segments = [text[a:b] for a, b in itertools.pairwise(_even_cuts(text, pieces))]
        return count_segments_parallel(self.name, "tiktoken", segments, self.count)

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
                return fast.count_batch([_without_surrogates(t) for t in items])
        workers = cores()
        if workers < 2 or len(items) < 2 * workers or sum(map(len, items)) < _PARALLEL_CHARS:
            count = self.count
            return [count(t) for t in items]
        return count_texts_parallel(self.name, "tiktoken", items, self.count)

    # ---- long and hostile input ---------------------------------------------------------------

    def _encode_long(self, text: str) -> list[int]:
        if not _has_long_whitespace_run(text):
            try:
                return self.encoding.encode_ordinary(text)
            except BaseException as error:  # a Rust panic derives from BaseException only
                if type(error).__name__ != "PanicException":
                    raise
        return self._encode_by_pieces(text)

    def _piece_pattern(self) -> regex.Pattern[str]:
        if self._pieces is None:
            with self._lock:
                if self._pieces is None:
                    import regex

                    self._pieces = regex.compile(encoding_spec(self.name)["pattern"])
        return self._pieces

    def _encode_by_pieces(self, text: str) -> list[int]:
        """Encode without handing tiktoken's regex engine any long whitespace run.

        The text is split into tiktoken's own pieces (with the ``regex`` module). Plain stretches
        are encoded in segments that end where a piece ends after a non-whitespace character:
        there, encoding the two sides separately gives the same pieces (see ``tests/
        test_tokenizer.py``). Long pieces are BPE-encoded on their own.
        """
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = _without_surrogates(text)
        encode_plain = self.encoding.encode_ordinary
        encode_piece = self.encoding._encode_single_piece
        ids: list[int] = []
        start = safe = 0  # text[:start] is encoded; text[start:safe] may be encoded alone
        pending: list[tuple[int, int]] = []  # pieces after `safe`
        for match in self._piece_pattern().finditer(text):
            s, e = match.span()
            if e - s > _LONG_PIECE:
                ids += encode_plain(text[start:safe])
                for a, b in pending:
                    ids += encode_piece(text[a:b].encode("utf-8"))
                ids += encode_piece(text[s:e].encode("utf-8"))
                start = safe = e
                pending = []
            elif not text[e - 1].isspace():
                safe, pending = e, []
                if safe - start > _SEGMENT:
                    ids += encode_plain(text[start:safe])
                    start = safe
            else:
                pending.append((s, e))
        ids += encode_plain(text[start:])
        return ids

    def _encode_with_special(self, text: str, allowed: AllowedSpecial) -> list[int]:
        import regex

        names = self._special_names(allowed)
        if not names:
            return self.encode(text)
        ids: list[int] = []
        splitter = regex.compile("|".join(regex.escape(n) for n in sorted(names, key=len, reverse=True)))
        last = 0
        for match in splitter.finditer(text):
            ids += self.encode(text[last : match.start()])
            ids.append(self.encoding.encode_single_token(match.group()))
            last = match.end()
        ids += self.encode(text[last:])
        return ids


    def _special_names(self, allowed: object) -> set[str]:
        """The special tokens ``allowed_special`` names: ``"all"`` or a collection of names."""
        if self.name in encoding_names():  # from data/: no vocabulary needs building
            special = set(encoding_spec(self.name)["special_tokens"])
        else:
            special = set(self.encoding.special_tokens_set)
        if allowed == "all":
            return special
        if isinstance(allowed, str):  # a lone name would be read as a set of characters
            raise InvalidArgumentError("allowed_special", allowed,
                                       f"'all' or a set of names, such as {{{short(allowed)}}}")  # fmt: skip
        if not isinstance(allowed, Iterable):
            kind = type(allowed).__name__
            raise TypeError(f"allowed_special must be 'all' or a collection of str, not {kind}")
        names = list(allowed)
        if not all(isinstance(n, str) for n in names):
            raise TypeError("allowed_special must hold special token names (str)")
        unknown = sorted(set(names) - special)
        if unknown:
            known = ", ".join(sorted(special))
            raise InvalidArgumentError("allowed_special", unknown, f"special tokens of {self.name}: {known}")
        return set(names)


def _reads(read: Callable[[int], str], first: int, most: int) -> Iterator[str]:
    """Blocks of a text file: ``first`` characters, then twice as many each time, up to ``most``."""
    size = first
    while block := read(size):
        yield block
        size = min(2 * size, most)


def _any_special(allowed: object) -> bool:
    """True if ``allowed_special`` names any token (a numpy array has no truth value: TypeError)."""
    try:
        return bool(allowed)
    except ValueError:
        kind = type(allowed).__name__
        raise TypeError(f"allowed_special must be 'all' or a collection of str, not {kind}") from None


def _even_cuts(text: str, pieces: int) -> list[int]:
    """About ``pieces`` additive cut points splitting ``text`` evenly, with both ends."""
    bounds = [0]
    for i in range(1, pieces):
        cut = cut_near(text, max(len(text) * i // pieces, bounds[-1] + 1))
        if bounds[-1] < cut < len(text):
            bounds.append(cut)
    bounds.append(len(text))
    return bounds


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
        from datetime import date

        info = _lookup(model_or_encoding, date.today())
        warn_if_retired(info)
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
    if allowed_special == () if type(allowed_special) is tuple else not _any_special(allowed_special):
        try:  # the hot path: one dict subscript, then tiktoken's core or the fast backend
            hot = _hot[model]
        except KeyError:
            pass
        else:
            if len(text) < 65_536:  # _SHORT, as a constant: this line runs on every call
                try:
                    result = hot(text)
                except (UnicodeEncodeError, TypeError):
                    pass
                else:  # tiktoken's core returns ids, a fast backend a count
                    return result if type(result) is int else len(result)  # type: ignore[arg-type]
    tok = encoding_for(model)
    if _any_special(allowed_special):
        return len(tok.encode(text, allowed_special=allowed_special))
    _hot[model] = _hot_counter(tok)
    return tok.count(text)
