"""Batch API input lines: each line's envelope checked against the Batch API's rules
(``data/batch.toml``) and its body counted as :func:`~tokenomy.count_request` counts it.

A line whose messages are plain (a role of ``plain_roles`` in ``data/chat.toml`` and a string
each) is counted as ``framing + sum(count(content))``: the framing is count_request of the same
body with empty contents, computed once per model, roles and other fields, so the result is the
count_request figure exactly at a fraction of its bookkeeping. The file-wide rules (size,
requests, one endpoint, one model) are applied when the file's partials are put together
(``run.py``).

:meth:`BatchLines.run` reads the common line (one url and model, as before; a known framing)
on a short path that only gathers its figures; any other line, and any line the short path is
unsure of, is read again with json and checked in full by :meth:`BatchLines.line`.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from tokenomy._data import table
from tokenomy._plainchat import skeleton
from tokenomy.datasets.lines import BIG_FLOAT, FATAL, Spec, Windows, decoded, line_problem, parse, short
from tokenomy.datasets.stats import DatasetStats, Tally, duplicate_message, id_key
from tokenomy.errors import DatasetError
from tokenomy.registry import resolve
from tokenomy.requests import count_request
from tokenomy.tokenizer import count, encoding_for

_CACHED_FROM = 256  # contents from this length go through count_cached (system prompts repeat)

# What the short path needs for lines of one url and model: the rows it adds to (the url's and the
# model's [first line, lines], the model's totals and histogram), the model counted as, its
# window and counters.
_Armed = tuple[list[int], list[int], list[int], Counter[int], str, int | None, Callable[[str], int],
               Callable[[str], int]]  # fmt: skip
# A plain chat's framing, known to count as the model's encoding: (framing tokens, output bound,
# notes, the most tokens its contents may add before the record is over the window)
_Hit = tuple[int, int, tuple[str, ...], int]


class _Unusual(Exception):
    """This line is not the common one: it goes the general way."""


class BatchLines:
    """One process's state for Batch lines of a spec: the rules, and the framings and context
    windows met so far."""

    def __init__(self, spec: Spec, windows: Windows | None = None) -> None:
        self.spec = spec
        rules = table("batch")
        self.max_inputs = spec.limits[2]
        self.supported = frozenset(rules["endpoints"]["supported"])
        self.methods = frozenset(rules["lines"]["methods"])
        keys = rules["lines"]["keys"]  # custom_id, method, url, body: every one required
        self.keys: tuple[str, str, str, str] = (keys["id"], keys["method"], keys["url"], keys["body"])
        self.countable: dict[str, str] = table("endpoints")["request_counting"]
        self.plain_roles = frozenset(table("chat")["plain_roles"])
        self.framings: dict[Any, tuple[int, str, int, tuple[str, ...], BaseException | None]] = {}
        self.windows = windows if windows is not None else Windows(spec.as_of)
        self.encodings: dict[str, str] = {}
        # framings of plain chats whose encoding is the model's, by (url, model, fields, types)
        self.fast: dict[Any, _Hit] = {}

    def run(self, lines: list[Any], first: int, stats: DatasetStats, tally: Tally, copy_bodies: bool) -> None:
        """Count Batch API ``lines`` (numbered from ``first``); blank ones go to ``tally``.

        The short path reads a line as :func:`~tokenomy.datasets.lines.parse` does and takes it
        only if it has exactly the four keys, a string custom_id, the method, the url and model of
        the line before, plain messages and a framing met before (no float that may be a misread
        integer among its fields): every value it reads is then json's. It gathers tokens,
        custom_ids and line numbers, added to ``stats`` when the url or model changes and at the end.
        """
        fast, plain, methods, cached_from = self.fast, self.plain_roles, self.methods, _CACHED_FROM
        id_field, method_field, url_field, body_field = self.keys
        seen: set[int] = set()  # framings whose notes this call has added
        hot_url: Any = None  # the url and model the short path is armed for
        hot_model: Any = None
        armed: _Armed | None = None
        name = ""
        quick: Callable[[str], int] = _no_count
        cached: Callable[[str], int] = _no_count
        window: int | None = None
        last_shape: tuple[Any, ...] = ()
        fixed = bound = 0
        limit = sys.maxsize
        tokens: list[int] = []  # the short path's records since the last flush
        ids: list[str] = []
        numbers: list[int] = []
        bounds = 0
        for number, raw in enumerate(lines, first):
            try:
                record: Any = parse(raw) if raw.__class__ is bytes else raw if raw.__class__ is dict else None
                custom_id, method, url = record[id_field], record[method_field], record[url_field]
                body = record[body_field]
                model, messages = body["model"], body["messages"]
                if url != hot_url or model != hot_model:
                    if armed is not None:
                        self.flush(stats, armed, tokens, ids, numbers, bounds)
                        tokens, ids, numbers, bounds = [], [], [], 0
                    armed = self.arm(url, model, stats)
                    hot_url, hot_model = url, model
                    if armed is not None:
                        name, window, quick, cached = armed[4:]
                if (armed is None or len(record) != 4 or custom_id.__class__ is not str
                        or method not in methods or body.__class__ is not dict
                        or messages.__class__ is not list or not messages):  # fmt: skip
                    raise _Unusual
                if copy_bodies:
                    body = dict(body)  # a caller's record: never changed, not even for a moment
                roles, total = [], 0
                for message in messages:
                    if message.__class__ is not dict or len(message) != 2:
                        raise _Unusual
                    role, content = message["role"], message["content"]
                    if role not in plain or content.__class__ is not str:
                        raise _Unusual
                    roles.append(role)
                    # a lone surrogate (json reads "\ud800"): UnicodeEncodeError, counted the general way
                    total += quick(content) if len(content) < cached_from else cached(content)
                body["messages"] = tuple(roles)
                shape = (url, name, *body.items(), *map(type, body.values()))
                body["messages"] = messages
                if shape != last_shape:  # comparing the last line's costs less than hashing
                    hit = fast.get(shape)  # TypeError for a list or an object among the fields
                    if hit is None:
                        raise _Unusual
                    last_shape = shape
                    fixed, bound, notes, limit = hit
                    if notes and id(hit) not in seen:
                        seen.add(id(hit))
                        stats.add_notes(name, notes)
            except Exception:  # anything unusual, or a line json reads and orjson does not
                self.line(number, raw, stats, tally, seen, copy_bodies)
                hot_url = None  # the line may have added the rows the short path needs
                continue
            record_tokens = fixed + total
            tokens.append(record_tokens)
            ids.append(custom_id)
            numbers.append(number)
            bounds += bound
            if record_tokens > limit:
                stats.add_over_limit(number, custom_id[:64], name, record_tokens + bound, window or 0)
        if armed is not None:
            self.flush(stats, armed, tokens, ids, numbers, bounds)

    def arm(self, url: Any, model: Any, stats: DatasetStats) -> _Armed | None:
        """What the short path needs for lines of ``url`` and ``model``, or None if their lines go
        the general way (not a chat, a model without a vocabulary, or none of them counted yet)."""
        models = self.spec.models
        if url.__class__ is not str or model.__class__ is not str or len(models) > 1:
            return None
        if self.countable.get(url) != "chat" or url not in self.supported:
            return None
        name = models[0] if models else model
        url_row, model_row, row = stats.urls.get(url), stats.named_models.get(model), stats.models.get(name)
        encoding = self.encodings.get(name)
        if url_row is None or model_row is None or row is None or not encoding:
            return None
        tok = encoding_for(encoding)
        return url_row, model_row, row, stats.histograms[name], name, self.windows[name], tok.counter(), \
            tok.count_cached  # fmt: skip

    def flush(self, stats: DatasetStats, armed: _Armed, tokens: list[int], ids: list[str], numbers: list[int],
              bounds: int) -> None:  # fmt: skip
        """Add the short path's records (their tokens, custom_ids, lines and output bounds)."""
        if not tokens:
            return
        url_row, model_row, row, histogram = armed[:4]
        records, total = len(tokens), sum(tokens)
        row[0] += records
        row[1] += total
        row[2] += bounds
        row[3] += total
        histogram.update(tokens)
        url_row[1] += records
        model_row[1] += records
        stats.records += records
        stats.add_ids(ids, numbers)

    def line(self, number: int, raw: Any, stats: DatasetStats, tally: Tally, seen: set[int],
             copy_bodies: bool) -> None:  # fmt: skip
        """Check and count one line (or record) in full; its problems go to ``stats``."""
        if raw.__class__ is bytes and not raw.strip():
            tally.blank(number)
            return
        record = decoded(number, raw, stats)  # json's reading, whatever parse made of the line
        if record is None:
            return
        models, problem = self.spec.models, stats.add_problem
        id_field, method_field, url_field, body_field = self.keys
        custom_id, method, url = record.get(id_field), record.get(method_field), record.get(url_field)
        body = record.get(body_field)
        if custom_id is None or method is None or url is None or body is None:
            missing = ", ".join(k for k in self.keys if record.get(k) is None)
            problem(number, "missing_key", f"missing {missing}: each line needs {', '.join(self.keys)}")
            return
        if custom_id.__class__ is not str:
            problem(number, "custom_id_type", f"{id_field} must be a string, not {type(custom_id).__name__}")
            custom_id = ""
        else:
            key = id_key(custom_id)
            if stats.ids.setdefault(key, number) != number:
                problem(number, "duplicate_custom_id", duplicate_message(key))
        if method.__class__ is not str or method not in self.methods:
            problem(number, "invalid_method", f"{method_field} {short(method)}: the Batch API takes "
                    f"{' or '.join(sorted(self.methods))} only")  # fmt: skip
        if url.__class__ is not str:
            problem(number, "invalid_url", f"{url_field} must be a string, not {type(url).__name__}")
            return
        url_row = stats.urls.get(url) or stats.urls.setdefault(url, [number, 0])
        url_row[1] += 1
        if url not in self.supported:
            problem(number, "unsupported_url", f"{url_field} {short(url)} is not one the Batch API "
                    f"takes: {', '.join(sorted(self.supported))}")  # fmt: skip
            return
        if body.__class__ is not dict or copy_bodies:
            if not isinstance(body, Mapping):
                problem(number, "data_type", f"{body_field!r} must be a JSON object")
                return
            body = dict(body)  # a caller's record: never changed, not even for a moment
        model: Any = body.get("model")
        if model.__class__ is str:
            model_row = stats.named_models.get(model) or stats.named_models.setdefault(model, [number, 0])
            model_row[1] += 1
        elif not models:
            error = DatasetError("body.model must be a string naming the model, or pass model=...")
            line_problem(stats, number, "missing_model", error)
            return
        endpoint = self.countable.get(url)
        if endpoint is None:
            stats.skipped[f"requests to {url} (priced per image or second, not by tokens)"] += 1
            return
        counted = False
        for name in models or (model,):
            try:
                result = self.body(body, url, endpoint, name, stats, seen)
            except FATAL:
                raise
            except Exception as error:
                result = error
            if isinstance(result, BaseException):
                line_problem(stats, number, type(result).__name__, result, name if len(models) > 1 else None)
                continue
            tokens, bound, inputs = result
            if name in stats.models:
                row = stats.models[name]
                row[0] += 1
                row[1] += tokens
                row[2] += bound
                row[3] += tokens
                stats.histograms[name][tokens] += 1
            else:
                stats.add_record(name, tokens, bound, tokens)
            window = self.windows[name]
            if window is not None and tokens + bound > window:
                stats.add_over_limit(number, custom_id[:64], name, tokens + bound, window)
            if not counted and endpoint == "embeddings":
                if tally.input_total <= self.max_inputs:
                    tally.inputs.append((number, inputs))
                tally.input_total += inputs
            counted = True
        stats.records += counted

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
                if content.__class__ is not str or role.__class__ is not str or role not in self.plain_roles:
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
                        # parse may read an integer past 64 bits as a float this large: such a
                        # field is never matched on the short path
                        if not any(v.__class__ is float and not abs(v) < BIG_FLOAT for v in body.values()):
                            window = self.windows[model]
                            self.fast[key] = (fixed, bound, notes,
                                              sys.maxsize if window is None else window - bound)  # fmt: skip
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
        emptied = {**skeleton(body, roles), "model": model}
        found: tuple[int, str, int, tuple[str, ...], BaseException | None]
        try:
            counted = count_request(emptied, endpoint=url, as_of=self.spec.as_of)
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


def _no_count(text: str) -> int:
    raise TypeError("no tokenizer")  # a model without one never reaches the plain-chat path
