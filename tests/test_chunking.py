"""chunk: every chunk fits on its own, chunks tile the input, cuts prefer natural boundaries."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokenomy
from tests.conftest import corpus_text, tiktoken_enc
from tokenomy import BudgetError, InvalidArgumentError, chunk, chunk_ids, encoding_for


def n(text: str, name: str = "o200k_base") -> int:
    return len(tiktoken_enc(name).encode_ordinary(text))


@given(text=st.text(max_size=600), limit=st.integers(1, 40))
@settings(max_examples=300, deadline=None)
def test_chunks_are_lossless_and_fit_on_arbitrary_text(text: str, limit: int) -> None:
    """On any Unicode text: tiling, offsets, own counts <= limit, consecutive indexes."""
    try:
        chunks = list(chunk(text, limit, model="gpt-4o"))
    except BudgetError:  # only when one character alone exceeds the limit
        assert any(n(ch) > limit for ch in text)
        return
    assert "".join(c.text for c in chunks) == text
    assert all(text[c.start : c.end] == c.text for c in chunks)
    assert all(c.tokens == n(c.text) <= limit for c in chunks)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert all(c.text for c in chunks)


@pytest.mark.parametrize("model,enc", [("gpt-4o", "o200k_base"), ("gpt-4-0613", "cl100k_base")])
def test_chunks_are_lossless_and_fit_on_corpus(corpus_file: str, model: str, enc: str) -> None:
    """On real text: lossless, exact, never over the limit, p10 fill at least 80%."""
    text = corpus_text(corpus_file)[:600_000]
    chunks = list(chunk(text, 512, model=model))
    assert "".join(c.text for c in chunks) == text
    counts = [c.tokens for c in chunks]
    assert counts == [n(c.text, enc) for c in chunks]
    assert max(counts) <= 512
    assert np.percentile(counts[:-1], 10) >= 0.8 * 512
    assert all("\ufffd" not in c.text for c in chunks)


def test_overlap_repeats_about_overlap_tokens(corpus_file: str) -> None:
    """With overlap, each chunk starts inside the previous one, about `overlap` tokens back."""
    text = corpus_text(corpus_file)[:200_000]
    chunks = list(chunk(text, 512, model="gpt-4o", overlap=64))
    assert all(c.tokens == n(c.text) <= 512 for c in chunks)
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    for prev, cur in itertools.pairwise(chunks):
        assert prev.start < cur.start < prev.end
        shared = n(text[cur.start : prev.end])
        assert 32 <= shared <= 96


def test_boundary_preference() -> None:
    """A paragraph break inside the fill window wins over sentence and word boundaries."""
    para = "Alpha beta gamma delta. " * 8
    text = para.strip() + "\n\n" + para.strip() + "\n\n" + para
    chunks = list(chunk(text, 100, model="gpt-4o"))
    assert chunks[0].text.endswith("\n\n") or chunks[0].text.endswith(".")
    sentences = list(chunk("One two three four. Five six seven eight nine ten. " * 30, 40, model="gpt-4o"))
    assert all(c.text.rstrip().endswith(".") for c in sentences[:-1])


def test_no_tiny_tail() -> None:
    """When the rest would leave a tail under a quarter of the limit, the last two balance."""
    text = "word " * 110  # 110 tokens: 100 + 10 would be a tiny tail
    chunks = list(chunk(text, 100, model="gpt-4o"))
    assert len(chunks) == 2 and min(c.tokens for c in chunks) >= 100 // 4


def test_cjk_without_spaces_and_one_giant_piece() -> None:
    """Text without spaces is cut at punctuation; a single huge piece is cut inside, still exact."""
    cjk = ("这是一个没有空格的句子，" * 30 + "。") * 20
    chunks = list(chunk(cjk, 64, model="gpt-4o"))
    assert "".join(c.text for c in chunks) == cjk and all(c.tokens == n(c.text) <= 64 for c in chunks)
    blob = "Q" * 5000
    chunks = list(chunk(blob, 10, model="gpt-4o"))
    assert "".join(c.text for c in chunks) == blob and all(c.tokens == n(c.text) <= 10 for c in chunks)


def test_streams_give_the_same_chunks(corpus_file: str) -> None:
    """A file object or an iterable of strings chunks exactly like the whole string."""
    text = corpus_text(corpus_file)[:300_000]
    whole = [(c.start, c.end, c.tokens) for c in chunk(text, 256, model="gpt-4o")]
    parts = [text[i : i + 7_777] for i in range(0, len(text), 7_777)]
    streamed = list(chunk(iter(parts), 256, model="gpt-4o"))
    assert "".join(c.text for c in streamed) == text
    assert all(c.tokens == n(c.text) <= 256 for c in streamed)
    assert [c.index for c in streamed] == list(range(len(streamed)))
    assert [(c.start, c.end, c.tokens) for c in streamed] == whole
    filed = list(chunk(io.StringIO(text), 256, model="gpt-4o", overlap=32))
    assert [(c.start, c.end) for c in filed] == [(c.start, c.end) for c in chunk(text, 256, overlap=32)]


def test_chunk_ids_are_the_chunks_ids() -> None:
    """chunk_ids gives each chunk's own ids as numpy arrays."""
    text = "The quick brown fox jumps over the lazy dog. " * 20
    arrays = chunk_ids(text, 30, model="gpt-4o")
    texts = [c.text for c in chunk(text, 30, model="gpt-4o")]
    assert [a.tolist() for a in arrays] == [tiktoken_enc("o200k_base").encode_ordinary(t) for t in texts]
    blob = "Q" * 3000 + " tail words here"  # one huge piece: cut inside, each chunk encoded alone
    texts = [c.text for c in chunk(blob, 10, model="gpt-4o")]
    assert [a.tolist() for a in chunk_ids(blob, 10, model="gpt-4o")] == [
        tiktoken_enc("o200k_base").encode_ordinary(t) for t in texts
    ]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"max_tokens": 0}, BudgetError),
        ({"max_tokens": -1}, BudgetError),
        ({"max_tokens": 10, "overlap": 10}, BudgetError),
        ({"max_tokens": 1.5}, BudgetError),
        ({"max_tokens": 10, "boundaries": ("chapter",)}, InvalidArgumentError),
        ({"max_tokens": 10, "boundaries": "word"}, InvalidArgumentError),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], error: type[Exception]) -> None:
    """Impossible budgets and overlaps raise BudgetError, unknown boundary names
    InvalidArgumentError, from chunk() and chunk_ids() alike."""
    with pytest.raises(error):
        list(chunk("some text", **kwargs))  # type: ignore[arg-type]
    with pytest.raises(error):
        chunk_ids("some text", **kwargs)  # type: ignore[arg-type]


