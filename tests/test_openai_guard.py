"""tokenomy.openai: the real openai SDK against a real HTTP server on 127.0.0.1 (tests/openai_server.py).

The server records every request and connection it receives, so "nothing was sent" and "the
fitted body was sent" are read off the wire, and billed figures are the ones it answered with.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

openai = pytest.importorskip("openai")

import tokenomy  # noqa: E402
from tests.openai_server import APIServer, Received  # noqa: E402
from tokenomy.openai import BudgetWarning, Guard, RequestOverBudgetError  # noqa: E402

AS_OF = date(2025, 1, 1)
CHAT = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say hello to the test server."}]
CHAT_PATH = "/v1/chat/completions"


@pytest.fixture(scope="module")
def server() -> Iterator[APIServer]:
    with APIServer() as running:
        yield running


def client(server: APIServer, **options: Any) -> Any:
    return openai.OpenAI(api_key="sk-test", base_url=server.url, max_retries=options.pop("max_retries", 0), **options)


def async_client(server: APIServer) -> Any:
    return openai.AsyncOpenAI(api_key="sk-test", base_url=server.url, max_retries=0)


class Wire:
    """What reached the server between entering and leaving a ``with`` block."""

    def __init__(self, server: APIServer) -> None:
        self.server = server

    def __enter__(self) -> Wire:
        self.start_requests, self.start_connections = self.server.count()
        return self

    def __exit__(self, *exc: object) -> None:
        requests, connections = self.server.count()
        self.new: list[Received] = self.server.received[self.start_requests : requests]
        self.connections = connections - self.start_connections


def test_chat_ledger_matches_the_wire(server: APIServer) -> None:
    """The ledger's prediction is count_request on the body the server received; billed figures
    and cost are the server's usage, priced."""
    guard = Guard(as_of=AS_OF)
    with Wire(server) as wire:
        reply = guard.wrap(client(server)).chat.completions.create(model="gpt-4o-mini", messages=CHAT, max_tokens=7)
    assert reply.choices[0].message.content == "Hello!"
    (received,) = wire.new
    (entry,) = guard.ledger.entries
    usage = received.usage
    assert usage is not None
    assert entry.predicted_tokens == tokenomy.count_request(received.body, as_of=AS_OF).tokens
    assert (entry.prompt_tokens, entry.cached_tokens, entry.output_tokens, entry.reasoning_tokens) == (
        usage["prompt_tokens"], usage["prompt_tokens_details"]["cached_tokens"], usage["completion_tokens"],
        usage["completion_tokens_details"]["reasoning_tokens"])
    assert entry.cost == tokenomy.cost_from_usage("gpt-4o-mini", usage, as_of=AS_OF).usd
    assert (entry.model, entry.endpoint, entry.status, entry.stream, entry.drift) == ("gpt-4o-mini", CHAT_PATH, 200, False, 0)
    assert entry.body == received.body and entry.usage == usage
    assert guard.spent == entry.cost and guard.reserved == 0


def test_drift_is_billed_minus_predicted(server: APIServer) -> None:
    """A server billing 3 tokens more than predicted shows a drift of +3, in entries and totals."""
    guard = Guard(as_of=AS_OF)
    guard.wrap(client(server)).chat.completions.create(model="gpt-4o-mini", messages=CHAT,
                                                       extra_headers={"X-Test-Drift": "3"})
    assert guard.ledger.entries[0].drift == 3
    assert guard.ledger.totals.drift == 3
    assert "+3" in str(guard.ledger)


