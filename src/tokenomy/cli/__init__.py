"""The ``tokenomy`` command: parses arguments, calls the public API, prints.

Exit codes: 0 success, 1 over budget (``count --max-tokens``) and nothing else, 2 bad input or
usage, 3 an internal error (a bug in tokenomy), 130 interrupted. Errors are one line on stderr;
``--debug`` adds the traceback of an internal error. Text is read as a stream: ``count`` of an
endless input with ``--max-tokens`` stops once the count is over it.

One module per group of subcommands (``count``, ``text``: fit and chunk, ``cost``, ``datasets``:
analyze and reconcile, ``registry``: models and endpoints), each adding its parsers with the
shared options of ``options`` and printing through ``output``; this module runs them.
"""

from __future__ import annotations

import sys
import traceback
import warnings
from collections.abc import Sequence

import tokenomy
from tokenomy.cli.cost import add_cost
from tokenomy.cli.count import add_count
from tokenomy.cli.datasets import add_analyze, add_reconcile
from tokenomy.cli.options import (
    EPILOG,
    EXIT_BAD_INPUT,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Formatter,
    Parser,
    UsageError,
    add_debug,
)
from tokenomy.cli.output import quiet_stdout, say
from tokenomy.cli.registry import add_endpoints, add_models
from tokenomy.cli.text import add_chunk, add_fit
from tokenomy.errors import TokenomyError, short

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); returns the exit code.

    Exit codes: 0 success, 1 over budget and nothing else, 2 bad input or usage, 3 an internal
    error (its traceback with ``--debug``), 130 interrupted; every error is one line on stderr.

    >>> main(["count", "no-such-file.txt"])  # stderr: tokenomy: cannot read no-such-file.txt: ...
    2
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
            say(f"tokenomy: warning: {message}")
        return code
    except TokenomyError as error:
        say(f"tokenomy: {error}")
        return EXIT_BAD_INPUT
    except ImportError as error:  # an optional extra that is not installed (dask)
        say(f"tokenomy: {error}")
        return EXIT_BAD_INPUT
    except UsageError as error:
        say(str(error))
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # the reader went away (`| head`): not an error, and nothing more to say
        quiet_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        say("tokenomy: interrupted")
        return EXIT_INTERRUPTED
    except Exception as error:  # never exit 1 ("over budget") on a crash
        if "--debug" in argv:
            traceback.print_exc()
        say(f"tokenomy: internal error ({type(error).__name__}: {short(str(error), 200)}). This is a bug "
            "in tokenomy: please report it with the output of the same command with --debug.")  # fmt: skip
        return EXIT_INTERNAL


def _parser() -> Parser:
    parser = Parser(
        prog="tokenomy", description="Exact OpenAI token counts, budgets, chunks and costs.",
        epilog=f"example:\n  tokenomy count notes.txt -m gpt-4o --max-tokens 8000\n\n{EPILOG}",
        formatter_class=Formatter,
    )  # fmt: skip
    parser.add_argument("--version", action="version", version=f"tokenomy {tokenomy.__version__}")
    add_debug(parser, False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # in the order `tokenomy --help` lists them
    for add in (add_count, add_fit, add_chunk, add_cost, add_analyze, add_reconcile, add_models,
                add_endpoints):  # fmt: skip
        add(sub)
    return parser
