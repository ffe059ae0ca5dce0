"""tokenomy._exchanges: the guard's reading of request bodies (the transport itself is tested end
to end in test_openai_guard.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenomy import _exchanges
from tokenomy._exchanges import _loads

# JSON values as the SDK writes them, integers of every width and floats of every kind included
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def _read(call: Any) -> str:
    """The value read, with its types (1 and 1.0 apart, NaN equal to itself), or the error's type."""
    try:
        return repr(call())
    except ValueError as exc:
        return type(exc).__name__


@settings(max_examples=500, deadline=None)
@given(value=_VALUES, ascii_only=st.booleans())
def test_a_body_reads_as_json_reads_it(value: Any, ascii_only: bool) -> None:
    """Whichever parser reads it, a body gives json.loads's value, types included."""
    raw = json.dumps({"model": "gpt-4o", "extra": value}, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    assert _read(lambda: _loads(raw)) == _read(lambda: json.loads(raw))


@pytest.mark.parametrize("raw", [
    b'{"max_tokens": 12345678901234567890}', b'{"n": -12345678901234567890}', b'{"n": 9223372036854775808}',
    b'{"t": NaN}', b'{"t": Infinity}', b'{"t": 1e400}', b'{"s": "\\ud800"}', b'\xef\xbb\xbf{"a": 1}',
    '{"a": 1}'.encode("utf-16"), b'{"a": 1', b'{"a": 1} x', b'\xff{}', b'[1, 2]', b'"text"',
])  # fmt: skip
def test_json_beyond_the_standard_reads_as_json_reads_it(raw: bytes) -> None:
    """NaN, huge numbers, lone surrogates, a BOM, UTF-16, and broken JSON: json.loads's value or error."""
    assert _read(lambda: _loads(raw)) == _read(lambda: json.loads(raw))


def test_orjson_reads_the_common_body(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the fast extra, orjson reads the common body; one with a long integer goes to json."""
    orjson_loads = _exchanges._orjson_loads
    if orjson_loads is None:
        pytest.skip("orjson is not installed")
    read: list[bytes] = []
    monkeypatch.setattr(_exchanges, "_orjson_loads", lambda raw: read.append(raw) or orjson_loads(raw))
    common = b'{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}],"max_tokens":60}'
    long = b'{"model":"gpt-4o","max_tokens":12345678901234567890}'
    assert _loads(common)["max_tokens"] == 60 and _loads(long)["max_tokens"] == 12345678901234567890
    assert read == [common]
