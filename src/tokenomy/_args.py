"""Checks for the arguments of public functions: one rule per kind of value, said once.

A value of the wrong Python type raises ``TypeError`` (as Python's own functions do); a value of
the right type that cannot be used raises :class:`~tokenomy.errors.InvalidArgumentError`.
"""

from __future__ import annotations

import operator
from typing import Any

from tokenomy.errors import InvalidArgumentError, short


def check_bool(value: Any, name: str) -> bool:
    """``value`` if it is ``True`` or ``False``: ``batch="no"`` is a mistake, not a yes.

    >>> check_bool(False, "batch")
    False
    """
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, not {short(value)}")
    return value


def check_str(value: Any, name: str) -> str:
    """``value`` if it is a ``str``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    return value


def check_whole(value: Any, name: str, *, minimum: int = 0) -> int:
    """``value`` as an ``int`` of at least ``minimum`` (``bool`` and ``float`` refused; numpy
    integers taken).

    >>> check_whole(3, "n", minimum=1)
    3
    """
    if isinstance(value, bool):
        raise InvalidArgumentError(name, value, f"a whole number >= {minimum}, not a bool")
    try:
        number = operator.index(value)
    except TypeError:
        raise InvalidArgumentError(name, value, f"a whole number >= {minimum}") from None
    if number < minimum:
        raise InvalidArgumentError(name, value, f"a whole number >= {minimum}")
    return number


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of ``choices`` (compared as strings; unhashable values are fine)."""
    if not isinstance(value, str) or value not in choices:
        raise InvalidArgumentError(name, value, f"one of {', '.join(map(repr, choices))}")
    return value
