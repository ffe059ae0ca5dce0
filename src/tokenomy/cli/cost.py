"""``tokenomy cost``: the price of a request body, or of token counts for a model."""

from __future__ import annotations

import argparse
from typing import Any

import tokenomy
from tokenomy.cli.inputs import MAX_JSON_CHARS, read_request
from tokenomy.cli.options import EXIT_OK, UsageError, add_model, command, reading, whole_number
from tokenomy.cli.output import emit


def add_cost(sub: Any) -> None:
    """Add ``cost`` to the subcommands ``sub``."""
    p = command(sub, "cost", "price a request body or token counts",
                "Price a JSON request FILE, or --input-tokens/--output-tokens for --model.",
                "tokenomy cost -m gpt-4o --input-tokens 120000 --output-tokens 800 --batch")  # fmt: skip
    with reading(p, "file", f"JSON request body ('-' for stdin; at most {MAX_JSON_CHARS >> 20} MB)",
                 nargs="?", handler=_cost):  # fmt: skip
        p.add_argument("--endpoint", default="/v1/chat/completions", help="API path the body is sent to")
        p.add_argument("--input-tokens", type=whole_number, metavar="N", help="prompt tokens (with --model)")
        p.add_argument("--output-tokens", type=whole_number, metavar="N",
                       help="output tokens (default: the request's max_tokens)")  # fmt: skip
        p.add_argument("--cached-tokens", type=whole_number, default=0, metavar="N",
                       help="part of the prompt served from cache")  # fmt: skip
        p.add_argument("--batch", action="store_true", help="price at the Batch API rate")
        add_model(p, help="model name (default: the request's 'model'; needed with --input-tokens)")


def _cost(args: argparse.Namespace) -> int:
    if args.file:
        body = read_request(args.file)
        if args.model:
            body["model"] = args.model
        counted = tokenomy.count_request(body, endpoint=args.endpoint, as_of=args.as_of)
        cost = tokenomy.cost_of_request(counted, output_tokens=args.output_tokens, batch=args.batch)
    elif args.model and args.input_tokens is not None:
        cost = tokenomy.estimate_cost(args.model, input_tokens=args.input_tokens,
                                      output_tokens=args.output_tokens or 0,
                                      cached_input_tokens=args.cached_tokens, batch=args.batch,
                                      as_of=args.as_of)  # fmt: skip
    else:
        raise UsageError("tokenomy: cost needs a JSON request FILE, or --model with --input-tokens "
                         "(see `tokenomy cost --help`)")  # fmt: skip
    notes = "\n".join(f"note: {n}" for n in cost.notes)
    emit(cost.to_dict(), str(cost) + ("\n" + notes if notes else ""), as_json=args.json)
    return EXIT_OK