def test_responses_and_embeddings(server: APIServer) -> None:
    """Responses and embeddings bodies are counted and their usage shapes read and priced."""
    guard = Guard(as_of=AS_OF)
    wrapped = guard.wrap(client(server))
    with Wire(server) as wire:
        wrapped.responses.create(model="gpt-4o-mini", input="Say hello.", instructions="Be terse.", max_output_tokens=9)
        vectors = wrapped.embeddings.create(model="text-embedding-3-small", input=["first text", "second text"])
    assert len(vectors.data) == 2
    responses, embeddings = guard.ledger.entries
    for entry, received, endpoint in zip((responses, embeddings), wire.new, ("/v1/responses", "/v1/embeddings"),
                                         strict=True):
        assert entry.endpoint == endpoint
        assert entry.predicted_tokens == tokenomy.count_request(received.body, endpoint=endpoint, as_of=AS_OF).tokens
        assert entry.usage == received.usage
        assert entry.cost == tokenomy.cost_from_usage(received.body["model"], received.usage, as_of=AS_OF).usd
    assert (responses.prompt_tokens, responses.output_tokens) == (wire.new[0].usage["input_tokens"], 9)
    assert embeddings.prompt_tokens == wire.new[1].usage["prompt_tokens"] and embeddings.output_tokens is None


def test_gzipped_answer_is_read(server: APIServer) -> None:
    """A gzip-encoded JSON answer still gives the ledger its usage."""
    guard = Guard(as_of=AS_OF)
    guard.wrap(client(server)).chat.completions.create(model="gpt-4o-mini", messages=CHAT,
                                                       extra_headers={"X-Test-Gzip": "1"})
    assert guard.ledger.entries[0].prompt_tokens == server.received[-1].usage["prompt_tokens"]


