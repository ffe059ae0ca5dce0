"""Exact counting backends: tiktoken (the reference) and, with ``tokenomy[fast]``, a faster
Rust tokenizer used only after it proves itself against tiktoken.

A backend serves an encoding only if, on first use in the process, it returns tiktoken's exact
ids and counts for a canary set (special-token look-alikes, long whitespace runs, emoji, CJK,
combining marks, code, lone surrogates). tiktoken's answers are stored in ``data/canaries.toml``
(``tests/test_backends.py`` regenerates them from tiktoken and compares), so the check builds no
tiktoken vocabulary: one vocabulary per encoding is in memory, and the first count starts sooner.
Otherwise tiktoken serves and :func:`backend_info` says why.

Building toktok's vocabulary takes longer than tiktoken's (about 1 s against 0.6 s for o200k_base
here), so by default tiktoken serves first and the fast backend is built once the work repays it
(see ``tokenizer.py``). ``TOKENOMY_BACKEND=fast`` uses it from the first call, ``=tiktoken`` never.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import threading
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tokenomy._data import table
from tokenomy._tiktoken import without_surrogates as clean  # `clean`: the name the canary scripts use

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

log = logging.getLogger("tokenomy")
ENV_VAR = "TOKENOMY_BACKEND"

CANARIES = (
    "",
    "hello world",
    "<|endoftext|> is text, and so is <|im_start|>user<|im_sep|>",
    "<|endoftext|><|endofprompt|><|fim_prefix|><|start|>",
    " " * 70_000 + "x",
    "\t \t" * 3000 + "\n\n\n" + " \n" * 500,
    "🧑‍🤝‍🧑 👩🏽‍💻 🏳️‍🌈 e\u0301\u0301\u0301 Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
    "日本語のテキスト、中文文本，한국어 텍스트。" * 50,
    "def f(x):\n    return {'a': [1, 2, 3], \"b\": x ** 2}  # comment\n\n\n" * 40,
    "0123456789" * 200 + " 3.14159 1e-10 -42",
    "a\ud800b\udfffc",
    "I'm you'RE we'll THEY'D it's ĲSSELMEER straße İstanbul",
    "\u200b\u200d\ufeff\u00a0\u3000\x00\x1f\x7f",
    "x" * 5000 + "/" * 3000 + "." * 2000,
)


def ids_digest(ids: Iterable[int]) -> str:
    """SHA-256 of token ids as little-endian uint32: how canary ids are stored.

    >>> ids_digest([]) == hashlib.sha256(b"").hexdigest()
    True
    """
    packed = array("I", ids)
    if sys.byteorder == "big":  # pragma: no cover - the data is little-endian everywhere
        packed.byteswap()
    return hashlib.sha256(packed.tobytes()).hexdigest()


def canaries_digest() -> str:
    """SHA-256 of the canary texts: the stored answers belong to exactly this set."""
    return hashlib.sha256("\x00".join(map(clean, CANARIES)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class BackendStatus:
    """Which backend serves an encoding, and why.

    >>> import tokenomy
    >>> n = tokenomy.count("hi", model="gpt-4o")
    >>> status = backend_info()["o200k_base"]
    >>> status.encoding, status.backend in ("tiktoken", "toktok"), bool(status.version and status.reason)
    ('o200k_base', True, True)
    """

    encoding: str
    backend: str
    version: str
    reason: str


class FastCounter:
    """The calls tokenomy makes on a fast backend for one encoding."""

    def __init__(self, name: str, version: str, count: Callable[[str], int],
                 count_batch: Callable[[list[str]], list[int]], encode: Callable[[str], Sequence[int]],
                 encode_array: Callable[[str], Any] | None = None) -> None:  # fmt: skip
        self.name, self.version = name, version
        self.count, self.count_batch, self.encode = count, count_batch, encode
        self._encode_array = encode_array or encode

    def encode_array(self, text: str) -> npt.NDArray[np.uint32]:
        import numpy as np  # 170 ms of import (benchmarks/coldstart.py --stages): only arrays need it

        return np.asarray(self._encode_array(text), dtype=np.uint32)


def _toktok_offers(encoding: str) -> bool:
    try:
        import toktok  # the optional `fast` extra
    except ImportError:
        return False
    return encoding in getattr(toktok._toktok, "BUILTIN_ENCODINGS", ())


def _toktok(encoding: str) -> FastCounter | None:
    if not _toktok_offers(encoding):
        return None
    import toktok  # the optional `fast` extra (present: checked just above)

    # toktok's public API is batch_count/truncate; its Tokenizer object is the per-call fast
    # path, used knowingly and guarded by the conformance check below
    tokenizer = toktok._encoding(encoding)

    def count_batch(texts: list[str]) -> list[int]:
        # toktok's thread pool costs ~100 µs and ~16 MB of buffers per thread: small batches
        # (the conformance check's among them) run on the calling thread
        threads = 0 if sum(map(len, texts)) >= 100_000 else 1
        return list(tokenizer.count_batch(texts, threads, False))

    def encode_array(text: str) -> Any:
        return tokenizer.encode_to_numpy(text, disallowed_special=())

    return FastCounter("toktok", str(toktok.__version__), tokenizer.count, count_batch,
                       tokenizer.encode_ordinary, encode_array)  # fmt: skip


# (does it offer this encoding, without building anything; build it)
_CANDIDATES: tuple[tuple[Callable[[str], bool], Callable[[str], FastCounter | None]], ...] = (
    (_toktok_offers, _toktok),
)
_lock = threading.Lock()
_chosen: dict[str, tuple[FastCounter | None, BackendStatus]] = {}
_tiktoken_serves: dict[str, BackendStatus] = {}  # encodings tiktoken serves without a fast check


def backend_mode() -> str:
    """``TOKENOMY_BACKEND``: ``"auto"`` (default), ``"fast"`` or ``"tiktoken"``."""
    mode = os.environ.get(ENV_VAR, "auto")
    return mode if mode in ("fast", "tiktoken") else "auto"


def fast_offered(encoding: str) -> str | None:
    """The name of an installed fast backend offering ``encoding`` (nothing is built), or None."""
    if backend_mode() == "tiktoken":
        return None
    for offers, build in _CANDIDATES:
        try:
            if offers(encoding):
                return build.__name__.strip("_")
        except Exception:  # a broken extension is reported when it is built, not here
            return build.__name__.strip("_")
    return None


def note_tiktoken(encoding: str, reason: str) -> None:
    """Record that tiktoken serves ``encoding``, and why (shown by :func:`backend_info`)."""
    _tiktoken_serves.setdefault(encoding, BackendStatus(encoding, "tiktoken", _tiktoken_version(), reason))


def expected_canaries(encoding: str) -> tuple[list[int], list[str]] | None:
    """tiktoken's stored counts and id digests of the canaries for ``encoding`` (None if absent)."""
    data = table("canaries")
    row = data["encodings"].get(encoding)
    if row is None or data["canaries_sha256"] != canaries_digest():
        return None
    return row["counts"], row["ids_sha256"]


