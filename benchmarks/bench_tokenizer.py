"""tokenomy.count / Tokenizer.count / count_batch against raw tiktoken, side by side."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.conftest import tiktoken_enc

import tokenomy

ENCODINGS = ["cl100k_base", "o200k_base"]
MODEL_FOR = {"cl100k_base": "gpt-4-0613", "o200k_base": "gpt-4o"}


def _runner(kind: str, name: str) -> Callable[[str], int]:
    if kind == "tiktoken":
        encode = tiktoken_enc(name).encode_ordinary
        return lambda text: len(encode(text))
    if kind == "Tokenizer.count":
        return tokenomy.encoding_for(name).count
    model = MODEL_FOR[name]
    return lambda text: tokenomy.count(text, model=model)


KINDS = ["tiktoken", "Tokenizer.count", "tokenomy.count"]


@pytest.mark.parametrize("name", ENCODINGS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size", ["short", "medium", "long"])
def test_count(benchmark, request, size: str, kind: str, name: str) -> None:  # type: ignore[no-untyped-def]
    text = request.getfixturevalue(f"{size}_text")
    run = _runner(kind, name)
    run(text)  # warm: encodings loaded, caches filled
    benchmark.group = f"count-{size}-{name}"
    if size == "long":
        result = benchmark.pedantic(run, args=(text,), rounds=15, iterations=1)
    else:
        result = benchmark(run, text)
    assert result == len(tiktoken_enc(name).encode_ordinary(text))


@pytest.mark.parametrize("kind", ["serial tiktoken loop", "count_batch"])
def test_count_batch(benchmark, short_texts: list[str], kind: str) -> None:  # type: ignore[no-untyped-def]
    enc = tiktoken_enc("o200k_base")
    tok = tokenomy.encoding_for("o200k_base")
    benchmark.group = "count_batch-10k-o200k"
    if kind == "count_batch":
        result = benchmark.pedantic(tok.count_batch, args=(short_texts,), rounds=10, iterations=1)
    else:
        encode = enc.encode_ordinary
        result = benchmark.pedantic(lambda: [len(encode(t)) for t in short_texts], rounds=10, iterations=1)
    assert result == [len(enc.encode_ordinary(t)) for t in short_texts]
