"""``tokenomy fit`` and ``tokenomy chunk``: a text file cut to a budget, or split into chunks."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import Any

import tokenomy
from tokenomy.cli.inputs import Input, read_text
from tokenomy.cli.options import (
    DEFAULT_MODEL,
    EXIT_OK,
    add_max_tokens,
    add_model,
    command,
    reading,
    whole_number,
)
from tokenomy.cli.output import emit


def add_fit(sub: Any) -> None:
    """Add ``fit`` to the subcommands ``sub``."""
    p = command(sub, "fit", "truncate a text file to a token budget",
                "Print FILE cut to at most --max-tokens tokens; what was cut goes to stderr.",
                "tokenomy fit notes.txt --max-tokens 8000 --side middle > short.txt")  # fmt: skip
    with reading(p, "file", "text file ('-' for stdin)", handler=_fit):
        add_max_tokens(p, "token budget")
        p.add_argument("--side", choices=["end", "start", "middle"], default="end", help="where to cut")
        p.add_argument("--marker", default="…", help="joins the two ends with --side middle")
        add_model(p, default=DEFAULT_MODEL)


def add_chunk(sub: Any) -> None:
    """Add ``chunk`` to the subcommands ``sub``."""
    p = command(sub, "chunk", "split a text file into exact chunks (JSONL)",
                "Print one JSON line per chunk: index, start, end, tokens, text.",
                "tokenomy chunk book.txt --max-tokens 512 --overlap 64 -m text-embedding-3-small")
    with reading(p, "file", "text file ('-' for stdin), read as a stream", handler=_chunk):
        add_max_tokens(p, "tokens per chunk at most")
        p.add_argument("--overlap", type=whole_number, default=0, metavar="K",
                       help="tokens repeated from the previous chunk")  # fmt: skip
        add_model(p, default=DEFAULT_MODEL)


def _fit(args: argparse.Namespace) -> int:
    _notes(args.model, args.as_of)
    result = tokenomy.truncate(read_text(args.file), args.max_tokens, model=args.model, side=args.side,
                               marker=args.marker)  # fmt: skip
    if args.json:  # Truncation has no to_dict() yet
        data = {"text": result.text, "tokens": result.tokens, "kept": result.kept,
                "dropped_chars": result.dropped_chars, "dropped_tokens": result.dropped_tokens,
                "truncated": result.truncated}  # fmt: skip
        emit(data, "", as_json=True)
    else:
        sys.stdout.write(result.text)
        print(f"tokenomy: kept {result.tokens} tokens; cut {result.dropped_tokens} tokens "
              f"({result.dropped_chars} characters)", file=sys.stderr)  # fmt: skip
    return EXIT_OK


def _chunk(args: argparse.Namespace) -> int:
    # JSON lines whether or not --json is given: one line per chunk, each printed once settled
    _notes(args.model, args.as_of)
    source = Input(args.file)
    try:
        for piece in tokenomy.chunk(source.blocks(), args.max_tokens, model=args.model, overlap=args.overlap):
            # Chunk has no to_dict() yet
            record = {"index": piece.index, "start": piece.start, "end": piece.end, "tokens": piece.tokens,
                      "text": piece.text}  # fmt: skip
            print(json.dumps(record, ensure_ascii=False))
    finally:
        source.close()
    return EXIT_OK


def _notes(model: str, as_of: date | None) -> None:
    """Print to stderr what the registry assumed for ``model`` (a prefix that decided, ...)."""
    for note in tokenomy.model_info(model, as_of=as_of).assumptions:
        print(f"tokenomy: note: {note}", file=sys.stderr)