def _conforms(fast: FastCounter, encoding: str) -> str | None:
    """None if ``fast`` gives tiktoken's ids and counts on every canary, else what differed."""
    expected = expected_canaries(encoding)
    if expected is None:
        return "no canary answers for this encoding (data/canaries.toml is stale or lacks it)"
    counts, digests = expected
    for i, text in enumerate(map(clean, CANARIES)):
        try:
            got, ids = fast.count(text), fast.encode(text)
        except Exception as error:  # a backend may fail in ways of its own
            return f"canary {i} raised {type(error).__name__}: {error}"
        if got != counts[i] or len(ids) != counts[i] or ids_digest(ids) != digests[i]:
            return f"canary {i}: {got} tokens, tiktoken {counts[i]}"
    if fast.count_batch([clean(t) for t in CANARIES[:4]]) != counts[:4]:
        return "count_batch differs from tiktoken"
    return None


def fast_backend(encoding: str) -> FastCounter | None:
    """The conformant fast backend for ``encoding``, or None (decided once per process)."""
    chosen = _chosen.get(encoding)
    if chosen is not None:
        return chosen[0]
    with _lock:
        if encoding not in _chosen:
            _chosen[encoding] = _choose(encoding)
    return _chosen[encoding][0]


def _tiktoken_version() -> str:
    import tiktoken  # not at the top: a fast backend may serve alone (asked only when tiktoken serves)

    return str(getattr(tiktoken, "__version__", "?"))


def _choose(encoding: str) -> tuple[FastCounter | None, BackendStatus]:
    if backend_mode() == "tiktoken":
        return None, BackendStatus(encoding, "tiktoken", _tiktoken_version(), f"{ENV_VAR}=tiktoken")
    reasons = []
    for _, candidate in _CANDIDATES:
        try:
            fast = candidate(encoding)
        except Exception as error:  # an installed but broken extension must not break counting
            reasons.append(f"{candidate.__name__.strip('_')} failed to load: {error}")
            continue
        if fast is None:
            continue
        problem = _conforms(fast, encoding)
        if problem is None:
            return fast, BackendStatus(encoding, fast.name, fast.version, "passed the conformance check")
        reasons.append(f"{fast.name} {fast.version} failed the conformance check ({problem})")
        log.debug("tokenomy: %s not used for %s: %s", fast.name, encoding, problem)
    reason = (
        "; ".join(reasons) or "no fast backend installed for this encoding (pip install 'tokenomy[fast]')"
    )
    return None, BackendStatus(encoding, "tiktoken", _tiktoken_version(), reason)


def backend_info() -> dict[str, BackendStatus]:
    """Which backend serves each encoding loaded so far in this process.

    >>> import tokenomy
    >>> n = tokenomy.count("hi", model="gpt-4o")
    >>> backend_info()["o200k_base"].backend in ("tiktoken", "toktok")
    True
    """
    statuses = {**_tiktoken_serves, **{name: status for name, (_, status) in _chosen.items()}}
    return dict(sorted(statuses.items()))
