"""Counting records: one task (a byte range of a file, lines read from a compressed stream, or
records handed over) into a :class:`DatasetStats` partial and a :class:`Tally`. Batch API lines
go to :class:`~tokenomy.datasets.batch.BatchLines`; fine-tuning examples, chat requests and texts
are counted here.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from tokenomy._data import table
from tokenomy._results import get
from tokenomy.datasets.batch import BatchLines
from tokenomy.datasets.lines import (
    FATAL,
    NoModel,
    Spec,
    StreamLines,
    Task,
    Windows,
    decoded,
    line_problem,
    short,
)
from tokenomy.datasets.read import FileRange, TooLong, read_range, read_stream
from tokenomy.datasets.stats import DatasetStats, Tally
from tokenomy.encodings import encodings_dir, set_encodings_dir
from tokenomy.registry import on_registry_change
from tokenomy.requests import count_request
from tokenomy.tokenizer import count


def count_task(spec: Spec, task: Task) -> tuple[DatasetStats, Tally]:
    """The partial and the tally of one task, its lines numbered from 1."""
    if spec.encodings_dir and not os.environ.get("TOKENOMY_ENCODINGS_DIR"):
        current = encodings_dir()
        if current is None or str(current) != spec.encodings_dir:
            set_encodings_dir(spec.encodings_dir)
    counter = _counters.get(spec) or _counters.setdefault(spec, _Counter(spec))
    stats, tally = DatasetStats(), Tally()
    with warnings.catch_warnings():  # a retired model would warn once per record; the report names it
        warnings.simplefilter("ignore", DeprecationWarning)
        if isinstance(task, FileRange) and task.compressed:
            _stream(counter, read_stream(task.path, spec.max_line_bytes), stats, tally)
        elif isinstance(task, FileRange):
            lines = read_range(task, spec.max_line_bytes, counter.max_bytes, tally)
            counter.run(lines, 1, stats, tally, False)
        elif isinstance(task, StreamLines):
            _stream(counter, task.lines, stats, tally)
        else:
            tally.lines = len(task.items)
            counter.run(task.items, 1, stats, tally, True)
    tally.requests = tally.lines - sum(length for _, length in tally.blank_runs)
    stats.requests, stats.bytes = tally.requests, tally.bytes
    return stats, tally


def _stream(counter: _Counter, lines: Iterable[tuple[int, Any]], stats: DatasetStats, tally: Tally) -> None:
    """Lines given with their byte offsets, counted a few thousand at a time (bounded memory)."""
    chunk: list[Any] = []
    for offset, line in lines:
        size = line.size if isinstance(line, TooLong) else len(line)
        tally.bytes += size
        tally.lines += 1
        if offset <= counter.max_bytes < offset + size and tally.byte_line is None:
            tally.byte_line = tally.lines
        chunk.append(line)
        if len(chunk) >= 2000:
            counter.run(chunk, tally.lines - len(chunk) + 1, stats, tally, False)
            chunk = []
    if chunk:
        counter.run(chunk, tally.lines - len(chunk) + 1, stats, tally, False)


class _Counter:
    """One process's counting state for a spec."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.max_bytes = spec.limits[1] if spec.kind == "batch" else 1 << 62
        self.windows = Windows(spec.as_of)
        self.batch = BatchLines(spec, self.windows) if spec.kind == "batch" else None

    def run(self, lines: list[Any], first: int, stats: DatasetStats, tally: Tally, records: bool) -> None:
        """Count ``lines`` (numbered from ``first``); blank file lines go to ``tally``."""
        if self.batch is not None:
            self.batch.run(lines, first, stats, tally, copy_bodies=records)
            return
        each = {"fine-tune": self.example, "chat": self.chat, "text": self.text}[self.spec.kind]
        for number, raw in enumerate(lines, first):
            if raw.__class__ is bytes and not raw.strip():
                tally.blank(number)
                continue
            try:
                each(number, raw, stats)
            except FATAL:
                raise
            except Exception as error:  # one hostile line never aborts the report
                line_problem(stats, number, type(error).__name__, error)

    def names(self, record: Any) -> tuple[str, ...]:
        if self.spec.models:
            return self.spec.models
        model = get(record, "model") if isinstance(record, Mapping) else None
        if model is None and isinstance(record, Mapping):
            model = get(get(record, "body") or {}, "model")
        if not isinstance(model, str):
            raise NoModel("no model: pass model=... (or --model), or give each record a 'model'")
        return (model,)

    def chat(self, number: int, raw: Any, stats: DatasetStats) -> None:
        record = decoded(number, raw, stats)
        if record is None:
            return
        counted = False
        names = self.names(record)
        for name in names:
            try:
                result = count_request({**record, "model": name}, as_of=self.spec.as_of)
            except FATAL:
                raise
            except Exception as error:  # one model refusing it (images, say) leaves the others
                line_problem(stats, number, type(error).__name__, error, name if len(names) > 1 else None)
                continue
            stats.add_notes(name, result.notes)
            bound = result.max_output_tokens or 0
            stats.add_record(name, result.tokens, bound, result.tokens)
            self.check_window(stats, number, name, result.tokens + bound)
            counted = True
        stats.records += counted

    def text(self, number: int, raw: Any, stats: DatasetStats) -> None:
        record: Any = raw
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8")
            try:
                record = json.loads(raw)
            except (ValueError, RecursionError):
                record = raw.rstrip("\r\n")  # a plain-text file: one text per line
        text = (
            record
            if isinstance(record, str)
            else get(record, "text")
            if isinstance(record, Mapping)
            else None
        )
        if not isinstance(text, str):
            stats.add_problem(number, "missing_text", 'a text record is a string or {"text": ...}')
            return
        for name in self.names(record if isinstance(record, Mapping) else {}):
            tokens = count(text, model=name)
            stats.add_record(name, tokens, 0, tokens)
            self.check_window(stats, number, name, tokens)
        stats.records += 1

    def example(self, number: int, raw: Any, stats: DatasetStats) -> None:
        """A chat fine-tuning example, with the cookbook's format checks."""
        record = decoded(number, raw, stats)
        if record is None:
            return
        rules = table("finetuning")
        checks = rules["checks"]
        messages = record.get("messages")
        if not messages or not isinstance(messages, list):
            stats.add_problem(number, "missing_messages_list", "no 'messages' list")
            return
        for i, message in enumerate(messages):
            if (not isinstance(message, Mapping) or "role" not in message
                    or ("content" not in message and "tool_calls" not in message
                        and "function_call" not in message)):  # fmt: skip
                stats.add_problem(number, "message_missing_key", f"message {i} lacks 'role' or 'content'")
                return
            unknown = set(message) - set(checks["message_keys"])
            if unknown:
                stats.add_problem(number, "message_unrecognized_key", f"message {i} has {sorted(unknown)}")
                return
            if not isinstance(message["role"], str) or message["role"] not in checks["roles"]:
                stats.add_problem(
                    number, "unrecognized_role", f"message {i} has role {short(message['role'])}"
                )
                return
            content = message.get("content")
            if content is not None and not isinstance(content, (str, list)):
                stats.add_problem(number, "missing_content", f"message {i} content is not text")
                return
        if not any(m.get("role") == "assistant" for m in messages):
            stats.add_problem(number, "example_missing_assistant_message", "no assistant message")
            return
        limit = int(rules["examples"]["max_tokens"])
        body = {"messages": messages, "tools": record.get("tools"), "functions": record.get("functions")}
        for name in self.names(record):
            tokens = count_request({k: v for k, v in body.items() if v is not None} | {"model": name},
                                   as_of=self.spec.as_of).tokens  # fmt: skip
            stats.add_record(name, tokens, 0, min(tokens, limit))
            if tokens > limit:
                stats.add_over_limit(number, str(number), name, tokens, limit)
        stats.records += 1

    def check_window(self, stats: DatasetStats, number: int, model: str, tokens: int) -> None:
        window = self.windows[model]
        if window is not None and tokens > window:
            stats.add_over_limit(number, str(number), model, tokens, window)


_counters: dict[Spec, _Counter] = {}
on_registry_change(_counters.clear)
