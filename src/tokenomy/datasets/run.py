"""A dataset's partial: :func:`collect` cuts the source into tasks, counts the first one here (timed),
raises at once if the call is wrong, shares the rest with worker processes when the time left
repays them, puts the pieces back in line order and applies the file-level Batch rules.

A plain file is cut into byte ranges that each worker reads itself; a compressed file is read
here and handed on in batches of lines; records are counted here unless ``parallel=True``.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from tokenomy._data import table
from tokenomy._streams import in_lists
from tokenomy._workers import map_ordered, startup_seconds, worth_a_pool
from tokenomy.datasets.lines import KINDS, MODEL_CHECKS, Records, Spec, StreamLines, Task
from tokenomy.datasets.read import MAX_LINE_BYTES, FileRange, check_file, compression, ranges, read_stream
from tokenomy.datasets.records import count_task
from tokenomy.datasets.stats import LIST_CAP, DatasetStats, FileTally, Tally, duplicate_message
from tokenomy.encodings import encodings_dir
from tokenomy.errors import DatasetError
from tokenomy.registry import DateLike, day_of, resolve

_RANGE_BYTES = 1 << 20  # a task: about 4,000 short Batch lines, 20-60 ms of counting
_TASK_LINES = 2000  # lines or records per task when they are handed on
_COMPRESSION_RATIO = 4  # a guess at the text behind a compressed byte, to decide on the pool


def make_spec(kind: str, model: str | None = None, models: Iterable[str] | None = None, *,
              as_of: DateLike | None = None, max_line_bytes: int = MAX_LINE_BYTES) -> Spec:  # fmt: skip
    """The spec of a call, checked: an unknown kind or model raises here, before any line is read."""
    if kind not in KINDS:
        raise DatasetError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if isinstance(max_line_bytes, bool) or not isinstance(max_line_bytes, int) or max_line_bytes < 1:
        raise DatasetError(f"max_line_bytes must be a whole number of bytes >= 1, not {max_line_bytes!r}")
    day = day_of(as_of)
    names = tuple(dict.fromkeys(models)) if models is not None else ((model,) if model is not None else ())
    if models is not None and not names:
        raise DatasetError("what_if needs at least one model")
    for name in names:
        resolve(name, day, warn=False)  # UnknownModelError (with close names) at once
    folder = encodings_dir()
    rules = table("batch")
    limits = (int(rules["file"]["max_requests"]), int(rules["file"]["max_bytes"]),
              int(rules["embeddings"]["max_inputs"]))  # fmt: skip
    return Spec(kind, day, names, max_line_bytes, str(folder) if folder else None, limits)


def collect(
    source: Any,
    kind: str = "batch",
    model: str | None = None,
    *,
    as_of: DateLike | None = None,
    parallel: bool | None = None,
    progress: bool | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
    models: Iterable[str] | None = None,
) -> DatasetStats:
    """The mergeable partial for ``source`` (what :func:`~tokenomy.analyze` prices), its file-level
    rules applied. ``models`` counts every record as each of these models (for what-if reports)."""
    spec = make_spec(kind, model, models, as_of=as_of, max_line_bytes=max_line_bytes)
    if isinstance(source, (str, os.PathLike)):
        return collect_file(os.fspath(source), spec, parallel=parallel, progress=progress)
    if isinstance(source, (list, tuple)) and source and all(isinstance(s, os.PathLike) for s in source):
        stats = DatasetStats()  # several files, each checked as a file of its own
        for path in source:
            stats.absorb(collect_file(os.fspath(path), spec, parallel=parallel, progress=progress))
        return stats
    if isinstance(source, Mapping):
        source = [source]
    tasks = (Records(batch) for batch in in_lists(source, _TASK_LINES))
    return collect_tasks(tasks, spec, parallel=bool(parallel), work=None)


def collect_file(path: str, spec: Spec, *, parallel: bool | None = None,
                 progress: bool | None = None) -> DatasetStats:  # fmt: skip
    """:func:`collect` for one file (plain, or compressed: gzip, bzip2, xz)."""
    size = check_file(path)
    plain = compression(path) is None and "://" not in path
    bar = progress_bar(size if plain else None, progress)
    try:
        if plain:
            return collect_tasks(
                ranges(path, size, _RANGE_BYTES), spec, parallel=parallel, work=size, bar=bar
            )
        return collect_tasks(_stream_tasks(path, spec), spec, parallel=parallel,
                             work=size * _COMPRESSION_RATIO, bar=bar)  # fmt: skip
    finally:
        bar(None)


def collect_tasks(tasks: Iterable[Task], spec: Spec, *, parallel: bool | None, work: int | None,
                  bar: Callable[[int | None], None] | None = None) -> DatasetStats:  # fmt: skip
    """Count ``tasks`` in order (the first here, timed) and finish the file they make up."""
    tasks = iter(tasks)
    first = next(tasks, None)
    if first is None:
        return assemble(spec, [])
    if parallel is None and work is not None and work >= 8 * _RANGE_BYTES and startup_seconds() == 0.0:
        # a pool that runs costs nothing to use: a big file goes to it from its first task
        parts: Iterator[tuple[DatasetStats, Tally]] = map_ordered(
            count_task, spec, itertools.chain([first], tasks), use_pool=worth_a_pool(float("inf"))
        )
    else:
        started = time.monotonic()
        stats, tally = count_task(spec, first)
        raise_if_wrong_call(stats)
        if parallel is None:
            done = _weight(first, tally)
            left = (time.monotonic() - started) / max(done, 1) * max((work or 0) - done, 0)
            parallel = worth_a_pool(left)
        rest = map_ordered(count_task, spec, tasks, use_pool=parallel)
        parts = itertools.chain([(stats, tally)], rest)
    stats = assemble(spec, _checked_first(parts), bar)
    raise_if_wrong_call(stats)
    return stats


def _checked_first(parts: Iterator[tuple[DatasetStats, Tally]]) -> Iterator[tuple[DatasetStats, Tally]]:
    """``parts``, raising after the first if it says the call is wrong (before the rest is read)."""
    for i, part in enumerate(parts):
        if i == 0:
            raise_if_wrong_call(part[0])
        yield part


def assemble(spec: Spec, parts: Iterable[tuple[DatasetStats, Tally]],
             bar: Callable[[int | None], None] | None = None) -> DatasetStats:  # fmt: skip
    """One file's partials, given in line order, renumbered, merged and finished."""
    file = FileTally(*spec.limits)
    stats = DatasetStats()
    ids: dict[str, int] = {}  # the custom_ids of the parts before (their lines are not needed)
    for part, tally in parts:
        offset = file.add(tally)
        # in line order, a custom_id met in an earlier part is a repeat on this part's line: the
        # parts' ids are neither renumbered nor kept with their lines (finish_file forgets them)
        theirs, part.ids = part.ids, {}
        for key in ids.keys() & theirs.keys() if ids else ():
            stats.add_problem(theirs[key] + offset, "duplicate_custom_id", duplicate_message(key))
        ids.update(theirs)
        stats.absorb(part.shift_lines(offset))
        if bar is not None:
            bar(tally.bytes)
    return finish_file(stats, file, spec)


def raise_if_wrong_call(stats: DatasetStats) -> None:
    """Raise when nothing could be counted and most problems are about the model: an unknown model,
    or none given, on every line says the call is wrong, not the lines."""
    if stats.records or not stats.problem_count:
        return
    about_model = sum(stats.checks[c] for c in MODEL_CHECKS)
    if about_model and 2 * about_model >= stats.problem_count:
        raise next(stats.errors[c] for c in sorted(MODEL_CHECKS) if c in stats.errors)


def finish_file(stats: DatasetStats, file: FileTally, spec: Spec) -> DatasetStats:
    """Add the file-level Batch problems (size, requests, inputs, one endpoint, one model), each on
    the line where the rule breaks, and forget the file's custom_ids."""
    if spec.kind == "batch":
        rules = table("batch")
        if file.request_line is not None:
            stats.add_problem(
                file.request_line,
                "too_many_requests",
                f"request {file.max_requests + 1:,} of {file.requests:,}: a batch file holds at "
                f"most {file.max_requests:,}; split the file before this line",
            )
        if file.byte_line is not None:
            stats.add_problem(file.byte_line, "file_too_large",
                              f"the file is {file.bytes / 1e6:,.1f} MB and this line ends past "
                              f"{file.max_bytes / 1e6:,.0f} MB, the most a batch file may hold; split it "
                              "before this line")  # fmt: skip
        if file.input_line is not None:
            stats.add_problem(
                file.input_line,
                "too_many_embedding_inputs",
                f"{file.inputs:,} embedding inputs in all, over the {file.max_inputs:,} an "
                "embeddings batch takes from this line on; split the file before it",
            )
        for seen, what in ((stats.urls, "endpoint (url)"), (stats.named_models, "model")):
            if (
                len(seen) < 2
                or not rules["endpoints" if what.startswith("endpoint") else "models"]["one_per_file"]
            ):
                continue
            main = min(seen, key=lambda k: seen[k][0])
            for other, (line, lines) in sorted(seen.items(), key=lambda kv: kv[1][0]):
                if other != main:
                    stats.add_problem(line, "mixed_" + what.split()[0] + "s",
                                      f"{what} {other!r} on {lines:,} line(s), while line {seen[main][0]} "
                                      f"uses {main!r}: a batch file takes one {what}")  # fmt: skip
    stats.ids = {}
    stats.problems = sorted(stats.problems)[:LIST_CAP]
    stats.over_limit = sorted(stats.over_limit)[:LIST_CAP]
    return stats


def _weight(task: Task, tally: Tally) -> int:
    if isinstance(task, FileRange):
        return task.end - task.start
    return tally.bytes if isinstance(task, StreamLines) else tally.lines


def _stream_tasks(path: str, spec: Spec) -> Iterator[StreamLines]:
    lines: list[tuple[int, Any]] = []
    size = 0
    for offset, line in read_stream(path, spec.max_line_bytes):
        lines.append((offset, line))
        size += len(line) if isinstance(line, bytes) else 0
        if len(lines) >= _TASK_LINES or size >= _RANGE_BYTES:
            yield StreamLines(lines)
            lines, size = [], 0
    if lines:
        yield StreamLines(lines)


def progress_bar(total: int | None, wanted: bool | None) -> Callable[[int | None], None]:
    """A callable advancing a ``tqdm.auto`` bar by bytes, closing it on None; it does nothing
    unless asked for, or a terminal or notebook is attached (and tqdm is installed)."""
    if not (wanted if wanted is not None else _attached()):
        return _nothing
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _nothing
    # unasked, a bar shows only for work that lasts: a quick report prints nothing
    bar = tqdm(total=total, unit="B", unit_scale=True, desc="tokenomy analyze", delay=0 if wanted else 1.0)

    def advance(done: int | None) -> None:
        if done is None:
            bar.close()
        else:
            bar.update(done)

    return advance


def _nothing(done: int | None) -> None:
    return None


def _attached() -> bool:
    """A terminal on stderr, or a Jupyter kernel."""
    if sys.stderr is not None and sys.stderr.isatty():
        return True
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return shell is not None and hasattr(shell, "kernel")