def test_streamed_chat_usage(server: APIServer) -> None:
    """A chat stream with include_usage passes through unchanged and its final usage is recorded."""
    guard = Guard(as_of=AS_OF)
    stream = guard.wrap(client(server)).chat.completions.create(
        model="gpt-4o-mini", messages=CHAT, max_tokens=11, stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello!"
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == server.received[-1].usage["prompt_tokens"]
    (entry,) = guard.ledger.entries
    assert entry.stream and entry.usage == server.received[-1].usage and entry.output_tokens == 11
    assert entry.predicted_tokens == tokenomy.count_request(server.received[-1].body, as_of=AS_OF).tokens


def test_streamed_chat_without_usage_keeps_the_worst_case(server: APIServer) -> None:
    """Without include_usage the entry has no billed figures, says why, and the worst case stays spent."""
    guard = Guard(as_of=AS_OF, max_cost_usd=1)
    body = {"model": "gpt-4o-mini", "messages": CHAT, "max_tokens": 11}
    worst = tokenomy.cost_of_request(tokenomy.count_request(body, as_of=AS_OF)).usd
    list(guard.wrap(client(server)).chat.completions.create(**body, stream=True))
    (entry,) = guard.ledger.entries
    assert entry.usage is None and entry.prompt_tokens is None and entry.cost is None
    assert any("include_usage" in note for note in entry.notes)
    assert guard.spent == worst and guard.reserved == 0
    assert guard.ledger.records == ()


def test_streamed_responses_usage(server: APIServer) -> None:
    """A Responses stream's usage comes from its response.completed event."""
    guard = Guard(as_of=AS_OF)
    events = list(guard.wrap(client(server)).responses.create(model="gpt-4o-mini", input="Say hello.", stream=True))
    assert events[-1].type == "response.completed"
    (entry,) = guard.ledger.entries
    assert entry.stream and entry.usage == server.received[-1].usage
    assert entry.prompt_tokens == server.received[-1].usage["input_tokens"]


def test_stream_closed_early(server: APIServer) -> None:
    """A stream closed before its end is recorded once, without usage, saying so."""
    guard = Guard(as_of=AS_OF)
    stream = guard.wrap(client(server)).chat.completions.create(
        model="gpt-4o-mini", messages=CHAT, stream=True, stream_options={"include_usage": True})
    next(iter(stream))
    stream.close()
    (entry,) = guard.ledger.entries
    assert entry.usage is None and any("closed before" in note for note in entry.notes)


def test_over_the_window_nothing_is_sent(server: APIServer) -> None:
    """Prompt plus requested output over the window raises with the numbers, and no request or
    connection reaches the server; the SDK neither retries nor wraps the error."""
    guard = Guard(as_of=AS_OF)
    wrapped = guard.wrap(client(server, max_retries=3))
    prompt = tokenomy.count_request({"model": "gpt-4o-mini", "messages": CHAT}, as_of=AS_OF).tokens
    with Wire(server) as wire, pytest.raises(RequestOverBudgetError) as info:
        wrapped.chat.completions.create(model="gpt-4o-mini", messages=CHAT, max_tokens=127_990)
    assert wire.new == [] and wire.connections == 0
    error = info.value
    assert type(error) is RequestOverBudgetError and error.__cause__ is None
    assert isinstance(error, tokenomy.BudgetExceededError) and isinstance(error, openai.OpenAIError)
    assert (error.limit_name, error.needed, error.limit) == ("context_window", prompt + 127_990, 128_000)
    assert "127,990 output tokens requested" in str(error) and "Nothing was sent" in str(error)
    assert guard.ledger.entries == () and guard.reserved == 0


def test_default_output_reservation_is_the_model_cap(server: APIServer) -> None:
    """Without max_tokens the model's output cap is reserved; reserve_output overrides it."""
    messages = [{"role": "user", "content": "hello " * 12_300}]  # gpt-3.5-turbo-0125: window 16,385, cap 4,096
    with Wire(server) as wire, pytest.raises(RequestOverBudgetError) as info:
        Guard(as_of=AS_OF).wrap(client(server)).chat.completions.create(model="gpt-3.5-turbo-0125", messages=messages)
    assert wire.new == [] and info.value.limit == 16_385 and "4,096 output tokens reserved" in str(info.value)
    with Wire(server) as wire:
        Guard(as_of=AS_OF, reserve_output=0).wrap(client(server)).chat.completions.create(
            model="gpt-3.5-turbo-0125", messages=messages)
    assert len(wire.new) == 1


def test_max_prompt_tokens_and_max_cost(server: APIServer) -> None:
    """max_prompt_tokens and max_cost_usd refuse with their own numbers (USD as Decimal)."""
    body = {"model": "gpt-4o-mini", "messages": CHAT, "max_tokens": 100}
    count = tokenomy.count_request(body, as_of=AS_OF)
    worst = tokenomy.cost_of_request(count).usd
    with Wire(server) as wire:
        with pytest.raises(RequestOverBudgetError) as prompt:
            Guard(as_of=AS_OF, max_prompt_tokens=count.tokens - 1).wrap(client(server)).chat.completions.create(**body)
        with pytest.raises(RequestOverBudgetError) as cost:
            Guard(as_of=AS_OF, max_cost_usd=worst / 2).wrap(client(server)).chat.completions.create(**body)
    assert wire.new == [] and wire.connections == 0
    assert (prompt.value.limit_name, prompt.value.needed, prompt.value.limit) == ("max_prompt_tokens", count.tokens, count.tokens - 1)
    assert (cost.value.limit_name, cost.value.needed, cost.value.limit) == ("max_cost_usd", worst, worst / 2)
    assert isinstance(cost.value.needed, Decimal)
    guard = Guard(as_of=AS_OF, max_prompt_tokens=count.tokens, max_cost_usd=worst)
    guard.wrap(client(server)).chat.completions.create(**body)
    assert len(guard.ledger) == 1


def test_warn_mode_warns_and_sends(server: APIServer) -> None:
    """on_exceed='warn' warns at the caller's line and sends the body unchanged."""
    guard = Guard(as_of=AS_OF, max_prompt_tokens=3, on_exceed="warn")
    with Wire(server) as wire, pytest.warns(BudgetWarning, match="max_prompt_tokens=3") as caught:
        guard.wrap(client(server)).chat.completions.create(model="gpt-4o-mini", messages=CHAT)
    assert caught[0].filename == __file__
    assert [r.body["messages"] for r in wire.new] == [CHAT]
    assert any("sent over budget" in note for note in guard.ledger.entries[0].notes)


def test_callable_fits_the_body_on_the_wire(server: APIServer) -> None:
    """A callable's fitted body (Budget.fit dropping old turns) is what the server receives and what
    the ledger counts; the callable gets the body and the error."""
    turns = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i} " + "word " * 1500} for i in range(14)]
    history = [{"role": "system", "content": "You are terse."}, *turns, {"role": "user", "content": "And now?"}]
    seen: list[RequestOverBudgetError] = []

    def fit(body: dict[str, Any], error: tokenomy.BudgetExceededError) -> dict[str, Any]:
        seen.append(error)  # type: ignore[arg-type]
        budget = tokenomy.Budget(body["model"], reserve_output=body["max_tokens"], as_of=AS_OF)
        return {**body, "messages": budget.fit(body["messages"], strategy="drop_oldest").messages}

    guard = Guard(as_of=AS_OF, on_exceed=fit)
    with Wire(server) as wire:
        guard.wrap(client(server)).chat.completions.create(model="gpt-3.5-turbo-0125", messages=history, max_tokens=500)
    (received,) = wire.new
    assert seen[0].limit_name == "context_window" and seen[0].body["messages"] == history
    assert received.body["messages"][0] == history[0] and received.body["messages"][-1] == history[-1]
    assert len(received.body["messages"]) < len(history)
    assert received.headers["content-length"] == str(len(received.raw))
    predicted = tokenomy.count_request(received.body, as_of=AS_OF).tokens
    assert guard.ledger.entries[0].predicted_tokens == predicted <= 16_385 - 500


