"""The parser's building blocks: exit codes, the help layout, and every option shared by several
subcommands, each defined once.

Every subcommand takes ``--json``, ``--as-of`` and ``--debug`` (:func:`add_common`); ``--model``,
``--max-tokens`` and ``--engine``/``--scheduler`` have one definition each, with the help text the
command gives them. A command that reads files is laid out by :func:`reading`.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, NoReturn

EXIT_OK, EXIT_OVER_BUDGET, EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EPILOG = ("exit codes: 0 success, 1 over budget (count --max-tokens), 2 bad input or usage, 3 internal "
          "error (a bug: --debug shows the traceback), 130 interrupted")  # fmt: skip
DEFAULT_MODEL = "gpt-4o"  # the library's own default (tokenomy.count, truncate, chunk)


class UsageError(Exception):
    """A command line argparse refuses, or a handler finds incomplete (shown as one line, exit 2)."""


class Parser(argparse.ArgumentParser):
    """Raises :class:`UsageError` where argparse would print the usage and exit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"tokenomy: {message} (see `{self.prog} --help`)")


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the example's layout and shows each option's default where it has one."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        shown = not any(default is v for v in (None, False, argparse.SUPPRESS)) and default not in ([], "")
        if shown and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


def whole_number(text: str) -> int:
    """A whole number >= 0, for argparse's ``type=`` (a negative budget or count is a usage error).

    >>> whole_number("8000")
    8000
    >>> whole_number("-1")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: -1 is negative; give a whole number >= 0
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; give a whole number >= 0")
    return value


def command(sub: Any, name: str, summary: str, description: str, example: str) -> argparse.ArgumentParser:
    """A subcommand whose help shows its defaults, one example and the exit codes."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=summary, description=textwrap.fill(description, 88), formatter_class=Formatter,
        epilog=f"example:\n  {example}\n\n{EPILOG}",
    )  # fmt: skip
    return parser


def add_model(parser: argparse.ArgumentParser, *, repeat: bool = False, default: str | None = None,
              help: str = "model name") -> None:  # fmt: skip
    """``--model``/``-m``: one model, or with ``repeat`` any number (the default then shows in
    ``help``, since argparse would append to a list default)."""
    if repeat:
        parser.add_argument("--model", "-m", action="append", help=help)
    else:
        parser.add_argument("--model", "-m", default=default, help=help)


def add_max_tokens(parser: argparse.ArgumentParser, help: str, *, required: bool = True) -> None:
    """``--max-tokens N``, a whole number >= 0."""
    parser.add_argument("--max-tokens", type=whole_number, required=required, metavar="N", help=help)


def add_engine(parser: argparse.ArgumentParser, help: str) -> None:
    """``--engine local|dask`` and the ``--scheduler`` address that goes with dask."""
    parser.add_argument("--engine", choices=["local", "dask"], default="local", help=help)
    parser.add_argument("--scheduler", help="Dask scheduler address (with --engine dask)")


@contextmanager
def reading(parser: argparse.ArgumentParser, inputs: str, help: str, *, nargs: str | None = None,
            handler: Callable[[argparse.Namespace], int], **defaults: Any) -> Iterator[None]:  # fmt: skip
    """A command that reads files: the ``inputs`` positional first, then the options the ``with``
    block adds (the command's own, its ``--model``), then the common options and the ``handler``
    (with ``defaults``). ``--help`` lists them in that order, and argparse names missing
    arguments in it.

    >>> parser = Parser(prog="tokenomy fit")
    >>> with reading(parser, "file", "text file ('-' for stdin)", handler=lambda args: EXIT_OK):
    ...     add_max_tokens(parser, "token budget")
    >>> parser.parse_args([])
    Traceback (most recent call last):
    tokenomy.cli.options.UsageError: tokenomy: the following arguments are required: file, --max-tokens \
(see `tokenomy fit --help`)
    """
    parser.add_argument(inputs, nargs=nargs, help=help)
    yield
    add_common(parser)
    parser.set_defaults(handler=handler, **defaults)


def add_common(parser: argparse.ArgumentParser) -> None:
    """``--as-of``, ``--json`` and ``--debug``, which every subcommand takes."""
    parser.add_argument("--as-of", type=date.fromisoformat, metavar="YYYY-MM-DD",
                        help="resolve models on this date (default: today)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_debug(parser, argparse.SUPPRESS)


def add_debug(parser: argparse.ArgumentParser, default: Any) -> None:
    """``--debug``; ``argparse.SUPPRESS`` on subcommands, whose default would otherwise overwrite a
    ``--debug`` given before the command."""
    parser.add_argument("--debug", action="store_true", default=default,
                        help="on an internal error (exit 3), print its traceback")  # fmt: skip
