"""``tokenomy count``: tokens of text files and JSON requests per model, and whether they fit.

Text is read as a stream: with ``--max-tokens`` an endless input stops once its count is over the
budget, and several encodings are counted in one pass (stdin cannot be read twice).
"""

from __future__ import annotations

import argparse
import queue
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import tokenomy
from tokenomy.cli.inputs import MAX_JSON_CHARS, Input, json_body
from tokenomy.cli.options import (
    DEFAULT_MODEL,
    EXIT_BAD_INPUT,
    EXIT_OK,
    EXIT_OVER_BUDGET,
    add_max_tokens,
    add_model,
    command,
    reading,
)
from tokenomy.cli.output import emit
from tokenomy.errors import MessageFormatError
from tokenomy.report import text_table


def add_count(sub: Any) -> None:
    """Add ``count`` to the subcommands ``sub``."""
    p = command(sub, "count", "count tokens of text files or JSON chat requests",
                "Count each FILE (text, or a JSON request with 'messages') for each --model, and "
                "whether it fits the model's context window (and --max-tokens).",
                "tokenomy count notes.txt request.json -m gpt-4o -m gpt-4.1 --max-tokens 8000")  # fmt: skip
    with reading(p, "files", "files to count ('-' for stdin); text is read as a stream", nargs="*",
                 handler=_count, usage=p):  # fmt: skip
        add_model(p, repeat=True, help=f"model name (repeatable; default: a request's 'model', else "
                                       f"{DEFAULT_MODEL})")  # fmt: skip
        add_max_tokens(p, "exit 1 if any count exceeds N (a pre-flight check); reading stops once over N",
                       required=False)  # fmt: skip


def _count(args: argparse.Namespace) -> int:
    if not args.files:
        if sys.stdin is None or sys.stdin.isatty():  # nothing piped in: say how, rather than wait
            args.usage.print_help(sys.stderr)
            print("tokenomy: count needs a FILE, or text piped in", file=sys.stderr)
            return EXIT_BAD_INPUT
        args.files = ["-"]
    rows: list[dict[str, Any]] = []
    for path in args.files:
        rows += _count_file(path, args)
    emit(rows, _table(rows, args.max_tokens), as_json=args.json)
    over = [r for r in rows if r.get("within_max_tokens") is False]
    for r in over:
        size = f"{r['tokens']:,}" if r["tokens"] is not None else f"more than {r['more_than']:,}"
        print(f"tokenomy: over budget: {r['file']} is {size} tokens for {r['model']}, more than "
              f"--max-tokens {args.max_tokens:,}", file=sys.stderr)  # fmt: skip
    return EXIT_OVER_BUDGET if over else EXIT_OK


def _table(rows: list[dict[str, Any]], max_tokens: int | None) -> str:
    """The rows as a text table, with what its marks mean and every note once below it."""
    yes_no = {True: "yes", False: "NO", None: "?"}
    header = ["file", "model", "snapshot", "tokens", "window", "fits"]
    if max_tokens is not None:
        header.append(f"<= {max_tokens:,}")
    table = [
        [
            Path(r["file"]).name,
            r["model"],
            r["snapshot"],
            (f"{r['tokens']:,}" if r["tokens"] is not None else f"> {r['more_than']:,}")
            + ("" if r["exact"] else " ~"),
            r["context_window"],
            yes_no[r["fits"]],
            *([yes_no[r["within_max_tokens"]]] if max_tokens is not None else []),
        ]
        for r in rows
    ]
    text = text_table(header, table)
    if any(not r["exact"] for r in rows):
        text += "\n~ estimate: a rule or fact used is not verified for this model (notes below)"
    if any(r["tokens"] is None for r in rows):
        text += "\n> over --max-tokens: reading stopped there"
    notes = dict.fromkeys(note for r in rows for note in r["notes"])
    return text + "".join(f"\nnote: {note}" for note in notes)