def test_callable_may_decline(server: APIServer) -> None:
    """A callable returning None, or a body still over, raises; nothing is sent."""
    for answer in (None, {"model": "gpt-4o-mini", "messages": CHAT * 3}):
        guard = Guard(as_of=AS_OF, max_prompt_tokens=5, on_exceed=lambda body, error, a=answer: a)
        with Wire(server) as wire, pytest.raises(RequestOverBudgetError):
            guard.wrap(client(server)).chat.completions.create(model="gpt-4o-mini", messages=CHAT)
        assert wire.new == [] and wire.connections == 0


def test_callable_returning_no_json_is_refused(server: APIServer) -> None:
    """A fitted body JSON cannot carry is a BudgetError the SDK passes through; nothing is sent or reserved."""
    guard = Guard(as_of=AS_OF, max_prompt_tokens=5, max_cost_usd=1,
                  on_exceed=lambda body, error: {**body, "messages": CHAT[:1], "temperature": float("nan")})
    with Wire(server) as wire, pytest.raises(tokenomy.BudgetError, match="not JSON") as caught:
        guard.wrap(client(server)).chat.completions.create(model="gpt-4o-mini", messages=CHAT)
    assert isinstance(caught.value, openai.OpenAIError)
    assert wire.new == [] and wire.connections == 0 and guard.reserved == 0


def test_limits_changed_after_wrapping_apply(server: APIServer) -> None:
    """max_cost_usd and as_of set on a guard in use govern its next requests."""
    guard = Guard()
    wrapped = guard.wrap(client(server))
    guard.as_of, guard.max_cost_usd = "2025-01-01", "0.0000001"
    assert guard.as_of == AS_OF and guard.max_cost_usd == Decimal("0.0000001")
    with Wire(server) as wire, pytest.raises(RequestOverBudgetError, match="max_cost_usd"):
        wrapped.chat.completions.create(model="gpt-4o-mini", messages=CHAT, max_tokens=5)
    assert wire.new == []
    guard.max_cost_usd = None
    wrapped.chat.completions.create(model="gpt-4o-mini", messages=CHAT, max_tokens=5)
    assert guard.ledger.entries[0].cost is not None and guard.reserved == 0


