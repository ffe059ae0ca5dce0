"""count / count_batch side by side: raw tiktoken, tokenomy (default and tiktoken backend), peers."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

import pytest
from tests.conftest import tiktoken_enc, tokenizer

import tokenomy
from benchmarks.conftest import use_backend

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # litellm must not fetch prices

ENCODINGS = ["cl100k_base", "o200k_base"]
MODEL_FOR = {"cl100k_base": "gpt-4-0613", "o200k_base": "gpt-4o"}


def _runner(kind: str, name: str) -> Callable[[str], int] | None:
    model = MODEL_FOR[name]
    if kind == "tiktoken":
        encode = tiktoken_enc(name).encode_ordinary
        return lambda text: len(encode(text))
    if kind == "tokenomy.count":
        return lambda text: tokenomy.count(text, model=model)
    if kind == "tokenomy (tiktoken backend)":
        return tokenizer(name, "tiktoken").count
    if kind == "tokenomy.count (tiktoken backend)":
        return lambda text: tokenomy.count(text, model=model)
    if kind == "litellm token_counter":
        try:
            from litellm import token_counter
        except ImportError:
            return None
        return lambda text: token_counter(model=model, text=text)
    if kind == "tokencost":
        try:
            from tokencost import count_string_tokens
        except ImportError:
            return None
        return lambda text: count_string_tokens(text, model)
    raise ValueError(kind)


KINDS = ["tiktoken", "tokenomy.count", "tokenomy (tiktoken backend)", "tokenomy.count (tiktoken backend)",
         "litellm token_counter", "tokencost"]  # fmt: skip


@pytest.mark.parametrize("name", ENCODINGS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size", ["short", "medium", "long"])
def test_count(benchmark, request, size: str, kind: str, name: str) -> None:  # type: ignore[no-untyped-def]
    text = request.getfixturevalue(f"{size}_text")
    run = _runner(kind, name)
    if run is None:
        pytest.skip(f"{kind} is not installed")
    backend = "tiktoken" if kind == "tokenomy.count (tiktoken backend)" else None
    with use_backend(name, backend) if backend else contextlib.nullcontext():
        run(text)  # warm: encodings loaded, caches filled
        benchmark.group = f"count-{size}-{name}"
        if size == "long":
            result = benchmark.pedantic(run, args=(text,), rounds=15, iterations=1)
        else:
            result = benchmark(run, text)
    if not kind.startswith(("litellm", "tokencost")):  # peers may count differently; we do not
        assert result == len(tiktoken_enc(name).encode_ordinary(text))


@pytest.mark.parametrize("kind", ["serial tiktoken loop", "count_batch", "count_batch (tiktoken backend)"])
def test_count_batch(benchmark, short_texts: list[str], kind: str) -> None:  # type: ignore[no-untyped-def]
    enc = tiktoken_enc("o200k_base")
    benchmark.group = "count_batch-10k-o200k"
    if kind.startswith("count_batch"):
        tok = tokenizer("o200k_base", "tiktoken" if "tiktoken" in kind else "fast")
        tok.count_batch(short_texts)  # start the worker pool (tiktoken backend) outside the timing
        result = benchmark.pedantic(tok.count_batch, args=(short_texts,), rounds=10, iterations=1)
    else:
        encode = enc.encode_ordinary
        result = benchmark.pedantic(lambda: [len(encode(t)) for t in short_texts], rounds=10, iterations=1)
    assert result == [len(enc.encode_ordinary(t)) for t in short_texts]
