"""The ``tokenomy`` command: parses arguments, calls the public API, prints.

Exit codes: 0 success, 1 over budget (``--max-tokens``), 2 bad input or usage.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tokenomy
from tokenomy.errors import TokenomyError

EPILOG = "exit codes: 0 success, 1 over budget (--max-tokens), 2 bad input or usage"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tokenomy",
        description="Exact OpenAI token counts, before you send the request.",
        epilog=EPILOG,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    count = sub.add_parser(
        "count",
        help="count tokens of text files or JSON chat requests, per model",
        description="Count the tokens of each FILE (text, or a JSON chat request with "
        "'messages') for each --model, and whether it fits the model's context window.",
        epilog=EPILOG,
    )
    count.add_argument("files", nargs="*", default=["-"], help="files to count ('-' for stdin)")
    count.add_argument("--model", "-m", action="append", help="model name (repeatable)")
    count.add_argument("--max-tokens", type=int, help="exit 1 if any count exceeds N")
    count.add_argument("--json", action="store_true", help="print JSON instead of a table")
    count.set_defaults(handler=_count)
    return parser


def _read(path: str) -> str:
    try:
        if path == "-":
            return sys.stdin.read()
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise TokenomyError(f"{path} is not UTF-8 text") from None
    except OSError as error:
        raise TokenomyError(f"cannot read {path}: {error.strerror}") from None


def _as_request(text: str) -> dict[str, Any] | None:
    stripped = text.lstrip()
    if not stripped.startswith("{"):
        return None
    try:
        body = json.loads(text)
    except json.JSONDecodeError as error:
        raise TokenomyError(f"malformed JSON at line {error.lineno}: {error.msg}") from None
    return body if isinstance(body, dict) and "messages" in body else None


def _count(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    for path in args.files:
        text = _read(path)
        request = _as_request(text)
        names = args.model or ([request["model"]] if request and "model" in request else ["gpt-4o"])
        for name in names:
            info = tokenomy.model_info(name)
            row: dict[str, Any] = {"file": path, "model": name, "snapshot": info.snapshot}
            if request is not None:
                result = tokenomy.count_messages(
                    request["messages"], name, tools=request.get("tools"),
                    tool_choice=request.get("tool_choice"), functions=request.get("functions"),
                    function_call=request.get("function_call"),
                )  # fmt: skip
                row.update(kind="chat", tokens=result.total, exact=result.exact)
            else:
                row.update(kind="text", tokens=tokenomy.count(text, model=name), exact=True)
            window = info.context_window
            row.update(
                context_window=window, fits=None if window is None else row["tokens"] <= window
            )
            rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        _print_table(rows)
    over = args.max_tokens is not None and any(r["tokens"] > args.max_tokens for r in rows)
    return 1 if over else 0


def _print_table(rows: list[dict[str, Any]]) -> None:
    header = ("file", "model", "snapshot", "tokens", "window", "fits")
    body = [
        (
            Path(r["file"]).name,
            r["model"],
            r["snapshot"],
            f"{r['tokens']:,}" + ("" if r["exact"] else " ~"),
            "?" if r["context_window"] is None else f"{r['context_window']:,}",
            {True: "yes", False: "NO", None: "?"}[r["fits"]],
        )
        for r in rows
    ]
    widths = [max(len(str(x)) for x in column) for column in zip(header, *body, strict=True)]
    for line in (header, *body):
        print("  ".join(str(cell).ljust(w) if i < 3 else str(cell).rjust(w)
                        for i, (cell, w) in enumerate(zip(line, widths, strict=True))))  # fmt: skip
    if any(not r["exact"] for r in rows):
        print("~ estimate: a rule used is not API-verified for this model (see count_messages)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); returns the exit code.

    For example ``main(["count", "notes.txt", "--model", "gpt-4o", "--max-tokens", "8000"])``.
    """
    args = _parser().parse_args(argv)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DeprecationWarning)
            code: int = args.handler(args)
        for warning in {str(w.message) for w in caught}:
            print(f"tokenomy: warning: {warning}", file=sys.stderr)
        return code
    except TokenomyError as error:
        print(f"tokenomy: {error}", file=sys.stderr)
        return 2
