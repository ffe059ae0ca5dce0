"""The guard's side of each HTTP exchange: :class:`Exchanges` decides which requests are counted,
reads their JSON bodies (rebuilding a request whose body the guard replaced), and reads each
response's ``usage`` as its bytes pass on to the SDK.

The limits are not decided here: ``admit`` (the guard's) takes a body and gives a
:class:`~tokenomy._accounts.Ticket` or raises; the running account files what came back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any

from tokenomy._accounts import Accounts, Ticket
from tokenomy._data import table
from tokenomy._forwarding import Tee
from tokenomy._usage import ENCODINGS, UsageReader, usage_part

# (body, its JSON bytes, endpoint) -> the ticket of what to send
Admit = Callable[[dict[str, Any], bytes, str], Ticket]
_READ = (b"content-type", b"content-encoding")  # the response headers the guard reads

_orjson_loads: Callable[[bytes], Any] | None
try:  # the `fast` extra: a request body parses in a quarter of json's time
    from orjson import loads as _orjson_loads
except ImportError:  # pragma: no cover - without the fast extra
    _orjson_loads = None
# orjson reads an integer outside 64 bits as a float where json keeps it: a body with a run of 19
# digits (2**63 has 19) goes to json; found as 19 zeros once every digit is a zero (a tenth of the
# time a regular expression takes)
_ZEROED = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * 19


class Exchanges:
    """``prepare`` and ``observe``, the hooks :func:`~tokenomy._forwarding.forwarding_client` calls."""

    __slots__ = ("accounts", "admit")

    def __init__(self, admit: Admit, accounts: Accounts) -> None:
        self.admit, self.accounts = admit, accounts

    def prepare(self, request: Any, module: Any) -> tuple[Any, Ticket | None]:
        """The request to send (rebuilt if its body was replaced) and its ticket, if counted."""
        if request.method != "POST":
            return request, None
        path = counted_path(request.url.path)
        if path is None:
            return request, None
        try:
            content = request.content
            body = _loads(content)  # the one parse of the body: counting reads this dict
        except (module.RequestNotRead, ValueError):  # a multipart upload is not read, or not JSON
            return request, None
        if not isinstance(body, dict):
            return request, None
        ticket = self.admit(body, content, path)
        if ticket.content is not content:
            headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"content-length"]
            request = module.Request(request.method, request.url, headers=headers,
                                     content=ticket.content, extensions=request.extensions)  # fmt: skip
        return request, ticket

    def observe(self, response: Any, ticket: Ticket, tee: Tee) -> Any:
        """File ``response`` now, or tee its body to read the usage as it passes."""
        found: dict[bytes, list[bytes]] = {}
        for name, value in response.headers.raw:  # one pass, where each Headers.get scans them all
            lowered = name.lower()
            if lowered in _READ:
                found.setdefault(lowered, []).append(value)
        kind = b", ".join(found.get(b"content-type", ())).decode("latin-1")
        encoding = b", ".join(found.get(b"content-encoding", [b"identity"])).decode("latin-1").strip().lower()
        sse = kind.startswith("text/event-stream")
        status = response.status_code
        if not 200 <= status < 300 or not (sse or "json" in kind):
            self.accounts.record(ticket, status, None, sse, ())
        elif encoding not in ENCODINGS:
            self.accounts.record(ticket, status, None, sse, (f"usage not read: {encoding} body",))
        elif sse:
            streamed = _Streamed(self.accounts, ticket, status, encoding)
            tee(response, streamed.reader.feed, streamed.finish)
        else:
            answered = _Answered(self.accounts, ticket, status, encoding)
            tee(response, answered.chunks.append, answered.finish)
        return response


def _loads(content: bytes) -> Any:
    """``json.loads(content)``, with orjson when it is installed and reads the body as json does:
    it refuses what json reads beyond the standard (NaN, lone surrogates, a byte-order mark,
    UTF-16), which json then reads, and a long integer never reaches it."""
    if _orjson_loads is not None and _LONG_RUN not in content.translate(_ZEROED):
        try:
            return _orjson_loads(content)
        except ValueError:
            pass
    return json.loads(content)


class _Observer:
    """Files one exchange once its response ends (the first of its two ends: the body read to
    its end, then closed; or closed early)."""

    __slots__ = ("accounts", "done", "encoding", "status", "ticket")

    def __init__(self, accounts: Accounts, ticket: Ticket, status: int, encoding: str) -> None:
        self.accounts, self.ticket, self.status, self.encoding = accounts, ticket, status, encoding
        self.done = False

    def _first(self) -> bool:
        """True the first time the response ends (not again when it is closed after)."""
        with self.accounts.lock:
            first, self.done = not self.done, True
        return first


class _Answered(_Observer):
    """A JSON response: its chunks are kept as they pass; at its end only the part holding its
    usage is filed, decoded when the exchange is priced or the ledger read."""

    __slots__ = ("chunks",)
    chunks: list[bytes]

    def __init__(self, accounts: Accounts, ticket: Ticket, status: int, encoding: str) -> None:
        # the base's fields set here, not through super(): one call less on every answer's path
        self.accounts, self.ticket, self.status, self.encoding = accounts, ticket, status, encoding
        self.done, self.chunks = False, []

    def finish(self, complete: bool) -> None:
        if not self.done and self._first():
            part, notes = usage_part(self.chunks, self.encoding, complete)
            self.chunks = []
            self.accounts.record(self.ticket, self.status, None, False, notes, part)


class _Streamed(_Observer):
    """An event stream: read event by event for the last usage object."""

    __slots__ = ("reader",)

    def __init__(self, accounts: Accounts, ticket: Ticket, status: int, encoding: str) -> None:
        super().__init__(accounts, ticket, status, encoding)
        self.reader = UsageReader(stream=True, encoding=encoding)

    def finish(self, complete: bool) -> None:
        if self.done or not self._first():
            return
        usage, notes = self.reader.result(complete)
        if usage is None and not notes:
            option = table("endpoints")["request_output"][_kind(self.ticket.endpoint)].get("stream_usage")
            if option is not None:
                notes = (f"a stream reports usage only with {option}",)
        self.accounts.record(self.ticket, self.status, usage, True, notes)


def _kind(endpoint: str) -> str:
    kind: str = table("endpoints")["request_counting"][endpoint]
    return kind


@cache
def _suffixes() -> tuple[tuple[str, str], ...]:
    """``(path suffix, endpoint)``, longest first: Azure and proxies put their own prefix before it."""
    paths = table("endpoints")["request_counting"]
    pairs = [(p.removeprefix("/v1"), p) for p in paths]
    return tuple(sorted(pairs, key=lambda pair: -len(pair[0])))


@lru_cache(maxsize=256)  # a client sends to a handful of paths
def counted_path(path: str) -> str | None:
    """The endpoint ``count_request`` knows that the URL path ``path`` ends with, if any.

    >>> counted_path("/openai/deployments/gpt-4o/chat/completions"), counted_path("/v1/files")
    ('/v1/chat/completions', None)
    """
    return next((endpoint for suffix, endpoint in _suffixes() if path.endswith(suffix)), None)
