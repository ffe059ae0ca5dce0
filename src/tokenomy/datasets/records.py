"""Counting records: one task (a byte range of a file, lines read from a compressed stream, or
records handed over) into a :class:`DatasetStats` partial and a :class:`Tally`.

Every line-level problem (JSON that does not parse or nests too deep, a 5,000-digit number, a list
where a string belongs, a body :func:`~tokenomy.count_request` refuses, a broken Batch rule) is a
problem on its line; only what is not about one line (a missing vocabulary, a bad registry, an
unreadable file) raises.

A Batch or chat line whose messages are plain (a role and a string each) is counted as
``framing + sum(count(content))``: the framing is :func:`~tokenomy.count_request` of the same body
with empty contents, computed once per model, roles and other fields, so the result is the
count_request figure exactly at a fraction of its bookkeeping.
"""

from __future__ import annotations

import json
import os
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from tokenomy._data import table
from tokenomy._results import get
from tokenomy.datasets.read import MAX_LINE_BYTES, FileRange, TooLong, read_range, read_stream
from tokenomy.datasets.stats import DatasetStats, Tally, duplicate_message, id_key
from tokenomy.encodings import encodings_dir, set_encodings_dir
from tokenomy.errors import DatasetError, EncodingError, InputFileError, RegistryError
from tokenomy.registry import on_registry_change, resolve
from tokenomy.requests import count_request
from tokenomy.tokenizer import count, encoding_for

KINDS = ("batch", "fine-tune", "chat", "text")
# problems that, on every line of a first stretch, mean the call is wrong rather than the lines
MODEL_CHECKS = frozenset({"UnknownModelError", "UnsupportedModelError", "missing_model"})
_FATAL = (EncodingError, RegistryError, InputFileError, MemoryError)
_PLAIN_ROLES = frozenset({"system", "developer", "user", "assistant"})
_CACHED_FROM = 256  # contents from this length go through count_cached (system prompts repeat)
_MESSAGE_CHARS = 300
_CHAT = "/v1/chat/completions"


@dataclass(frozen=True)
class Spec:
    """What a worker needs to count a task: names and numbers only, never Encoding objects.

    ``models`` counts every record as each of these models (empty: as the record says).
    """

    kind: str
    as_of: date
    models: tuple[str, ...] = ()
    max_line_bytes: int = MAX_LINE_BYTES
    encodings_dir: str | None = None
    # the Batch file limits (requests, bytes, embedding inputs), read once where the call is made
    limits: tuple[int, int, int] = (50_000, 200_000_000, 50_000)


@dataclass(frozen=True)
class StreamLines:
    """Lines read from a compressed stream: (byte offset, line bytes or TooLong), blank included."""

    lines: list[tuple[int, Any]]


@dataclass(frozen=True)
class Records:
    """Records given as Python objects (or JSON strings for the kinds that are not text)."""

    items: list[Any]


