"""Reading dataset files: JSONL lines in bounded memory, from byte ranges of a plain file or
from a compressed stream (gzip, bzip2, xz: told by their first bytes, whatever the name).

A line longer than ``max_line_bytes`` is skipped in 1 MiB steps and handed on as a :class:`TooLong`
(a problem on its line), so a small ``.gz`` that expands to one 1 GiB line costs a few MB.
Anything wrong with the file as a whole (missing, a folder, truncated or corrupt compression)
raises :class:`~tokenomy.errors.InputFileError`.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tokenomy.datasets.stats import Tally
from tokenomy.errors import InputFileError

MAX_LINE_BYTES = 64 << 20  # the default longest line read (64 MiB); longer lines are problems
_SKIP = 1 << 20
_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"))
_STREAM_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError)


@dataclass(frozen=True)
class TooLong:
    """A line longer than the limit, skipped (its size in bytes, newline included)."""

    size: int


@dataclass(frozen=True)
class FileRange:
    """Lines of a plain file that start at byte ``start`` or later and before ``end``; with
    ``compressed``, every line of a compressed file (read from its start)."""

    path: str
    start: int
    end: int
    compressed: bool = False


def compression(path: str) -> str | None:
    """``"gzip"``, ``"bzip2"``, ``"xz"`` or None, from the file's first bytes."""
    try:
        with _open_raw(path) as handle:
            head = handle.read(6)
    except OSError as error:
        raise _file_error(path, error) from None
    return next((name for magic, name in _MAGIC if head.startswith(magic)), None)


def check_file(path: str) -> int:
    """The size of ``path`` in bytes, or an :class:`InputFileError` saying why it cannot be read."""
    if "://" in path:
        return 0  # a remote file: fsspec says what is wrong when it is opened
    try:
        info = os.stat(path)
    except OSError as error:
        raise _file_error(path, error) from None
    if not Path(path).is_file():
        raise InputFileError(path, "it is not a file", "give a JSONL file (or a .gz of one)")
    return info.st_size


def open_lines(path: str) -> IO[bytes]:
    """``path`` opened for reading bytes, decompressed if it is compressed."""
    kind = compression(path)
    try:
        raw = _open_raw(path)
        if kind == "gzip":
            return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
        if kind == "bzip2":
            return bz2.BZ2File(raw, "rb")
        if kind == "xz":
            return lzma.LZMAFile(raw, "rb")
        return raw
    except OSError as error:
        raise _file_error(path, error) from None


def ranges(path: str, size: int, step: int) -> list[FileRange]:
    """``path`` cut into ranges of ``step`` bytes, the last ``4 * step`` into quarters, so that
    processes sharing them finish together (a line belongs to the range it starts in).

    >>> parts = ranges("f", 100, 10)
    >>> [(r.start, r.end) for r in parts[5:8]], len(parts)
    ([(50, 60), (60, 62), (62, 64)], 26)
    """
    step = max(step, 1)
    cuts = list(range(0, max(size - 4 * step, 0), step))
    cuts += range(cuts[-1] + step if cuts else 0, max(size, 1), max(step // 4, 1))
    ends = [*cuts[1:], size]
    return [FileRange(path, start, min(end, size)) for start, end in zip(cuts, ends, strict=True)]


def read_range(task: FileRange, max_line_bytes: int, max_bytes: int, tally: Tally) -> list[Any]:
    """Every line of ``task`` (bytes without the newline, or a :class:`TooLong`), blank ones
    included; ``tally`` gets the lines, bytes and the line that crosses ``max_bytes``."""
    try:
        with _open_raw(task.path) as handle:
            position = task.start
            if position > 0:
                handle.seek(position - 1)
                if handle.read(1) != b"\n":  # inside a line that belongs to the range before
                    position += _skip_line(handle)
            if position >= task.end:
                return []
            return _block(handle, position, task.end, max_line_bytes, max_bytes, tally)
    except _STREAM_ERRORS as error:
        raise _file_error(task.path, error) from None


def read_stream(path: str, max_line_bytes: int) -> Iterator[tuple[int, Any]]:
    """(absolute byte offset, line bytes or :class:`TooLong`) for every line of ``path``,
    blank ones included, decompressing as it goes."""
    try:
        with open_lines(path) as handle:
            position = 0
            while True:
                line = handle.readline(max_line_bytes + 1)
                if not line:
                    return
                start = position
                if len(line) > max_line_bytes and not line.endswith(b"\n"):
                    size = len(line) + _skip_line(handle)
                    position += size
                    yield start, TooLong(size)
                else:
                    position += len(line)
                    yield start, line
    except _STREAM_ERRORS as error:
        raise _file_error(path, error) from None


def _block(handle: IO[bytes], position: int, end: int, limit: int, max_bytes: int, tally: Tally) -> list[Any]:
    """The range read as one block and split in C; the last line, which may run past ``end``, is
    finished from the file within the line limit."""
    first = position
    block = handle.read(end - position)
    lines: list[Any] = block.split(b"\n")
    rest = lines.pop()  # after the last newline: part of a line that goes on past the range, or b""
    position += len(block) - len(rest)
    if lines and max(map(len, lines)) > limit:  # the limit is on the line, its newline not counted
        lines = [TooLong(len(line) + 1) if len(line) > limit else line for line in lines]
    if rest:
        tail = b"" if len(rest) > limit else handle.readline(limit + 1 - len(rest))
        line = rest + tail
        size = len(line)
        if size > limit and not line.endswith(b"\n"):
            size += _skip_line(handle)
            lines.append(TooLong(size))
        else:
            lines.append(line)
        position += size
    if first <= max_bytes < position:  # only one range holds the line that crosses the limit
        at = first
        for number, line in enumerate(lines, start=1):
            at += line.size if isinstance(line, TooLong) else len(line) + 1
            if at > max_bytes:
                tally.byte_line = number
                break
    tally.lines += len(lines)
    tally.bytes += position - first
    return lines


def _skip_line(handle: IO[bytes]) -> int:
    """Read up to and including the next newline in steps of 1 MiB; the bytes read."""
    skipped = 0
    while True:
        chunk = handle.readline(_SKIP)
        skipped += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return skipped


def _open_raw(path: str) -> IO[bytes]:
    if "://" in path:
        try:
            import fsspec  # type: ignore[import-untyped]
        except ImportError:
            raise InputFileError(path, "a URL needs fsspec", 'pip install "tokenomy[dask]"') from None
        return fsspec.open(path, "rb").open()  # type: ignore[no-any-return]
    return open(path, "rb")


def _file_error(path: str, error: BaseException) -> InputFileError:
    if isinstance(error, FileNotFoundError):
        return InputFileError(path, "no such file", "check the path")
    if isinstance(error, IsADirectoryError):
        return InputFileError(path, "it is a folder", "give a JSONL file (or a .gz of one)")
    if isinstance(error, PermissionError):
        return InputFileError(path, "permission denied", "check the file's permissions")
    if isinstance(error, EOFError):
        return InputFileError(path, "the compressed stream ends early (truncated)",
                              "download or copy the file again; `gzip -t` checks a .gz")  # fmt: skip
    if isinstance(error, (zlib.error, lzma.LZMAError, gzip.BadGzipFile)) or "compress" in str(error):
        return InputFileError(path, f"the compressed data is corrupt ({error})",
                              "download or copy the file again; `gzip -t` checks a .gz")  # fmt: skip
    reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
    return InputFileError(path, reason, "check the file")
