"""``tokenomy models`` and ``tokenomy endpoints``: what the registry knows on a date."""

from __future__ import annotations

import argparse
from decimal import Decimal
from typing import Any

import tokenomy
from tokenomy.cli.options import EXIT_OK, add_common, command
from tokenomy.cli.output import emit
from tokenomy.report import text_table


def add_models(sub: Any) -> None:
    """Add ``models`` to the subcommands ``sub``."""
    p = command(sub, "models", "list the model registry",
                "Models with windows, output caps, prices per 1M tokens and status.",
                "tokenomy models gpt-4.1 --kind chat --as-of 2025-06-01")  # fmt: skip
    p.add_argument("filter", nargs="?", default="", help="only names containing this text")
    p.add_argument("--kind", help="chat, completion, embedding, moderation, image, audio-stt, ...")
    add_common(p)
    p.set_defaults(handler=_models)


def add_endpoints(sub: Any) -> None:
    """Add ``endpoints`` to the subcommands ``sub``."""
    p = command(sub, "endpoints", "list API paths: status, data use, retention, zero data retention",
                "Each API path on --as-of: status, training use, default retention, zero data retention "
                "eligibility (its limits as footnotes), registry models served, shutdown and replacement.",
                "tokenomy endpoints threads --as-of 2026-11-30")  # fmt: skip
    p.add_argument("filter", nargs="?", default="", help="only paths containing this text")
    add_common(p)
    p.set_defaults(handler=_endpoints)


def _models(args: argparse.Namespace) -> int:
    infos = [m for m in tokenomy.models(kind=args.kind, as_of=args.as_of) if args.filter in m.name]
    rows = [[m.name, m.kind, m.encoding or "", m.context_window, m.max_output_tokens, _price(m.price.input),
             _price(m.price.output), m.status] for m in infos]  # fmt: skip
    header = ["model", "kind", "encoding", "window", "max output", "$/1M in", "$/1M out", "status"]
    # ModelInfo has no to_dict() yet
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
    emit(data, text_table(header, rows), as_json=args.json)
    return EXIT_OK


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
    emit([e.to_dict() for e in infos], "\n".join([text_table(header, rows), *notes]), as_json=args.json)
    return EXIT_OK


def _price(value: Decimal | None) -> str:
    return "" if value is None else f"{value:g}"
