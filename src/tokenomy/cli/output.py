"""Writing results: JSON or text on stdout, one-line messages on stderr."""

from __future__ import annotations

import io
import json
import os
import sys
from typing import Any


def emit(data: Any, text: str, *, as_json: bool) -> None:
    """Print ``data`` as JSON (dates, decimals and paths as strings) if ``as_json``, else ``text``.

    >>> from decimal import Decimal
    >>> emit({"tokens": 6, "usd": Decimal("0.5")}, "6 tokens", as_json=True)
    {
      "tokens": 6,
      "usd": "0.5"
    }
    >>> emit({"tokens": 6}, "6 tokens", as_json=False)
    6 tokens
    """
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False) if as_json else text)


def say(message: str) -> None:
    """One line on stderr, whatever the message holds."""
    print(" ".join(message.splitlines()), file=sys.stderr)  # \r, \u2028 ... break lines too


def quiet_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's final flush raises nothing more."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass
