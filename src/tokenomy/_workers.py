"""A process pool for exact counting on every core (tiktoken holds the GIL while it encodes).

Workers get a small spec (encoding name, the folder to load vocabularies from), never Encoding
objects, and build each encoding once per process. The pool starts on first use and is reused.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from tokenomy.encodings import encodings_dir

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_pool_folder: str | None = None


def cores() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _init(folder: str | None) -> None:
    if folder:
        from tokenomy.encodings import set_encodings_dir

        set_encodings_dir(folder)


def _count_texts(encoding: str, texts: Sequence[str]) -> list[int]:
    from tokenomy.tokenizer import encoding_for

    count = encoding_for(encoding).count
    return [count(t) for t in texts]


def _count_one(encoding: str, text: str) -> int:
    from tokenomy.tokenizer import encoding_for

    return encoding_for(encoding).count(text)


def pool() -> ProcessPoolExecutor:
    """The shared pool, started on first use with the current vocabulary folder."""
    global _pool, _pool_folder
    folder = encodings_dir()
    key = str(folder) if folder else None
    with _lock:
        if _pool is None or _pool_folder != key:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            methods = multiprocessing.get_all_start_methods()
            method = "forkserver" if "forkserver" in methods else "spawn"
            _pool = ProcessPoolExecutor(
                max_workers=cores(),
                mp_context=multiprocessing.get_context(method),
                initializer=_init,
                initargs=(key,),
            )
            _pool_folder = key
        return _pool


def count_texts_parallel(encoding: str, texts: list[str], parts: int) -> list[int]:
    """Counts of ``texts`` in order, computed in ``parts`` contiguous slices across the pool."""
    size = -(-len(texts) // parts)
    slices = [texts[i : i + size] for i in range(0, len(texts), size)]
    results = pool().map(_count_texts, [encoding] * len(slices), slices)
    return [n for part in results for n in part]


def count_segments_parallel(encoding: str, segments: list[str]) -> int:
    """Sum of the counts of ``segments`` (pieces of one text cut at additive points)."""
    return sum(pool().map(_count_one, [encoding] * len(segments), segments))
