"""The ``tokenomy`` command: parses arguments, calls the public API, prints.

Exit codes: 0 success, 1 over budget (``count --max-tokens``) and nothing else, 2 bad input or
usage, 3 an internal error (a bug in tokenomy), 130 interrupted. Errors are one line on stderr;
``--debug`` adds the traceback of an internal error. Text is read as a stream: ``count`` of an
endless input with ``--max-tokens`` stops once the count is over it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import queue
import sys
import textwrap
import threading
import traceback
import warnings
from collections.abc import Iterator, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, NoReturn

import tokenomy
from tokenomy.errors import InputFileError, MessageFormatError, TokenomyError, short
from tokenomy.report import text_table

EXIT_OK, EXIT_OVER_BUDGET, EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EPILOG = ("exit codes: 0 success, 1 over budget (count --max-tokens), 2 bad input or usage, 3 internal "
          "error (a bug: --debug shows the traceback), 130 interrupted")  # fmt: skip
# A JSON request is parsed whole; past this size a file is refused rather than read into memory.
MAX_JSON_CHARS = 256 << 20
_BLOCK = 1 << 16  # characters read at a time


class _UsageError(Exception):
    """A command line argparse refuses (shown as one line, exit 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"tokenomy: {message} (see `{self.prog} --help`)")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the example's layout and shows each option's default where it has one."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        shown = not any(default is v for v in (None, False, argparse.SUPPRESS)) and default != []
        if shown and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


def _count_arg(text: str) -> int:
    """A whole number >= 0 (a negative budget or count is a usage error)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; give a whole number >= 0")
    return value


def _command(sub: Any, name: str, summary: str, description: str, example: str) -> argparse.ArgumentParser:
    """A subcommand whose help shows its defaults, one example and the exit codes."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=summary, description=textwrap.fill(description, 88), formatter_class=_Formatter,
        epilog=f"example:\n  {example}\n\n{EPILOG}",
    )  # fmt: skip
    return parser


