"""tiktoken beyond its documented API: the one module that touches tiktoken's internals.

tiktoken documents ``tiktoken.Encoding`` and its public methods. tokenomy also relies on:

* ``Encoding._core_bpe``: the Rust encoder. Calling its ``encode_ordinary`` skips a Python frame
  on every count, which is most of the cost of counting a short text.
* ``Encoding._encode_single_piece``: BPE of one pre-tokenizer piece without the regex engine,
  which panics on long whitespace runs (o200k_base, about a million spaces): such text is split
  into tiktoken's own pieces here and encoded piece by piece, with the same ids.
* ``Encoding._mergeable_ranks``, ``Encoding._special_tokens``: every token's bytes by id, for the
  character offset of each token boundary (``_layout``) and the longest token of an encoding
  tokenomy does not bundle.
* ``Encoding._pat_str``: the pre-tokenizer pattern of such an encoding.
* a Rust panic is raised as pyo3's ``PanicException``, which derives from ``BaseException`` only.
* a lone surrogate is encoded as U+FFFD.

They are private, so any tiktoken release may rename them. ``tests/test_tiktoken_adapter.py``
pins each one against the installed tiktoken and names this module in its failure message; no
other module reads a private tiktoken name. tiktoken itself is never imported here: a process
whose fast backend serves from the start never loads it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import regex
    import tiktoken

# the private names of tiktoken.Encoding used below (the test checks each)
INTERNALS = ("_core_bpe", "_encode_single_piece", "_mergeable_ranks", "_special_tokens", "_pat_str")

# A whitespace run this long may overflow tiktoken's regex engine (it panics from about 1,000,000
# characters on o200k_base). Runs of 2 * RUN_STEP characters or more are always detected by
# sampling every RUN_STEP-th character, so the check costs O(n / RUN_STEP).
RUN_STEP = 32_768
# texts shorter than this cannot hold a run worth checking for
SHORT = 2 * RUN_STEP
# pieces longer than this are encoded on their own, without the regex engine
LONG_PIECE = 8_192
# in the piece-by-piece path, plain runs of text are encoded in segments of about this size
SEGMENT = 1 << 20


def core(encoding: tiktoken.Encoding) -> Any:
    """tiktoken's Rust encoder of ``encoding``: ``core(e).encode_ordinary(text)`` is
    ``e.encode_ordinary(text)`` without its Python frame (lone surrogates raise there)."""
    return encoding._core_bpe


def mergeable_ranks(encoding: tiktoken.Encoding) -> Mapping[bytes, int]:
    """The bytes of every ordinary token of ``encoding``, with its id."""
    return encoding._mergeable_ranks


def special_tokens(encoding: tiktoken.Encoding) -> Mapping[str, int]:
    """The special tokens of ``encoding``, with their ids."""
    return encoding._special_tokens


def pattern(encoding: tiktoken.Encoding) -> str:
    """The pre-tokenizer pattern of ``encoding`` (a ``regex`` module pattern)."""
    return encoding._pat_str


def is_panic(error: BaseException) -> bool:
    """True if ``error`` is a Rust panic inside tiktoken (it derives from BaseException only)."""
    return type(error).__name__ == "PanicException"


def without_surrogates(text: str) -> str:
    """``text`` as tiktoken encodes it: each lone surrogate becomes U+FFFD.

    >>> without_surrogates("a\\ud800b")
    'a�b'
    """
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def has_long_whitespace_run(text: str) -> bool:
    """True if ``text`` may hold a whitespace run of ``2 * RUN_STEP`` characters or more (runs
    that long are always found; some a little shorter are too)."""
    step = RUN_STEP
    previous = text[0].isspace()
    for i in range(step, len(text), step):
        current = text[i].isspace()
        if current and previous and text[i - step : i + 1].isspace():
            return True
        previous = current
    return False


@cache
def pieces(source: str) -> regex.Pattern[str]:
    """The compiled pre-tokenizer pattern ``source``."""
    import regex  # 20 ms of import: only hostile input needs it

    return regex.compile(source)


def encode_long(encoding: tiktoken.Encoding, source: Callable[[], str], text: str) -> list[int]:
    """The ids of a long ``text``, as tiktoken gives them, without letting it panic.

    ``source()`` gives the pre-tokenizer pattern, read only if the text must be split.
    """
    if not has_long_whitespace_run(text):
        try:
            return encoding.encode_ordinary(text)
        except BaseException as error:
            if not is_panic(error):
                raise
    return encode_by_pieces(encoding, pieces(source()), text)


def encode_by_pieces(encoding: tiktoken.Encoding, splitter: regex.Pattern[str], text: str) -> list[int]:
    """Encode without handing tiktoken's regex engine any long whitespace run.

    ``splitter`` splits the text into tiktoken's own pieces. Plain stretches are encoded in
    segments that end where a piece ends after a non-whitespace character: there, encoding the two
    sides separately gives the same pieces (see ``tests/test_tokenizer.py``). Long pieces are
    BPE-encoded on their own.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = without_surrogates(text)
    encode_plain = encoding.encode_ordinary
    encode_piece = encoding._encode_single_piece
    long_piece, segment = LONG_PIECE, SEGMENT
    ids: list[int] = []
    start = safe = 0  # text[:start] is encoded; text[start:safe] may be encoded alone
    pending: list[tuple[int, int]] = []  # pieces after `safe`
    for match in splitter.finditer(text):
        s, e = match.span()
        if e - s > long_piece:
            ids += encode_plain(text[start:safe])
            for a, b in pending:
                ids += encode_piece(text[a:b].encode("utf-8"))
            ids += encode_piece(text[s:e].encode("utf-8"))
            start = safe = e
            pending = []
        elif not text[e - 1].isspace():
            safe, pending = e, []
            if safe - start > segment:
                ids += encode_plain(text[start:safe])
                start = safe
        else:
            pending.append((s, e))
    ids += encode_plain(text[start:])
    return ids
