"""tokenomy._usage: the usage of a response read from its bytes, however they are split."""

from __future__ import annotations

import gzip
import itertools
import json
import zlib

from hypothesis import given
from hypothesis import strategies as st

from tokenomy._usage import ENCODINGS, UsageReader, usage_part

CHAT_USAGE = {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12,
              "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}}
RESPONSES_USAGE = {"input_tokens": 9, "output_tokens": 3, "total_tokens": 12}


def chat_stream() -> bytes:
    chunks = [{"choices": [{"index": 0, "delta": {"content": "usage: {not json"}}], "usage": None},
              {"choices": [], "usage": CHAT_USAGE}]
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"


def responses_stream() -> bytes:
    events = [("response.created", {"response": {"usage": None}}),
              ("response.output_text.delta", {"delta": '"usage": {'}),
              ("response.completed", {"response": {"status": "completed", "usage": RESPONSES_USAGE}})]
    return b"".join(f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode() for kind, data in events)


def read(body: bytes, cuts: list[int], stream: bool, encoding: str = "identity", complete: bool = True) -> tuple:
    reader = UsageReader(stream=stream, encoding=encoding)
    edges = [0, *sorted(c % (len(body) + 1) for c in cuts), len(body)]
    for start, end in itertools.pairwise(edges):
        reader.feed(body[start:end])
    return reader.result(complete)


@given(cuts=st.lists(st.integers(min_value=0), max_size=12))
def test_split_anywhere(cuts: list[int]) -> None:
    """Chat and Responses streams and JSON bodies give their usage however the bytes are split."""
    assert read(chat_stream(), cuts, True, complete=False) == (CHAT_USAGE, ())
    assert read(responses_stream(), cuts, True) == (RESPONSES_USAGE, ())
    body = json.dumps({"choices": [{"message": {"content": 'say "usage": {'}}], "usage": CHAT_USAGE}).encode()
    assert read(body, cuts, False) == (CHAT_USAGE, ())


def test_compressed_bodies() -> None:
    """gzip and deflate bodies are decoded; a corrupt one is a problem, never an exception."""
    body = json.dumps({"usage": CHAT_USAGE}).encode()
    assert read(gzip.compress(body), [5, 9], False, "gzip") == (CHAT_USAGE, ())
    assert read(zlib.compress(body), [3], False, "deflate") == (CHAT_USAGE, ())
    usage, problems = read(b"not gzip at all", [4], False, "gzip")
    assert usage is None and problems[0].startswith("usage not read")
    assert {"identity", "gzip", "deflate"} <= ENCODINGS and "br" not in ENCODINGS


def test_missing_or_cut_short() -> None:
    """A stream closed before its usage says so; a stream that ended without one says nothing."""
    partial = chat_stream()[:60]
    assert read(partial, [], True, complete=False) == (None, ("the response was closed before its usage arrived",))
    assert read(b"data: {\"choices\": []}\n\ndata: [DONE]\n\n", [], True, complete=False) == (None, ())
    assert read(b'{"object": "list", "usage": null}', [], False) == (None, ())
    assert read(b'{"usage": {"prompt_tokens"', [], False)[1][0].startswith("usage not read")


def test_an_answer_s_usage_is_kept_small_until_read() -> None:
    """A guard keeps a JSON answer's usage as its few bytes until the ledger is read; an answer with
    much after its usage is decoded at once, so no ledger holds the rest of a body."""
    from datetime import date

    from tokenomy._accounts import Accounts, Ticket

    accounts = Accounts(None, date(2025, 1, 1), keep=10)
    usage = {"prompt_tokens": 4, "completion_tokens": 2}
    small = json.dumps({"id": "a", "usage": usage, "service_tier": "default"}).encode()
    large = json.dumps({"id": "b", "usage": usage, "padding": "x" * 10_000}).encode()
    for body in (small, large):
        part, notes = usage_part([body[:7], body[7:]], "identity", True)
        ticket = Ticket("/v1/chat/completions", b"{}", "gpt-4o-mini-2024-07-18", None, None, False)
        accounts.record(ticket, 200, None, False, notes, part)
    kept = [len(done.part) if done.part is not None else None for done in accounts._done]
    assert kept[0] is not None and kept[0] < 100 and kept[1] is None
    assert [entry.usage for entry in accounts.ledger().entries] == [usage, usage]
