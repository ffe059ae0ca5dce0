"""A process pool for exact counting on every core (tiktoken holds the GIL while it encodes).

Workers get a small spec (encoding name, the folder to load vocabularies from), never Encoding
objects, and build each encoding once per process. The pool starts on first use and is reused.
On Linux a single-threaded caller forks its workers (no re-import of the caller's script, and
encodings already loaded come along); otherwise a fork server is used.

Parallel work is never slower than serial work by more than a task or two: :func:`map_ordered`
keeps the calling process counting too and hands a task to a worker only while one is free; a
task a worker is slow to return is counted here instead. Whether to start at all is decided from
the work left, measured on a first task (:func:`worth_a_pool`). If the pool cannot run (a script
without a ``__main__`` guard under spawn, a sandbox without semaphores, a worker killed), the work
is done in this process: parallelism is an optimisation, never a new way to fail. Workers ignore
SIGINT (Ctrl-C, a notebook kernel shutting down): the caller stops them, without tracebacks.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from tokenomy.encodings import encodings_dir, set_encodings_dir

if TYPE_CHECKING:  # multiprocessing and concurrent.futures load when the pool first starts
    from concurrent.futures import Future, ProcessPoolExecutor

log = logging.getLogger("tokenomy")
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_pool_folder: str | None = None
_pool_ready = False  # a worker has returned a result
_unavailable: str | None = None  # why the pool is not used in this process any more
# what starting the pool costs before workers help: a fork is cheap, a fresh interpreter imports
# tokenomy and builds its vocabulary (about a second)
_FORK_START, _SPAWN_START = 0.05, 1.0
_MIN_SECONDS = 0.1  # less work than this left is done here: not worth a round trip


def cores() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _init(folder: str | None) -> None:
    import signal  # ~1 ms of import (its enums), as in _sigint_held: a count never needs it

    # Ctrl-C and a notebook kernel's shutdown signal the whole process group: the caller handles it.
    # SIGINT was blocked since the fork (see _sigint_held), so none is lost to a half-started worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if folder:
        set_encodings_dir(folder)


# How a worker builds a counter: a function named by reference (pickled as module and name, so this
# module imports no tokenizer) and its argument, such as (tokenizer._tiktoken_counter, "o200k_base").
Recipe = tuple[Callable[[str], Callable[[str], int]], str]
_local: dict[Recipe, Callable[[str], int]] = {}


def _counter(recipe: Recipe) -> Callable[[str], int]:
    """This process's counter for ``recipe``: built once, from the recipe alone."""
    counter = _local.get(recipe)
    if counter is None:
        make, argument = recipe
        counter = _local.setdefault(recipe, make(argument))
    return counter


def _count_texts(recipe: Recipe, texts: Sequence[str]) -> list[int]:
    count = _counter(recipe)
    return [count(t) for t in texts]


def _count_one(recipe: Recipe, text: str) -> int:
    return int(_counter(recipe)(text))


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """SIGINT blocked in this thread while workers may start: a worker (and a fork server) inherits
    the mask, so a Ctrl-C during its start-up waits until it ignores SIGINT. Here, a SIGINT that
    arrived meanwhile is delivered when the block ends."""
    import signal  # ~1 ms of import (its enums): only a pool about to start a worker needs it

    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _start_method() -> str:
    import multiprocessing  # ~30 ms of import, paid only when a pool is considered

    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


def pool() -> ProcessPoolExecutor:
    """The shared pool, started on first use with the current vocabulary folder."""
    global _pool, _pool_folder, _pool_ready
    import multiprocessing  # ~60 ms of import with the next: paid when the pool starts, not by a count
    from concurrent.futures import ProcessPoolExecutor

    folder = encodings_dir()
    key = str(folder) if folder else None
    with _lock:
        if _pool is None or _pool_folder != key:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            _pool = ProcessPoolExecutor(
                max_workers=max(1, cores() - 1),  # this process is the other counter
                mp_context=multiprocessing.get_context(_start_method()),
                initializer=_init,
                initargs=(key,),
            )
            _pool_folder, _pool_ready = key, False
            atexit.register(_close)
        return _pool


def _close() -> None:
    """Shut the pool down at exit, while the modules it needs are still there."""
    global _pool
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None


def startup_seconds() -> float:
    """What starting the pool would cost before workers help: 0 once it has returned work."""
    if _pool is not None and _pool_ready:
        return 0.0
    return _FORK_START if _start_method() == "fork" else _SPAWN_START


def free_cores() -> float:
    """Cores not busy with other work (this process counted as busy): the larger of Linux's count
    of runnable tasks now and the one-minute load average, so a busy machine is seen at once and
    a machine that just became idle a little later (waiting costs less than a crowded core)."""
    try:
        busy = os.getloadavg()[0]
    except OSError:  # pragma: no cover - no load average on this platform
        return float(cores())
    try:
        with open("/proc/loadavg", encoding="ascii") as handle:
            busy = max(busy, float(handle.read().split()[3].split("/")[0]))
    except (OSError, IndexError, ValueError):
        pass
    return max(0.0, cores() - max(0.0, busy - 1.0))  # a load above the cores leaves none free


def worth_a_pool(serial_seconds: float) -> bool:
    """Whether worker processes can shorten ``serial_seconds`` of counting still to do here: the
    pool works, the time left pays for starting it, and another core is free to run it."""
    if _unavailable is not None or cores() < 2 or free_cores() < 1.5:
        return False
    return serial_seconds > _MIN_SECONDS + startup_seconds()