def test_api_errors_pass_through_unchanged(server: APIServer) -> None:
    """A 400 from the API is the SDK's own BadRequestError; the ledger notes it, unbilled."""
    guard = Guard(as_of=AS_OF, max_cost_usd=1)
    with pytest.raises(openai.BadRequestError) as info:
        guard.wrap(client(server)).chat.completions.create(model="gpt-4o-mini", messages=CHAT,
                                                           extra_headers={"X-Test-Status": "400"})
    assert info.value.status_code == 400 and info.value.code == "test_error"
    assert info.value.body == {"message": "bad request from the test", "type": "invalid_request_error",
                               "param": "messages", "code": "test_error"}
    (entry,) = guard.ledger.entries
    assert entry.status == 400 and entry.cost is None and guard.spent == 0 and guard.reserved == 0


def test_retries_pass_through_the_guard(server: APIServer) -> None:
    """An SDK retry after a 500 is counted again; only the answered attempt is billed."""
    guard = Guard(as_of=AS_OF, max_cost_usd=1)
    with Wire(server) as wire:
        guard.wrap(client(server, max_retries=2)).chat.completions.create(
            model="gpt-4o-mini", messages=CHAT, extra_headers={"X-Test-Fail-Once": "retry-test"})
    assert len(wire.new) == 2
    assert [e.status for e in guard.ledger.entries] == [500, 200]
    assert guard.spent == guard.ledger.entries[1].cost and guard.reserved == 0


def test_connection_errors_pass_through_and_release(server: APIServer) -> None:
    """A connection failure is the SDK's APIConnectionError, and the reserved worst case is released."""
    guard = Guard(as_of=AS_OF, max_cost_usd=1)
    with APIServer() as gone:
        url = gone.url
    dead = guard.wrap(openai.OpenAI(api_key="sk-test", base_url=url, max_retries=0))
    with pytest.raises(openai.APIConnectionError):
        dead.chat.completions.create(model="gpt-4o-mini", messages=CHAT)
    assert guard.reserved == 0 and guard.spent == 0 and guard.ledger.entries == ()


def test_uncountable_bodies(server: APIServer) -> None:
    """An unknown model raises tokenomy's own error unchanged before sending; in warn mode it is
    sent, uncounted, with a warning."""
    with Wire(server) as wire, pytest.raises(tokenomy.UnknownModelError):
        Guard(as_of=AS_OF).wrap(client(server, max_retries=2)).chat.completions.create(model="gtp-4o", messages=CHAT)
    assert wire.new == []
    guard = Guard(as_of=AS_OF, on_exceed="warn")
    with Wire(server) as wire, pytest.warns(BudgetWarning, match="unknown model"):
        guard.wrap(client(server)).chat.completions.create(model="gtp-4o", messages=CHAT)
    assert len(wire.new) == 1 and guard.ledger.entries[0].predicted_tokens is None


def test_other_paths_pass_untouched(server: APIServer) -> None:
    """Requests count_request does not price (here a GET) go through without an entry."""
    guard = Guard(as_of=AS_OF, max_prompt_tokens=0)
    with pytest.raises(openai.NotFoundError):
        guard.wrap(client(server)).models.list()
    assert guard.ledger.entries == ()


def test_async_client(server: APIServer) -> None:
    """AsyncOpenAI: plain, streamed and refused requests, as with the sync client."""
    guard = Guard(as_of=AS_OF, max_prompt_tokens=1000)

    async def run() -> None:
        wrapped = guard.wrap(async_client(server))
        await wrapped.chat.completions.create(model="gpt-4o-mini", messages=CHAT)
        stream = await wrapped.chat.completions.create(model="gpt-4o-mini", messages=CHAT, stream=True,
                                                       stream_options={"include_usage": True})
        [chunk async for chunk in stream]
        events = await wrapped.responses.create(model="gpt-4o-mini", input="Say hello.", stream=True)
        [event async for event in events]
        await wrapped.embeddings.create(model="text-embedding-3-small", input="one text")
        with pytest.raises(RequestOverBudgetError):
            await wrapped.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x " * 2000}])

    with Wire(server) as wire:
        asyncio.run(run())
    assert len(wire.new) == 4
    entries = guard.ledger.entries
    assert [e.stream for e in entries] == [False, True, True, False]
    for entry, received in zip(entries, wire.new, strict=True):
        assert entry.usage == received.usage
        assert entry.predicted_tokens == tokenomy.count_request(received.body, endpoint=entry.endpoint, as_of=AS_OF).tokens


