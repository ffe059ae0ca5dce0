"""The OpenAI guard's own cost: one SDK round trip to a local server, wrapped against unwrapped.

The server (tests/openai_server.py) runs in a child process so it does not share this process's
GIL, and bills a fixed usage so no counting happens on its side. Beside the unwrapped client are
those that do by hand what the guard does (count before the call, compare the usage after it,
and price both for a budget): what the guard adds beyond them is its own cost. Target: within 5%
of a round trip. On a busy machine, ``python -m benchmarks.bench_guard [N]`` times the
clients in alternation, N round trips each, so that load falls on all of them alike.

``python -m benchmarks.bench_guard --client KIND N`` only makes N round trips with one client
(after 100 to warm up, and with what they made frozen out of the garbage collector's walks), to
run under ``valgrind --tool=callgrind``: the instructions of N round trips minus those of 0, over
N, are a client's cost per round trip whatever the machine's load (benchmarks/README.md).

``python -m benchmarks.bench_guard --cold N`` times counting a new question where the guard counts
it (inside the round trip, once the SDK has built the request: an httpx request hook of an
unwrapped client), then a second new one right after, against the same counts in a loop without
network: what the caches the round trip leaves cost the count.
"""

from __future__ import annotations

import itertools
import os
import statistics
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

openai = pytest.importorskip("openai")

from tokenomy import count_request  # noqa: E402
from tokenomy.cost import request_usd, usage_usd  # noqa: E402 (the Cost objects' figures, without them)
from tokenomy.encodings import load_encoding  # noqa: E402
from tokenomy.openai import Guard  # noqa: E402
from tokenomy.registry import resolve  # noqa: E402

SYSTEM = {"role": "system", "content": "You are a concise assistant for a bookshop."}
TITLES = ["Pride and Prejudice", "Moby-Dick", "Middlemarch", "Bleak House", "Jane Eyre", "Emma",
          "Great Expectations", "War and Peace", "Anna Karenina", "Don Quixote", "Ulysses", "Dracula",
          "Frankenstein", "Persuasion", "Wuthering Heights", "The Odyssey", "Madame Bovary"]  # fmt: skip
# the same instructions, a new question each time, as a chat service sends them: no question is
# sent twice, so none is counted from a cache (the instructions may be)
QUESTIONS = [f"Summarise the plot of {title} in {n} sentences, please." for n in ("two", "three", "four")
             for title in TITLES]  # fmt: skip


def chats(tag: str = "") -> Iterator[list[dict[str, str]]]:
    """Endless chats of the benchmark's shape, each with a question not asked before (``tag`` keeps
    clients timed side by side from asking each other's questions)."""
    for order in itertools.count():
        question = QUESTIONS[order % len(QUESTIONS)]
        yield [SYSTEM, {"role": "user", "content": f"{question} Order {order}{tag}."}]


# the guard's limits (and the cost), and what users do without it: count by hand before each call
# and compare the usage after it, with tokenomy (as the issue describes; with the cost, the worst
# case priced before and the usage after against a running total) or as the OpenAI cookbook does
# with raw tiktoken (num_tokens_from_messages)
KINDS = ["unwrapped", "guarded", "guarded, max_cost_usd", "by hand, tokenomy", "by hand, tokenomy, cost",
         "by hand, cookbook"]  # fmt: skip
CALLED_AS_IS = [kind for kind in KINDS if not kind.startswith("by hand")]  # no checks around the call
AS_OF, MODEL, MAX_PROMPT, MAX_TOKENS = date(2025, 1, 1), "gpt-4o-mini", 100_000, 60


