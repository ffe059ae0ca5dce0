"""File inputs: the text the API extracts from a PDF (or a plain-text file) sent with a request.

The API bills a PDF part as the tokens of its extracted text plus a fixed framing (``data/chat.toml``
``[files]``). Extracting that text needs a PDF parser: ``pip install "tokenomy[pdf]"`` adds pypdf
(pure Python); without it a PDF is counted as the framing alone and the result says so.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
from dataclasses import dataclass
from typing import Any

from tokenomy.errors import MessageFormatError

# a file larger than this is refused rather than decoded (the API's own limit is far lower)
MAX_FILE_BYTES = 64 << 20


@dataclass(frozen=True)
class FileText:
    """The text of one file part, or why it could not be read."""

    text: str
    pages: int
    note: str | None = None


def decode_file_data(data: Any, where: str) -> bytes:
    """The bytes of a ``file_data`` value (a base64 string or a ``data:`` URL)."""
    if not isinstance(data, str):
        raise MessageFormatError(where, "file_data must be a base64 string or a data: URL")
    payload = data.partition(",")[2] if data.startswith("data:") else data
    if len(payload) > MAX_FILE_BYTES * 4 // 3 + 4:
        raise MessageFormatError(where, f"file of over {MAX_FILE_BYTES >> 20} MiB")
    try:
        return base64.b64decode(payload + "=" * (-len(payload) % 4), validate=False)
    except (binascii.Error, ValueError) as error:
        raise MessageFormatError(where, f"file_data is not valid base64 ({error})") from None


def file_text(data: bytes) -> FileText:
    """Text of a PDF (with pypdf) or of a UTF-8 text file.

    >>> file_text(b"plain notes").text
    'plain notes'
    """
    if data[:5] != b"%PDF-":
        try:
            return FileText(data.decode("utf-8"), 1)
        except UnicodeDecodeError:
            return FileText("", 0, "a binary file that is not a PDF: its billed content is unknown")
    try:
        import pypdf  # optional: tokenomy[pdf]
    except ImportError:
        return FileText("", 0, 'PDF text not extracted: pip install "tokenomy[pdf]" (pypdf) to count it')
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # malformed PDFs log every repair
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        pages = [page.extract_text() for page in reader.pages]
    except Exception as error:  # pypdf raises many kinds on damaged files
        return FileText("", 0,
            f"the PDF could not be read ({type(error).__name__}); its billed text is unknown")
    note = None if len(pages) == 1 else "multi-page PDFs: how the API joins pages is not verified"
    return FileText("".join(pages), len(pages), note)
