"""Reading the command line's inputs: a file or stdin, block by block, and JSON request bodies.

Every read or decoding failure becomes an :class:`~tokenomy.errors.InputFileError` naming the
file (exit 2).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import IO, Any

from tokenomy.errors import InputFileError, MessageFormatError, short

# A JSON request is parsed whole; past this size a file is refused rather than read into memory.
MAX_JSON_CHARS = 256 << 20
_BLOCK = 1 << 16  # characters read at a time


class Input:
    """One input file (or stdin, ``"-"``) read block by block; read and decoding errors become
    InputFileError naming the file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._own: IO[str] | None = None
        try:
            if path == "-":
                self._stream: IO[str] = sys.stdin
            else:  # universal newlines, as Path.read_text reads them
                self._stream = self._own = open(path, encoding="utf-8")  # noqa: SIM115
        except OSError as error:
            raise InputFileError(path, error.strerror or str(error)) from None
        except ValueError:  # a NUL byte in the name
            raise InputFileError(repr(path), "a file name cannot hold a NUL character") from None
        self.pending = ""  # read ahead (to tell a JSON request from text), given back first

    def read(self, size: int = _BLOCK) -> str:
        if self.pending:
            block, self.pending = self.pending, ""
            return block
        try:
            return self._stream.read(size)
        except UnicodeDecodeError as error:
            raise InputFileError(self.path, f"not UTF-8 text (byte {error.start} of a block)") from None
        except OSError as error:
            raise InputFileError(self.path, error.strerror or str(error)) from None

    def blocks(self) -> Iterator[str]:
        while block := self.read():
            yield block

    def read_all(self, most: int) -> str:
        parts, size = [], 0
        for block in self.blocks():
            parts.append(block)
            size += len(block)
            if size > most:
                raise InputFileError(self.path, f"more than {most >> 20} MB of JSON (the most read)")
        return "".join(parts)

    def looks_like_json(self) -> bool:
        """True if the input starts with '{' (after whitespace); what was read is kept for later."""
        head = ""
        while len(head) < 1 << 20:  # a megabyte of leading whitespace is text
            block = self.read()
            if not block:
                break
            head += block
            if head.strip():
                break
        self.pending = head
        return head.lstrip().startswith("{")

    def close(self) -> None:
        if self._own is not None:
            self._own.close()


def json_body(text: str, path: str) -> Any:
    """``text`` parsed as JSON; what cannot be parsed is an InputFileError naming ``path``.

    >>> json_body('{"model": "gpt-4o"}', "request.json")
    {'model': 'gpt-4o'}
    >>> json_body('{"model": ', "request.json")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    tokenomy.errors.InputFileError: cannot read request.json: malformed JSON at line 1: Expecting value...
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InputFileError(path, f"malformed JSON at line {error.lineno}: {error.msg}") from None
    except (ValueError, RecursionError) as error:  # a 5,000-digit number, nesting past the parser's
        problem = f"JSON that cannot be read ({type(error).__name__}: {short(str(error))})"
        raise InputFileError(path, problem) from None


def read_request(path: str) -> dict[str, Any]:
    """The JSON object in ``path`` (at most :data:`MAX_JSON_CHARS`), a request body."""
    source = Input(path)
    try:
        body = json_body(source.read_all(MAX_JSON_CHARS), path)
    finally:
        source.close()
    if not isinstance(body, dict):
        raise MessageFormatError(path, "a request body is a JSON object")
    return body


def read_text(path: str) -> str:
    """The whole text of ``path``."""
    source = Input(path)
    try:
        return "".join(source.blocks())
    finally:
        source.close()