def _broken(error: BaseException) -> None:
    global _pool, _unavailable
    log.debug("tokenomy: worker pool unavailable (%s); counting in this process", error)
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
        _pool, _unavailable = None, f"{type(error).__name__}: {error}"


def map_ordered(fn: Callable[[Any, Any], Any], spec: Any, tasks: Iterable[Any], *, use_pool: bool,
                here: Callable[[Any], Any] | None = None) -> Iterator[Any]:  # fmt: skip
    """``fn(spec, task)`` for each task, results in task order.

    This process counts too (with ``here(task)`` if given); a task goes to a worker only while
    one is free, and a task a worker keeps much longer than this process takes for one is counted
    here instead. So the work takes about as long as its serial time divided by the cores, and
    never much longer than the serial time, whatever the pool does.
    """
    from concurrent.futures import TimeoutError as FutureTimeout  # loaded with the pool, as above
    from concurrent.futures.process import BrokenProcessPool

    run_here = here or (lambda task: fn(spec, task))
    executor = None
    if use_pool and _unavailable is None and cores() > 1:
        try:
            executor = pool()
        except (OSError, RuntimeError, NotImplementedError, ImportError) as error:
            _broken(error)
    if executor is None:
        for task in tasks:
            yield run_here(task)
        return
    slots = 2 * max(1, cores() - 1)  # a task queued behind each running one: no worker waits on us
    pending: dict[int, tuple[Future[Any], Any, float]] = {}
    ready: dict[int, Any] = {}
    spent = [0.0, 0]  # seconds and tasks counted here
    last_done = time.monotonic()  # when a worker last returned a task (the next one started then)

    def patience() -> float:
        # counting a late task again costs one task's time here: waiting much longer never pays
        return max(0.005, 1.5 * spent[0] / spent[1]) if spent[1] else 1.0

    def counted_here(task: Any) -> Any:
        started = time.monotonic()
        result = run_here(task)
        spent[0] += time.monotonic() - started
        spent[1] += 1
        return result

    def outcome(index: int, timeout: float | None) -> None:
        nonlocal executor, last_done
        future, task, _ = pending[index]
        try:
            ready[index] = future.result(timeout=timeout)
            last_done = time.monotonic()
        except FutureTimeout:
            future.cancel()  # a worker this slow (starting, or a busy machine): count it here
            ready[index] = counted_here(task)
        except BrokenProcessPool as error:
            _broken(error)
            executor = None
            ready[index] = counted_here(task)
        else:
            _mark_ready()
        del pending[index]

    def age(index: int) -> float:
        """How long the worker has had this task: queued tasks start when the one before ends."""
        return time.monotonic() - max(pending[index][2], last_done)

    out = 0
    try:
        for index, task in enumerate(tasks):
            submitted = False
            if executor is not None and len(pending) < slots:
                try:
                    with _sigint_held():  # submit starts a worker when none is idle
                        future = executor.submit(fn, spec, task)
                    pending[index] = (future, task, time.monotonic())
                    submitted = True
                except (RuntimeError, OSError) as error:  # BrokenProcessPool is a RuntimeError
                    _broken(error)
                    executor = None
            if not submitted:
                ready[index] = counted_here(task)
            for done in [i for i, (future, _, _) in pending.items() if future.done()]:
                outcome(done, 0)
            if out in pending and age(out) > patience() and len(ready) > slots:
                outcome(out, 0)  # the output waits on a slow worker: count its task here
            while out in ready:
                yield ready.pop(out)
                out += 1
        for index in sorted(pending):
            outcome(index, max(patience() - age(index), 0.0))
            while out in ready:
                yield ready.pop(out)
                out += 1
    finally:
        for future, _, _ in pending.values():
            future.cancel()


def _mark_ready() -> None:
    global _pool_ready
    _pool_ready = True


def _slices(items: Sequence[Any], parts: int) -> list[Sequence[Any]]:
    size = max(1, -(-len(items) // parts))
    return [items[i : i + size] for i in range(0, len(items), size)]


def count_texts_parallel(recipe: Recipe, texts: list[str], count_here: Callable[[str], int]) -> list[int]:
    """Counts of ``texts`` in order: a first slice here, timed; the rest across the pool too if the
    measured time of what is left pays for it (``count_here`` is this process's counter)."""
    slices = _slices(texts, 8 * cores())
    started = time.monotonic()
    first = [count_here(t) for t in slices[0]]
    per_char = (time.monotonic() - started) / max(1, sum(map(len, slices[0])))
    left = per_char * sum(len(t) for part in slices[1:] for t in part)
    rest = map_ordered(_count_texts, recipe, slices[1:], use_pool=worth_a_pool(left),
                       here=lambda part: [count_here(t) for t in part])  # fmt: skip
    return first + [count for part in rest for count in part]


def count_segments_parallel(recipe: Recipe, segments: list[str], count_here: Callable[[str], int]) -> int:
    """Sum of the counts of ``segments`` (pieces of one text cut at additive points), decided and
    shared as :func:`count_texts_parallel` does."""
    if not segments:
        return 0
    started = time.monotonic()
    total = count_here(segments[0])
    per_char = (time.monotonic() - started) / max(1, len(segments[0]))
    left = per_char * sum(map(len, segments[1:]))
    use = worth_a_pool(left)
    rest = map_ordered(_count_one, recipe, segments[1:], use_pool=use, here=count_here)
    return total + sum(int(count) for count in rest)
