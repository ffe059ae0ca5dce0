"""``tokenomy analyze`` and ``tokenomy reconcile``: reports on JSONL datasets, computed here or on Dask."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import tokenomy
from tokenomy.cli.options import EXIT_OK, UsageError, add_engine, add_model, command, reading, whole_number
from tokenomy.cli.output import emit
from tokenomy.errors import InputFileError

# tokenomy.datasets.lines.KINDS, repeated: importing it would load the dataset modules on every start
_KINDS = ["batch", "fine-tune", "chat", "text"]


def add_analyze(sub: Any) -> None:
    """Add ``analyze`` to the subcommands ``sub``."""
    p = command(sub, "analyze", "report on a JSONL dataset",
                "Tokens, distribution, over-limit records, format problems and cost of Batch API, "
                "fine-tuning, chat or text JSONL files (.gz too).",
                "tokenomy analyze batch_input.jsonl --kind batch")  # fmt: skip
    with reading(p, "paths", "JSONL files", nargs="+", handler=_analyze):
        p.add_argument("--kind", choices=_KINDS, default="batch", help="what each line is")
        p.add_argument("--epochs", type=whole_number, help="fine-tuning epochs (default: OpenAI's rule)")
        add_engine(p, "where to compute")
        p.add_argument("--what-if", metavar="MODELS",
                       help="also count and price the same records on each of these models (comma-separated)")
        p.add_argument("--max-line-bytes", type=whole_number, default=64 << 20, metavar="N",
                       help="longer lines are reported as problems, not read")  # fmt: skip
        add_model(p, help="count every record with this model (default: each record's 'model')")


def add_reconcile(sub: Any) -> None:
    """Add ``reconcile`` to the subcommands ``sub``."""
    p = command(sub, "reconcile", "predicted against billed prompt tokens of a Batch job",
                "Join a Batch input file with its output file by custom_id: predicted and billed prompt "
                "tokens per request, exact share per model and feature, billed cost, and every "
                "malformed, unmatched or failed line by line number; --calibrate fits the counting "
                "constants.",
                "tokenomy reconcile input.jsonl output.jsonl --calibrate rules.toml")  # fmt: skip
    with reading(p, "requests", "Batch input JSONL (.gz too)", handler=_reconcile):
        p.add_argument("results", help="Batch output JSONL (.gz too)")
        p.add_argument("--calibrate", metavar="RULES.toml", help="fit counting constants and write them here")
        add_engine(p, "where to count")


def _analyze(args: argparse.Namespace) -> int:
    for path in args.paths:
        if "\x00" in path:
            raise InputFileError(repr(path), "a file name cannot hold a NUL character")
    options: dict[str, Any] = {"kind": args.kind, "model": args.model, "as_of": args.as_of,
                               "epochs": args.epochs, "max_line_bytes": args.max_line_bytes}  # fmt: skip
    if args.engine == "dask":
        # here, not at the top: tokenomy.dask loads every dataset module, and Dask is an optional
        # extra (not installed, its ImportError is exit 2)
        from tokenomy.dask import analyze as dask_analyze

        report = dask_analyze(args.paths, scheduler=args.scheduler, **options)
    else:
        source = Path(args.paths[0]) if len(args.paths) == 1 else [Path(p) for p in args.paths]
        report = tokenomy.analyze(source, **options)
    data, text = report.to_dict(), str(report)
    if args.what_if:
        if args.engine == "dask":  # what_if counts the records again, which only a local report can
            report = tokenomy.analyze([Path(p) for p in args.paths], **options)
        what_if = report.what_if([m for m in args.what_if.split(",") if m.strip()])
        data["what_if"] = what_if.to_dict()
        text += "\n\n" + str(what_if)
    emit(data, text, as_json=args.json)
    return EXIT_OK


def _reconcile(args: argparse.Namespace) -> int:
    if args.engine == "dask":
        # here, not at the top: see _analyze
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
            # not a TokenomyError: the library read and computed all it was given; this path is the
            # command line's own, so it is a usage error (exit 2, one line)
            raise UsageError(f"tokenomy: cannot write {args.calibrate}: {error.strerror or error}; give "
                             "--calibrate a path in a folder you can write to") from None
        data["calibration"] = calibration.to_dict()
        text += f"\n\n{calibration}\nrules written to {args.calibrate} (load with TOKENOMY_RULES)"
    emit(data, text, as_json=args.json)
    return EXIT_OK