def _add_common(parser: argparse.ArgumentParser, model: bool = True) -> None:
    if model:
        parser.add_argument("--model", "-m", help="model name (default: gpt-4o)")
    parser.add_argument("--as-of", type=date.fromisoformat, metavar="YYYY-MM-DD",
                        help="resolve models on this date (default: today)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    _add_debug(parser, argparse.SUPPRESS)


def _add_debug(parser: argparse.ArgumentParser, default: Any) -> None:
    # SUPPRESS on subcommands: their default would overwrite a --debug given before the command
    parser.add_argument("--debug", action="store_true", default=default,
                        help="on an internal error (exit 3), print its traceback")  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tokenomy", description="Exact OpenAI token counts, budgets, chunks and costs.",
        epilog=f"example:\n  tokenomy count notes.txt -m gpt-4o --max-tokens 8000\n\n{EPILOG}",
        formatter_class=_Formatter,
    )  # fmt: skip
    parser.add_argument("--version", action="version", version=f"tokenomy {tokenomy.__version__}")
    _add_debug(parser, False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = _command(sub, "count", "count tokens of text files or JSON chat requests",
                 "Count each FILE (text, or a JSON request with 'messages') for each --model, and "
                 "whether it fits the model's context window (and --max-tokens).",
                 "tokenomy count notes.txt request.json -m gpt-4o -m gpt-4.1 --max-tokens 8000")  # fmt: skip
    p.add_argument("files", nargs="*", help="files to count ('-' for stdin); text is read as a stream")
    p.add_argument("--model", "-m", action="append", help="model name (repeatable; default: gpt-4o)")
    p.add_argument("--max-tokens", type=_count_arg, metavar="N",
                   help="exit 1 if any count exceeds N (a pre-flight check); reading stops once "
                        "over N")  # fmt: skip
    _add_common(p, model=False)
    p.set_defaults(handler=_count, usage=p)

    p = _command(sub, "fit", "truncate a text file to a token budget",
                 "Print FILE cut to at most --max-tokens tokens; what was cut goes to stderr.",
                 "tokenomy fit notes.txt --max-tokens 8000 --side middle > short.txt")  # fmt: skip
    p.add_argument("file", help="text file ('-' for stdin)")
    p.add_argument("--max-tokens", type=_count_arg, required=True, metavar="N", help="token budget")
    p.add_argument("--side", choices=["end", "start", "middle"], default="end", help="where to cut")
    p.add_argument("--marker", default="…", help="joins the two ends with --side middle")
    _add_common(p)
    p.set_defaults(handler=_fit)

    p = _command(sub, "chunk", "split a text file into exact chunks (JSONL)",
                 "Print one JSON line per chunk: index, start, end, tokens, text.",
                 "tokenomy chunk book.txt --max-tokens 512 --overlap 64 -m text-embedding-3-small")
    p.add_argument("file", help="text file ('-' for stdin), read as a stream")
    p.add_argument("--max-tokens", type=_count_arg, required=True, metavar="N",
                   help="tokens per chunk at most")  # fmt: skip
    p.add_argument("--overlap", type=_count_arg, default=0, metavar="K",
                   help="tokens repeated from the previous chunk")  # fmt: skip
    _add_common(p)
    p.set_defaults(handler=_chunk)

    p = _command(sub, "cost", "price a request body or token counts",
                 "Price a JSON request FILE, or --input-tokens/--output-tokens for --model.",
                 "tokenomy cost -m gpt-4o --input-tokens 120000 --output-tokens 800 --batch")  # fmt: skip
    p.add_argument("file", nargs="?",
                   help=f"JSON request body ('-' for stdin; at most {MAX_JSON_CHARS >> 20} MB)")  # fmt: skip
    p.add_argument("--endpoint", default="/v1/chat/completions", help="API path the body is sent to")
    p.add_argument("--input-tokens", type=_count_arg, metavar="N", help="prompt tokens (with --model)")
    p.add_argument("--output-tokens", type=_count_arg, metavar="N",
                   help="output tokens (default: the request's max_tokens)")  # fmt: skip
    p.add_argument("--cached-tokens", type=_count_arg, default=0, metavar="N",
                   help="part of the prompt served from cache")  # fmt: skip
    p.add_argument("--batch", action="store_true", help="price at the Batch API rate")
    _add_common(p)
    p.set_defaults(handler=_cost)

    p = _command(sub, "analyze", "report on a JSONL dataset",
                 "Tokens, distribution, over-limit records, format problems and cost of Batch API, "
                 "fine-tuning, chat or text JSONL files (.gz too).",
                 "tokenomy analyze batch_input.jsonl --kind batch")  # fmt: skip
    p.add_argument("paths", nargs="+", help="JSONL files")
    p.add_argument("--kind", choices=["batch", "fine-tune", "chat", "text"], default="batch",
                   help="what each line is")  # fmt: skip
    p.add_argument("--epochs", type=_count_arg, help="fine-tuning epochs (default: OpenAI's rule)")
    p.add_argument("--engine", choices=["local", "dask"], default="local", help="where to compute")
    p.add_argument("--scheduler", help="Dask scheduler address (with --engine dask)")
    p.add_argument("--what-if", metavar="MODELS",
                   help="also count and price the same records on each of these models (comma-separated)")
    p.add_argument("--max-line-bytes", type=_count_arg, default=64 << 20, metavar="N",
                   help="longer lines are reported as problems, not read")  # fmt: skip
    _add_common(p)
    p.set_defaults(handler=_analyze)

    p = _command(sub, "reconcile", "predicted against billed prompt tokens of a Batch job",
                 "Join a Batch input file with its output file by custom_id: predicted and billed prompt "
                 "tokens per request, exact share per model and feature, billed cost, and every "
                 "malformed, unmatched or failed line by line number; --calibrate fits the counting "
                 "constants.",
                 "tokenomy reconcile input.jsonl output.jsonl --calibrate rules.toml")  # fmt: skip
    p.add_argument("requests", help="Batch input JSONL (.gz too)")
    p.add_argument("results", help="Batch output JSONL (.gz too)")
    p.add_argument("--calibrate", metavar="RULES.toml", help="fit counting constants and write them here")
    p.add_argument("--engine", choices=["local", "dask"], default="local", help="where to count")
    p.add_argument("--scheduler", help="Dask scheduler address (with --engine dask)")
    _add_common(p, model=False)
    p.set_defaults(handler=_reconcile)

    p = _command(sub, "models", "list the model registry",
                 "Models with windows, output caps, prices per 1M tokens and status.",
                 "tokenomy models gpt-4.1 --kind chat --as-of 2025-06-01")  # fmt: skip
    p.add_argument("filter", nargs="?", default="", help="only names containing this text")
    p.add_argument("--kind", help="chat, completion, embedding, moderation, image, audio-stt, ...")
    _add_common(p, model=False)
    p.set_defaults(handler=_models)

    p = sub.add_parser(
        "endpoints",
        help="list API paths: status, data use, retention, zero data retention",
        epilog=EPILOG,
        description="Each API path on --as-of: status, training use, default retention, zero data "
        "retention eligibility (its limits as footnotes), registry models served, shutdown and replacement.",
    )
    p.add_argument("filter", nargs="?", default="", help="only paths containing this text")
    _add_common(p, model=False)
    p.set_defaults(handler=_endpoints)
    return parser


class _Input:
    """One input file (or stdin) read block by block; read and decoding errors become
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

    def close(self) -> None:
        if self._own is not None:
            self._own.close()


def _looks_like_json(source: _Input) -> bool:
    """True if the input starts with '{' (after whitespace); what was read is kept for later."""
    head = ""
    while len(head) < 1 << 20:  # a megabyte of leading whitespace is text
        block = source.read()
        if not block:
            break
        head += block
        if head.strip():
            break
    source.pending = head
    return head.lstrip().startswith("{")


def _json_body(text: str, path: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InputFileError(path, f"malformed JSON at line {error.lineno}: {error.msg}") from None
    except (ValueError, RecursionError) as error:  # a 5,000-digit number, nesting past the parser's
        problem = f"JSON that cannot be read ({type(error).__name__}: {short(str(error))})"
        raise InputFileError(path, problem) from None


def _read(path: str) -> str:
    source = _Input(path)
    try:
        return "".join(source.blocks())
    finally:
        source.close()


def _stream_counts(source: _Input, tokenizers: Sequence[tokenomy.Tokenizer], most: int | None) -> list[int]:
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


def _print(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False) if args.json else text)


def _count(args: argparse.Namespace) -> int:
    if not args.files:
        if sys.stdin is None or sys.stdin.isatty():  # nothing piped in: say how, rather than wait
            args.usage.print_help(sys.stderr)
            print("tokenomy: count needs a FILE, or text piped in", file=sys.stderr)
            return 2
        args.files = ["-"]
    rows: list[dict[str, Any]] = []
    for path in args.files:
        rows += _count_file(path, args)
    yes_no = {True: "yes", False: "NO", None: "?"}
    header = ["file", "model", "snapshot", "tokens", "window", "fits"]
    if args.max_tokens is not None:
        header.append(f"<= {args.max_tokens:,}")
    table = [
        [
            Path(r["file"]).name,
            r["model"],
            r["snapshot"],
            (f"{r['tokens']:,}" if r["tokens"] is not None else f"> {r['more_than']:,}")
            + ("" if r["exact"] else " ~"),
            r["context_window"],
            yes_no[r["fits"]],
            *([yes_no[r["within_max_tokens"]]] if args.max_tokens is not None else []),
        ]
        for r in rows
    ]
    text = text_table(header, table)
    if any(not r["exact"] for r in rows):
        text += "\n~ estimate: a rule or fact used is not verified for this model (notes below)"
    if any(r["tokens"] is None for r in rows):
        text += "\n> over --max-tokens: reading stopped there"
    notes = dict.fromkeys(note for r in rows for note in r["notes"])
    text += "".join(f"\nnote: {note}" for note in notes)
    _print(args, rows, text)
    over = [r for r in rows if r.get("within_max_tokens") is False]
    for r in over:
        size = f"{r['tokens']:,}" if r["tokens"] is not None else f"more than {r['more_than']:,}"
        print(f"tokenomy: over budget: {r['file']} is {size} tokens for {r['model']}, more than "
              f"--max-tokens {args.max_tokens:,}", file=sys.stderr)  # fmt: skip
    return EXIT_OVER_BUDGET if over else EXIT_OK


def _count_file(path: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """One row per model for one input: a JSON request counted as a request, else text, read
    as a stream (stopped once over --max-tokens)."""
    source = _Input(path)
    try:
        request, text = None, None
        if _looks_like_json(source):
            text = source.read_all(MAX_JSON_CHARS)
            body = _json_body(text, path)
            if isinstance(body, dict) and ("messages" in body or "input" in body):
                request = body
                if "model" in request and not isinstance(request["model"], str):
                    raise MessageFormatError(f"{path}: model", "a request body's 'model' is a string")
        names = args.model or ([request["model"]] if request and "model" in request else ["gpt-4o"])
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
            row.update(kind="chat", tokens=result.tokens, exact=result.exact, notes=list(result.notes))
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


def _fit(args: argparse.Namespace) -> int:
    model = args.model or "gpt-4o"
    _notes(model, args.as_of)
    result = tokenomy.truncate(
        _read(args.file), args.max_tokens, model=model, side=args.side, marker=args.marker
    )
    data = {
        "text": result.text,
        "tokens": result.tokens,
        "kept": result.kept,
        "dropped_chars": result.dropped_chars,
        "dropped_tokens": result.dropped_tokens,
        "truncated": result.truncated,
    }
    if args.json:
        _print(args, data, "")
    else:
        sys.stdout.write(result.text)
        print(
            f"tokenomy: kept {result.tokens} tokens; cut {result.dropped_tokens} tokens "
            f"({result.dropped_chars} characters)",
            file=sys.stderr,
        )
    return 0


def _chunk(args: argparse.Namespace) -> int:
    model = args.model or "gpt-4o"
    _notes(model, args.as_of)
    source = _Input(args.file)
    try:  # chunked as it is read: each chunk is printed once settled
        for piece in tokenomy.chunk(source.blocks(), args.max_tokens, model=model, overlap=args.overlap):
            record = {
                "index": piece.index,
                "start": piece.start,
                "end": piece.end,
                "tokens": piece.tokens,
                "text": piece.text,
            }
            print(json.dumps(record, ensure_ascii=False))
    finally:
        source.close()
    return 0


def _notes(model: str, as_of: date | None) -> None:
    """Print to stderr what the registry assumed for ``model`` (a prefix that decided, ...)."""
    for note in tokenomy.model_info(model, as_of=as_of).assumptions:
        print(f"tokenomy: note: {note}", file=sys.stderr)


def _cost(args: argparse.Namespace) -> int:
    if args.file:
        source = _Input(args.file)
        try:
            body = _json_body(source.read_all(MAX_JSON_CHARS), args.file)
        finally:
            source.close()
        if not isinstance(body, dict):
            raise MessageFormatError(args.file, "a request body is a JSON object")
        if args.model:
            body["model"] = args.model
        counted = tokenomy.count_request(body, endpoint=args.endpoint, as_of=args.as_of)
        cost = tokenomy.cost_of_request(counted, output_tokens=args.output_tokens, batch=args.batch)
    elif args.model and args.input_tokens is not None:
        cost = tokenomy.estimate_cost(
            args.model,
            args.input_tokens,
            args.output_tokens or 0,
            args.cached_tokens,
            batch=args.batch,
            as_of=args.as_of,
        )
    else:
        raise _UsageError("tokenomy: cost needs a JSON request FILE, or --model with --input-tokens "
                          "(see `tokenomy cost --help`)")  # fmt: skip
    notes = "\n".join(f"note: {n}" for n in cost.notes)
    _print(args, cost.to_dict(), str(cost) + ("\n" + notes if notes else ""))
    return 0


def _analyze(args: argparse.Namespace) -> int:
    for path in args.paths:
        if "\x00" in path:
            raise InputFileError(repr(path), "a file name cannot hold a NUL character")
    if args.engine == "dask":
        from tokenomy.dask import analyze as dask_analyze

        report = dask_analyze(args.paths, kind=args.kind, model=args.model, as_of=args.as_of,
                              epochs=args.epochs, scheduler=args.scheduler,
                              max_line_bytes=args.max_line_bytes)  # fmt: skip
    else:
        source = Path(args.paths[0]) if len(args.paths) == 1 else [Path(p) for p in args.paths]
        report = tokenomy.analyze(source, args.kind, args.model, as_of=args.as_of, epochs=args.epochs,
                                  max_line_bytes=args.max_line_bytes)  # fmt: skip
    data, text = report.to_dict(), str(report)
    if args.what_if:
        if args.engine == "dask":
            report = tokenomy.analyze([Path(p) for p in args.paths], args.kind, args.model, as_of=args.as_of,
                                      epochs=args.epochs, max_line_bytes=args.max_line_bytes)  # fmt: skip
        what_if = report.what_if([m for m in args.what_if.split(",") if m.strip()])
        data["what_if"] = what_if.to_dict()
        text += "\n\n" + str(what_if)
    _print(args, data, text)
    return 0


def _reconcile(args: argparse.Namespace) -> int:
    if args.engine == "dask":
        from tokenomy.dask import reconcile as dask_reconcile

        result = dask_reconcile(args.requests, args.results, as_of=args.as_of, scheduler=args.scheduler)
    else:
        result = tokenomy.reconcile(args.requests, args.results, as_of=args.as_of)
    data, text = result.to_dict(), str(result)
    if args.calibrate:
        calibration = result.calibrate()
        try:
            calibration.write(args.calibrate)
        except OSError as error:
            raise TokenomyError(f"cannot write {args.calibrate}: {error.strerror or error}") from None
        data["calibration"] = calibration.to_dict()
        text += f"\n\n{calibration}\nrules written to {args.calibrate} (load with TOKENOMY_RULES)"
    _print(args, data, text)
    return 0


def _models(args: argparse.Namespace) -> int:
    infos = [m for m in tokenomy.models(args.kind, as_of=args.as_of) if args.filter in m.name]
    rows = [
        [
            m.name,
            m.kind,
            m.encoding or "",
            m.context_window,
            m.max_output_tokens,
            _price(m.price.input),
            _price(m.price.output),
            m.status,
        ]
        for m in infos
    ]
    data = [
        {
            "name": m.name,
            "snapshot": m.snapshot,
            "kind": m.kind,
            "encoding": m.encoding,
            "context_window": m.context_window,
            "max_output_tokens": m.max_output_tokens,
            "price_per_1m": {k: None if v is None else str(v) for k, v in vars(m.price).items()},
            "status": m.status,
            "shutdown_on": m.shutdown_on,
            "replacement": m.replacement,
        }
        for m in infos
    ]
    header = ["model", "kind", "encoding", "window", "max output", "$/1M in", "$/1M out", "status"]
    _print(args, data, text_table(header, rows))
    return 0


def _endpoints(args: argparse.Namespace) -> int:
    infos = [e for e in tokenomy.endpoints(as_of=args.as_of) if args.filter in e.path]
    training = {True: "yes", False: "no", None: "?"}
    rows = [
        [
            e.path,
            e.status,
            training[e.used_for_training],
            e.retention or "?",
            (e.zero_retention or "?") + ("*" if e.zero_retention_exceptions else ""),
            len(e.models),
            e.shutdown_on,
            e.replacement,
        ]
        for e in infos
    ]
    header = ["endpoint", "status", "training", "retention", "zero retention", "models", "shutdown",
              "replacement"]  # fmt: skip
    limits: dict[str, list[str]] = {}  # one footnote per limit, naming every path it applies to
    for e in infos:
        for limit in e.zero_retention_exceptions:
            limits.setdefault(limit, []).append(e.path)
    notes = [f"* {limit} [{', '.join(paths)}]" for limit, paths in limits.items()]
    text = "\n".join([text_table(header, rows), *notes])
    _print(args, [e.to_dict() for e in infos], text)
    return 0


def _price(value: Decimal | None) -> str:
    return "" if value is None else f"{value:g}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); returns the exit code.

    For example ``main(["count", "notes.txt", "--model", "gpt-4o", "--max-tokens", "8000"])``.
    Exit codes: 0 success, 1 over budget and nothing else, 2 bad input or usage, 3 an internal
    error (its traceback with ``--debug``), 130 interrupted; every error is one line on stderr.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = _parser()
        args = parser.parse_args(argv)
        if args.command is None:  # bare `tokenomy`
            parser.print_help()
            return EXIT_OK
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DeprecationWarning)
            code: int = args.handler(args)
        for message in dict.fromkeys(str(w.message) for w in caught if w.category is DeprecationWarning):
            _say(f"tokenomy: warning: {message}")
        return code
    except TokenomyError as error:
        _say(f"tokenomy: {error}")
        return EXIT_BAD_INPUT
    except ImportError as error:  # an optional extra that is not installed (dask)
        _say(f"tokenomy: {error}")
        return EXIT_BAD_INPUT
    except _UsageError as error:
        _say(str(error))
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # the reader went away (`| head`): not an error, and nothing more to say
        _quiet_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        _say("tokenomy: interrupted")
        return EXIT_INTERRUPTED
    except Exception as error:  # never exit 1 ("over budget") on a crash
        if "--debug" in argv:
            traceback.print_exc()
        _say(f"tokenomy: internal error ({type(error).__name__}: {short(str(error), 200)}). This is a bug "
             "in tokenomy: please report it with the output of the same command with --debug.")  # fmt: skip
        return EXIT_INTERNAL


def _say(message: str) -> None:
    """One line on stderr, whatever the message holds."""
    print(" ".join(message.splitlines()), file=sys.stderr)  # \r, \u2028 ... break lines too


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's final flush raises nothing more."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass
