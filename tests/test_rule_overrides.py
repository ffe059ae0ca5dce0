"""Counting rules: user files per format and per family, and in-memory overrides per thread
(the calibration side of tokenomy.rules; tests/test_rules.py covers loading and validation)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tokenomy
from tokenomy import rules
from tokenomy.rules import CONSTANTS, constants, nested, overridden, rules_for, validate_rules

CHAT = {"model": "gpt-4o-2024-08-06", "messages": [{"role": "user", "content": "Hi"}]}
CHAT_41 = {**CHAT, "model": "gpt-4.1-2025-04-14"}
CALL = {
    "model": "gpt-4o-2024-08-06",
    "messages": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                              "function": {"name": "weather", "arguments": '{"city":"Paris"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ],
}


@pytest.fixture(autouse=True)
def _clean_rules() -> Iterator[None]:
    rules.reset_rules()
    yield
    rules.reset_rules()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_override_applies_inside_the_block_only() -> None:
    """Counts inside overridden() use its constants and name its label; outside nothing changed."""
    before = tokenomy.count_request(CHAT)
    with overridden({"formats": {"chatml": {"tokens_per_message": 5}}}, label="probe"):
        inside = tokenomy.count_request(CHAT)
    after = tokenomy.count_request(CHAT)
    assert inside.tokens == before.tokens + 2
    assert any("probe" in note for note in inside.notes) and not inside.exact
    assert after == before


def test_overrides_nest_and_take_huge_values() -> None:
    """An inner override layers over the outer one; magnitudes are not bounded as in files."""
    with overridden({"formats": {"chatml": {"reply_priming": 10**30}}}, label="outer"):
        with overridden({"formats": {"chatml": {"tokens_per_message": 4}}}, label="inner"):
            inner = tokenomy.count_request(CHAT).tokens
        outer = tokenomy.count_request(CHAT).tokens
    assert outer == 8 - 3 + 10**30
    assert inner == outer + 1


def test_override_is_invisible_to_other_threads() -> None:
    """A thread counting while another is inside overridden() sees the unchanged rules."""
    inside, release = threading.Event(), threading.Event()
    seen: list[int] = []

    def overriding() -> None:
        with overridden({"formats": {"chatml": {"tokens_per_message": 50}}}):
            seen.append(tokenomy.count_request(CHAT).tokens)
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=overriding)
    thread.start()
    inside.wait(10)
    seen.append(tokenomy.count_request(CHAT).tokens)
    release.set()
    thread.join()
    assert seen == [8 + 47, 8]


def test_override_checks_its_shape() -> None:
    """An override naming an unknown constant is refused like a rules file."""
    with pytest.raises(tokenomy.RegistryError, match="not a constant"):
        overridden({"formats": {"chatml": {"render_style": "x"}}}).__enter__()


def test_family_table_changes_that_family_only(tmp_path: Path) -> None:
    """[formats.chatml.families."gpt-4.1"] changes gpt-4.1 counts; gpt-4o, also chatml, is untouched."""
    base_4o, base_41 = tokenomy.count_request(CHAT), tokenomy.count_request(CHAT_41)
    path = _write(tmp_path, '[formats.chatml.families."gpt-4.1"]\ntokens_per_message = 4\n'
                            '[formats.chatml.families."gpt-4.1".chat]\ntool_call = 3\n')
    assert tokenomy.load_rules(path) == ("chatml",)
    changed, same = tokenomy.count_request(CHAT_41), tokenomy.count_request(CHAT)
    assert changed.tokens == base_41.tokens + 1
    assert any(str(path) in note for note in changed.notes)
    assert same == base_4o


def test_format_table_reaches_every_family(tmp_path: Path) -> None:
    """A format-wide constant changes all its families, and each count names the file."""
    path = _write(tmp_path, "[formats.chatml]\nreply_priming = 4\n")
    tokenomy.load_rules(path)
    for body in (CHAT, CHAT_41):
        counted = tokenomy.count_request(body)
        assert any(str(path) in n for n in counted.notes) and not counted.exact
    assert rules.loaded_files() == (str(path),)


def test_metadata_alone_changes_nothing_and_names_nothing(tmp_path: Path) -> None:
    """A table holding only source/note fields leaves counts, and their exact flag, as they were."""
    path = _write(tmp_path, '[formats.chatml.families."gpt-4o"]\nnote = "checked, no change"\n')
    before = tokenomy.count_request(CHAT)
    tokenomy.load_rules(path)
    assert tokenomy.count_request(CHAT) == before


def test_tool_result_constant(tmp_path: Path) -> None:
    """tool_result (0 in the built-in rules) adds its value once per tool result."""
    before = tokenomy.count_request(CALL).tokens
    tokenomy.load_rules(_write(tmp_path, "[formats.chatml.chat]\ntool_result = 2\n"))
    assert tokenomy.count_request(CALL).tokens == before + 2


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"formats": {"chatml": {"families": {"gpt-4o": {"render_style": "x"}}}}}, "render_style"),
        ({"formats": {"chatml": {"families": {"gpt-4o": {"families": {}}}}}}, "families"),
        ({"formats": {"chatml": {"families": ["gpt-4o"]}}}, "families"),
        ({"formats": {"chatml": {"families": {"gpt-4o": {"chat": {"tool_call": True}}}}}}, "chat.tool_call"),
        ({"formats": {"chatml": {"chat": {"tools": {"none": 10**6}}}}}, "chat.tools.none"),
        ({"formats": {"chatml": {"chat": {"tools": 3}}}}, "chat.tools"),
        ({"formats": {"nope": {}}}, None),
        ({"formats": {}}, "formats"),
    ],
)
def test_malformed_rules_are_refused_whole(raw: dict[str, Any], field: str | None) -> None:
    """Each malformed table is a RegistryError naming the field."""
    with pytest.raises(tokenomy.RegistryError) as caught:
        validate_rules(raw, source="mine.toml")
    assert caught.value.field == field


def test_constants_round_trip_through_a_rules_file() -> None:
    """constants() names every integer constant; nested() writes them as a valid rules table that
    reproduces the same rules."""
    for name, family in (("chatml", "gpt-4o"), ("harmony", "gpt-5"), ("chatml-0301", None)):
        values = constants(rules_for(name, family))
        assert set(values) == set(CONSTANTS)
        layer = validate_rules({"formats": {name: nested(values)}}, source="round-trip")
        with overridden({"formats": layer}):
            assert constants(rules_for(name, family)) == values
