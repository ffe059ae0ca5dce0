"""A process pool for exact counting on every core (tiktoken holds the GIL while it encodes).

Workers get a small spec (encoding name, the folder to load vocabularies from), never Encoding
objects, and build each encoding once per process. The pool starts on first use and is reused.
On Linux a single-threaded caller forks its workers (no re-import of the caller's script, and
encodings already loaded come along); otherwise a fork server is used. If the pool cannot run
(a script without a ``__main__`` guard under spawn, a sandbox without semaphores), the caller
counts in its own process instead: parallelism is an optimisation, never a new way to fail.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from tokenomy.encodings import encodings_dir

if TYPE_CHECKING:  # multiprocessing and concurrent.futures load when the pool first starts
    from concurrent.futures import ProcessPoolExecutor

log = logging.getLogger("tokenomy")
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


_local: dict[tuple[str, str], Any] = {}


def _tokenizer(encoding: str, backend: str) -> Any:
    """This process's Tokenizer for (encoding, backend): built once, from the spec alone."""
    tok = _local.get((encoding, backend))
    if tok is None:
        from tokenomy.tokenizer import Tokenizer

        tok = _local.setdefault((encoding, backend), Tokenizer(encoding, backend=backend))
    return tok


def _count_texts(encoding: str, backend: str, texts: Sequence[str]) -> list[int]:
    count = _tokenizer(encoding, backend).count
    return [count(t) for t in texts]


def _count_one(encoding: str, backend: str, text: str) -> int:
    return int(_tokenizer(encoding, backend).count(text))


def pool() -> ProcessPoolExecutor:
    """The shared pool, started on first use with the current vocabulary folder."""
    global _pool, _pool_folder
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    folder = encodings_dir()
    key = str(folder) if folder else None
    with _lock:
        if _pool is None or _pool_folder != key:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            methods = multiprocessing.get_all_start_methods()
            if "fork" in methods and threading.active_count() == 1:
                method = "fork"
            else:
                method = "forkserver" if "forkserver" in methods else "spawn"
            _pool = ProcessPoolExecutor(
                max_workers=cores(),
                mp_context=multiprocessing.get_context(method),
                initializer=_init,
                initargs=(key,),
            )
            _pool_folder = key
            atexit.register(_close)
        return _pool


def _close() -> None:
    """Shut the pool down at exit, while the modules it needs are still there."""
    global _pool
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None


def map_batches(
    fn: Callable[[Any, Any], Any], spec: Any, batches: Iterator[Any], window: int | None = None
) -> Iterator[tuple[Any, int]]:
    """``fn(spec, batch)`` for each batch, in order, across the pool with a bounded number in
    flight (memory stays bounded on huge files); yields (result, characters in the batch)."""
    from collections import deque

    in_flight = window or 2 * cores()
    try:
        executor = pool()
        queue: deque[tuple[Any, int]] = deque()
        for batch in batches:
            queue.append((executor.submit(fn, spec, batch), sum(len(str(r)) for _, r in batch)))
            if len(queue) >= in_flight:
                future, size = queue.popleft()
                yield future.result(), size
        while queue:
            future, size = queue.popleft()
            yield future.result(), size
    except (OSError, RuntimeError) as error:  # BrokenProcessPool is a RuntimeError
        _broken(error)
        raise


def _broken(error: BaseException) -> None:
    global _pool
    log.debug("tokenomy: worker pool unavailable (%s); counting in this process", error)
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


def count_texts_parallel(encoding: str, backend: str, texts: list[str], parts: int) -> list[int]:
    """Counts of ``texts`` in order, computed in ``parts`` contiguous slices across the pool."""
    size = -(-len(texts) // parts)
    slices = [texts[i : i + size] for i in range(0, len(texts), size)]
    n = len(slices)
    try:
        results = list(pool().map(_count_texts, [encoding] * n, [backend] * n, slices))
    except (OSError, RuntimeError) as error:  # BrokenProcessPool is a RuntimeError
        _broken(error)
        results = [_count_texts(encoding, backend, s) for s in slices]
    return [count for part in results for count in part]


def count_segments_parallel(encoding: str, backend: str, segments: list[str]) -> int:
    """Sum of the counts of ``segments`` (pieces of one text cut at additive points)."""
    n = len(segments)
    try:
        return sum(pool().map(_count_one, [encoding] * n, [backend] * n, segments))
    except (OSError, RuntimeError) as error:  # BrokenProcessPool is a RuntimeError
        _broken(error)
        return sum(_count_one(encoding, backend, s) for s in segments)
