"""Dataset analysis and reconciliation on a Dask cluster (``pip install "tokenomy[dask]"``).

:func:`reconcile` is :func:`tokenomy.reconcile` with the request lines counted on the cluster
(the results are indexed on this machine, a few integers per line, and joined as partitions return).
:func:`analyze` computes the same report as :func:`tokenomy.analyze`: each partition of lines
becomes a :class:`~tokenomy.datasets.DatasetStats` partial (a few KB of exact integers), the
partials are renumbered to file line numbers and merged, and cost is priced once at the end.
Workers receive a small spec (kind, model, date, the vocabulary folder), never Encoding objects,
and load each encoding once per process. Without a scheduler address a local cluster of worker
*processes* is started (JSON parsing holds the GIL, so threads would not help).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from tokenomy.datasets import (
    KINDS,
    DatasetReport,
    DatasetStats,
    JsonLine,
    _count_lines_quietly,
    _Spec,
    report_from_stats,
)
from tokenomy.encodings import encodings_dir
from tokenomy.errors import TokenomyError
from tokenomy.reconciliation import Reconciliation
from tokenomy.reconciling import CountSpec, Joiner, count_lines, index_results
from tokenomy.registry import DateLike, day_of
from tokenomy.rules import loaded_files


def _require() -> Any:
    try:
        import dask.bag as db
    except ImportError:
        raise ImportError('tokenomy.dask needs Dask: pip install "tokenomy[dask]"') from None
    return db


@dataclasses.dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs: no Encoding objects, just names and where the vocabularies are."""

    kind: str
    model: str | None
    as_of: date
    encodings_dir: str | None
    json_lines: bool = True  # elements are JSONL lines (files) rather than records (tables, bags)


def _prepare(spec: WorkerSpec) -> None:
    if spec.encodings_dir and not os.environ.get("TOKENOMY_ENCODINGS_DIR"):
        from tokenomy.encodings import set_encodings_dir

        set_encodings_dir(spec.encodings_dir)


def _partition_stats(lines: Iterable[Any], spec: WorkerSpec) -> list[tuple[str, int, dict[str, Any]]]:
    """(path, lines seen, stats as plain data) for one partition; line numbers are local."""
    _prepare(spec)
    numbered: list[tuple[int, Any]] = []
    path = ""
    seen = 0
    for item in lines:
        line, path = item if isinstance(item, tuple) else (item, path)
        seen += 1
        if isinstance(line, str):
            if line.strip():
                numbered.append((seen, JsonLine(line) if spec.json_lines else line))
        else:
            numbered.append((seen, _decoded_row(line)))
    stats = _count_lines_quietly(_Spec(spec.kind, spec.model, spec.as_of), numbered)
    return [(path, seen, stats.to_dict())]


def _decoded_row(row: Any) -> Any:
    """A table row as a record: JSON text in columns such as ``messages`` or ``body`` decoded."""
    if not isinstance(row, dict):
        return row
    out = {}
    for key, value in row.items():
        if isinstance(value, str) and value[:1] in "[{" and key != "text":
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(value)
        out[key] = value
    return out


def _from_dict(data: dict[str, Any], shift: int) -> DatasetStats:
    from collections import Counter

    return DatasetStats(
        records=data["records"],
        histogram=Counter({int(k): v for k, v in data["histogram"].items()}),
        models={k: list(v) for k, v in data["models"].items()},
        over_limit=[(line + shift, rid, tokens, limit) for line, rid, tokens, limit in data["over_limit"]],
        over_limit_count=data["over_limit_count"],
        problems=[(line + shift, check, message) for line, check, message in data["problems"]],
        problem_count=data["problem_count"],
        checks=Counter(data["checks"]),
    )


def analyze(
    paths: str | Path | Sequence[str | Path] | Any,
    kind: str = "batch",
    model: str | None = None,
    *,
    as_of: DateLike | None = None,
    epochs: int | None = None,
    scheduler: str | None = None,
    blocksize: int | str | None = "64MiB",
) -> DatasetReport:
    """The report of :func:`tokenomy.analyze`, computed on Dask.

    ``paths`` are JSONL files or globs (compressed files are read whole), a ``dask.bag`` of
    records, or a ``dask.dataframe`` table whose rows are records (columns such as ``text``,
    ``messages``, ``model``, ``custom_id``/``url``/``body``; JSON text in them is decoded).
    ``scheduler`` is a Dask scheduler address; by default a local cluster of processes.
    """
    db = _require()
    if kind not in KINDS:
        raise TokenomyError(f"kind must be one of {KINDS}, not {kind!r}")
    folder = encodings_dir()
    spec = WorkerSpec(kind, model, day_of(as_of), str(folder) if folder else None)
    if hasattr(paths, "to_bag") and hasattr(paths, "columns"):  # a dask DataFrame
        bag = paths.to_bag(format="dict")
        spec = dataclasses.replace(spec, json_lines=False)
    elif isinstance(paths, db.Bag):
        bag = paths
        spec = dataclasses.replace(spec, json_lines=False)
    else:
        names = [str(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
        compressed = any(n.endswith((".gz", ".bz2", ".xz")) for n in names)
        bag = db.read_text(names, include_path=True, blocksize=None if compressed else blocksize)
    parts = bag.map_partitions(_partition_stats, spec)
    results = _compute(parts, scheduler)
    merged = DatasetStats()
    offsets: dict[str, int] = {}
    for path, seen, data in results:  # partitions come back in file order
        shift = offsets.get(path, 0)
        merged = merged.merge(_from_dict(data, shift))
        offsets[path] = shift + seen
    return report_from_stats(merged, kind, as_of=spec.as_of, epochs=epochs)


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

