"""The public surface: __all__ is exactly the public names, each importable and documented with an
example that runs, also offline on the bundled vocabularies (TOKENOMY_ENCODINGS_DIR unset).

A name's examples are the ``>>>`` lines of its docstring (a class's methods and properties
included) and those of its module's docstrings that name it. Public names are those of
``tokenomy.__all__`` and ``tokenomy.openai.__all__``, and the functions and classes
``tokenomy.dask`` defines without a leading underscore (it has no ``__all__``).
"""

from __future__ import annotations

import ast
import doctest
import importlib
import inspect
import io
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import tokenomy

ROOT = Path(__file__).resolve().parents[1]
INIT = Path(tokenomy.__file__)

# Public names that have no runnable example yet (their modules belong to other work; issue 18
# item 8). Each gets an example in its docstring, or in its module's docstring naming it, and
# leaves this set: test_every_public_name_has_an_example fails for any name that is missing an
# example and not listed here, and for any name listed here that has one by now.
KNOWN_MISSING: frozenset[str] = frozenset()  # names without an example yet: none, and none may join
# values, not callables: nothing to show in an example
VALUES = frozenset({"tokenomy.__version__"})
# pytest's default doctest option, which `make test` runs the module doctests with
OPTIONFLAGS = doctest.ELLIPSIS


def _optional(module: str, *extras: str) -> ModuleType | None:
    try:
        for extra in extras:
            importlib.import_module(extra)
        return importlib.import_module(module)
    except ImportError:
        return None


def public_names() -> list[str]:
    """Every public name, qualified; those of an extra that is not installed are left out."""
    names = [f"tokenomy.{name}" for name in tokenomy.__all__]
    guard = _optional("tokenomy.openai", "openai")
    if guard is not None:
        names += [f"tokenomy.openai.{name}" for name in guard.__all__]
    cluster = _optional("tokenomy.dask", "dask", "distributed")
    if cluster is not None:
        names += [f"tokenomy.dask.{name}" for name in _defined_here(cluster)]
    return names


def _defined_here(module: ModuleType) -> list[str]:
    """Functions and classes ``module`` defines (not imports) without a leading underscore."""
    return sorted(
        name for name, value in vars(module).items()
        if not name.startswith("_") and (inspect.isfunction(value) or inspect.isclass(value))
        and value.__module__ == module.__name__
    )  # fmt: skip


def resolve_name(qualified: str) -> Any:
    module, _, name = qualified.rpartition(".")
    return getattr(importlib.import_module(module), name)


def examples(qualified: str) -> list[doctest.DocTest]:
    """The doctests that show ``qualified``: its own docstrings (methods and properties of a class
    included), then those of its module's docstrings that name it."""
    obj = resolve_name(qualified)
    name = qualified.rpartition(".")[2]
    home = sys.modules[obj.__module__]
    finder = doctest.DocTestFinder(recurse=True, exclude_empty=True)
    found = [t for t in finder.find(obj, qualified, module=home, globs=dict(vars(home))) if t.examples]
    named = re.compile(rf"(?<![\w.]){re.escape(name)}\b|\.{re.escape(name)}\b")
    seen = {t.name for t in found}
    for test in finder.find(home, home.__name__, globs=dict(vars(home))):
        shows = any(named.search(e.source + e.want + (e.exc_msg or "")) for e in test.examples)
        if shows and test.name not in seen:
            found.append(test)
            seen.add(test.name)
    return found


def run_examples(tests: list[doctest.DocTest]) -> str:
    """The runner's report of every failing example, empty when all pass."""
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS)
    out = io.StringIO()
    for test in tests:
        runner.run(test, out=out.write, clear_globs=True)
    return out.getvalue()


NAMES = public_names()
EXAMPLED = [name for name in NAMES if name not in VALUES and name not in KNOWN_MISSING]


def test_all_is_sorted_and_importable() -> None:
    """__all__ lists names that exist, once each, sorted."""
    assert tokenomy.__all__ == sorted(set(tokenomy.__all__))
    for name in tokenomy.__all__:
        assert hasattr(tokenomy, name), name


