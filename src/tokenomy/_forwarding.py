"""An httpx (or httpx2) client that shows each request to a callback before forwarding it.

:func:`forwarding_client` builds a client of the same library and settings as ``http_client``
whose transport calls ``before`` with each request (which may raise, or return another request
to send), forwards the request to ``http_client``'s own transport for its URL (its connection
pool, or a proxy's), and hands the response to ``after``, which may tee the body with the
``tee`` it is given. ``failed`` hears of a request that got no response. Nothing of
``http_client`` changes, and the forwarding client never closes it.

openai 3 runs on httpx2, earlier releases on httpx; a response stream must be one of the
library's own classes, so the transport and stream classes are made per library.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

Feed = Callable[[bytes], None]
Finish = Callable[[bool], None]  # True when the body was read to its end
Tee = Callable[[Any, Feed, Finish], None]  # (response, feed, finish): the body passes feed first
Before = Callable[[Any, Any], tuple[Any, Any]]  # (request, library) -> (request to send, token or None)
After = Callable[[Any, Any, Tee], Any]  # (response, token, tee) -> the response
Failed = Callable[[Any], None]  # the token of a request that raised before its response


def http_library(http_client: Any) -> tuple[Any, bool] | None:
    """The library (httpx2 or httpx) of ``http_client``, and whether it is async; None if neither."""
    for name in ("httpx2", "httpx"):
        module = sys.modules.get(name)
        if module is not None and isinstance(http_client, module.AsyncClient):
            return module, True
        if module is not None and isinstance(http_client, module.Client):
            return module, False
    return None


def forwarding_client(http_client: Any, before: Before, after: After, failed: Failed) -> Any:
    """A client like ``http_client`` whose requests pass ``before`` and ``after`` (see the module)."""
    found = http_library(http_client)
    if found is None:
        raise TypeError(f"not an httpx or httpx2 client: {type(http_client).__name__}")
    module, is_async = found
    classes = _classes(module)
    transport_cls, tee_cls = classes[2:] if is_async else classes[:2]
    client_cls = module.AsyncClient if is_async else module.Client
    client = client_cls(
        transport=transport_cls(http_client, module, functools.partial(_tee, tee_cls), before, after, failed),
        timeout=http_client.timeout, auth=http_client.auth, params=http_client.params,
        headers=http_client.headers, event_hooks=http_client.event_hooks,
        follow_redirects=http_client.follow_redirects, max_redirects=http_client.max_redirects,
        base_url=http_client.base_url, trust_env=http_client.trust_env,
        default_encoding=http_client._default_encoding,
    )  # fmt: skip
    client._cookies = http_client.cookies  # one cookie jar, as the openai SDK's own forwarding clients do
    return client


def _tee(tee_cls: Any, response: Any, feed: Feed, finish: Finish) -> None:
    response.stream = tee_cls(response.stream, feed, finish)


class _Transport:
    def __init__(self, client: Any, module: Any, tee: Tee, before: Before, after: After,
                 failed: Failed) -> None:  # fmt: skip
        self._client, self._module, self._tee = client, module, tee
        self._before, self._after, self._failed = before, after, failed

    def _route(self, request: Any) -> tuple[Any, Any, Any]:
        request, token = self._before(request, self._module)
        if self._client.is_closed:
            raise RuntimeError("the original client was closed: its connection pool is gone")
        return request, token, self._client._transport_for_url(request.url)


class _SyncTransport(_Transport):
    def handle_request(self, request: Any) -> Any:
        request, token, transport = self._route(request)
        if token is None:
            return transport.handle_request(request)
        try:
            response = transport.handle_request(request)
        except BaseException:
            self._failed(token)
            raise
        return self._after(response, token, self._tee)

    def close(self) -> None:
        """The connection pool is the original client's to close."""


class _AsyncTransport(_Transport):
    async def handle_async_request(self, request: Any) -> Any:
        request, token, transport = self._route(request)
        if token is None:
            return await transport.handle_async_request(request)
        try:
            response = await transport.handle_async_request(request)
        except BaseException:
            self._failed(token)
            raise
        return self._after(response, token, self._tee)

    async def aclose(self) -> None:
        """The connection pool is the original client's to close."""


class _SyncTee:
    def __init__(self, stream: Any, feed: Feed, finish: Finish) -> None:
        self._stream, self._feed, self._finish = stream, feed, finish

    def __iter__(self) -> Iterator[bytes]:
        feed = self._feed
        for chunk in self._stream:
            feed(chunk)
            yield chunk
        self._finish(True)

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._finish(False)


class _AsyncTee:
    def __init__(self, stream: Any, feed: Feed, finish: Finish) -> None:
        self._stream, self._feed, self._finish = stream, feed, finish

    async def __aiter__(self) -> AsyncIterator[bytes]:
        feed = self._feed
        async for chunk in self._stream:
            feed(chunk)
            yield chunk
        self._finish(True)

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            self._finish(False)


@functools.cache
def _classes(module: Any) -> tuple[Any, Any, Any, Any]:
    """Sync transport and tee, async transport and tee, on ``module``'s own base classes."""
    return (
        type("ForwardingTransport", (_SyncTransport, module.BaseTransport), {}),
        type("TeeStream", (_SyncTee, module.SyncByteStream), {}),
        type("AsyncForwardingTransport", (_AsyncTransport, module.AsyncBaseTransport), {}),
        type("AsyncTeeStream", (_AsyncTee, module.AsyncByteStream), {}),
    )
