"""A real HTTP server on 127.0.0.1 that answers like the OpenAI API and records what it received.

Used by tests/test_openai_guard.py and benchmarks/bench_guard.py: the SDK talks to it over TCP,
so "nothing was sent" is checked on the wire (no request and no new connection arrived).
Routes go by path suffix, so the Azure layout (``/openai/deployments/<name>/chat/completions``)
is served too. ``X-Test-Status: 400`` makes any route answer the API's error shape with that
status; ``X-Test-Drift: N`` bills N prompt tokens more than the default biller predicts;
``X-Test-Gzip: 1`` gzips a JSON answer; ``X-Test-Fail-Once: KEY`` answers the first request with
that key 500 (with ``retry-after-ms: 1``, so the SDK retries at once).
"""

from __future__ import annotations

import base64
import gzip
import json
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# (endpoint, body) -> prompt tokens the server bills
Biller = Callable[[str, dict[str, Any]], int]


@dataclass
class Received:
    """One request as it arrived, and the usage the server answered with."""

    method: str
    path: str
    headers: dict[str, str]
    raw: bytes
    usage: dict[str, Any] | None = None

    @property
    def body(self) -> Any:
        return json.loads(self.raw) if self.raw else None


class _Quiet(ThreadingHTTPServer):
    """A client that closes its connection early (a stream read in part) is not an error of the
    server's: it is not printed. Anything else is, as http.server does."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class APIServer:
    """Start with ``with APIServer() as server:``; ``server.url`` is the base URL with ``/v1``."""

    biller: Biller | None = None
    received: list[Received] = field(default_factory=list)
    connections: int = 0
    failed_once: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> APIServer:
        server = self

        class Handler(_Handler):
            api = server

        self._httpd = _Quiet(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.root = f"http://127.0.0.1:{self.port}"
        self.url = self.root + "/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def count(self) -> tuple[int, int]:
        """(requests received, connections accepted) so far."""
        with self.lock:
            return len(self.received), self.connections


def default_biller(endpoint: str, body: dict[str, Any]) -> int:
    """Bill what tokenomy predicts, as the API does for verified rules."""
    import tokenomy

    try:
        return tokenomy.count_request(body, endpoint=endpoint, as_of="2025-01-01").tokens
    except tokenomy.TokenomyError:  # a model tokenomy does not know: the API still bills something
        return 10


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    api: APIServer

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without this, Nagle's algorithm and delayed
        # ACKs add 40 ms to every keep-alive exchange
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.api.lock:
            self.api.connections += 1

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._reply(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        record = Received("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, raw)
        with self.api.lock:
            self.api.received.append(record)
        status = int(self.headers.get("X-Test-Status", 200))
        once = self.headers.get("X-Test-Fail-Once")
        if once is not None:
            with self.api.lock:
                first, _ = once not in self.api.failed_once, self.api.failed_once.add(once)
            status = 500 if first else status
        if status != 200:
            self._reply(status, {"error": {"message": "bad request from the test", "type": "invalid_request_error",
                                           "param": "messages", "code": "test_error"}})
            return
        body = json.loads(raw)
        path = self.path.split("?")[0]
        routes = {"/chat/completions": "/v1/chat/completions", "/responses": "/v1/responses",
                  "/embeddings": "/v1/embeddings"}  # fmt: skip
        endpoint = next((e for suffix, e in routes.items() if path.endswith(suffix)), None)
        if endpoint is None:
            self._reply(404, {"error": {"message": f"no route {path}", "type": "invalid_request_error"}})
            return
        prompt = (self.api.biller or default_biller)(endpoint, body) + int(self.headers.get("X-Test-Drift", 0))
        if endpoint == "/v1/embeddings":
            record.usage = {"prompt_tokens": prompt, "total_tokens": prompt}
            self._reply(200, _embeddings(body, record.usage))
            return
        output = body.get("max_completion_tokens") or body.get("max_tokens") or body.get("max_output_tokens") or 5
        output *= body.get("n", 1)
        if endpoint == "/v1/chat/completions":
            record.usage = {"prompt_tokens": prompt, "completion_tokens": output, "total_tokens": prompt + output,
                            "prompt_tokens_details": {"cached_tokens": 2 if prompt > 2 else 0},
                            "completion_tokens_details": {"reasoning_tokens": 1}}
            if body.get("stream"):
                with_usage = (body.get("stream_options") or {}).get("include_usage")
                self._stream(_chat_events(body, record.usage if with_usage else None))
            else:
                self._reply(200, _chat(body, record.usage))
        else:
            record.usage = {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": 0},
                            "output_tokens": output, "output_tokens_details": {"reasoning_tokens": 0},
                            "total_tokens": prompt + output}
            if body.get("stream"):
                self._stream(_response_events(body, record.usage))
            else:
                self._reply(200, _response(body, record.usage))

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if self.headers.get("X-Test-Gzip"):
            data = gzip.compress(data)
            self.send_header("Content-Encoding", "gzip")
        if status >= 500:
            self.send_header("retry-after-ms", "1")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", "req_test")
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, events: Iterator[bytes]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for event in events:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except ConnectionError:  # the client closed the stream early, as clients may
            self.close_connection = True


def _chat(body: dict[str, Any], usage: dict[str, Any]) -> dict[str, Any]:
    return {"id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
            "model": body["model"], "system_fingerprint": "fp_test",
            "choices": [{"index": i, "message": {"role": "assistant", "content": "Hello!", "refusal": None},
                         "logprobs": None, "finish_reason": "stop"} for i in range(body.get("n", 1))],
            "usage": usage}  # fmt: skip


def _chat_events(body: dict[str, Any], usage: dict[str, Any] | None) -> Iterator[bytes]:
    base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": body["model"], "system_fingerprint": "fp_test"}  # fmt: skip
    extra = {"usage": None} if usage is not None else {}
    for i, piece in enumerate(["Hel", "lo", "!"]):
        delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
        chunk = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}], **extra}
        yield b"data: " + json.dumps(chunk).encode() + b"\n\n"
    chunk = {**base, "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}], **extra}
    yield b"data: " + json.dumps(chunk).encode() + b"\n\n"
    if usage is not None:
        yield b"data: " + json.dumps({**base, "choices": [], "usage": usage}).encode() + b"\n\n"
    yield b"data: [DONE]\n\n"


def _response(body: dict[str, Any], usage: dict[str, Any] | None, status: str = "completed") -> dict[str, Any]:
    return {"id": "resp_test", "object": "response", "created_at": int(time.time()), "status": status,
            "model": body["model"], "error": None, "incomplete_details": None, "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"), "metadata": {}, "parallel_tool_calls": True,
            "temperature": 1.0, "top_p": 1.0, "tool_choice": "auto", "tools": [],
            "output": [{"type": "message", "id": "msg_test", "status": "completed", "role": "assistant",
                        "content": [{"type": "output_text", "text": "Hello!", "annotations": []}]}],
            "usage": usage}  # fmt: skip


def _response_events(body: dict[str, Any], usage: dict[str, Any]) -> Iterator[bytes]:
    def event(kind: str, n: int, **data: Any) -> bytes:
        payload = {"type": kind, "sequence_number": n, **data}
        return b"event: " + kind.encode() + b"\ndata: " + json.dumps(payload).encode() + b"\n\n"

    yield event("response.created", 0, response=_response(body, None, "in_progress"))
    for n, piece in enumerate(["Hel", "lo", "!"], start=1):
        yield event("response.output_text.delta", n, item_id="msg_test", output_index=0, content_index=0,
                    delta=piece, logprobs=[])  # fmt: skip
    yield event("response.completed", 4, response=_response(body, usage))


def _embeddings(body: dict[str, Any], usage: dict[str, Any]) -> dict[str, Any]:
    inputs = body["input"] if isinstance(body["input"], list) and not isinstance(body["input"][0], int) else [body["input"]]
    vector = [0.25, -0.5, 1.0]
    if body.get("encoding_format") == "base64":
        encoded: Any = base64.b64encode(struct.pack("<3f", *vector)).decode()
    else:
        encoded = vector
    return {"object": "list", "model": body["model"], "usage": usage,
            "data": [{"object": "embedding", "index": i, "embedding": encoded} for i in range(len(inputs))]}  # fmt: skip


def main() -> None:
    """``python -m tests.openai_server``: serve in this process, print the base URL, run until killed.

    Benchmarks use it so the server does not share the measuring process's GIL. It bills a fixed
    30 prompt tokens, so no counting runs on the server's side.
    """
    import sys

    with APIServer(biller=lambda endpoint, body: 30) as server:
        print(server.url, flush=True)
        sys.stdin.read()  # until the parent closes the pipe


if __name__ == "__main__":
    main()
