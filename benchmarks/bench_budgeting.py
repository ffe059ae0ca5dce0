"""fits, truncate and chunk against raw tiktoken and peer splitters, side by side."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np
import pytest
from tests.conftest import tiktoken_enc

import tokenomy
from benchmarks.conftest import QUALITY, use_backend

ENC = "cl100k_base"
MODEL = "gpt-4-0613"


@pytest.fixture(scope="module")
def ten_mb(corpus: str) -> str:
    return (corpus * (10_000_000 // len(corpus) + 1))[:10_000_000]


@pytest.mark.parametrize("kind", ["tiktoken full count", "tokenomy.fits", "tokenomy.fits (tiktoken backend)"])
def test_fits_10mb(benchmark, ten_mb: str, kind: str) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = "fits-10MB-in-8192"
    enc = tiktoken_enc(ENC)
    if kind.startswith("tokenomy.fits"):
        with use_backend(ENC, "tiktoken") if "tiktoken" in kind else contextlib.nullcontext():
            result = benchmark(lambda: tokenomy.fits(ten_mb, 8192, model=MODEL))
    else:
        result = benchmark.pedantic(lambda: len(enc.encode_ordinary(ten_mb)) <= 8192, rounds=3, iterations=1)
    assert result is False


@pytest.mark.parametrize(
    "kind", ["tiktoken encode+slice+decode", "tokenomy.truncate", "tokenomy.truncate (tiktoken backend)"]
)
def test_truncate_1mb(benchmark, long_text: str, kind: str) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = "truncate-1MB-to-8192"
    enc = tiktoken_enc(ENC)
    if kind.startswith("tokenomy.truncate"):
        with use_backend(ENC, "tiktoken") if "tiktoken" in kind else contextlib.nullcontext():
            out = benchmark(lambda: tokenomy.truncate(long_text, 8192, model=MODEL).text)
    else:
        out = benchmark(lambda: enc.decode(enc.encode_ordinary(long_text)[:8192]))
    assert len(enc.encode_ordinary(out)) <= 8193


def _quality(name: str, text: str, chunks: list[str]) -> None:
    enc = tiktoken_enc(ENC)
    counts = [len(enc.encode_ordinary(c)) for c in chunks]
    QUALITY[name] = {
        "chunks": len(chunks),
        "max_tokens": max(counts),
        "over_limit": sum(c > 512 for c in counts),
        "p10_fill": f"{np.percentile(counts[:-1], 10) / 512:.0%}",
        "lossless": "".join(chunks) == text,
        "replacement_chars": sum(c.count("\ufffd") for c in chunks) - text.count("\ufffd"),
    }


def _splitters(overlap: int) -> dict[str, Callable[[str], list[str]]]:
    enc = tiktoken_enc(ENC)

    def tiktoken_backed(t: str) -> list[str]:
        with use_backend(ENC, "tiktoken"):
            return [c.text for c in tokenomy.chunk(t, 512, model=MODEL, overlap=overlap)]

    runners: dict[str, Callable[[str], list[str]]] = {
        "tokenomy.chunk": lambda t: [c.text for c in tokenomy.chunk(t, 512, model=MODEL, overlap=overlap)],
        "tokenomy.chunk (tiktoken backend)": tiktoken_backed,
    }
    try:
        from langchain_text_splitters import TokenTextSplitter

        lc = TokenTextSplitter(encoding_name=ENC, chunk_size=512, chunk_overlap=overlap)
        runners["langchain TokenTextSplitter"] = lc.split_text
    except ImportError:
        pass
    try:
        from chonkie import TokenChunker

        ch = TokenChunker(tokenizer=enc, chunk_size=512, chunk_overlap=overlap)
        runners["chonkie TokenChunker"] = lambda t: [c.text for c in ch.chunk(t)]
    except ImportError:
        pass
    if overlap == 0:
        try:
            from semantic_text_splitter import TextSplitter

            sts = TextSplitter.from_tiktoken_model("gpt-4", 512)
            runners["semantic-text-splitter"] = sts.chunks
        except ImportError:
            pass
    return runners


@pytest.mark.parametrize("overlap", [0, 64])
@pytest.mark.parametrize(
    "kind", ["tiktoken encode (baseline)", "tokenomy.chunk", "tokenomy.chunk (tiktoken backend)", "langchain TokenTextSplitter",
             "chonkie TokenChunker", "semantic-text-splitter"],
)  # fmt: skip
def test_chunk_512(benchmark, mixed_text: str, kind: str, overlap: int) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = f"chunk-512-overlap-{overlap}"
    if kind.startswith("tiktoken"):
        encode = tiktoken_enc(ENC).encode_ordinary
        benchmark.pedantic(lambda: encode(mixed_text), rounds=5, iterations=1)
        return
    runners = _splitters(overlap)
    if kind not in runners:
        pytest.skip(f"{kind} not installed or has no overlap option")
    chunks = benchmark.pedantic(lambda: runners[kind](mixed_text), rounds=5, iterations=1)
    if overlap == 0:
        _quality(kind, mixed_text, chunks)


@pytest.fixture(scope="module")
def twenty_mb(corpus: str) -> str:
    return (corpus * (20_000_000 // len(corpus) + 1))[:20_000_000]


@pytest.mark.parametrize("kind", ["Tokenizer.count (one core)", "Tokenizer.count_parallel"])
def test_count_parallel_20mb(benchmark, twenty_mb: str, kind: str) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = "count-20MB-tiktoken-backend"
    from tests.conftest import tokenizer

    tok = tokenizer("o200k_base", "tiktoken")
    tok.count_parallel(twenty_mb[:2_000_000])  # start the worker pool outside the timing
    run = tok.count_parallel if kind.endswith("parallel") else tok.count
    result = benchmark.pedantic(run, args=(twenty_mb,), rounds=3, iterations=1)
    assert result == len(tiktoken_enc("o200k_base").encode_ordinary(twenty_mb))
