"""Batch API input lines: each line's envelope checked against the Batch API's rules
(``data/batch.toml``) and its body counted as :func:`~tokenomy.count_request` counts it.

A line whose messages are plain (a role and a string each) is counted as
``framing + sum(count(content))``: the framing is count_request of the same body with empty
contents, computed once per model, roles and other fields, so the result is the count_request
figure exactly at a fraction of its bookkeeping. The file-wide rules (size, requests, one endpoint,
one model) are applied when the file's partials are put together (``run.py``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from tokenomy._data import table
from tokenomy.datasets.lines import FATAL, Spec, decoded, line_problem, scan, short
from tokenomy.datasets.stats import DatasetStats, Tally, duplicate_message, id_key
from tokenomy.errors import DatasetError
from tokenomy.registry import resolve
from tokenomy.requests import count_request
from tokenomy.tokenizer import count, encoding_for

_PLAIN_ROLES = frozenset({"system", "developer", "user", "assistant"})
_CACHED_FROM = 256  # contents from this length go through count_cached (system prompts repeat)


class BatchLines:
    """One process's state for Batch lines of a spec: the rules, and the framings and context
    windows met so far."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        rules = table("batch")
        self.max_inputs = spec.limits[2]
        self.supported = frozenset(rules["endpoints"]["supported"])
        self.methods = frozenset(rules["lines"]["methods"])
        keys = rules["lines"]["keys"]  # custom_id, method, url, body: every one required
        self.keys: tuple[str, str, str, str] = (keys["id"], keys["method"], keys["url"], keys["body"])
        self.countable: dict[str, str] = table("endpoints")["request_counting"]
        self.framings: dict[Any, tuple[int, str, int, tuple[str, ...], BaseException | None]] = {}
        self.windows: dict[str, int | None] = {}
        self.encodings: dict[str, str] = {}
        # framings of plain chats whose encoding is the model's: (framing tokens, output bound, notes)
        self.fast: dict[Any, tuple[int, int, tuple[str, ...]]] = {}

    def run(self, lines: list[Any], first: int, stats: DatasetStats, tally: Tally, copy_bodies: bool) -> None:
        """Count Batch API ``lines`` (numbered from ``first``); blank ones go to ``tally``."""
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
        scan_json, windows, encodings, plain = scan, self.windows, self.encodings, _PLAIN_ROLES
        methods, supported, countable, fast = self.methods, self.supported, self.countable, self.fast
        id_field, method_field, url_field, body_field = self.keys
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
                    record, end = scan_json(text, 0)
                    if end != len(text) and text[end:].strip(" \t\n\r"):
                        record = None  # extra data: _decoded says so
                except Exception:  # _decoded reads it again and names the problem
                    record = None
            if record.__class__ is not dict:
                if raw.__class__ is bytes and not raw.strip():
                    tally.blank(number)
                    continue
                record = decoded(number, raw, stats)
                if record is None:
                    continue
            custom_id, method, url = record.get(id_field), record.get(method_field), record.get(url_field)
            body = record.get(body_field)
            if custom_id is None or method is None or url is None or body is None:
                missing = ", ".join(k for k in self.keys if record.get(k) is None)
                problem(number, "missing_key", f"missing {missing}: each line needs {', '.join(self.keys)}")
                continue
            if custom_id.__class__ is not str:
                problem(number, "custom_id_type",
                        f"{id_field} must be a string, not {type(custom_id).__name__}")  # fmt: skip
                custom_id = ""
            else:
                key = custom_id if len(custom_id) <= 64 else id_key(custom_id)
                if ids.setdefault(key, number) != number:
                    problem(number, "duplicate_custom_id", duplicate_message(key))
            if method != only_method and (method.__class__ is not str or method not in methods):
                problem(number, "invalid_method", f"{method_field} {short(method)}: the Batch API takes "
                        f"{' or '.join(sorted(self.methods))} only")  # fmt: skip
            if url.__class__ is not str:
                problem(number, "invalid_url", f"{url_field} must be a string, not {type(url).__name__}")
                continue
            if url != last_url:  # a Batch file has one url and one model: look them up on a change
                url_row = urls.get(url) or urls.setdefault(url, [number, 0])
                last_url, url_ok, endpoint = url, url in supported, countable.get(url)
            url_row[1] += 1
            if not url_ok:
                problem(number, "unsupported_url", f"{url_field} {short(url)} is not one the Batch API "
                        f"takes: {', '.join(sorted(self.supported))}")  # fmt: skip
                continue
            if body.__class__ is not dict or copy_bodies:
                if not isinstance(body, Mapping):
                    problem(number, "data_type", f"{body_field!r} must be a JSON object")
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
                line_problem(stats, number, "missing_model", error)
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
                except FATAL:
                    raise
                except Exception as error:
                    result = error
                if isinstance(result, BaseException):
                    which = name if len(models) > 1 else None
                    line_problem(stats, number, type(result).__name__, result, which)
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
        except FATAL:
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


def _no_count(text: str) -> int:
    raise TypeError("no tokenizer")  # a model without one never reaches the plain-chat path
