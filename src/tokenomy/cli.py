"""The ``tokenomy`` command: parses arguments, calls the public API, prints.

Exit codes: 0 success, 1 over budget (``count --max-tokens``), 2 bad input or usage, 130
interrupted. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import warnings
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

import tokenomy
from tokenomy.errors import TokenomyError
from tokenomy.report import text_table

EPILOG = "exit codes: 0 success, 1 over budget (count --max-tokens), 2 bad input or usage, 130 interrupted"


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


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tokenomy", description="Exact OpenAI token counts, budgets, chunks and costs.",
        epilog=f"example:\n  tokenomy count notes.txt -m gpt-4o --max-tokens 8000\n\n{EPILOG}",
        formatter_class=_Formatter,
    )  # fmt: skip
    parser.add_argument("--version", action="version", version=f"tokenomy {tokenomy.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = _command(sub, "count", "count tokens of text files or JSON chat requests",
                 "Count each FILE (text, or a JSON request with 'messages') for each --model, and "
                 "whether it fits the model's context window (and --max-tokens).",
                 "tokenomy count notes.txt request.json -m gpt-4o -m gpt-4.1 --max-tokens 8000")  # fmt: skip
    p.add_argument("files", nargs="*", help="files to count ('-' for stdin)")
    p.add_argument("--model", "-m", action="append", help="model name (repeatable; default: gpt-4o)")
    p.add_argument("--max-tokens", type=_count_arg, metavar="N",
                   help="exit 1 if any count exceeds N (a pre-flight check)")  # fmt: skip
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
    p.add_argument("file", help="text file ('-' for stdin)")
    p.add_argument("--max-tokens", type=_count_arg, required=True, metavar="N",
                   help="tokens per chunk at most")  # fmt: skip
    p.add_argument("--overlap", type=_count_arg, default=0, metavar="K",
                   help="tokens repeated from the previous chunk")  # fmt: skip
    _add_common(p)
    p.set_defaults(handler=_chunk)

    p = _command(sub, "cost", "price a request body or token counts",
                 "Price a JSON request FILE, or --input-tokens/--output-tokens for --model.",
                 "tokenomy cost -m gpt-4o --input-tokens 120000 --output-tokens 800 --batch")  # fmt: skip
    p.add_argument("file", nargs="?", help="JSON request body ('-' for stdin)")
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


def _read(path: str) -> str:
    try:
        if path == "-":
            return sys.stdin.read()
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise TokenomyError(f"{path} is not UTF-8 text") from None
    except OSError as error:
        raise TokenomyError(f"cannot read {path}: {error.strerror or error}") from None


def _json_body(text: str, path: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise TokenomyError(f"{path}: malformed JSON at line {error.lineno}: {error.msg}") from None


def _as_request(text: str, path: str) -> dict[str, Any] | None:
    if not text.lstrip().startswith("{"):
        return None
    body = _json_body(text, path)
    return body if isinstance(body, dict) and ("messages" in body or "input" in body) else None


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
        text = _read(path)
        request = _as_request(text, path)
        names = args.model or ([request["model"]] if request and "model" in request else ["gpt-4o"])
        for name in names:
            info = tokenomy.model_info(name, as_of=args.as_of)
            row: dict[str, Any] = {"file": path, "model": name, "snapshot": info.snapshot}
            if request is not None:
                endpoint = "/v1/chat/completions" if "messages" in request else "/v1/responses"
                result = tokenomy.count_request({**request, "model": name}, endpoint=endpoint,
                    as_of=args.as_of)
                row.update(kind="chat", tokens=result.tokens, exact=result.exact, notes=list(result.notes))
            else:
                row.update(
                    kind="text", tokens=tokenomy.encoding_for(info.encoding or name).count(text), exact=True
                )
            window = info.context_window
            row.update(context_window=window, fits=None if window is None else row["tokens"] <= window)
            if args.max_tokens is not None:
                row["within_max_tokens"] = row["tokens"] <= args.max_tokens
            rows.append(row)
    yes_no = {True: "yes", False: "NO", None: "?"}
    header = ["file", "model", "snapshot", "tokens", "window", "fits"]
    if args.max_tokens is not None:
        header.append(f"<= {args.max_tokens:,}")
    table = [
        [
            Path(r["file"]).name,
            r["model"],
            r["snapshot"],
            f"{r['tokens']:,}{'' if r['exact'] else ' ~'}",
            r["context_window"],
            yes_no[r["fits"]],
            *([yes_no[r["within_max_tokens"]]] if args.max_tokens is not None else []),
        ]
        for r in rows
    ]
    text = text_table(header, table)
    if any(not r["exact"] for r in rows):
        text += (
            "\n~ estimate: a rule used is not API-verified for this model (--json gives the notes)"
        )
    _print(args, rows, text)
    over = [r for r in rows if r.get("within_max_tokens") is False]
    for r in over:
        print(f"tokenomy: over budget: {r['file']} is {r['tokens']:,} tokens for {r['model']}, more than "
              f"--max-tokens {args.max_tokens:,}", file=sys.stderr)  # fmt: skip
    return 1 if over else 0


def _fit(args: argparse.Namespace) -> int:
    model = args.model or "gpt-4o"
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
    text = _read(args.file)
    for piece in tokenomy.chunk(text, args.max_tokens, model=model, overlap=args.overlap):
        record = {
            "index": piece.index,
            "start": piece.start,
            "end": piece.end,
            "tokens": piece.tokens,
            "text": piece.text,
        }
        print(json.dumps(record, ensure_ascii=False))
    return 0


def _cost(args: argparse.Namespace) -> int:
    if args.file:
        body = _json_body(_read(args.file), args.file)
        if not isinstance(body, dict):
            raise TokenomyError(f"{args.file}: a request body is a JSON object")
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
        raise TokenomyError("give a JSON request FILE, or --model with --input-tokens")
    notes = "\n".join(f"note: {n}" for n in cost.notes)
    _print(args, cost.to_dict(), str(cost) + ("\n" + notes if notes else ""))
    return 0


def _analyze(args: argparse.Namespace) -> int:
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
    """
    try:
        parser = _parser()
        args = parser.parse_args(argv)
        if args.command is None:  # bare `tokenomy`
            parser.print_help()
            return 0
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DeprecationWarning)
            code: int = args.handler(args)
        for message in dict.fromkeys(str(w.message) for w in caught if w.category is DeprecationWarning):
            print(f"tokenomy: warning: {message}", file=sys.stderr)
        return code
    except TokenomyError as error:
        print(f"tokenomy: {error}", file=sys.stderr)
        return 2
    except ImportError as error:
        print(f"tokenomy: {error}", file=sys.stderr)
        return 2
    except _UsageError as error:
        print(error, file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("tokenomy: interrupted", file=sys.stderr)
        return 130
