"""One encoding, counted and encoded exactly on the backend that serves it: :class:`Encoder`.

tiktoken serves first; a conformant fast backend (see ``backends``) takes over once the work
counted repays its build, or from the start with ``backend="fast"``. Ids are tiktoken's, text that
looks like a special token (``<|endoftext|>``) is plain text unless allowed, and input on which
tiktoken panics (o200k_base on about a million spaces) is encoded piece by piece, with the same ids.
:class:`tokenomy.tokenizer.Tokenizer` adds what callers do with many, long or streamed texts.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from tokenomy import _tiktoken
from tokenomy._args import check_choice
from tokenomy._streams import count_segments
from tokenomy._tiktoken import SEGMENT, SHORT, without_surrogates
from tokenomy.backends import backend_mode, fast_backend, fast_offered, note_tiktoken
from tokenomy.encodings import encoding_names, encoding_spec, forget_encoding, load_encoding
from tokenomy.errors import InvalidArgumentError, short

if TYPE_CHECKING:  # imported where used: a first count needs none of them with a fast backend
    import numpy as np
    import numpy.typing as npt
    import tiktoken

AllowedSpecial = Literal["all"] | Collection[str]

# Building the fast backend's vocabulary costs about as much as tiktoken counting 16M characters
# (about 1 s for o200k_base, more than building tiktoken's), so tiktoken serves first, and the fast
# backend is built once this much work went through tiktoken (ski rental: at most twice the cost
# of the best choice in hindsight), or at once for a call that big when nothing is built yet.
# Each call also counts as _CALL_CHARS characters: its fixed cost.
SWITCH_CHARS = 16 << 20
_CALL_CHARS = 32


class Encoder:
    """One encoding's exact counts, ids and text, on tiktoken or a conformant fast backend.

    The public face is :class:`tokenomy.tokenizer.Tokenizer`, which documents the backends.
    """

    __slots__ = ("_core", "_encoding", "_fast", "_lock", "_reason", "_waiting", "name")

    def __init__(self, encoding: tiktoken.Encoding | str, *, backend: str = "auto") -> None:
        check_choice(backend, "backend", ("auto", "fast", "tiktoken"))
        if isinstance(encoding, str):
            self.name: str = encoding
            self._encoding: tiktoken.Encoding | None = None
            encoding_spec(encoding)  # an unknown name fails here, with suggestions
        else:
            import tiktoken  # not at the top: a fast backend may serve alone (this caller has it loaded)

            if not isinstance(encoding, tiktoken.Encoding):
                kind = type(encoding).__name__
                raise TypeError(f"encoding must be a name or a tiktoken Encoding, not {kind}")
            self.name, self._encoding = encoding.name, encoding
        self._lock = threading.Lock()
        self._fast = None
        # tiktoken's core encoder, once built: skips a Python frame per call on the hot path
        self._core: Any = None if self._encoding is None else _tiktoken.core(self._encoding)
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
                self._waiting = SWITCH_CHARS
                self._reason = (f"{offered} is installed; it is built once about {SWITCH_CHARS >> 20}M "
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
                    self._core = _tiktoken.core(encoding)
                core = self._core
        return core

    def _spend(self, chars: int) -> bool:
        """Account ``chars`` of work to tiktoken; True if the fast backend serves from now on."""
        left = self._waiting
        if left is None:
            return False
        left -= chars + _CALL_CHARS
        if left > 0 and (chars < SWITCH_CHARS or self._core is not None):
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
                self._switched()
        return self._fast is not None

    def _switched(self) -> None:
        """Called once the fast backend has taken over (subclasses drop what they cached)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} ({self.backend})>"

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
                return fast.count(without_surrogates(text))
            except TypeError:
                raise TypeError(f"text must be a str, not {type(text).__name__}") from None
        core = self._core or self._tiktoken()
        if core is None:
            return self.count(text)
        if len(text) < SHORT:
            try:
                return len(core.encode_ordinary(text))
            except UnicodeEncodeError:
                return len(core.encode_ordinary(without_surrogates(text)))
            except TypeError:
                raise TypeError(f"text must be a str, not {type(text).__name__}") from None
        return self._count_long(text)

    def _count_long(self, text: str) -> int:
        """Count a long text segment by segment, split at additive cuts: the ids of one segment
        at a time are held (a list of a gigabyte's ids would take several gigabytes)."""
        if len(text) <= SEGMENT:
            return len(self._encode_long(text))
        return count_segments(text, SEGMENT, self._count_segment)

    def _count_segment(self, text: str) -> int:
        return len(self._encode_long(text)) if len(text) >= SHORT else self.count(text)

    def encode(self, text: str, *, allowed_special: AllowedSpecial = ()) -> list[int]:
        """Token ids of ``text``, as tiktoken gives them.

        Special tokens are plain text unless named in ``allowed_special`` (or ``"all"``).

        >>> from tokenomy import encoding_for
        >>> encoding_for("cl100k_base").encode("<|endoftext|>", allowed_special="all")
        [100257]
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, not {type(text).__name__}")
        if any_special(allowed_special):
            return self._encode_with_special(text, allowed_special)
        if self._fast is not None or self._spend(len(text)):
            assert self._fast is not None
            try:
                return list(self._fast.encode(text))
            except UnicodeEncodeError:
                return list(self._fast.encode(without_surrogates(text)))
        core = self._core or self._tiktoken()
        if core is None:
            return self.encode(text)
        if len(text) < SHORT:
            try:
                return core.encode_ordinary(text)  # type: ignore[no-any-return]
            except UnicodeEncodeError:
                return core.encode_ordinary(without_surrogates(text))  # type: ignore[no-any-return]
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
                return self._fast.encode_array(without_surrogates(text))
        import numpy as np  # 170 ms of import (benchmarks/coldstart.py --stages): counting needs none

        if self._tiktoken() is None:
            return self.encode_array(text)
        if len(text) < SHORT or not _tiktoken.has_long_whitespace_run(text):
            try:
                return self.encoding.encode_to_numpy(text, disallowed_special=())
            except UnicodeEncodeError:
                return self.encoding.encode_to_numpy(without_surrogates(text), disallowed_special=())
            except BaseException as error:  # a Rust panic derives from BaseException only
                if not _tiktoken.is_panic(error):
                    raise
        return np.asarray(self._encode_by_pieces(text), dtype=np.uint32)

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids`` (invalid UTF-8 at a cut becomes U+FFFD, as in tiktoken).

        >>> from tokenomy import encoding_for
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

    # ---- long and hostile input ---------------------------------------------------------------

    def _encode_long(self, text: str) -> list[int]:
        return _tiktoken.encode_long(self.encoding, self._pattern, text)

    def _encode_by_pieces(self, text: str) -> list[int]:
        """Encode without handing tiktoken's regex engine any long whitespace run."""
        return _tiktoken.encode_by_pieces(self.encoding, _tiktoken.pieces(self._pattern()), text)

    def _pattern(self) -> str:
        """The pre-tokenizer pattern (from data/ for a bundled encoding: no vocabulary needed)."""
        if self.name in encoding_names():
            return str(encoding_spec(self.name)["pattern"])
        return _tiktoken.pattern(self.encoding)

    def _encode_with_special(self, text: str, allowed: AllowedSpecial) -> list[int]:
        import regex  # 20 ms of import: only text with allowed special tokens needs it

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


def any_special(allowed: object) -> bool:
    """True if ``allowed_special`` names any token (a numpy array has no truth value: TypeError)."""
    try:
        return bool(allowed)
    except ValueError:
        kind = type(allowed).__name__
        raise TypeError(f"allowed_special must be 'all' or a collection of str, not {kind}") from None
