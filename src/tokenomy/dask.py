"""Dataset analysis and reconciliation on a Dask cluster (``pip install "tokenomy[dask]"``).

For Batch files, :func:`reconcile` is :func:`tokenomy.reconcile` with the request lines counted
on the cluster (the results are indexed on this machine, a few integers per line, and joined as
partitions return). :func:`analyze` computes the same report as :func:`tokenomy.analyze`, with the
same reader and the same errors: each task (a byte range of a plain file, or a whole compressed
file) becomes a :class:`~tokenomy.datasets.DatasetStats` partial; the partials are renumbered to
file line numbers and merged, each file's Batch rules are applied, and cost is priced once at the
end. Workers receive a small spec (kind, models, date, the vocabulary folder), never Encoding objects,
and load each encoding once per process. Without a scheduler address a local cluster of worker
*processes* is started (JSON parsing holds the GIL, so threads would not help).
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import json
import os
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from tokenomy.billed import index_results
from tokenomy.datasets import DatasetReport, DatasetStats, report_from_stats
from tokenomy.datasets.lines import Records, Spec
from tokenomy.datasets.read import MAX_LINE_BYTES, FileRange, check_file, compression, ranges
from tokenomy.datasets.records import count_task
from tokenomy.datasets.run import assemble, make_spec
from tokenomy.datasets.stats import Tally
from tokenomy.encodings import encodings_dir
from tokenomy.errors import InputFileError
from tokenomy.reconciliation import Reconciliation
from tokenomy.reconciling import CountSpec, Joiner, count_lines
from tokenomy.registry import DateLike
from tokenomy.rules import loaded_files


def _require() -> Any:
    try:
        import dask.bag as db
    except ImportError:
        raise ImportError('tokenomy.dask needs Dask: pip install "tokenomy[dask]"') from None
    return db


@dataclasses.dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs: no Encoding objects, just names and where the vocabularies are.

    :func:`count_tokens` sends one with each partition; it pickles small:

    >>> import pickle
    >>> spec = WorkerSpec("text", "gpt-4o", date(2025, 1, 1), encodings_dir=None)
    >>> pickle.loads(pickle.dumps(spec)) == spec, len(pickle.dumps(spec)) < 200
    (True, True)
    """

    kind: str
    model: str | None
    as_of: date
    encodings_dir: str | None


def _prepare(spec: WorkerSpec) -> None:
    if spec.encodings_dir and not os.environ.get("TOKENOMY_ENCODINGS_DIR"):
        from tokenomy.encodings import set_encodings_dir

        set_encodings_dir(spec.encodings_dir)


def _count_file_task(item: tuple[str, int, FileRange], spec: Spec) -> tuple[str, int, DatasetStats, Tally]:
    path, index, task = item
    stats, tally = count_task(spec, task)
    return path, index, stats, tally


def _count_records(rows: Iterable[Any], spec: Spec) -> list[tuple[DatasetStats, Tally]]:
    """One partition of records (table rows have JSON text in columns such as ``body`` decoded)."""
    return [count_task(spec, Records([_decoded_row(row) for row in rows]))]


def _decoded_row(row: Any) -> Any:
    """A table row as a record: JSON text in columns such as ``messages`` or ``body`` decoded."""
    if not isinstance(row, dict):
        return row
    out = {}
    for key, value in row.items():
        if isinstance(value, str) and value[:1] in "[{" and key != "text":
            with contextlib.suppress(ValueError, RecursionError):
                value = json.loads(value)
        out[key] = value
    return out