@pytest.mark.parametrize("is_async", [False, True])
def test_azure_clients(server: APIServer, is_async: bool) -> None:
    """AzureOpenAI and AsyncAzureOpenAI: deployment paths are counted as chat completions."""
    guard = Guard(as_of=AS_OF, max_prompt_tokens=100)
    options = {"api_key": "azure-key", "api_version": "2024-10-21", "azure_endpoint": server.root, "max_retries": 0}
    too_long = [{"role": "user", "content": "x " * 300}]

    async def run_async() -> None:
        wrapped = guard.wrap(openai.AsyncAzureOpenAI(**options))
        await wrapped.chat.completions.create(model="gpt-4o-mini", messages=CHAT)
        with pytest.raises(RequestOverBudgetError):
            await wrapped.chat.completions.create(model="gpt-4o-mini", messages=too_long)

    with Wire(server) as wire:
        if is_async:
            asyncio.run(run_async())
        else:
            wrapped = guard.wrap(openai.AzureOpenAI(**options))
            assert isinstance(wrapped, openai.AzureOpenAI)
            wrapped.chat.completions.create(model="gpt-4o-mini", messages=CHAT)
            with pytest.raises(RequestOverBudgetError):
                wrapped.chat.completions.create(model="gpt-4o-mini", messages=too_long)
    (received,) = wire.new
    assert received.path.startswith("/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21")
    assert received.headers["api-key"] == "azure-key"
    (entry,) = guard.ledger.entries
    assert entry.endpoint == CHAT_PATH and entry.usage == received.usage


def _exact_cost_setup() -> tuple[dict[str, Any], Decimal]:
    """A Responses body the server bills at exactly its worst case (no caching, output = the cap)."""
    body = {"model": "gpt-4o-mini", "input": "Count to three.", "max_output_tokens": 40}
    worst = tokenomy.cost_of_request(tokenomy.count_request(body, endpoint="/v1/responses", as_of=AS_OF)).usd
    return body, worst


