"""Hostile inputs: time per MB and exactness, for tokenomy (default and tiktoken backend) and
raw tiktoken where it survives. Sizes from TOKENOMY_BENCH_HOSTILE_MB (default 1 and 10)."""

from __future__ import annotations

import base64
import os
import random

import pytest
from tests.conftest import tiktoken_enc, tokenizer

SIZES = [int(s) for s in os.environ.get("TOKENOMY_BENCH_HOSTILE_MB", "1,10").split(",")]


def _make(kind: str, mb: int) -> str:
    n = mb * 1_000_000
    rng = random.Random(9)
    if kind == "one char":
        return "a" * n
    if kind == "spaces":
        return " " * n
    if kind == "newlines":
        return "\n" * n
    if kind == "cjk":
        return "中文字符" * (n // 4)
    if kind == "base64":
        return base64.b64encode(rng.randbytes(n * 3 // 4)).decode()
    return "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=n))


KINDS = ["one char", "letters", "spaces", "newlines", "cjk", "base64"]


@pytest.mark.parametrize("mb", SIZES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "runner", ["tokenomy (default backend)", "tokenomy (tiktoken backend)", "raw tiktoken"]
)
def test_hostile(benchmark, runner: str, kind: str, mb: int) -> None:  # type: ignore[no-untyped-def]
    text = _make(kind, mb)
    name = "o200k_base"
    benchmark.group = f"hostile-{kind}-{mb}MB-o200k"
    if runner == "raw tiktoken":
        encode = tiktoken_enc(name).encode_ordinary
        try:
            result = benchmark.pedantic(lambda: len(encode(text)), rounds=1, iterations=1)
        except BaseException as error:  # tiktoken's Rust panic derives from BaseException
            if type(error).__name__ != "PanicException":
                raise
            pytest.skip(f"raw tiktoken panics on {mb} MB of {kind}")
        return
    tok = tokenizer(name, "fast" if "default" in runner else "tiktoken")
    result = benchmark.pedantic(tok.count, args=(text,), rounds=1, iterations=1)
    benchmark.extra_info["seconds_per_mb"] = benchmark.stats.stats.mean / mb
    try:
        expected = len(tiktoken_enc(name).encode_ordinary(text))
    except BaseException as error:
        if type(error).__name__ != "PanicException":
            raise
        expected = len(tiktoken_enc(name)._encode_only_native_bpe(text))
    assert result == expected
