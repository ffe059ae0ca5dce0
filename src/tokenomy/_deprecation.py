"""Old spellings kept for one release: each use warns ``DeprecationWarning`` and names the new one.

Renamed result fields stay readable as properties that call :func:`renamed`; options that became
keyword-only still arrive positionally through :func:`positional_options`. CHANGELOG.md lists them.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any


def renamed(owner: str, old: str, new: str) -> None:
    """Warn that ``owner.old`` is now ``owner.new`` (from a property standing for the old name)."""
    warnings.warn(f"{owner}.{old} is now .{new}", DeprecationWarning, stacklevel=3)


def positional_options(function: str, given: tuple[Any, ...], names: Sequence[str]) -> dict[str, Any]:
    """The options passed positionally to ``function`` (in ``names`` order), by name; warns once.

    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     positional_options("f", (1, 2), ("a", "b", "c"))
    {'a': 1, 'b': 2}
    """
    if len(given) > len(names):
        raise TypeError(f"{function}() takes at most {len(names)} options positionally "
                        f"({', '.join(names)}), {len(given)} were given")  # fmt: skip
    moved = dict(zip(names, given, strict=False))
    keywords = ", ".join(f"{name}=..." for name in moved)
    warnings.warn(f"{function}(): pass {keywords} by keyword; the positional form goes in the next release",
                  DeprecationWarning, stacklevel=3)  # fmt: skip
    return moved
