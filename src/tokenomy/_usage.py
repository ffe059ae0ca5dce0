"""Reads an API response's ``usage`` from its bytes as they pass: :class:`UsageReader`.

A JSON body is kept until it ends, cut to the part from its last ``"usage"`` key
(:func:`usage_part`), and that part decoded alone (:func:`decode_usage_part`; a guard decodes it
only when its ledger is read). An event stream keeps only its last ``data:`` line holding a usage
object (the final chat chunk, or ``response.completed`` and its kin, which nest it under
``response``). gzip and deflate bodies are decoded with zlib.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable
from typing import Any


def _gunzip() -> Any:
    return zlib.decompressobj(zlib.MAX_WBITS | 16)


# what the SDK's default Accept-Encoding allows; another encoding leaves the usage unread
_DECODERS: dict[str, Callable[[], Any] | None] = {
    "identity": None, "": None, "gzip": _gunzip, "x-gzip": _gunzip, "deflate": zlib.decompressobj,
}  # fmt: skip
ENCODINGS = frozenset(_DECODERS)
_USAGE = re.compile(rb'"usage"\s*:\s*\{')
_DECODER = json.JSONDecoder()  # raw_decode keeps no state: one serves every reader


class UsageReader:
    """Feed it a response body chunk by chunk; :meth:`result` gives the usage and any problem.

    ``feed`` never raises: a body it cannot read becomes a problem in the result, so the
    caller's response is never broken by the reading.

    >>> reader = UsageReader(stream=True)
    >>> reader.feed(b'data: {"choices": [], "usage": {"prompt_tokens": 9}}\\n\\ndata: [DONE]\\n\\n')
    >>> reader.result(complete=False)
    ({'prompt_tokens': 9}, ())
    >>> reader = UsageReader(stream=False)
    >>> reader.feed(b'{"object": "list", "usage": {"prompt_tokens": 4, "total_tokens": 4}}')
    >>> reader.result(complete=True)
    ({'prompt_tokens': 4, 'total_tokens': 4}, ())
    """

    __slots__ = ("_buffer", "_chunks", "_decoder", "_encoding", "_line", "_problem", "ended", "stream")

    def __init__(self, *, stream: bool, encoding: str = "identity") -> None:
        self.stream = stream
        factory = _DECODERS[encoding]  # KeyError for an encoding outside ENCODINGS
        self._encoding = encoding
        self._decoder = factory() if factory is not None and stream else None
        self._buffer = bytearray()
        self._chunks: list[bytes] = []  # a JSON body's chunks as received, decoded at its end
        self._line: bytes | None = None
        self._problem: str | None = None
        self.ended = False  # a chat stream's "data: [DONE]" went past

    def feed(self, chunk: bytes) -> None:
        """Read one chunk of the body as received (still encoded)."""
        if not self.stream:
            self._chunks.append(chunk)
            return
        if self._problem is not None:
            return
        try:
            self._buffer += self._decoder.decompress(chunk) if self._decoder is not None else chunk
            end = self._buffer.rfind(b"\n")
            if end >= 0:
                self._scan(bytes(self._buffer[:end]))
                del self._buffer[: end + 1]
        except Exception as exc:  # the caller's response matters more than its usage
            self._problem = f"usage not read: {exc!r}"
            self._buffer.clear()

    def _scan(self, lines: bytes) -> None:
        if b"data: [DONE]" in lines:
            self.ended = True  # the SDK closes a chat stream here, before the body's last byte
        if _USAGE.search(lines) is None:
            return
        for line in lines.split(b"\n"):
            if line.startswith(b"data:") and _USAGE.search(line):
                self._line = line

    def result(self, complete: bool) -> tuple[dict[str, Any] | None, tuple[str, ...]]:
        """The usage object (None without one) and what went wrong; ``complete`` says whether the
        body was read to its end."""
        if not self.stream:
            part, problems = usage_part(self._chunks, self._encoding, complete)
            self._chunks = []
            return decode_usage_part(part) if not problems else (None, problems)
        usage = None
        try:
            if self._problem is None:
                self._scan(bytes(self._buffer))
                usage = None if self._line is None else _usage_of(json.loads(self._line[5:]))
        except Exception as exc:
            self._problem = f"usage not read: {exc!r}"
        self._buffer = bytearray()
        if self._problem is not None:
            return None, (self._problem,)
        if usage is None and not (complete or self.ended):
            return None, ("the response was closed before its usage arrived",)
        return usage, ()


def usage_part(chunks: list[bytes], encoding: str, complete: bool) -> tuple[bytes | None, tuple[str, ...]]:
    """A JSON body's usage, first step: from the body's ``chunks`` as received (``encoding``: its
    content-encoding), the bytes from its last ``"usage"`` key (None: it has none) and what went
    wrong. The part is small whatever the body's size, and :func:`decode_usage_part` decodes it.

    >>> usage_part([b'{"id": "x", "usa', b'ge": {"prompt_tokens": 4}}'], "identity", True)
    (b'"usage": {"prompt_tokens": 4}}', ())
    >>> usage_part([b'{"id": "x"'], "identity", False)
    (None, ('the response was closed before its usage arrived',))
    """
    try:
        data = b"".join(chunks)
        factory = _DECODERS[encoding]
        if factory is not None:
            data = factory().decompress(data)
    except Exception as exc:  # the caller's response matters more than its usage
        return None, (f"usage not read: {exc!r}",)
    if not complete:
        return None, ("the response was closed before its usage arrived",)
    at = data.rfind(b'"usage"')
    return (data[at:] if at >= 0 else None), ()


def decode_usage_part(part: bytes | None) -> tuple[dict[str, Any] | None, tuple[str, ...]]:
    """The usage object of a part :func:`usage_part` cut (None: none) and what went wrong.

    >>> decode_usage_part(b'"usage": {"prompt_tokens": 4}}')
    ({'prompt_tokens': 4}, ())
    """
    if part is None:
        return None, ()
    try:
        return _json_usage(part), ()
    except Exception as exc:
        return None, (f"usage not read: {exc!r}",)


def _json_usage(data: bytes) -> dict[str, Any] | None:
    """The usage object of a JSON body, decoded alone from the body's last ``"usage"`` key (the API
    writes it after the output; inside a string the key's quotes would be escaped)."""
    key = _USAGE.match(data, max(data.rfind(b'"usage"'), 0))
    if key is None:
        return None
    usage, _ = _DECODER.raw_decode(data[key.end() - 1 :].decode("utf-8"))
    return usage if isinstance(usage, dict) else None


def _usage_of(event: Any) -> dict[str, Any] | None:
    """The usage object of a stream event (``response.completed`` nests it under ``response``)."""
    if not isinstance(event, dict):
        return None
    usage = event.get("usage")
    if not isinstance(usage, dict) and isinstance(event.get("response"), dict):
        usage = event["response"].get("usage")
    return usage if isinstance(usage, dict) else None
