"""Prompt-format rules (tokenomy.rules): user rule files layered over data/chat.toml, validated
whole, named in every count they touch, and the format each model family follows."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenomy._data import table
from tokenomy.errors import RegistryError
from tokenomy.registry import model_info
from tokenomy.requests import RequestCount, count_request
from tokenomy.rules import RULES_ENV_VAR, format_name, load_rules, reset_rules, rules_for, validate_rules

DEFAULT_TOOL_CALL = int(table("chat")["formats"]["chatml"]["chat"]["tool_call"])
CALL = [{"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function",
         "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "Sunny"}]  # fmt: skip


@pytest.fixture(autouse=True)
def no_user_rules(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts and ends with the built-in rules only, whatever the environment says."""
    monkeypatch.delenv(RULES_ENV_VAR, raising=False)
    reset_rules()
    yield
    monkeypatch.delenv(RULES_ENV_VAR, raising=False)
    reset_rules()


def call_count(model: str = "gpt-4o") -> RequestCount:
    return count_request({"model": model, "messages": CALL})


def rules_file(folder: Path, text: str, name: str = "rules.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def names_file(result: RequestCount, path: Path) -> bool:
    return any(str(path) in note for note in result.notes)


def test_loaded_constant_changes_later_counts(tmp_path: Path) -> None:
    """A loaded tool_call constant changes the count by its difference, and every later chatml
    count names the file and is inexact."""
    before = call_count()
    path = rules_file(tmp_path, "[formats.chatml.chat]\ntool_call = 7\n")
    assert load_rules(path) == ("chatml",)
    after = call_count()
    assert after.tokens - before.tokens == 7 - DEFAULT_TOOL_CALL
    assert before.exact and not after.exact and names_file(after, path)
    plain = count_request({"model": "gpt-4o", "messages": CALL[:1]})
    assert not plain.exact and names_file(plain, path)
    assert rules_for("chatml").loaded_from == (str(path),)


def test_formats_a_file_leaves_alone_stay_exact(tmp_path: Path) -> None:
    """Counts under a format the file does not change neither move nor name it."""
    before = call_count("gpt-5-mini")
    load_rules(rules_file(tmp_path, "[formats.chatml.chat]\ntool_call = 7\n"))
    assert call_count("gpt-5-mini") == before


def test_reset_rules_restores_the_built_in_rules(tmp_path: Path) -> None:
    """reset_rules() forgets loaded files: counts are the built-in ones again, exact, no note."""
    before = call_count()
    load_rules(rules_file(tmp_path, "[formats.chatml.chat]\ntool_call = 7\n"))
    reset_rules()
    assert call_count() == before and before.exact


def test_later_files_layer_over_earlier_ones(tmp_path: Path) -> None:
    """A second file overrides the constants it names and keeps the rest; counts name both files."""
    first = rules_file(tmp_path, "[formats.chatml]\ntokens_per_message = 5\n[formats.chatml.chat]\ntool_call = 7\n",
                       "first.toml")  # fmt: skip
    second = rules_file(tmp_path, "[formats.chatml.chat]\ntool_call = 4\n", "second.toml")
    load_rules(first)
    load_rules(second)
    rules = rules_for("chatml")
    assert (rules.tokens_per_message, rules.apis["chat"].tool_call) == (5, 4)
    result = call_count()
    assert names_file(result, first) and names_file(result, second)


INVALID: list[tuple[str, str | None, str]] = [
    ("[formats.chatml.chat\ntool_call = 2\n", None, "not valid TOML"),
    ("[formats.nope]\ntokens_per_message = 3\n", None, "unknown format"),
    ("[formats.chatml]\ncall_header = \"x\"\n", "call_header", "not a constant"),
    ("[formats.chatml.chat]\ntool_calls = 2\n", "chat.tool_calls", "not a constant"),
    ("[formats.chatml.chat]\ntool_call = 2.5\n", "chat.tool_call", "whole number"),
    ("[formats.chatml.chat]\ntool_call = \"2\"\n", "chat.tool_call", "whole number"),
    ("[formats.chatml.chat]\ntool_call = true\n", "chat.tool_call", "whole number"),
    ("[formats.chatml.chat]\ntools = { none = \"8\" }\n", "chat.tools.none", "whole number"),
    ("[formats.chatml]\nchat = 3\n", "chat", "table"),
    ("[other]\nx = 1\n", "formats", "[formats.NAME]"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "field", "problem"), INVALID, ids=[f"{f}:{p}" for _, f, p in INVALID])
def test_invalid_files_name_file_and_field(tmp_path: Path, text: str, field: str | None, problem: str) -> None:
    """An invalid rules file raises RegistryError naming the file and the field, and changes nothing."""
    before = call_count()
    path = rules_file(tmp_path, text)
    with pytest.raises(RegistryError) as raised:
        load_rules(path)
    error = raised.value
    assert error.file == str(path) and error.field == field and problem in error.problem
    assert str(path) in str(error) and (field is None or repr(field) in str(error))
    assert call_count() == before and before.exact


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_unreadable_paths_raise(tmp_path: Path, kind: str) -> None:
    """A missing file or a folder raises RegistryError naming the path."""
    path = tmp_path / "absent.toml" if kind == "missing" else tmp_path
    with pytest.raises(RegistryError, match=r"cannot be read.*TOKENOMY_RULES") as raised:
        load_rules(path)
    assert raised.value.file == str(path) and raised.value.entry is None


def test_all_or_nothing(tmp_path: Path) -> None:
    """A file whose last entry is invalid applies none of its valid entries."""
    before = call_count()
    path = rules_file(
        tmp_path, "[formats.chatml.chat]\ntool_call = 7\n[formats.harmony.chat]\ntool_call = true\n"
    )
    with pytest.raises(RegistryError, match=r"formats\.harmony"):
        load_rules(path)
    assert call_count() == before and rules_for("chatml").loaded_from == ()


def test_environment_variable_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file named by TOKENOMY_RULES applies from the next count after reset_rules(), and names itself."""
    before = call_count()
    path = rules_file(tmp_path, "[formats.chatml.chat]\ntool_call = 7\n")
    monkeypatch.setenv(RULES_ENV_VAR, str(path))
    reset_rules()
    after = call_count()
    assert after.tokens - before.tokens == 7 - DEFAULT_TOOL_CALL and names_file(after, path)
    monkeypatch.delenv(RULES_ENV_VAR)
    reset_rules()
    assert call_count() == before


def test_invalid_environment_file_raises_on_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An invalid TOKENOMY_RULES file is refused loudly when a count first needs the rules."""
    monkeypatch.setenv(RULES_ENV_VAR, str(rules_file(tmp_path, "[formats.chatml.chat]\ntool_call = true\n")))
    reset_rules()
    with pytest.raises(RegistryError, match="tool_call"):
        call_count()


def test_validate_rules_returns_the_clean_table() -> None:
    """validate_rules returns the constants it accepted, per format and API."""
    raw = {"formats": {"harmony": {"reply_priming": 2, "chat": {"tools": {"none": 90}, "file_part": 200}}}}
    assert validate_rules(raw, source="mine.toml") == raw["formats"]


@pytest.mark.parametrize(
    ("model", "expected"),
    [("gpt-4o", "chatml"), ("gpt-5-mini", "harmony"), ("gpt-3.5-turbo-0301", "chatml-0301"),
     ("gpt-4-0613", "chatml-2023"), ("text-embedding-3-small", None)],
)  # fmt: skip
def test_format_name(model: str, expected: str | None) -> None:
    """Each model resolves to the prompt format data/chat.toml gives its snapshot or family."""
    assert format_name(model_info(model, as_of=date(2023, 6, 1) if "0301" in model else None)) == expected


# ---- properties --------------------------------------------------------------------------------


@given(value=st.integers(-50, 50))
@settings(max_examples=25, deadline=None)
def test_any_tool_call_constant_shifts_the_count_by_its_difference(value: int) -> None:
    """Loading tool_call = v moves a one-call count by exactly v minus the built-in constant."""
    reset_rules()
    before = call_count().tokens
    with tempfile.TemporaryDirectory() as folder:
        load_rules(rules_file(Path(folder), f"[formats.chatml.chat]\ntool_call = {value}\n"))
        try:
            assert call_count().tokens - before == value - DEFAULT_TOOL_CALL
        finally:
            reset_rules()
