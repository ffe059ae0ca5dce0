"""File inputs (tokenomy.files): the text of a plain or PDF file, and what a file part bills in a
request, with and without the optional pypdf."""

from __future__ import annotations

import base64
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import tiktoken_enc
from tokenomy._data import table
from tokenomy.errors import MessageFormatError
from tokenomy.files import FileText, decode_file_data, file_text
from tokenomy.requests import RequestCount, count_request

CHATML = table("chat")["formats"]["chatml"]


def pdf(*pages: str) -> bytes:
    """A minimal PDF, one page per string, each showing it in Helvetica; the xref offsets are exact."""
    count = len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(count))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode()]  # fmt: skip
    font = 3 + 2 * count
    for i, text in enumerate(pages):
        stream = f"BT /F1 12 Tf 72 712 Td ({text}) Tj ET".encode()
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
                       f"/Resources << /Font << /F1 {font} 0 R >> >> >>".encode())  # fmt: skip
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def tok(text: str) -> int:
    return len(tiktoken_enc("o200k_base").encode_ordinary(text))


def data_url(data: bytes) -> str:
    return "data:application/pdf;base64," + base64.b64encode(data).decode()


def chat_file(spec: dict[str, Any]) -> RequestCount:
    message = {"role": "user", "content": [{"type": "file", "file": spec}]}
    return count_request({"model": "gpt-4o", "messages": [message]})


def test_plain_utf8_file() -> None:
    """A file that is not a PDF is its UTF-8 text, one page, no note."""
    assert file_text("notes: café ☕\nline two".encode()) == FileText("notes: café ☕\nline two", 1)


def test_binary_file_that_is_not_a_pdf() -> None:
    """Bytes that are neither a PDF nor UTF-8 give no text and a note."""
    result = file_text(b"\x89PNG\r\n\x1a\n\xff\xfe")
    assert result.text == "" and result.note


def test_pdf_text_is_extracted() -> None:
    """pypdf reads the text of a hand-written one-page PDF."""
    pytest.importorskip("pypdf")
    assert file_text(pdf("Hello PDF")) == FileText("Hello PDF", 1)


def test_multi_page_pdf_is_joined_and_noted() -> None:
    """A multi-page PDF's pages are joined, with a note that the API's joining is not verified."""
    pytest.importorskip("pypdf")
    result = file_text(pdf("First page", "Second page"))
    assert result.pages == 2 and "First page" in result.text and "Second page" in result.text
    assert result.note and "multi-page" in result.note


def test_chat_file_part_bills_text_and_framing() -> None:
    """A chat `file` part bills the PDF's text tokens plus the format's file_part framing."""
    pytest.importorskip("pypdf")
    result = chat_file({"filename": "hello.pdf", "file_data": data_url(pdf("Hello PDF"))})
    framing = int(CHATML["chat"]["file_part"])
    assert result.files == tok("Hello PDF") + framing
    message = int(CHATML["tokens_per_message"]) + tok("user")
    assert result.messages == (message,)
    assert result.tokens == message + result.files + int(CHATML["reply_priming"])
    assert result.exact, result.notes


def test_responses_input_file_bills_text_and_framing() -> None:
    """A Responses `input_file` part bills the PDF's text plus the Responses file_part framing."""
    pytest.importorskip("pypdf")
    part = {"type": "input_file", "filename": "hello.pdf", "file_data": data_url(pdf("Hello PDF"))}
    body = {"model": "gpt-4o", "input": [{"role": "user", "content": [part]}]}
    result = count_request(body, endpoint="/v1/responses")
    assert result.files == tok("Hello PDF") + int(CHATML["responses"]["file_part"])


def test_pdf_without_pypdf_is_framing_and_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without pypdf a PDF part bills its framing only, and the note says to install tokenomy[pdf]."""
    monkeypatch.setitem(sys.modules, "pypdf", None)  # `import pypdf` now raises ImportError
    result = chat_file({"filename": "hello.pdf", "file_data": data_url(pdf("Hello PDF"))})
    assert result.files == int(CHATML["chat"]["file_part"])
    assert not result.exact and any("tokenomy[pdf]" in note for note in result.notes)


def test_damaged_pdf_is_a_note_not_a_crash() -> None:
    """A PDF that cannot be parsed bills its framing only and says so."""
    pytest.importorskip("pypdf")
    damaged = pdf("Hello PDF")[:150]
    result = chat_file({"filename": "broken.pdf", "file_data": data_url(damaged)})
    assert result.files == int(CHATML["chat"]["file_part"])
    assert not result.exact and any("could not be read" in note for note in result.notes)


def test_file_id_part_is_framing_and_a_note() -> None:
    """A file given by id only bills the framing, with a note that the server reads it."""
    result = chat_file({"file_id": "file-abc123"})
    assert result.files == int(CHATML["chat"]["file_part"])
    assert not result.exact and any("by id" in note for note in result.notes)


def test_file_data_as_data_url_or_bare_base64() -> None:
    """file_data is decoded alike from a data: URL and from bare base64, and refused when not a string."""
    raw = pdf("Hello PDF")
    assert (
        decode_file_data(data_url(raw), "f") == decode_file_data(base64.b64encode(raw).decode(), "f") == raw
    )
    with pytest.raises(MessageFormatError):
        chat_file({"filename": "x.pdf", "file_data": 42})


def test_bad_file_data_names_its_path() -> None:
    """file_data that is not a string is reported at messages[i].content[j].file.file_data."""
    with pytest.raises(MessageFormatError) as raised:
        chat_file({"filename": "x.pdf", "file_data": 42})
    assert raised.value.where == "messages[0].content[0].file.file_data"


# ---- properties --------------------------------------------------------------------------------


@given(data=st.binary(max_size=300) | st.binary(max_size=300).map(lambda b: b"%PDF-1.4\n" + b))
@settings(max_examples=150, deadline=None)
def test_any_bytes_give_text_or_a_note(data: bytes) -> None:
    """Any bytes give a FileText: text, or, for bytes that hold some, no text and a note; never an exception."""
    result = file_text(data)
    assert isinstance(result, FileText) and (result.text or result.note or not data)


@given(cut=st.integers(len(b"%PDF-"), len(pdf("Hello PDF")) - 1))
@settings(max_examples=100, deadline=None)
def test_any_truncated_pdf_is_counted_without_crashing(cut: int) -> None:
    """A PDF cut anywhere still counts: its text if pypdf recovers it, else the framing, inexact, with a note."""
    pytest.importorskip("pypdf")
    result = chat_file({"filename": "cut.pdf", "file_data": data_url(pdf("Hello PDF")[:cut])})
    framing = int(CHATML["chat"]["file_part"])
    recovered = result.files == framing + tok("Hello PDF")
    assert recovered or (result.files == framing and not result.exact and result.notes)