Task = FileRange | StreamLines | Records


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
    """One process's counting state for a spec: the Batch rules, framings and windows met so far."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        rules = table("batch")
        self.max_bytes = spec.limits[1] if spec.kind == "batch" else 1 << 62
        self.max_inputs = spec.limits[2]
        self.supported = frozenset(rules["endpoints"]["supported"])
        self.methods = frozenset(rules["lines"]["methods"])
        self.required = tuple(rules["lines"]["required"])
        self.countable: dict[str, str] = table("endpoints")["request_counting"]
        self.framings: dict[Any, tuple[int, str, int, tuple[str, ...], BaseException | None]] = {}
        self.windows: dict[str, int | None] = {}
        self.encodings: dict[str, str] = {}
        # framings of plain chats whose encoding is the model's: (framing tokens, output bound, notes)
        self.fast: dict[Any, tuple[int, int, tuple[str, ...]]] = {}

    def run(self, lines: list[Any], first: int, stats: DatasetStats, tally: Tally, records: bool) -> None:
        """Count ``lines`` (numbered from ``first``); blank file lines go to ``tally``."""
        if self.spec.kind == "batch":
            self.batch(lines, first, stats, tally, copy_bodies=records)
            return
        each = {"fine-tune": self.example, "chat": self.chat, "text": self.text}[self.spec.kind]
        for number, raw in enumerate(lines, first):
            if raw.__class__ is bytes and not raw.strip():
                tally.blank(number)
                continue
            try:
                each(number, raw, stats)
            except _FATAL:
                raise
            except Exception as error:  # one hostile line never aborts the report
                _problem(stats, number, type(error).__name__, error)

    # ---- Batch API lines -------------------------------------------------------------------------

    def batch(
        self, lines: list[Any], first: int, stats: DatasetStats, tally: Tally, copy_bodies: bool
    ) -> None:
        ids, urls, named, rows, histograms = (
            stats.ids,
            stats.urls,
            stats.named_models,
            stats.models,
            stats.histograms,
        )
        problem = stats.add_problem
        models = self.spec.models
        seen: set[int] = set()
        scan, windows, encodings, plain = _scan, self.windows, self.encodings, _PLAIN_ROLES
        methods, supported, countable, fast = self.methods, self.supported, self.countable, self.fast
        only_method = next(iter(methods)) if len(methods) == 1 else None  # "POST": no hash per line
        last_shape: tuple[Any, ...] = ()
        last_hit: tuple[int, int, tuple[str, ...]] | None = None
        last_url = last_model = endpoint = None
        last_name: str | None = None
        url_ok, url_row, model_row, row = False, [0, 0], [0, 0], [0, 0, 0, 0, 0]
        hist: Counter[int] = Counter()
        window: int | None = None
        encoding = ""
        counting, cached_from = count, _CACHED_FROM
        quick: Callable[[str], int] = _no_count
        cached: Callable[[str], int] = _no_count
        counted_here = tokens_here = bound_here = 0  # the plain chats of ``row``, added up at the end

        def flush() -> None:
            nonlocal counted_here, tokens_here, bound_here
            if counted_here:
                row[0] += counted_here
                row[1] += tokens_here
                row[2] += bound_here
                row[3] += tokens_here
                stats.records += counted_here
            counted_here = tokens_here = bound_here = 0

        for number, raw in enumerate(lines, first):
            record = None
            if raw.__class__ is bytes:  # the common case inline: a UTF-8 line that starts with "{"
                try:
                    text = raw.decode()
                    record, end = scan(text, 0)
                    if end != len(text) and text[end:].strip(" \t\n\r"):
                        record = None  # extra data: _decoded says so
                except Exception:  # _decoded reads it again and names the problem
                    record = None
            if record.__class__ is not dict:
                if raw.__class__ is bytes and not raw.strip():
                    tally.blank(number)
                    continue
                record = _decoded(number, raw, stats)
                if record is None:
                    continue
            custom_id, method, url = record.get("custom_id"), record.get("method"), record.get("url")
            body = record.get("body")
            if custom_id is None or method is None or url is None or body is None:
                missing = ", ".join(k for k in self.required if record.get(k) is None)
                problem(
                    number, "missing_key", f"missing {missing}: each line needs {', '.join(self.required)}"
                )
                continue
            if custom_id.__class__ is not str:
                problem(
                    number, "custom_id_type", f"custom_id must be a string, not {type(custom_id).__name__}"
                )
                custom_id = ""
            else:
                key = custom_id if len(custom_id) <= 64 else id_key(custom_id)
                if ids.setdefault(key, number) != number:
                    problem(number, "duplicate_custom_id", duplicate_message(key))
            if method != only_method and (method.__class__ is not str or method not in methods):
                problem(number, "invalid_method", f"method {_short(method)}: the Batch API takes "
                        f"{' or '.join(sorted(self.methods))} only")  # fmt: skip
            if url.__class__ is not str:
                problem(number, "invalid_url", f"url must be a string, not {type(url).__name__}")
                continue
            if url != last_url:  # a Batch file has one url and one model: look them up on a change
                url_row = urls.get(url) or urls.setdefault(url, [number, 0])
                last_url, url_ok, endpoint = url, url in supported, countable.get(url)
            url_row[1] += 1
            if not url_ok:
                problem(number, "unsupported_url", f"url {_short(url)} is not one the Batch API takes: "
                        f"{', '.join(sorted(self.supported))}")  # fmt: skip
                continue
            if body.__class__ is not dict or copy_bodies:
                if not isinstance(body, Mapping):
                    problem(number, "data_type", "'body' must be a JSON object")
                    continue
                body = dict(body)  # a caller's record: never changed, not even for a moment
            model: Any = body.get("model")
            if model.__class__ is str:
                if model != last_model:
                    model_row = named.get(model) or named.setdefault(model, [number, 0])
                    last_model = model
                model_row[1] += 1
            elif not models:
                error = DatasetError("body.model must be a string naming the model, or pass model=...")
                _problem(stats, number, "missing_model", error)
                continue
            if endpoint is None:
                stats.skipped[f"requests to {url} (priced per image or second, not by tokens)"] += 1
                continue
            name: str = models[0] if models else model
            if endpoint == "chat" and len(models) < 2:  # the plain chat, inline: the hot path
                if name != last_name:
                    found = rows.get(name)
                    if found is not None:  # after this task's first record of the model
                        flush()
                        row, hist, window = found, histograms[name], windows.get(name)
                        encoding, last_name = encodings.get(name, ""), name
                        tok = encoding_for(encoding) if encoding else None
                        quick = tok.counter() if tok else _no_count
                        cached = tok.count_cached if tok else _no_count
                messages = body.get("messages")
                if name == last_name and messages.__class__ is list and messages:
                    roles, total = [], 0
                    try:  # a role that cannot be hashed (a list) raises TypeError: the general way
                        for message in messages:
                            if message.__class__ is not dict or len(message) != 2:
                                break
                            role, content = message.get("role"), message.get("content")
                            if role not in plain or content.__class__ is not str:
                                break
                            roles.append(role)
                            try:
                                total += quick(content) if len(content) < cached_from else cached(content)
                            except UnicodeEncodeError:  # a lone surrogate: count() reads it as U+FFFD
                                total += counting(content, model=encoding)
                        else:
                            body["messages"] = tuple(roles)
                            shape = (url, name, *body.items(), *map(type, body.values()))
                            body["messages"] = messages
                            if shape != last_shape:  # comparing the last line's costs less than hashing
                                # TypeError for a list or an object among the fields
                                last_hit, last_shape = fast.get(shape), shape
                            hit = last_hit
                            if hit is not None:
                                fixed, bound, notes = hit
                                if notes and id(hit) not in seen:
                                    seen.add(id(hit))
                                    stats.add_notes(name, notes)
                                tokens = fixed + total
                                counted_here += 1
                                tokens_here += tokens
                                bound_here += bound
                                hist[tokens] += 1
                                if window is not None and tokens + bound > window:
                                    stats.add_over_limit(number, custom_id[:64], name, tokens + bound, window)
                                continue
                    except TypeError:
                        body["messages"] = messages
                    # the first time, or anything unusual: the general way below
            names: tuple[str, ...] = models or (name,)
            counted = False
            for name in names:
                try:
                    result = self.body(body, url, endpoint, name, stats, seen)
                except _FATAL:
                    raise
                except Exception as error:
                    result = error
                if isinstance(result, BaseException):
                    _problem(stats, number, type(result).__name__, result, name if len(models) > 1 else None)
                    continue
                tokens, bound, inputs = result
                current = rows.get(name)
                if current is None:
                    stats.add_record(name, tokens, bound, tokens)
                else:
                    current[0] += 1
                    current[1] += tokens
                    current[2] += bound
                    current[3] += tokens
                    histograms[name][tokens] += 1
                window = self.windows.get(name) or self.window(name)
                if window is not None and tokens + bound > window:
                    stats.add_over_limit(number, custom_id[:64], name, tokens + bound, window)
                if not counted and endpoint == "embeddings":
                    if tally.input_total <= self.max_inputs:
                        tally.inputs.append((number, inputs))
                    tally.input_total += inputs
                counted = True
            stats.records += counted
        flush()

    def body(self, body: dict[str, Any], url: str, endpoint: str, model: str, stats: DatasetStats,
             seen: set[int]) -> tuple[int, int, int] | BaseException:  # fmt: skip
        """(prompt tokens, output bound, embedding inputs) of one request body, or the error."""
        messages = body.get("messages")
        if endpoint == "chat" and messages.__class__ is list and messages:
            encoding = self.encodings.get(model)
            if encoding is None:
                encoding = self.encodings[model] = self.encoding(model)
            roles, total = [], 0
            for message in messages:
                if message.__class__ is not dict or len(message) != 2:
                    break
                role, content = message.get("role"), message.get("content")
                if content.__class__ is not str or role.__class__ is not str or role not in _PLAIN_ROLES:
                    break
                roles.append(role)
                if encoding:
                    total += (count(content, model=encoding) if len(content) < _CACHED_FROM
                              else encoding_for(encoding).count_cached(content))  # fmt: skip
            else:
                # the framing is count_request of this body with empty contents: keyed by every
                # field it reads, types included (True == 1 == 1.0, but count_request tells them apart)
                body["messages"] = tuple(roles)
                key = (url, model, *body.items(), *map(type, body.values()))
                body["messages"] = messages
                try:
                    framing = self.framings.get(key) or self.framing(key, body, url, model, roles)
                except TypeError:  # a list or an object among the fields: counted whole below
                    framing = None
                if framing is not None:
                    fixed, framed_encoding, bound, notes, error = framing
                    if error is not None:
                        return error
                    if framed_encoding == encoding:
                        self.fast[key] = (fixed, bound, notes)
                        if notes and id(framing) not in seen:
                            seen.add(id(framing))
                            stats.add_notes(model, notes)
                        return fixed + total, bound, 0
        if body.get("model") != model:
            body = {**body, "model": model}
        counted = count_request(body, endpoint=url, as_of=self.spec.as_of)
        if counted.notes:
            stats.add_notes(model, counted.notes)
        inputs = len(counted.messages) if endpoint == "embeddings" else 0
        return counted.tokens, counted.max_output_tokens or 0, inputs

    def framing(self, key: Any, body: dict[str, Any], url: str, model: str,
                roles: list[str]) -> tuple[int, str, int, tuple[str, ...], BaseException | None]:  # fmt: skip
        """count_request of ``body`` with every content emptied (or the error it raises)."""
        skeleton = {**body, "model": model, "messages": [{"role": r, "content": ""} for r in roles]}
        found: tuple[int, str, int, tuple[str, ...], BaseException | None]
        try:
            counted = count_request(skeleton, endpoint=url, as_of=self.spec.as_of)
        except _FATAL:
            raise
        except Exception as error:
            found = (0, "", 0, (), error)
        else:
            found = (counted.tokens, counted.encoding, counted.max_output_tokens or 0, counted.notes, None)
        if len(self.framings) > 4096:
            self.framings.clear()
            self.fast.clear()
        self.framings[key] = found
        return found

    def encoding(self, model: str) -> str:
        """The encoding ``model`` counts with ("" if it has none, or is unknown: count_request says)."""
        try:
            return resolve(model, self.spec.as_of, warn=False).encoding or ""
        except Exception:
            return ""

    def window(self, model: str) -> int | None:
        try:
            return self.windows[model]
        except KeyError:
            window = self.windows[model] = resolve(model, self.spec.as_of, warn=False).context_window
            return window

    # ---- other kinds -----------------------------------------------------------------------------

    def names(self, record: Any) -> tuple[str, ...]:
        if self.spec.models:
            return self.spec.models
        model = get(record, "model") if isinstance(record, Mapping) else None
        if model is None and isinstance(record, Mapping):
            model = get(get(record, "body") or {}, "model")
        if not isinstance(model, str):
            raise _NoModel("no model: pass model=... (or --model), or give each record a 'model'")
        return (model,)

    def chat(self, number: int, raw: Any, stats: DatasetStats) -> None:
        record = _decoded(number, raw, stats)
        if record is None:
            return
        counted = False
        names = self.names(record)
        for name in names:
            try:
                result = count_request({**record, "model": name}, as_of=self.spec.as_of)
            except _FATAL:
                raise
            except Exception as error:  # one model refusing it (images, say) leaves the others
                _problem(stats, number, type(error).__name__, error, name if len(names) > 1 else None)
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
        record = _decoded(number, raw, stats)
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
                    number, "unrecognized_role", f"message {i} has role {_short(message['role'])}"
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
        window = self.window(model)
        if window is not None and tokens > window:
            stats.add_over_limit(number, str(number), model, tokens, window)


class _NoModel(DatasetError):
    """A record names no model and none was given (a problem named ``missing_model``)."""


def _decoded(number: int, raw: Any, stats: DatasetStats) -> dict[str, Any] | None:
    """The JSON object on a line (or the record itself), or None after noting the problem."""
    if raw.__class__ is TooLong:
        stats.add_problem(
            number,
            "line_too_long",
            f"the line is {raw.size:,} bytes, over the "
            "max_line_bytes limit: raise it (analyze(..., max_line_bytes=N)) to read it",
        )
        return None
    record = raw
    if raw.__class__ is bytes or isinstance(raw, str):
        try:
            record = _loads(raw)
        except RecursionError:
            stats.add_problem(number, "invalid_json", "nested too deeply to read")
            return None
        except ValueError as error:  # also invalid UTF-8 and integers of more than 4,300 digits
            message = (
                f"{error.msg} (column {error.colno})"
                if isinstance(error, json.JSONDecodeError)
                else str(error)
            )
            stats.add_problem(number, "invalid_json", f"not JSON: {message[:_MESSAGE_CHARS]}")
            return None
    if record.__class__ is dict:
        return record
    if isinstance(record, Mapping):
        return dict(record)
    stats.add_problem(number, "data_type", f"a line is a JSON object, not {_kind(record)}")
    return None


def _no_count(text: str) -> int:
    raise TypeError("no tokenizer")  # a model without one never reaches the plain-chat path


_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _loads(raw: bytes | str) -> Any:
    """``json.loads(raw)``, four times faster for a line of UTF-8 that starts with its value (the
    C scanner straight away); anything else goes to json.loads, which raises its own error."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        value, end = _scan(text, 0)
    except (UnicodeDecodeError, StopIteration):
        return json.loads(raw)
    if end != len(text) and text[end:].strip(" \t\n\r"):
        return json.loads(raw)  # "Extra data"
    return value


def _problem(
    stats: DatasetStats, number: int, check: str, error: BaseException, model: str | None = None
) -> None:
    if isinstance(error, _NoModel):
        check = "missing_model"
    message = str(error)
    if len(message) > _MESSAGE_CHARS:
        message = message[: _MESSAGE_CHARS - 1] + "…"
    stats.add_problem(number, check, f"{model}: {message}" if model else message, error)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _kind(value: Any) -> str:
    return {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean",
            type(None): "null"}.get(type(value), type(value).__name__)  # fmt: skip


_counters: dict[Spec, _Counter] = {}
on_registry_change(_counters.clear)