def _server() -> Iterator[str]:
    root = Path(__file__).resolve().parents[1]
    child = subprocess.Popen([sys.executable, "-m", "tests.openai_server"], cwd=root,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert child.stdout is not None and child.stdin is not None
    pinned = os.environ.get("TOKENOMY_BENCH_PIN") == "1" and len(os.sched_getaffinity(0)) >= 2
    if pinned:  # client and server each on a core of their own: the scheduler moving them adds noise
        client_core, server_core = sorted(os.sched_getaffinity(0))[:2]
        os.sched_setaffinity(child.pid, {server_core})
        os.sched_setaffinity(0, {client_core})
    try:
        yield child.stdout.readline().strip()
    finally:
        child.stdin.close()
        child.wait(10)


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    yield from _server()


def _client(url: str, kind: str) -> Any:
    client = openai.OpenAI(api_key="sk-bench", base_url=url, max_retries=0)
    if not kind.startswith("guarded"):
        return client
    limits: dict[str, Any] = {"max_cost_usd": 1_000_000} if "max_cost_usd" in kind else {}
    return Guard(as_of=AS_OF, max_prompt_tokens=MAX_PROMPT, **limits).wrap(client)


def _caller(url: str, kind: str) -> Callable[[list[dict[str, str]]], Any]:
    """One chat completion of ``kind``: through the client, with the by-hand checks around it."""
    create = _client(url, kind).chat.completions.create
    if not kind.startswith("by hand"):
        return lambda messages: create(model=MODEL, messages=messages, max_tokens=MAX_TOKENS)
    if "tokenomy" not in kind:
        return _by_hand(create, _cookbook_count())
    if not kind.endswith("cost"):
        return _by_hand(create, lambda body: count_request(body, as_of=AS_OF).tokens)
    spent, limit = [Decimal(0)], Decimal(1_000_000)

    def counted_and_priced(body: dict[str, Any]) -> int:
        request = count_request(body, as_of=AS_OF)
        if spent[0] + request_usd(request, output_tokens=MAX_TOKENS) > limit:
            raise RuntimeError("over the budget")
        return request.tokens

    def paid(reply: Any) -> None:
        spent[0] += usage_usd(MODEL, reply.usage, as_of=AS_OF)

    return _by_hand(create, counted_and_priced, paid)


def _by_hand(create: Callable[..., Any], prompt_tokens: Callable[[dict[str, Any]], int],
             paid: Callable[[Any], None] | None = None) -> Callable[[list[dict[str, str]]], Any]:  # fmt: skip
    """A chat completion checked before it is sent, and its usage compared after, by hand."""
    window = resolve(MODEL, AS_OF).context_window or 0
    drifts: deque[int] = deque(maxlen=10_000)  # bounded, as the guard's ledger is

    def by_hand(messages: list[dict[str, str]]) -> Any:
        body = {"model": MODEL, "messages": messages, "max_tokens": MAX_TOKENS}
        prompt = prompt_tokens(body)
        if prompt > MAX_PROMPT or prompt + MAX_TOKENS > window:
            raise RuntimeError(f"{prompt} prompt tokens do not fit")
        reply = create(**body)
        drifts.append(reply.usage.prompt_tokens - prompt)
        if paid is not None:
            paid(reply)
        return reply

    return by_hand


def _cookbook_count() -> Callable[[dict[str, Any]], int]:
    """The OpenAI cookbook's num_tokens_from_messages for gpt-4o-mini, on raw tiktoken."""
    encode = load_encoding(resolve(MODEL, AS_OF).encoding or "o200k_base").encode

    def count(body: dict[str, Any]) -> int:
        tokens = 3  # the tokens that open the assistant's answer
        for message in body["messages"]:
            tokens += 3  # each message's own framing around its role and content
            for value in message.values():
                tokens += len(encode(value))
        return tokens

    return count


@pytest.mark.parametrize("kind", KINDS)
def test_chat_round_trip(benchmark, server_url: str, kind: str) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = "openai-guard: chat completion round trip"
    create, chat = _caller(server_url, kind), chats()
    call = lambda: create(next(chat))  # noqa: E731
    for _ in range(20):  # connection and caches warm before timing
        call()
    reply = benchmark(call)
    assert reply.usage.prompt_tokens == 30


@pytest.mark.parametrize("kind", CALLED_AS_IS)
def test_streamed_round_trip(benchmark, server_url: str, kind: str) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = "openai-guard: streamed chat completion with usage"
    client, chat = _client(server_url, kind), chats()

    def call() -> list[Any]:
        return list(client.chat.completions.create(model=MODEL, messages=next(chat), max_tokens=MAX_TOKENS,
                                                   stream=True, stream_options={"include_usage": True}))  # fmt: skip

    for _ in range(20):
        call()
    chunks = benchmark(call)
    assert chunks[-1].usage.prompt_tokens == 30


def interleaved(rounds: int) -> None:
    """Print each client's median round trip and its ratio to the unwrapped one, timed in turn; the
    median of each round's own difference (the same moment's load) over the unwrapped median, from
    the unwrapped round trip and from the one that does the same by hand with tokenomy (what the
    guard adds beyond the counting and pricing a pre-flight check makes anyway); and the ratio of
    their median CPU times (this thread's: time on the CPU, not waiting)."""
    for url in _server():
        clients = {kind: _caller(url, kind) for kind in KINDS}
        times: dict[str, list[float]] = {kind: [] for kind in KINDS}
        chat = {kind: chats(f"-{n}") for n, kind in enumerate(KINDS)}  # the same length, their own text
        cpu: dict[str, list[float]] = {kind: [] for kind in KINDS}  # this thread's CPU time
        for i in range(rounds + 50):
            for kind in KINDS if i % 2 else KINDS[::-1]:
                messages = next(chat[kind])
                start, start_cpu = time.perf_counter(), time.thread_time()
                clients[kind](messages)
                if i >= 50:  # the first 50 warm connections and caches
                    cpu[kind].append(time.thread_time() - start_cpu)
                    times[kind].append(time.perf_counter() - start)
        base, base_cpu = statistics.median(times["unwrapped"]), statistics.median(cpu["unwrapped"])
        for kind in KINDS:
            median, own = statistics.median(times[kind]), times[kind]
            print(f"{kind:22} median {median * 1e3:6.3f} ms  min {min(own) * 1e3:6.3f} ms  "
                  f"ratio {median / base:.3f}  paired {_paired(own, times['unwrapped']) / base:+.1%}  "
                  f"over by hand {_paired(own, times[_by_hand_kind(kind)]) / base:+.1%}  "
                  f"CPU ratio {statistics.median(cpu[kind]) / base_cpu:.3f}")  # fmt: skip


def _by_hand_kind(kind: str) -> str:
    """The by-hand client that does what ``kind`` does (the cost too, with max_cost_usd)."""
    return "by hand, tokenomy, cost" if "cost" in kind else "by hand, tokenomy"


def _paired(times: list[float], others: list[float]) -> float:
    """The median of the rounds' own differences."""
    return statistics.median(t - u for t, u in zip(times, others, strict=True))


def rounds_only(kind: str, rounds: int) -> None:
    """``rounds`` round trips of one client after 100 to warm up, for callgrind to count."""
    import gc

    for url in _server():
        create, chat = _caller(url, kind), chats()
        for i in range(100 + rounds):
            if i == 100:
                gc.collect()
                gc.freeze()  # a full collection then walks only what the counted rounds made
            create(next(chat))


def cold(rounds: int) -> None:
    """Print the medians and minimums of counting a new question inside a round trip, a second
    one right after, and the same in a loop without network (``rounds`` each)."""
    from tokenomy import encoding_for

    count = encoding_for(MODEL).count  # the guard's count of a message it has not met
    texts = (chat[1]["content"] for chat in chats("-cold"))
    inside: dict[str, list[float]] = {"first count in a round trip": [], "second, right after": []}

    def hook(request: Any) -> None:
        for times in inside.values():
            text = next(texts)
            start = time.perf_counter()
            count(text)
            times.append(time.perf_counter() - start)

    for url in _server():
        http = openai.DefaultHttpxClient(event_hooks={"request": [hook]})  # the SDK's own defaults
        client = openai.OpenAI(api_key="sk-bench", base_url=url, max_retries=0, http_client=http)
        chat = chats()
        for _ in range(rounds + 50):
            client.chat.completions.create(model=MODEL, messages=next(chat), max_tokens=MAX_TOKENS)
    loop = []
    for _ in range(rounds + 50):
        text = next(texts)
        start = time.perf_counter()
        count(text)
        loop.append(time.perf_counter() - start)
    for name, times in [*inside.items(), ("in a loop without network", loop)]:
        times = times[50:]  # the first 50 warm connections and caches
        print(f"{name:28} median {statistics.median(times) * 1e6:6.1f} µs  min {min(times) * 1e6:6.1f} µs")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--client"]:
        rounds_only(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1:2] == ["--cold"]:
        cold(int(sys.argv[2]))
    else:
        interleaved(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
