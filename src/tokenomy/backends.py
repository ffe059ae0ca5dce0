"""Exact counting backends: tiktoken (the reference) and, with ``tokenomy[fast]``, a faster
Rust tokenizer used only after it proves itself against tiktoken.

A backend serves an encoding only if, on first use in the process, it returns tiktoken's exact
ids and counts for a canary set (special-token look-alikes, long whitespace runs, emoji, CJK,
combining marks, code, lone surrogates). Otherwise tiktoken serves it and
:func:`backend_info` says why. ``TOKENOMY_BACKEND=tiktoken`` turns the fast path off.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import tiktoken

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


@dataclass(frozen=True)
class BackendStatus:
    """Which backend serves an encoding, and why."""

    encoding: str
    backend: str
    version: str
    reason: str


class FastCounter:
    """The calls tokenomy makes on a fast backend for one encoding."""

    def __init__(self, name: str, version: str, count: Callable[[str], int],
                 count_batch: Callable[[list[str]], list[int]],
                 encode_array: Callable[[str], Any]) -> None:  # fmt: skip
        self.name, self.version = name, version
        self.count, self.count_batch, self._encode_array = count, count_batch, encode_array

    def encode_array(self, text: str) -> npt.NDArray[np.uint32]:
        return np.asarray(self._encode_array(text), dtype=np.uint32)


def _toktok(encoding: str) -> FastCounter | None:
    try:
        import toktok
    except ImportError:
        return None
    builtin = getattr(toktok._toktok, "BUILTIN_ENCODINGS", ())
    if encoding not in builtin:
        return None
    # toktok's public API is batch_count/truncate; its Tokenizer object is the per-call fast
    # path, used knowingly and guarded by the conformance check below
    tokenizer = toktok._encoding(encoding)

    def count_batch(texts: list[str]) -> list[int]:
        return list(tokenizer.count_batch(texts, 0, False))

    def encode_array(text: str) -> Any:
        return tokenizer.encode_to_numpy(text, disallowed_special=())

    return FastCounter("toktok", str(toktok.__version__), tokenizer.count, count_batch, encode_array)


_CANDIDATES: tuple[Callable[[str], FastCounter | None], ...] = (_toktok,)
_lock = threading.Lock()
_chosen: dict[str, tuple[FastCounter | None, BackendStatus]] = {}


def _conforms(fast: FastCounter, reference: tiktoken.Encoding) -> str | None:
    """None if ``fast`` agrees with tiktoken on every canary, else what differed."""
    from tokenomy.tokenizer import _without_surrogates

    for i, text in enumerate(CANARIES):
        clean = _without_surrogates(text)
        expected = reference.encode_ordinary(clean)
        try:
            got = fast.count(clean)
            ids = fast.encode_array(clean).tolist()
        except Exception as error:  # a backend may fail in ways of its own
            return f"canary {i} raised {type(error).__name__}: {error}"
        if got != len(expected) or ids != expected:
            return f"canary {i}: {got} tokens, tiktoken {len(expected)}"
    if fast.count_batch(list(CANARIES[:4])) != [len(reference.encode_ordinary(t)) for t in CANARIES[:4]]:
        return "count_batch differs from tiktoken"
    return None


def fast_backend(encoding: str, reference: tiktoken.Encoding) -> FastCounter | None:
    """The conformant fast backend for ``encoding``, or None (decided once per process)."""
    chosen = _chosen.get(encoding)
    if chosen is not None:
        return chosen[0]
    with _lock:
        if encoding not in _chosen:
            _chosen[encoding] = _choose(encoding, reference)
    return _chosen[encoding][0]


def _choose(encoding: str, reference: tiktoken.Encoding) -> tuple[FastCounter | None, BackendStatus]:
    version = tiktoken.__version__ if hasattr(tiktoken, "__version__") else "?"
    if os.environ.get(ENV_VAR, "auto") == "tiktoken":
        return None, BackendStatus(encoding, "tiktoken", version, f"{ENV_VAR}=tiktoken")
    reasons = []
    for candidate in _CANDIDATES:
        try:
            fast = candidate(encoding)
        except Exception as error:  # an installed but broken extension must not break counting
            reasons.append(f"{candidate.__name__.strip('_')} failed to load: {error}")
            continue
        if fast is None:
            continue
        problem = _conforms(fast, reference)
        if problem is None:
            return fast, BackendStatus(encoding, fast.name, fast.version, "passed the conformance check")
        reasons.append(f"{fast.name} {fast.version} failed the conformance check ({problem})")
        log.debug("tokenomy: %s not used for %s: %s", fast.name, encoding, problem)
    reason = (
        "; ".join(reasons) or "no fast backend installed for this encoding (pip install 'tokenomy[fast]')"
    )
    return None, BackendStatus(encoding, "tiktoken", version, reason)


def backend_info() -> dict[str, BackendStatus]:
    """Which backend serves each encoding loaded so far in this process.

    >>> import tokenomy
    >>> n = tokenomy.count("hi", model="gpt-4o")
    >>> backend_info()["o200k_base"].backend in ("tiktoken", "toktok")
    True
    """
    return {name: status for name, (_, status) in sorted(_chosen.items())}