def _count_file(path: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """One row per model for one input: a JSON request counted as a request (the row holds its
    ``RequestCount.to_dict()``), else text, read as a stream (stopped once over --max-tokens)."""
    source = Input(path)
    try:
        request, text = None, None
        if source.looks_like_json():
            text = source.read_all(MAX_JSON_CHARS)
            body = json_body(text, path)
            if isinstance(body, dict) and ("messages" in body or "input" in body):
                request = body
                if "model" in request and not isinstance(request["model"], str):
                    raise MessageFormatError(f"{path}: model", "a request body's 'model' is a string")
        names = args.model or ([request["model"]] if request and "model" in request else [DEFAULT_MODEL])
        infos = {name: tokenomy.model_info(name, as_of=args.as_of) for name in names}
        counts: dict[str, int] = {}
        if request is None:  # count each encoding once, all in one pass
            by_encoding = {name: info.encoding or name for name, info in infos.items()}
            tokenizers = {enc: tokenomy.encoding_for(enc) for enc in dict.fromkeys(by_encoding.values())}
            if text is not None:
                found = [tok.count(text) for tok in tokenizers.values()]
            else:
                found = _stream_counts(source, list(tokenizers.values()), args.max_tokens)
            counts = dict(zip(tokenizers, found, strict=True))
    finally:
        source.close()
    rows = []
    for name, info in infos.items():
        row: dict[str, Any] = {"file": path, "model": name, "snapshot": info.snapshot}
        if request is not None:
            endpoint = "/v1/chat/completions" if "messages" in request else "/v1/responses"
            result = tokenomy.count_request({**request, "model": name}, endpoint=endpoint, as_of=args.as_of)
            row["kind"] = "chat"
            row.update((key, value) for key, value in result.to_dict().items() if key not in row)
        else:
            tokens = counts[by_encoding[name]]
            stopped = args.max_tokens is not None and tokens > args.max_tokens and text is None
            # the count is exact for the model's tokenizer; a tokenizer assumed from a prefix is not
            row.update(kind="text", tokens=None if stopped else tokens, exact=not info.assumptions,
                       notes=list(info.assumptions))  # fmt: skip
            if stopped:
                row["more_than"] = args.max_tokens
        window, tokens = info.context_window, row["tokens"]
        fits = None if window is None or (tokens is None and args.max_tokens < window) else (
            tokens is not None and tokens <= window)  # fmt: skip
        row.update(context_window=window, fits=fits)
        if args.max_tokens is not None:
            row["within_max_tokens"] = tokens is not None and tokens <= args.max_tokens
        rows.append(row)
    return rows


def _stream_counts(source: Input, tokenizers: Sequence[tokenomy.Tokenizer], most: int | None) -> list[int]:
    """Each tokenizer's count of one pass over ``source`` (stdin cannot be read twice), in bounded
    memory; with ``most``, a count stops once over it (and is then some number above it)."""
    if len(tokenizers) == 1:
        return [tokenizers[0].count_stream(source.blocks(), max_tokens=most)]
    feeds: list[queue.Queue[str | None]] = [queue.Queue(maxsize=4) for _ in tokenizers]
    done = [threading.Event() for _ in tokenizers]
    results: list[Any] = [None] * len(tokenizers)

    def run(k: int) -> None:
        def blocks() -> Iterator[str]:
            while (block := feeds[k].get()) is not None:
                yield block

        try:
            results[k] = tokenizers[k].count_stream(blocks(), max_tokens=most)
        except BaseException as error:  # handed to the reading thread
            results[k] = error
        finally:
            done[k].set()

    def offer(item: str | None) -> None:
        for feed, finished in zip(feeds, done, strict=True):
            while not finished.is_set():
                try:
                    feed.put(item, timeout=0.05)
                    break
                except queue.Full:
                    continue

    threads = [threading.Thread(target=run, args=(k,), daemon=True) for k in range(len(tokenizers))]
    for thread in threads:
        thread.start()
    try:
        for block in source.blocks():
            offer(block)
            if all(finished.is_set() for finished in done):
                break
    finally:
        offer(None)
        for thread in threads:
            thread.join()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results