def _files(paths: str | Path | Sequence[str | Path]) -> list[str]:
    """Every file named or matched, in order; a name that matches nothing raises as locally."""
    names = [os.fspath(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    found: list[str] = []
    for name in names:
        if "://" in name or not glob.has_magic(name):
            found.append(name)
            continue
        matches = sorted(glob.glob(name))
        if not matches:
            raise InputFileError(name, "no file matches this pattern", "check the path")
        found += matches
    return found


def analyze(
    paths: str | Path | Sequence[str | Path] | Any,
    kind: str = "batch",
    model: str | None = None,
    *,
    as_of: DateLike | None = None,
    epochs: int | None = None,
    scheduler: str | None = None,
    blocksize: int | str | None = "64MiB",
    max_line_bytes: int = MAX_LINE_BYTES,
) -> DatasetReport:
    """The report of :func:`tokenomy.analyze`, computed on Dask.

    ``paths`` are JSONL files or globs (compressed files are read whole, by one worker each), a
    ``dask.bag`` of records, or a ``dask.dataframe`` table whose rows are records (columns such as
    ``text``, ``messages``, ``model``, ``custom_id``/``url``/``body``; JSON text in them is
    decoded). ``scheduler`` is a Dask scheduler address; by default a local cluster of processes.

    >>> import dask.bag as db
    >>> lines = [{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
    ...           "body": {"model": "gpt-4o-mini-2024-07-18", "max_tokens": 10,
    ...                    "messages": [{"role": "user", "content": "Hello"}]}}]
    >>> report = analyze(db.from_sequence(lines), "batch", as_of=date(2025, 1, 1),
    ...                  scheduler="sync")  # Dask's single-thread scheduler: no cluster for a tiny bag
    >>> report.records, report.total_tokens, report.models[0].output_tokens_bound
    (1, 8, 10)
    """
    db = _require()
    spec = make_spec(kind, model, as_of=as_of, max_line_bytes=max_line_bytes)
    if hasattr(paths, "to_bag") and hasattr(paths, "columns"):  # a dask DataFrame
        paths = paths.to_bag(format="dict")
    if isinstance(paths, db.Bag):
        parts = _compute(paths.map_partitions(_count_records, spec), scheduler)
        stats = assemble(spec, [(stats, tally) for stats, tally in parts])
        return report_from_stats(stats, kind, as_of=spec.as_of, epochs=epochs)
    step = _bytes(blocksize)
    tasks: list[tuple[str, int, FileRange]] = []
    for path in _files(paths):
        size = check_file(path)
        if compression(path) is not None or "://" in path:
            tasks.append((path, 0, FileRange(path, 0, size, compressed=compression(path) is not None)))
        else:
            tasks += [(path, i, task) for i, task in enumerate(ranges(path, size, step))]
    bag = db.from_sequence(tasks, npartitions=max(1, len(tasks)))
    results = sorted(_compute(bag.map(_count_file_task, spec), scheduler), key=lambda r: (r[0], r[1]))
    merged = DatasetStats()
    order = list(dict.fromkeys(path for path, _, _ in tasks))
    for path in order:
        merged.absorb(assemble(spec, [(s, t) for p, _, s, t in results if p == path]))
    return report_from_stats(merged, kind, as_of=spec.as_of, epochs=epochs)


def _bytes(blocksize: int | str | None) -> int:
    if blocksize is None:
        return 1 << 62
    if isinstance(blocksize, int):
        return blocksize
    from dask.utils import parse_bytes

    return int(parse_bytes(blocksize))


def _compute(parts: Any, scheduler: str | None) -> list[Any]:
    if scheduler in ("sync", "synchronous"):  # dask's own single-thread scheduler, for debugging
        return list(parts.compute(scheduler="sync"))
    from dask.distributed import Client, LocalCluster

    from tokenomy._workers import cores

    if scheduler:
        with Client(scheduler) as client:
            return list(client.compute(parts).result())
    cluster = LocalCluster(n_workers=cores(), threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster, Client(cluster) as client:
        return list(client.compute(parts).result())


def count_tokens(collection: Any, *, model: str = "gpt-4o") -> Any:
    """A lazy collection of token counts: a ``dask.bag`` of strings, or a dask Series of strings.

    Counts are exact and special-token look-alikes are text, as in :func:`tokenomy.count`.

    >>> import dask.bag as db
    >>> counts = count_tokens(db.from_sequence(["hello world", "<|endoftext|>"]), model="gpt-4o")
    >>> counts.compute(scheduler="sync")  # or on a cluster: distributed.Client(...), then .compute()
    [2, 7]
    """
    db = _require()
    folder = encodings_dir()
    spec = WorkerSpec("text", model, date.today(), str(folder) if folder else None)
    if isinstance(collection, db.Bag):
        return collection.map_partitions(_count_partition, spec)
    if hasattr(collection, "map_partitions"):
        meta = (getattr(collection, "name", None), "int64")
        return collection.map_partitions(_count_series, spec, meta=meta)
    raise TypeError(f"count_tokens takes a dask Bag or Series, not {type(collection).__name__}")


def _count_partition(texts: Iterable[str], spec: WorkerSpec) -> list[int]:
    from tokenomy.tokenizer import encoding_for

    _prepare(spec)
    tok = encoding_for(spec.model or "gpt-4o")
    return [tok.count(t) for t in texts]


def _count_series(series: Any, spec: WorkerSpec) -> Any:
    return series.map(lambda text, c=_count_partition: c([text], spec)[0]).astype("int64")


def reconcile(
    requests: str | Path | Sequence[str | Path],
    results: str | Path | Iterable[Any],
    *,
    as_of: DateLike | None = None,
    batch: bool = True,
    scheduler: str | None = None,
    blocksize: int | str | None = "64MiB",
) -> Reconciliation:
    """The result of :func:`tokenomy.reconcile`, with the request lines counted on Dask.

    ``requests`` are Batch input files or globs (line numbers are per file); ``results`` the
    Batch output file, or its lines, indexed on this machine. ``scheduler`` is a Dask scheduler
    address (``"sync"``: Dask's single-thread scheduler); by default a local cluster of processes.

    >>> import json, tempfile
    >>> line = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
    ...         "body": {"model": "gpt-4o-2024-08-06", "messages": [{"role": "user", "content": "Hi"}]}}
    >>> billed = [{"custom_id": "a", "response": {"status_code": 200, "body": {
    ...              "usage": {"prompt_tokens": 8, "completion_tokens": 2}}}}]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     requests = Path(folder, "input.jsonl")
    ...     _ = requests.write_text(json.dumps(line) + "\\n", encoding="utf-8")
    ...     result = reconcile(requests, billed, as_of="2025-06-01", scheduler="sync")
    >>> row = result.requests[0]
    >>> row.line, row.predicted_tokens, row.billed_tokens, result.accuracy().equal
    (1, 8, 8, 1)
    """
    db = _require()
    index = index_results(results)
    day, notes = index.day(as_of)
    folder = encodings_dir()
    spec = CountSpec(day, loaded_files(), "requests")
    names = [str(p) for p in ([requests] if isinstance(requests, (str, Path)) else requests)]
    compressed = any(n.endswith((".gz", ".bz2", ".xz")) for n in names)
    bag = db.read_text(names, include_path=True, blocksize=None if compressed else blocksize)
    parts = bag.map_partitions(_reconcile_partition, spec, str(folder) if folder else None)
    joiner = Joiner(index, spec, batch=batch, notes=notes)
    offsets: dict[str, int] = {}
    for path, seen, counted, issues in _compute(parts, scheduler):  # partitions come back in file order
        shift = offsets.get(path, 0)
        joiner.add(([c._replace(line=c.line + shift) for c in counted],
                    [dataclasses.replace(i, line=i.line + shift) for i in issues]))  # fmt: skip
        offsets[path] = shift + seen
    return joiner.finish()


def _reconcile_partition(lines: Iterable[tuple[str, str]], spec: CountSpec, folder: str | None) -> list[Any]:
    """(path, lines seen, counted lines, issues) for one partition; line numbers are local."""
    _prepare(WorkerSpec("batch", None, spec.as_of, folder))
    numbered: list[tuple[int, Any]] = []
    path, seen = "", 0
    for line, source in lines:
        path, seen = source, seen + 1
        if line.strip():
            numbered.append((seen, line))
    counted, issues = count_lines(dataclasses.replace(spec, source=path), numbered)
    return [(path, seen, counted, issues)]

