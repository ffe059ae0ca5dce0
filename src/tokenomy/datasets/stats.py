"""Exact, mergeable partial results of a dataset (:class:`DatasetStats`) and what the file-level
Batch rules need from a stretch of lines in line order (:class:`Tally`, :class:`FileTally`).

Any split of the work merges to the same partial: integers add, histograms add, lists keep the
``LIST_CAP`` smallest line numbers, and a ``custom_id`` seen in two partials becomes a problem on
the later line whichever partial is merged first.
"""

from __future__ import annotations

import hashlib
import itertools
import operator
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

LIST_CAP = 100  # over-limit records and problems kept by line number (their counts are exact)
NOTES_CAP = 8  # counting notes kept per model (the first in sorted order)
_ID_CHARS = 64  # longer custom_ids are kept as a prefix and a digest


def id_key(custom_id: str) -> str:
    """The key a ``custom_id`` is remembered by: itself, or a prefix and a digest if it is long.

    >>> id_key("req-1")
    'req-1'
    >>> len(id_key("x" * 10_000)) < 64
    True
    """
    if len(custom_id) <= _ID_CHARS:
        return custom_id
    digest = hashlib.blake2b(custom_id.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()
    return f"{custom_id[:24]}…#{digest}"


@dataclass
class DatasetStats:
    """Exact, mergeable partial results: integers, sparse histograms and capped lists.

    ``models`` maps a model to [records, prompt tokens, output bound, billed tokens, records over
    the limit]; ``histograms`` holds each model's tokens per record. ``urls`` and
    ``named_models`` map each endpoint and model the lines name to [first line, lines];
    ``ids`` the ``custom_id`` keys to their first line (emptied once a file is finished).
    ``merge`` is associative and commutative.
    """

    records: int = 0
    histograms: dict[str, Counter[int]] = field(default_factory=dict)
    models: dict[str, list[int]] = field(default_factory=dict)
    over_limit: list[tuple[int, str, str, int, int]] = field(
        default_factory=list
    )  # line, id, model, tokens, limit
    over_limit_count: int = 0
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # line, check, message
    problem_count: int = 0
    checks: Counter[str] = field(default_factory=Counter)
    requests: int = 0  # lines that are not blank
    bytes: int = 0
    urls: dict[str, list[int]] = field(default_factory=dict)
    named_models: dict[str, list[int]] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)  # valid lines not counted, by reason
    notes: dict[str, list[str]] = field(default_factory=dict)  # model -> counting notes
    # the first exception per check, in the process that met it (for raising at once; not merged)
    errors: dict[str, BaseException] = field(default_factory=dict, repr=False, compare=False)

    # ---- adding ----------------------------------------------------------------------------------

    def add_record(self, model: str, tokens: int, output_bound: int, billed: int) -> None:
        """One record counted as ``model`` (``records`` counts lines: the caller adds those)."""
        row = self.models.get(model)
        if row is None:
            row = self.models[model] = [0, 0, 0, 0, 0]
            self.histograms[model] = Counter()
        row[0] += 1
        row[1] += tokens
        row[2] += output_bound
        row[3] += billed
        self.histograms[model][tokens] += 1

    def add_over_limit(self, line: int, record_id: str, model: str, tokens: int, limit: int) -> None:
        self.over_limit_count += 1
        row = self.models.get(model)
        if row is not None:
            row[4] += 1
        self.over_limit.append((line, record_id, model, tokens, limit))
        if len(self.over_limit) > 2 * LIST_CAP:
            self.over_limit = sorted(self.over_limit)[:LIST_CAP]

    def add_problem(self, line: int, check: str, message: str, error: BaseException | None = None) -> None:
        self.problem_count += 1
        self.checks[check] += 1
        self.problems.append((line, check, message))
        if len(self.problems) > 2 * LIST_CAP:
            self.problems = sorted(self.problems)[:LIST_CAP]
        if error is not None and check not in self.errors:
            self.errors[check] = error

    def add_ids(self, custom_ids: list[str], lines: list[int]) -> None:
        """The custom_ids of these lines (lines increasing): each one met before is a problem on
        the later line, as in :meth:`absorb`.

        >>> stats = DatasetStats()
        >>> stats.add_ids(["a", "b", "a"], [1, 2, 3])
        >>> stats.ids, stats.problems[0][:2]
        ({'a': 1, 'b': 2}, (3, 'duplicate_custom_id'))
        """
        if not custom_ids:
            return
        if max(map(len, custom_ids)) > _ID_CHARS:
            custom_ids = list(map(id_key, custom_ids))
        first = dict(zip(reversed(custom_ids), reversed(lines), strict=True))  # each one's first line
        if len(first) < len(custom_ids):
            for key, line in zip(custom_ids, lines, strict=True):
                if first[key] != line:
                    self.add_problem(line, "duplicate_custom_id", duplicate_message(key))
        ids = self.ids
        for key in ids.keys() & first.keys() if ids else ():
            self.add_problem(max(ids[key], first[key]), "duplicate_custom_id", duplicate_message(key))
            first[key] = min(ids[key], first[key])
        ids.update(first)

    def add_notes(self, model: str, notes: tuple[str, ...]) -> None:
        if not notes:
            return
        kept = self.notes.setdefault(model, [])
        for note in notes:
            if note not in kept:
                kept.append(note)
        if len(kept) > 2 * NOTES_CAP:
            self.notes[model] = sorted(kept)[:NOTES_CAP]

    # ---- combining -------------------------------------------------------------------------------

    def shift_lines(self, offset: int) -> DatasetStats:
        """Renumber this partial's lines by ``offset`` (a stretch counted from line 1), in place."""
        if offset:
            self.over_limit = [(line + offset, *rest) for line, *rest in self.over_limit]  # type: ignore[misc]
            self.problems = [(line + offset, check, message) for line, check, message in self.problems]
            # in C: this runs in the process that merges, for every line of every partial
            lines = map(operator.add, self.ids.values(), itertools.repeat(offset))
            self.ids = dict(zip(self.ids, lines, strict=True))
            for seen in (self.urls, self.named_models):
                for row in seen.values():
                    row[0] += offset
        return self

    def absorb(self, other: DatasetStats) -> DatasetStats:
        """Add ``other`` into this partial, in place (``merge`` without copying this one)."""
        self.records += other.records
        for name, counts in other.models.items():
            mine = self.models.get(name)
            if mine is None:
                self.models[name] = list(counts)
                self.histograms[name] = Counter(other.histograms.get(name, ()))
                continue
            for i, value in enumerate(counts):
                mine[i] += value
            self.histograms[name].update(other.histograms.get(name, ()))
        self.over_limit = sorted(self.over_limit + other.over_limit)[:LIST_CAP]
        self.over_limit_count += other.over_limit_count
        self.problems += other.problems
        self.problem_count += other.problem_count
        self.checks.update(other.checks)
        self.requests += other.requests
        self.bytes += other.bytes
        for mine_seen, theirs in ((self.urls, other.urls), (self.named_models, other.named_models)):
            for key, (at, lines) in theirs.items():
                row = mine_seen.get(key)
                if row is None:
                    mine_seen[key] = [at, lines]
                else:
                    row[0], row[1] = min(row[0], at), row[1] + lines
        ids, their_ids = self.ids, other.ids
        repeated = ids.keys() & their_ids.keys() if ids and their_ids else set()  # in C: usually empty
        earlier = {key: min(ids[key], their_ids[key]) for key in repeated}
        for key in repeated:  # the later of the two lines is the repeat, whichever partial came first
            self.problem_count += 1
            self.checks["duplicate_custom_id"] += 1
            later = max(ids[key], their_ids[key])
            self.problems.append((later, "duplicate_custom_id", duplicate_message(key)))
        ids.update(their_ids)
        ids.update(earlier)
        self.problems = sorted(self.problems)[:LIST_CAP]
        self.skipped.update(other.skipped)
        for name, notes in other.notes.items():
            self.add_notes(name, tuple(notes))
        for check, error in other.errors.items():
            self.errors.setdefault(check, error)
        return self

    def merge(self, other: DatasetStats) -> DatasetStats:
        """A new partial holding both; neither input is changed."""
        return DatasetStats.from_dict(self.to_dict()).absorb(other)

    @property
    def histogram(self) -> Counter[int]:
        """Tokens per record over every model."""
        total: Counter[int] = Counter()
        for hist in self.histograms.values():
            total.update(hist)
        return total

    # ---- plain data ------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for sending partials between processes or machines, and for JSON)."""
        return {
            "records": self.records,
            "histogram": {str(k): v for k, v in sorted(self.histogram.items())},
            "histograms": {
                m: {str(k): v for k, v in sorted(h.items())} for m, h in sorted(self.histograms.items())
            },
            "models": {k: list(v) for k, v in sorted(self.models.items())},
            "over_limit": [list(row) for row in sorted(self.over_limit)[:LIST_CAP]],
            "over_limit_count": self.over_limit_count,
            "problems": [list(row) for row in sorted(self.problems)[:LIST_CAP]],
            "problem_count": self.problem_count, "checks": dict(sorted(self.checks.items())),
            "requests": self.requests, "bytes": self.bytes,
            "urls": {k: list(v) for k, v in sorted(self.urls.items())},
            "named_models": {k: list(v) for k, v in sorted(self.named_models.items())},
            "ids": dict(self.ids), "skipped": dict(sorted(self.skipped.items())),
            "notes": {k: sorted(v)[:NOTES_CAP] for k, v in sorted(self.notes.items())},
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetStats:
        """The partial :meth:`to_dict` described.

        >>> stats = DatasetStats()
        >>> stats.add_record("gpt-4o", 12, 0, 12)
        >>> DatasetStats.from_dict(stats.to_dict()) == stats
        True
        """
        return cls(
            records=data["records"],
            histograms={m: Counter({int(k): v for k, v in h.items()}) for m, h in data["histograms"].items()},
            models={k: list(v) for k, v in data["models"].items()},
            over_limit=[(int(a), str(b), str(c), int(d), int(e)) for a, b, c, d, e in data["over_limit"]],
            over_limit_count=data["over_limit_count"],
            problems=[(int(a), str(b), str(c)) for a, b, c in data["problems"]],
            problem_count=data["problem_count"], checks=Counter(data["checks"]),
            requests=data.get("requests", 0), bytes=data.get("bytes", 0),
            urls={k: list(v) for k, v in data.get("urls", {}).items()},
            named_models={k: list(v) for k, v in data.get("named_models", {}).items()},
            ids=dict(data.get("ids", {})), skipped=Counter(data.get("skipped", {})),
            notes={k: list(v) for k, v in data.get("notes", {}).items()},
        )  # fmt: skip


def duplicate_message(key: str) -> str:
    return f"custom_id {key!r} is used on an earlier line: a batch needs each custom_id once"


@dataclass
class Tally:
    """One stretch of lines as the file-level rules see it, lines numbered from 1.

    ``blank_runs`` are (first line, length) of blank lines (so the line of the n-th request can
    be found), ``byte_line`` the line that ends past the file's byte limit (the stretch knows
    where it starts), ``inputs`` (line, embedding inputs) up to the first line past the limit.
    """

    lines: int = 0
    requests: int = 0
    bytes: int = 0
    blank_runs: list[tuple[int, int]] = field(default_factory=list)
    byte_line: int | None = None
    inputs: list[tuple[int, int]] = field(default_factory=list)
    input_total: int = 0

    def blank(self, line: int) -> None:
        runs = self.blank_runs
        if runs and runs[-1][0] + runs[-1][1] == line:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((line, 1))

    def line_of_request(self, n: int) -> int:
        """Line number of this stretch's ``n``-th request (1-based)."""
        line = n
        for first, length in self.blank_runs:
            if first > line:
                break
            line += length
        return line


@dataclass
class FileTally:
    """A file's stretches added in line order: totals, and the line where each limit is crossed."""

    max_requests: int
    max_bytes: int
    max_inputs: int
    lines: int = 0
    requests: int = 0
    bytes: int = 0
    inputs: int = 0
    request_line: int | None = None
    byte_line: int | None = None
    input_line: int | None = None

    def add(self, part: Tally) -> int:
        """Add the next stretch; returns the line offset its own numbers need."""
        offset = self.lines
        if self.request_line is None and self.requests + part.requests > self.max_requests:
            self.request_line = offset + part.line_of_request(self.max_requests - self.requests + 1)
        if self.byte_line is None and part.byte_line is not None:
            self.byte_line = offset + part.byte_line
        if self.input_line is None:
            running = self.inputs
            for line, inputs in part.inputs:
                running += inputs
                if running > self.max_inputs:
                    self.input_line = offset + line
                    break
        self.lines += part.lines
        self.requests += part.requests
        self.bytes += part.bytes
        self.inputs += part.input_total
        return offset
