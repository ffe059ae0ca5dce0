"""The one stream reader and the segment-wise counting that count_stream, count_until and chunk share."""

from __future__ import annotations

import io
import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import tiktoken_enc
from tokenomy import chunk, encoding_for
from tokenomy._streams import count_blocks, count_segments, even_cuts, text_blocks

WORDS = st.lists(st.sampled_from(["hello", " world", "  ", "\n\n", "é", "日本", "x" * 50, ".", "'s"]), max_size=80)


def test_a_file_is_read_in_growing_blocks() -> None:
    """A file is read ``first`` characters at a time, then twice as many, up to ``most``; the blocks
    join to the file."""
    text = "abcdefghij" * 10
    blocks = list(text_blocks(io.StringIO(text), "reader", first=3, most=20))
    assert "".join(blocks) == text
    assert [len(b) for b in blocks[:4]] == [3, 6, 12, 20]


@pytest.mark.parametrize("reader", ["count_stream", "chunk()"])
def test_count_stream_and_chunk_refuse_the_same_inputs(reader: str) -> None:
    """A block that is not text, and a source that is neither a file nor an iterable, are TypeErrors
    from both readers, each naming itself."""
    tok = encoding_for("o200k_base")

    def read(source: object) -> object:
        if reader == "count_stream":
            return tok.count_stream(source)  # type: ignore[arg-type]
        return list(chunk(source, 100, model="gpt-4o"))  # type: ignore[arg-type]

    with pytest.raises(TypeError, match=re.escape(f"{reader} reads text; got a bytes block")):
        read(iter(["fine", b"bytes"]))
    with pytest.raises(TypeError):
        read(42)


@given(parts=WORDS, settle=st.integers(1, 40))
@settings(max_examples=100, deadline=None)
def test_blocks_count_as_the_whole(parts: list[str], settle: int) -> None:
    """Counting block by block, up to each block's last additive cut, gives the count of the whole."""
    count = encoding_for("cl100k_base").count
    got = count_blocks(parts, count, lambda t, n: count(t), lambda chars: 0, settle=settle, most=4 * settle,
                       max_tokens=None)  # fmt: skip
    assert got == len(tiktoken_enc("cl100k_base").encode_ordinary("".join(parts)))


@given(parts=WORDS, segment=st.integers(1, 60), pieces=st.integers(1, 9))
@settings(max_examples=100, deadline=None)
def test_segments_and_even_cuts_are_additive(parts: list[str], segment: int, pieces: int) -> None:
    """Segments cut at additive points count as the whole; even cuts are increasing, with both ends."""
    text, count = "".join(parts), encoding_for("o200k_base").count
    assert count_segments(text, segment, count) == count(text)
    cuts = even_cuts(text, pieces)
    assert cuts[0] == 0 and cuts[-1] == len(text)
    assert all(a < b for a, b in itertools.pairwise(cuts)) or not text
    assert sum(count(text[a:b]) for a, b in itertools.pairwise(cuts)) == count(text)
