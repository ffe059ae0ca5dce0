"""Documented token ids and counts (OpenAI cookbook) for single strings, from tests/reference."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import tokenomy

EXAMPLES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "reference" / "documented-counts.json").read_text("utf-8")
)["examples"]
STRINGS = [e for e in EXAMPLES if e["kind"] == "string"]


@pytest.mark.parametrize("example", STRINGS, ids=lambda e: f"{e['model']}:{e['input']['text'][:20]}")
def test_documented_string(example: dict[str, Any]) -> None:
    """Each documented string has the documented ids, both by model name and by encoding."""
    text, allowed = example["input"]["text"], example["input"].get("allowed_special", ())
    tok = tokenomy.encoding_for(example["model"])
    assert tok.name == example["encoding"]
    assert tokenomy.count(text, model=example["model"], allowed_special=allowed) == example["expected_tokens"]
    if example.get("expected_token_ids"):
        assert tok.encode(text, allowed_special=allowed) == example["expected_token_ids"]
