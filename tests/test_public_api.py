"""The public surface: __all__ is sorted and importable, typed, and every entry is documented."""

from __future__ import annotations

import inspect
from pathlib import Path

import tokenomy


def test_all_is_sorted_and_importable() -> None:
    """__all__ lists names that exist, once each, sorted."""
    assert tokenomy.__all__ == sorted(set(tokenomy.__all__))
    for name in tokenomy.__all__:
        assert hasattr(tokenomy, name), name


def test_functions_have_docstrings_with_examples() -> None:
    """Every public function documents itself with a runnable example (doctests run in make test)."""
    for name in tokenomy.__all__:
        obj = getattr(tokenomy, name)
        if inspect.isfunction(obj):
            assert obj.__doc__ and ">>>" in obj.__doc__, f"{name} needs an example in its docstring"
        elif inspect.isclass(obj):
            assert obj.__doc__, f"{name} needs a docstring"


def test_errors_share_the_root() -> None:
    """Every error class derives from TokenomyError and a built-in callers already catch."""
    for name in tokenomy.__all__:
        obj = getattr(tokenomy, name)
        if inspect.isclass(obj) and issubclass(obj, Exception):
            assert issubclass(obj, tokenomy.TokenomyError)


def test_package_is_typed() -> None:
    """py.typed ships with the package."""
    assert (Path(tokenomy.__file__).parent / "py.typed").is_file()