@given(text=st.text(alphabet=st.sampled_from(list("ab .\n'é😀x1,-’中\t")), max_size=300) | st.text(max_size=80),
       size=st.integers(1, 12), overlap=st.integers(0, 3),
       model=st.sampled_from(["gpt-4o", "gpt-4-0613", "gpt2"]))  # fmt: skip
@settings(max_examples=200, deadline=None)
def test_chunk_ids_equal_each_chunks_own_encoding(text: str, size: int, overlap: int, model: str) -> None:
    """Each array of chunk_ids is its chunk's own encoding, with overlap and cuts inside long pieces."""
    overlap = min(overlap, size - 1)
    try:
        arrays = chunk_ids(text, size, model=model, overlap=overlap)
    except BudgetError:
        return  # one character alone over the budget
    chunks = list(chunk(text, size, model=model, overlap=overlap))
    tok = encoding_for(model)
    assert [a.tolist() for a in arrays] == [tok.encode(c.text) for c in chunks]


def test_chunk_tokens_is_the_old_name_of_chunk_ids() -> None:
    """chunk_tokens still returns the ids, with a DeprecationWarning naming chunk_ids."""
    with pytest.warns(DeprecationWarning, match="chunk_ids"):
        old = tokenomy.chunk_tokens("hello world", 1)
    assert [a.tolist() for a in old] == [a.tolist() for a in chunk_ids("hello world", 1)]
    assert next(iter(chunk("hello world", 1))).to_dict() == {"index": 0, "start": 0, "end": 5, "tokens": 1,
                                                             "text": "hello"}  # fmt: skip