def _init_imports() -> tuple[set[str], set[str]]:
    """Names ``tokenomy/__init__.py`` imports from its own modules: at import time, and for type
    checkers only (under ``if TYPE_CHECKING``)."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    eager: set[str] = set()
    typed: set[str] = set()

    def collect(nodes: list[ast.stmt], into: set[str]) -> None:
        for node in nodes:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tokenomy"):
                into.update(alias.asname or alias.name for alias in node.names)

    collect(tree.body, eager)
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            collect(node.body, typed)
    return eager, typed


def test_all_equals_the_public_names() -> None:
    """__all__ is exactly the eagerly imported names, the lazy table's names and __version__: none
    missing, none extra."""
    eager, _ = _init_imports()
    lazy = {name for names in tokenomy._LAZY.values() for name in names}
    public = eager | lazy | {"__version__"}
    assert not eager & lazy, "a name is both imported and lazy"
    assert sorted(public - set(tokenomy.__all__)) == [], "public names missing from __all__"
    assert sorted(set(tokenomy.__all__) - public) == [], "names in __all__ that tokenomy does not provide"


def test_type_checkers_see_the_lazy_names() -> None:
    """The ``if TYPE_CHECKING`` imports are exactly the lazy table, each from the module it loads from."""
    _, typed = _init_imports()
    lazy = {name for names in tokenomy._LAZY.values() for name in names}
    assert typed == lazy
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    declared = {
        alias.asname or alias.name: node.module
        for block in tree.body if isinstance(block, ast.If)
        for node in block.body if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }  # fmt: skip
    for module, names in tokenomy._LAZY.items():
        for name in names:
            assert declared[name] == module, name


@pytest.mark.parametrize("module", sorted(tokenomy._LAZY))
def test_lazy_names_are_the_modules_own(module: str) -> None:
    """Each lazy name is the very object its module defines under that name."""
    loaded = importlib.import_module(module)
    for name in tokenomy._LAZY[module]:
        assert getattr(tokenomy, name) is getattr(loaded, name), name


def test_star_import_gives_every_name() -> None:
    """``from tokenomy import *`` gives every name of __all__ and nothing private."""
    namespace: dict[str, Any] = {}
    exec("from tokenomy import *", namespace)
    assert sorted(set(namespace) - {"__builtins__"}) == sorted(tokenomy.__all__)


def test_unknown_attribute_is_an_attribute_error() -> None:
    """A name tokenomy does not provide raises AttributeError (hasattr and getattr defaults work)."""
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        tokenomy.nothing_here  # noqa: B018
    assert set(tokenomy.__all__) <= set(dir(tokenomy))


def test_guard_all_is_its_public_names() -> None:
    """tokenomy.openai.__all__ names importable objects and every class or function it defines."""
    guard = pytest.importorskip("tokenomy.openai", reason="the openai extra is not installed")
    assert guard.__all__ == sorted(set(guard.__all__))
    for name in guard.__all__:
        assert hasattr(guard, name), name
    assert set(_defined_here(guard)) <= set(guard.__all__)


def test_import_is_light() -> None:
    """``import tokenomy`` in a fresh interpreter loads none of the lazy modules, no extra and no
    heavy library."""
    code = "import sys, tokenomy; print(sorted(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    loaded = set(eval(out.stdout))
    heavy = {"tokenomy.openai", "tokenomy.dask", "tokenomy.cli", "openai", "dask", "numpy", "tiktoken",
             "matplotlib", "regex"}  # fmt: skip
    assert sorted(loaded & (set(tokenomy._LAZY) | heavy)) == []


def test_functions_have_docstrings_with_examples() -> None:
    """Every public function documents itself with a runnable example (doctests run in make test)."""
    for name in tokenomy.__all__:
        obj = getattr(tokenomy, name)
        if inspect.isfunction(obj):
            assert obj.__doc__ and ">>>" in obj.__doc__, f"{name} needs an example in its docstring"
        elif inspect.isclass(obj):
            assert obj.__doc__, f"{name} needs a docstring"


@pytest.mark.parametrize("name", [n for n in NAMES if n not in VALUES])
def test_every_public_name_has_an_example(name: str) -> None:
    """Each public name shows a ``>>>`` example, unless it is listed in KNOWN_MISSING (and then it
    must still lack one: a name that gained an example leaves the list)."""
    shown = bool(examples(name))
    if name in KNOWN_MISSING:
        assert not shown, f"{name} has an example now: remove it from KNOWN_MISSING"
    else:
        assert shown, f"{name} needs a runnable >>> example in its docstring (or its module's, naming it)"


def test_known_missing_are_public_names() -> None:
    """KNOWN_MISSING lists public names only (a renamed or removed name leaves it)."""
    installed = set(NAMES)
    optional = ("tokenomy.openai.", "tokenomy.dask.")
    assert sorted(n for n in KNOWN_MISSING if n not in installed and not n.startswith(optional)) == []
    assert all(isinstance(resolve_name(n), str) for n in VALUES)


@pytest.mark.parametrize("name", EXAMPLED)
def test_examples_run(name: str) -> None:
    """Every example of a public name passes as written."""
    failures = run_examples(examples(name))
    assert not failures, failures


def main() -> int:
    """Run the examples of every public name; print the failures (for the offline check)."""
    from tokenomy.encodings import encodings_dir

    if encodings_dir() is not None:
        print(f"vocabularies come from {encodings_dir()}, not the bundled files")
        return 1
    failed = 0
    for name in EXAMPLED:
        report = run_examples(examples(name))
        if report:
            failed += 1
            print(f"=== {name}\n{report}")
    print(f"{len(EXAMPLED) - failed} of {len(EXAMPLED)} names passed")
    return 1 if failed else 0


def test_examples_run_offline_on_the_bundled_vocabularies() -> None:
    """With TOKENOMY_ENCODINGS_DIR unset, in a fresh interpreter whose network is refused (as in
    this suite's conftest), every example of every public name still passes."""
    env = {k: v for k, v in os.environ.items() if k not in ("TOKENOMY_ENCODINGS_DIR", "TIKTOKEN_CACHE_DIR")}
    code = "import tests.conftest, tests.test_public_api as t, sys; sys.exit(t.main())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stdout[-20_000:] + done.stderr[-5_000:]


def test_errors_share_the_root() -> None:
    """Every error class derives from TokenomyError and a built-in callers already catch."""
    for name in tokenomy.__all__:
        obj = getattr(tokenomy, name)
        if inspect.isclass(obj) and issubclass(obj, Exception):
            assert issubclass(obj, tokenomy.TokenomyError)


def test_package_is_typed() -> None:
    """py.typed ships with the package."""
    assert (Path(tokenomy.__file__).parent / "py.typed").is_file()
