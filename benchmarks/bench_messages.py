"""count_messages against a cookbook-style loop over tiktoken (its bookkeeping overhead)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from tests.conftest import tiktoken_enc

from benchmarks.conftest import use_backend

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # litellm must not fetch prices

import tokenomy


def _conversation(corpus: str, n: int = 50) -> list[dict[str, str]]:
    roles = ["user", "assistant"]
    chat = [{"role": "system", "content": corpus[:600]}]
    for i in range(n - 1):
        start = 5_000 + i * 700
        chat.append({"role": roles[i % 2], "content": corpus[start : start + 400 + (i % 7) * 40]})
    return chat


def _tools(n: int = 20) -> list[dict[str, Any]]:
    return [
        {"type": "function", "function": {
            "name": f"tool_{i}", "description": f"Does thing number {i} for the user",
            "parameters": {"type": "object", "required": ["query"], "properties": {
                "query": {"type": "string", "description": "What to look for"},
                "limit": {"type": "integer", "description": "How many results"},
                "mode": {"type": "string", "enum": ["fast", "exact", "fuzzy"]}}}}}
        for i in range(n)
    ]  # fmt: skip


def cookbook_count(messages: list[dict[str, str]], encode: Any) -> int:
    """The OpenAI cookbook's num_tokens_from_messages loop (3 per message, 1 per name, 3 reply)."""
    total = 3
    for message in messages:
        total += 3
        for key, value in message.items():
            total += len(encode(value))
            if key == "name":
                total += 1
    return total


@pytest.mark.parametrize("kind", ["cookbook loop", "count_messages", "litellm token_counter", "tokencost"])
def test_conversation_50(benchmark, corpus: str, kind: str) -> None:  # type: ignore[no-untyped-def]
    chat = _conversation(corpus)
    encode = tiktoken_enc("o200k_base").encode_ordinary
    benchmark.group = "messages-50"
    if kind == "count_messages":
        result = benchmark(lambda: tokenomy.count_messages(chat, "gpt-4o").tokens)
    elif kind == "litellm token_counter":
        litellm = pytest.importorskip("litellm")
        result = benchmark(lambda: litellm.token_counter(model="gpt-4o", messages=chat))
    elif kind == "tokencost":
        tokencost = pytest.importorskip("tokencost")
        result = benchmark(lambda: tokencost.count_message_tokens(chat, "gpt-4o"))
    else:
        result = benchmark(cookbook_count, chat, encode)
    if kind in ("count_messages", "cookbook loop"):
        assert result == cookbook_count(chat, encode)


@pytest.mark.parametrize(
    "kind", ["cookbook loop (tiktoken)", "count_messages (tiktoken backend, no cache hits)"]
)
def test_conversation_50_bookkeeping(benchmark, corpus: str, kind: str) -> None:  # type: ignore[no-untyped-def]
    """tokenomy's own bookkeeping over the same tokenizer, every content counted afresh."""
    chat = _conversation(corpus)
    encode = tiktoken_enc("o200k_base").encode_ordinary
    benchmark.group = "messages-50-same-tokenizer"
    if kind.startswith("count_messages"):
        with use_backend("o200k_base", "tiktoken"):
            tok = tokenomy.encoding_for("o200k_base")
            result = benchmark.pedantic(
                lambda: tokenomy.count_messages(chat, "gpt-4o").tokens, setup=tok._cache.clear, rounds=300
            )
    else:
        result = benchmark.pedantic(cookbook_count, args=(chat, encode), rounds=300)
    assert result == cookbook_count(chat, encode)


@pytest.mark.parametrize("kind", ["tiktoken render+encode", "count_messages"])
def test_twenty_tools(benchmark, kind: str) -> None:  # type: ignore[no-untyped-def]
    from tokenomy._data import table
    from tokenomy._render import RenderStyle, render_functions

    chat = [{"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Find me something."}]  # fmt: skip
    tools = _tools()
    encode = tiktoken_enc("o200k_base").encode_ordinary
    benchmark.group = "messages-20-tools"
    if kind == "count_messages":
        benchmark(lambda: tokenomy.count_messages(chat, "gpt-4o", tools=tools).tokens)
    else:
        # the tokenizer's share: encoding the rendered definitions and every message value
        style = RenderStyle(**table("chat")["render_styles"]["typescript"])
        rendered = render_functions([t["function"] for t in tools], style)
        benchmark(lambda: len(encode(rendered)) + cookbook_count(chat, encode))
    json.dumps(tools)


def _agent_request(corpus: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """20 messages over 3 tools: a system prompt, a question, then six rounds of an assistant tool
    call, the tool's result and an assistant reply."""
    chat: list[dict[str, Any]] = [{"role": "system", "content": corpus[:600]},
                                  {"role": "user", "content": corpus[5_000:5_300]}]  # fmt: skip
    for i in range(6):
        start, call_id = 10_000 + i * 1_500, f"call_{i}"
        arguments = json.dumps({"query": corpus[start : start + 60], "limit": i + 1, "mode": "fast"})
        chat += [
            {"role": "assistant", "content": None, "tool_calls": [{"id": call_id, "type": "function",
             "function": {"name": f"tool_{i % 3}", "arguments": arguments}}]},
            {"role": "tool", "tool_call_id": call_id, "content": corpus[start + 100 : start + 900]},
            {"role": "assistant", "content": corpus[start + 1_000 : start + 1_300]},
        ]  # fmt: skip
    assert len(chat) == 20
    return chat, _tools(3)


def cookbook_request_count(messages: list[dict[str, Any]], encode: Any) -> int:
    """The cookbook loop over the same messages' text: role, content, each tool call's name and arguments."""
    total = 3
    for message in messages:
        total += 3 + len(encode(message["role"]))
        if message.get("content"):
            total += len(encode(message["content"]))
        for call in message.get("tool_calls") or ():
            total += len(encode(call["function"]["name"])) + len(encode(call["function"]["arguments"]))
    return total


@pytest.mark.parametrize(
    "kind",
    ["cookbook loop (tiktoken)", "count_request (tiktoken backend, no cache hits)",
     "count_request (tiktoken backend, warm caches)"],
)  # fmt: skip
def test_request_20_tools(benchmark, corpus: str, kind: str) -> None:  # type: ignore[no-untyped-def]
    """count_request on a 20-message tool-calling chat, against the cookbook loop over its text."""
    from tokenomy import _tooldefs as tooldefs_module

    chat, tools = _agent_request(corpus)
    body = {"model": "gpt-4o", "messages": chat, "tools": tools}
    encode = tiktoken_enc("o200k_base").encode_ordinary
    benchmark.group = "request-20-tools"
    if kind.startswith("count_request"):
        with use_backend("o200k_base", "tiktoken"):
            tok = tokenomy.encoding_for("o200k_base")

            def cold() -> None:
                tok._cache.clear()
                tooldefs_module._RENDER_CACHE.clear()

            setup = cold if "no cache" in kind else None
            result = benchmark.pedantic(lambda: tokenomy.count_request(body).tokens, setup=setup, rounds=300)
        # the loop leaves out tool definitions and headers, so it always counts less
        assert result > cookbook_request_count(chat, encode)
    else:
        result = benchmark.pedantic(cookbook_request_count, args=(chat, encode), rounds=300)
        assert result > 0