def test_threads_share_one_cost_budget(server: APIServer) -> None:
    """32 requests from 16 threads against a budget of 5.5 worst cases: exactly 5 are sent, the
    rest refused before sending, and the totals agree."""
    body, worst = _exact_cost_setup()
    guard = Guard(as_of=AS_OF, max_cost_usd=worst * Decimal("5.5"))
    wrapped = guard.wrap(client(server))
    outcomes: list[str] = []
    barrier = threading.Barrier(16)

    def work() -> None:
        barrier.wait()
        for _ in range(2):
            try:
                wrapped.responses.create(**body)
                outcomes.append("sent")
            except RequestOverBudgetError:
                outcomes.append("refused")

    with Wire(server) as wire:
        threads = [threading.Thread(target=work) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert outcomes.count("sent") == 5 == len(wire.new) == len(guard.ledger)
    assert outcomes.count("refused") == 27
    assert guard.spent == worst * 5 == guard.ledger.totals.cost and guard.reserved == 0


def test_asyncio_gather_shares_one_cost_budget(server: APIServer) -> None:
    """20 concurrent coroutines against a budget of 7.5 worst cases: exactly 7 are sent."""
    body, worst = _exact_cost_setup()
    guard = Guard(as_of=AS_OF, max_cost_usd=worst * Decimal("7.5"))

    async def run() -> list[Any]:
        wrapped = guard.wrap(async_client(server))
        return await asyncio.gather(*(wrapped.responses.create(**body) for _ in range(20)), return_exceptions=True)

    with Wire(server) as wire:
        results = asyncio.run(run())
    assert sum(isinstance(r, RequestOverBudgetError) for r in results) == 13
    assert not any(isinstance(r, BaseException) and not isinstance(r, RequestOverBudgetError) for r in results)
    assert len(wire.new) == 7 == len(guard.ledger)
    assert guard.spent == worst * 7 and guard.reserved == 0


def test_unwrapped_clients_are_unchanged(server: APIServer) -> None:
    """The original client keeps its HTTP client, sends what the guard would refuse, and stays
    usable after the wrapped copy is closed."""
    original = client(server)
    http_client = original._client
    guard = Guard(as_of=AS_OF, max_prompt_tokens=1)
    wrapped = guard.wrap(original)
    assert original._client is http_client and wrapped._client is not http_client
    with Wire(server) as wire:
        original.chat.completions.create(model="gpt-4o-mini", messages=CHAT)
        wrapped.close()
        original.chat.completions.create(model="gpt-4o-mini", messages=CHAT)
    assert len(wire.new) == 2 and guard.ledger.entries == ()


def test_ledger_outputs() -> None:
    """records feeds a calibration, to_dict is JSON, the table and HTML show every entry."""
    with APIServer() as server:
        guard = Guard(as_of=AS_OF)
        wrapped = guard.wrap(client(server))
        wrapped.chat.completions.create(model="gpt-4o-mini", messages=CHAT)
        wrapped.embeddings.create(model="text-embedding-3-small", input="one text")
    ledger = guard.ledger
    assert [(r.endpoint, r.body, r.usage) for r in ledger.records] == [
        (CHAT_PATH, server.received[0].body, server.received[0].usage),
        ("/v1/embeddings", server.received[1].body, server.received[1].usage)]
    endpoint, body, usage = ledger.records[0]  # a plain triple, as a calibration reads it
    assert (endpoint, body, usage) == (CHAT_PATH, server.received[0].body, server.received[0].usage)
    data = json.loads(json.dumps(ledger.to_dict()))
    assert data["totals"]["requests"] == 2 and Decimal(data["totals"]["cost"]) == ledger.totals.cost
    assert "text-embedding-3-small" in str(ledger) and "2 requests" in str(ledger)
    assert ledger._repr_html_().count("<tr>") == 4


def test_arguments_are_checked() -> None:
    """Bad limits, on_exceed values and non-clients are refused at once."""
    for bad in ({"max_prompt_tokens": -1}, {"reserve_output": 1.5}, {"max_cost_usd": "-1"},
                {"max_cost_usd": "nan"}, {"on_exceed": "ignore"}):
        with pytest.raises(tokenomy.BudgetError):
            Guard(**bad)
    assert Guard(max_cost_usd=0.1).max_cost_usd == Decimal("0.1")
    with pytest.raises(TypeError, match="OpenAI"):
        Guard().wrap(object())  # type: ignore[type-var]


def test_import_tokenomy_does_not_import_openai() -> None:
    """`import tokenomy` leaves the SDK unimported; tokenomy.openai imports the real SDK."""
    code = ("import sys, tokenomy; assert 'openai' not in sys.modules; import tokenomy.openai as t; "
            "assert t.openai.__file__ != t.__file__ and t.openai.OpenAI")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_warnings_stay_silent_for_counted_requests(server: APIServer) -> None:
    """A request within every limit raises no warning of any kind."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Guard(as_of=AS_OF, max_cost_usd=1, max_prompt_tokens=100).wrap(client(server)).chat.completions.create(
            model="gpt-4o-mini", messages=CHAT)


def test_check_runs_the_pre_flight_without_sending() -> None:
    """Guard.check counts a body and raises over a limit, the cost one included, reserving nothing."""
    body = {"model": "gpt-4o-mini", "input": "Count to three.", "max_output_tokens": 40}
    count = tokenomy.count_request(body, endpoint="/v1/responses", as_of=AS_OF)
    worst = tokenomy.cost_of_request(count).usd
    assert Guard(as_of=AS_OF, max_cost_usd=worst).check(body, endpoint="/v1/responses") == count
    with pytest.raises(RequestOverBudgetError) as info:
        Guard(as_of=AS_OF, max_cost_usd=worst / 2, on_exceed="warn").check(body, endpoint="responses")
    assert info.value.limit_name == "max_cost_usd" and info.value.needed == worst
    embeddings = {"model": "text-embedding-3-small", "input": ["short", "word " * 9000]}
    with pytest.raises(RequestOverBudgetError, match="input 1 has 9,001 tokens"):
        Guard(as_of=AS_OF).check(embeddings, endpoint="/v1/embeddings")


@pytest.mark.parametrize("keep", [0, 1, 3])
@pytest.mark.parametrize("limit", [None, 1])
@pytest.mark.parametrize("read_between", [False, True])
def test_a_long_lived_guard_keeps_a_bounded_ledger(server: APIServer, keep: int, limit: int | None,
                                                   read_between: bool) -> None:  # fmt: skip
    """ledger_entries bounds what a guard holds; totals and spent still cover every request on the wire."""
    guard = Guard(as_of=AS_OF, ledger_entries=keep, max_cost_usd=limit)
    wrapped = guard.wrap(client(server))
    with Wire(server) as wire:
        for i in range(7):
            wrapped.chat.completions.create(model="gpt-4o-mini", max_tokens=5,
                                            messages=[{"role": "user", "content": "word " * (i + 1)}])  # fmt: skip
            if read_between:
                assert len(guard.ledger) == min(i + 1, keep)
    assert len(guard._accounts._done) + len(guard._accounts._entries) == keep
    ledger = guard.ledger
    assert [e.predicted_tokens for e in ledger.entries] == [
        tokenomy.count_request(received.body, as_of=AS_OF).tokens for received in wire.new[len(wire.new) - keep:]
    ]  # fmt: skip
    usages = [received.usage for received in wire.new]
    totals = ledger.totals
    assert (totals.requests, ledger.earlier.requests) == (7, 7 - keep)
    assert totals.prompt_tokens == sum(u["prompt_tokens"] for u in usages)
    assert totals.output_tokens == sum(u["completion_tokens"] for u in usages)
    assert totals.predicted_tokens == sum(tokenomy.count_request(r.body, as_of=AS_OF).tokens for r in wire.new)
    billed = sum(tokenomy.cost_from_usage("gpt-4o-mini", u, as_of=AS_OF).usd for u in usages)
    assert totals.cost == billed == guard.spent


@pytest.mark.parametrize("bad", [-1, 1.5, True, "10"])
def test_ledger_entries_is_a_whole_number_or_none(bad: Any) -> None:
    """A bad ledger_entries is a BudgetError (a ValueError) naming it."""
    with pytest.raises(tokenomy.BudgetError, match="ledger_entries"):
        Guard(ledger_entries=bad)
    assert "ledger_entries=None" in repr(Guard(ledger_entries=None))


def test_a_bounded_ledger_keeps_bodies_within_a_byte_budget(server: APIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Large bodies are summed, not kept, once the kept ones pass KEPT_BODY_BYTES; totals cover all."""
    from tokenomy import _accounts

    monkeypatch.setattr(_accounts, "KEPT_BODY_BYTES", 10_000)
    guard = Guard(as_of=AS_OF, ledger_entries=100)
    wrapped = guard.wrap(client(server))
    with Wire(server) as wire:
        for i in range(6):
            wrapped.chat.completions.create(model="gpt-4o-mini", max_tokens=5,
                                            messages=[{"role": "user", "content": f"{i} " + "word " * 800}])  # fmt: skip
    ledger = guard.ledger
    kept = [len(json.dumps(e.body)) for e in ledger.entries]
    assert len(kept) == 2  # each body is some 4.1 KB as sent: a third would pass 10,000 bytes
    assert ledger.entries[-1].body["messages"][0]["content"].startswith("5 ")
    assert ledger.totals.requests == 6 and ledger.earlier.requests == 6 - len(kept)
    assert ledger.totals.prompt_tokens == sum(r.usage["prompt_tokens"] for r in wire.new)
