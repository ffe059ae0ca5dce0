"""Every public function and every CLI subcommand, driven with hostile values for each argument.

The claim: only a TokenomyError subclass escapes (each also the built-in a caller catches:
ValueError, LookupError or OSError, and never the root itself), or a TypeError for an argument of
the wrong Python type; the command line exits 0, 1 (over budget, `count --max-tokens` only) or 2,
with one line on stderr, in-process and as a real program. `HOSTILE_EXAMPLES` scales the number
of inputs per entry point (docs/reliability.md records a run with more).
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokenomy
from tokenomy import TokenomyError, registry
from tokenomy.cli import main
from tokenomy.rules import reset_rules

EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "40"))
DAY = date(2025, 3, 1)
TRIED: collections.Counter[str] = collections.Counter()


def _deep(levels: int) -> Any:
    node: Any = []
    for _ in range(levels):
        node = [node]
    return node


def _cyclic_dict() -> dict[str, Any]:
    node: dict[str, Any] = {"type": "object"}
    node["properties"] = {"self": node}
    return node


def _cyclic_list() -> list[Any]:
    node: list[Any] = []
    node.append(node)
    return node


def _shared(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        node = {"type": "object", "properties": {"a": node, "b": node}}
    return node


SPECIAL_TEXT = ["", "\x00" * 64, "\ud800", "gpt-4o", "gpt-4o-mni", "gpt-4-o", "all", "<|endoftext|>", "-1",
                "1e999999", "no", "default", "word", "average", "end", "/v1/chat/completions", "2024-13-01",
                "data:image/png;base64,AAAA", "x" * 20_000, " " * 5000, "😀" * 500]  # fmt: skip
SPECIAL_NUMBERS = [0, -1, 1, 2**31, 2**63, 10**30, 10**400, -(10**400), float("nan"), float("inf"),
                   -0.0, 1e308, Decimal("NaN"), Decimal("1e999999"), np.int64(7), np.float64("nan")]  # fmt: skip
HUGE = st.builds(pow, st.just(10), st.just(5000))  # built, not listed: its repr() fails
LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40), st.binary(max_size=16),
    st.sampled_from(SPECIAL_TEXT), st.sampled_from(SPECIAL_NUMBERS), HUGE,
    st.sampled_from([date(1, 1, 1), datetime(9999, 12, 31), object(), range(3), np.array([[1.0, 2.0]])]),
)  # fmt: skip
HOSTILE = st.one_of(
    LEAVES,
    st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                 max_leaves=10),
    st.builds(_deep, st.sampled_from([300, 5000])), st.builds(_cyclic_dict), st.builds(_cyclic_list),
    st.builds(_shared, st.just(60)),
)  # fmt: skip


def _parts(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    part = st.fixed_dictionaries({"type": st.sampled_from(["text", "image_url", "input_audio", "file", "refusal",
                                                           "input_text", "input_image", "x"]) | values},
                                 optional={"text": values, "image_url": values, "file": values, "input_audio": values,
                                           "refusal": values, "detail": values})  # fmt: skip
    return st.lists(part | values, max_size=3)


def _message(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    call = st.fixed_dictionaries({"id": values | st.just("c1"), "type": st.just("function") | values,
                                  "function": st.fixed_dictionaries({"name": st.just("f") | values,
                                                                     "arguments": st.just("{}") | values})})  # fmt: skip
    return st.fixed_dictionaries(
        {"role": st.sampled_from(["system", "user", "assistant", "tool", "developer", "function"]) | values},
        optional={"content": st.text(max_size=30) | _parts(values) | values, "name": values,
                  "tool_calls": st.lists(call, max_size=3) | values, "tool_call_id": values,
                  "function_call": values},
    )  # fmt: skip


def _tools(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    schema = st.fixed_dictionaries({"type": st.just("object") | values},
                                   optional={"properties": st.dictionaries(st.text(max_size=5), values, max_size=3) | values,
                                             "required": values, "$defs": values})  # fmt: skip
    tool = st.fixed_dictionaries({"type": st.just("function") | values,
                                  "function": st.fixed_dictionaries({"name": st.just("f") | values},
                                                                    optional={"parameters": schema | values,
                                                                              "description": values})})  # fmt: skip
    return st.lists(tool, max_size=2) | values


def _body(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries(
        {"model": st.sampled_from(["gpt-4o-2024-08-06", "gpt-4.1-mini", "o3-mini", "gpt-4-0613"]) | values},
        optional={"messages": st.lists(_message(values), max_size=4) | values, "input": values,
                  "tools": _tools(values), "tool_choice": values, "response_format": values, "n": values,
                  "max_tokens": values, "max_output_tokens": values, "instructions": values, "text": values,
                  "prompt": values, "functions": values, "function_call": values},
    )  # fmt: skip


MESSAGES = st.lists(_message(HOSTILE), max_size=4) | HOSTILE
BODIES = _body(HOSTILE) | HOSTILE
RESULT = {"flagged": False, "categories": {"hate": False}, "category_scores": {"hate": 0.1}}
RESULTS = st.lists(st.fixed_dictionaries({"flagged": st.booleans() | HOSTILE,
                                          "categories": st.dictionaries(st.text(max_size=5), HOSTILE, max_size=2) | HOSTILE,
                                          "category_scores": st.dictionaries(st.text(max_size=5), HOSTILE, max_size=2)
                                          | HOSTILE}), max_size=3) | HOSTILE  # fmt: skip
CALLBACKS = st.builds(lambda value: (lambda _texts: value), HOSTILE)


def _tok() -> tokenomy.Tokenizer:
    return tokenomy.encoding_for("cl100k_base")


def _request() -> tokenomy.RequestCount:
    return tokenomy.count_request({"model": "gpt-4o-2024-08-06", "messages": [{"role": "user", "content": "hi"}],
                                   "max_tokens": 10}, as_of=DAY)  # fmt: skip


def _budget() -> tokenomy.Budget:
    return tokenomy.Budget("gpt-4o-2024-08-06", as_of=DAY)


def _fake_moderation(texts: list[str]) -> dict[str, Any]:
    return {"results": [RESULT for _ in texts]}


def _register(name: Any, based_on: Any, fields: Any) -> Any:
    try:
        return tokenomy.register_model(name, based_on=based_on, **fields) if isinstance(fields, dict) else (
            tokenomy.register_model(name, based_on=based_on))  # fmt: skip
    finally:
        registry._reset_for_tests()


def _load_rules(path: Any) -> Any:
    try:
        return tokenomy.load_rules(path)
    finally:
        reset_rules()


def _set_encodings_dir(path: Any) -> Any:
    try:
        return tokenomy.set_encodings_dir(path)
    finally:
        tokenomy.set_encodings_dir(None)


TEXT = st.text(max_size=200) | HOSTILE
Entry = tuple[Callable[..., Any], dict[str, Any], dict[str, st.SearchStrategy[Any]]]

# entry point -> (call, valid arguments, what may replace each argument)
_BATCH_LINE = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
               "body": {"model": "gpt-4o-2024-08-06", "messages": [{"role": "user", "content": "Hi"}]}}
_BATCH_OUT = {"id": "b1", "custom_id": "a", "error": None, "response": {"status_code": 200, "request_id": "r",
              "body": {"usage": {"prompt_tokens": 8, "completion_tokens": 9}}}}  # fmt: skip

ENTRY_POINTS: dict[str, Entry] = {
    "reconcile": (tokenomy.reconcile, {"requests": [_BATCH_LINE], "results": [_BATCH_OUT], "as_of": "2025-06-01"},
                  {"requests": HOSTILE | st.lists(HOSTILE, max_size=3),
                   "results": HOSTILE | st.lists(HOSTILE, max_size=3), "as_of": HOSTILE}),
    "count": (tokenomy.count, {"text": "hello", "model": "gpt-4o", "allowed_special": ()},
              {"text": TEXT, "model": HOSTILE, "allowed_special": HOSTILE}),
    "encoding_for": (tokenomy.encoding_for, {"model_or_encoding": "gpt-4o"}, {"model_or_encoding": HOSTILE}),
    "Tokenizer": (tokenomy.Tokenizer, {"encoding": "cl100k_base", "backend": "auto"},
                  {"encoding": HOSTILE, "backend": HOSTILE}),
    "Tokenizer.count": (lambda text: _tok().count(text), {"text": "x"}, {"text": TEXT}),
    "Tokenizer.count_cached": (lambda text: _tok().count_cached(text), {"text": "x"}, {"text": TEXT}),
    "Tokenizer.encode": (lambda text, allowed_special: _tok().encode(text, allowed_special=allowed_special),
                         {"text": "x", "allowed_special": ()}, {"text": TEXT, "allowed_special": HOSTILE}),
    "Tokenizer.encode_array": (lambda text: _tok().encode_array(text), {"text": "x"}, {"text": TEXT}),
    "Tokenizer.decode": (lambda ids: _tok().decode(ids), {"ids": [1, 2]}, {"ids": HOSTILE | st.lists(HOSTILE, max_size=3)}),
    "Tokenizer.decode_bytes": (lambda ids: _tok().decode_bytes(ids), {"ids": [1]}, {"ids": HOSTILE}),
    "Tokenizer.count_until": (lambda text, limit: _tok().count_until(text, limit), {"text": "x", "limit": 5},
                              {"text": TEXT, "limit": HOSTILE}),
    "Tokenizer.count_stream": (lambda source, block_chars, max_tokens: _tok().count_stream(
        source, block_chars=block_chars, max_tokens=max_tokens), {"source": ["a b", "c"], "block_chars": 4,
        "max_tokens": None}, {"source": st.lists(TEXT, max_size=4) | HOSTILE, "block_chars": HOSTILE,
                              "max_tokens": HOSTILE}),
    "Tokenizer.count_parallel": (lambda text, parts: _tok().count_parallel(text, parts=parts),
                                 {"text": "x", "parts": None}, {"text": TEXT, "parts": HOSTILE}),
    "Tokenizer.count_batch": (lambda texts: _tok().count_batch(texts), {"texts": ["a"]},
                              {"texts": st.lists(TEXT, max_size=4) | HOSTILE}),
    "fits": (tokenomy.fits, {"text": "hello", "max_tokens": 5, "model": "gpt-4o"},
             {"text": TEXT, "max_tokens": HOSTILE, "model": HOSTILE}),
    "truncate": (tokenomy.truncate, {"text": "hello world", "max_tokens": 3, "model": "gpt-4o", "side": "end",
                                     "marker": "…", "as_of": None},
                 {"text": TEXT, "max_tokens": HOSTILE, "model": HOSTILE, "side": HOSTILE, "marker": HOSTILE,
                  "as_of": HOSTILE}),
    "chunk": (lambda **kw: list(tokenomy.chunk(**kw)), {"text": "hello world", "max_tokens": 3, "model": "gpt-4o",
                                                       "overlap": 0, "boundaries": ("word",)},
              {"text": TEXT | st.lists(TEXT, max_size=3), "max_tokens": HOSTILE, "model": HOSTILE,
               "overlap": HOSTILE, "boundaries": HOSTILE}),
    "chunk_tokens": (tokenomy.chunk_tokens, {"text": "hello world", "max_tokens": 3, "model": "gpt-4o", "overlap": 0,
                                             "boundaries": ("word",)},
                     {"text": TEXT, "max_tokens": HOSTILE, "model": HOSTILE, "overlap": HOSTILE,
                      "boundaries": HOSTILE}),
    "chunk_ids": (tokenomy.chunk_ids, {"text": "hello world", "max_tokens": 3, "model": "gpt-4o", "overlap": 0,
                                       "boundaries": ("word",)},
                  {"text": TEXT, "max_tokens": HOSTILE, "model": HOSTILE, "overlap": HOSTILE, "boundaries": HOSTILE}),
    "moderation_chunks": (tokenomy.moderation_chunks, {"text": "hello", "model": "omni-moderation-latest",
                                                       "chunk_tokens": None, "max_tokens": "default",
                                                       "boundaries": ("word",)},
                          {"text": TEXT | st.lists(TEXT, max_size=3), "model": HOSTILE, "chunk_tokens": HOSTILE,
                           "max_tokens": HOSTILE, "boundaries": HOSTILE}),
    "merge_moderation": (tokenomy.merge_moderation, {"results": [RESULT], "plan": None},
                         {"results": RESULTS, "plan": HOSTILE}),
    "moderate_long": (tokenomy.moderate_long, {"text": "hello", "moderate_fn": _fake_moderation,
                                               "model": "omni-moderation-latest", "chunk_tokens": None,
                                               "max_tokens": "default", "batch_size": 2},
                      {"text": TEXT | st.lists(TEXT, max_size=3), "moderate_fn": CALLBACKS, "model": HOSTILE,
                       "chunk_tokens": HOSTILE, "max_tokens": HOSTILE, "batch_size": HOSTILE}),
    "moderate_long_batch": (tokenomy.moderate_long_batch, {"texts": ["hello", ""], "moderate_fn": _fake_moderation,
                                                           "model": "omni-moderation-latest", "chunk_tokens": None,
                                                           "max_tokens": "default", "batch_size": 2},
                            {"texts": st.lists(TEXT, max_size=3) | HOSTILE, "moderate_fn": CALLBACKS, "model": HOSTILE,
                             "chunk_tokens": HOSTILE, "max_tokens": HOSTILE, "batch_size": HOSTILE}),
    "embedding_chunks": (tokenomy.embedding_chunks, {"text": "hello", "model": "text-embedding-3-small",
                                                     "max_tokens": None, "boundaries": ("word",)},
                         {"text": TEXT, "model": HOSTILE, "max_tokens": HOSTILE, "boundaries": HOSTILE}),
    "combine_embeddings": (tokenomy.combine_embeddings, {"vectors": [[1.0, 0.0]], "weights": None, "normalize": True},
                           {"vectors": HOSTILE, "weights": HOSTILE, "normalize": HOSTILE}),
    "embed_long": (tokenomy.embed_long, {"text": "hello", "embed_fn": lambda texts: [[1.0, 0.0] for _ in texts],
                                         "model": "text-embedding-3-small", "mode": "average", "max_tokens": None,
                                         "batch_size": 4},
                   {"text": TEXT, "embed_fn": CALLBACKS, "model": HOSTILE, "mode": HOSTILE, "max_tokens": HOSTILE,
                    "batch_size": HOSTILE}),
    "embed_chunks": (tokenomy.embed_chunks, {"text": "hello", "embed_fn": lambda texts: [[1.0, 0.0] for _ in texts],
                                             "model": "text-embedding-3-small", "max_tokens": None, "batch_size": 4},
                     {"text": TEXT, "embed_fn": CALLBACKS, "model": HOSTILE, "max_tokens": HOSTILE,
                      "batch_size": HOSTILE}),
    "count_embedding_input": (tokenomy.count_embedding_input, {"input": "hi", "model": "text-embedding-3-small"},
                              {"input": HOSTILE, "model": HOSTILE}),
    "count_messages": (tokenomy.count_messages, {"messages": [{"role": "user", "content": "hi"}],
                                                 "model": "gpt-4o-2024-08-06", "tools": None, "tool_choice": None,
                                                 "functions": None, "function_call": None, "response_format": None,
                                                 "as_of": DAY, "image_dimensions": None},
                       {"messages": MESSAGES, "model": HOSTILE, "tools": _tools(HOSTILE), "tool_choice": HOSTILE,
                        "functions": HOSTILE, "function_call": HOSTILE, "response_format": HOSTILE,
                        "as_of": HOSTILE, "image_dimensions": HOSTILE | st.dictionaries(st.text(max_size=5), HOSTILE)}),
    "count_request": (tokenomy.count_request, {"body": {"model": "gpt-4o-2024-08-06", "messages": []},
                                               "endpoint": "/v1/chat/completions", "as_of": DAY,
                                               "image_dimensions": None, "require_zero_retention": False},
                      {"body": BODIES, "endpoint": st.sampled_from(["/v1/responses", "/v1/completions", "/v1/embeddings",
                                                                    "/v1/moderations", "embeddings"]) | HOSTILE,
                       "as_of": HOSTILE, "image_dimensions": HOSTILE, "require_zero_retention": HOSTILE}),
    "cost_of_request": (lambda request, output_tokens, batch: tokenomy.cost_of_request(
        _request() if isinstance(request, str) and request == "valid" else request, output_tokens=output_tokens, batch=batch),
        {"request": "valid", "output_tokens": None, "batch": False},
        {"request": HOSTILE, "output_tokens": HOSTILE, "batch": HOSTILE}),
    "estimate_cost": (tokenomy.estimate_cost, {"model": "gpt-4o-2024-08-06", "input_tokens": 10, "output_tokens": 5,
                                               "cached_input_tokens": 0, "batch": False, "as_of": DAY},
                      {"model": HOSTILE, "input_tokens": HOSTILE, "output_tokens": HOSTILE,
                       "cached_input_tokens": HOSTILE, "batch": HOSTILE, "as_of": HOSTILE}),
    "cost_from_usage": (tokenomy.cost_from_usage, {"model": "gpt-4o-2024-08-06", "usage": {"prompt_tokens": 5},
                                                   "batch": False, "as_of": DAY},
                        {"model": HOSTILE, "usage": HOSTILE | st.dictionaries(st.sampled_from(
                            ["prompt_tokens", "completion_tokens", "input_tokens", "output_tokens",
                             "prompt_tokens_details", "completion_tokens_details"]), HOSTILE),
                         "batch": HOSTILE, "as_of": HOSTILE}),
    "image_cost": (tokenomy.image_cost, {"model": "dall-e-3", "size": "1024x1024", "quality": "standard", "n": 1},
                   {"model": HOSTILE, "size": HOSTILE, "quality": HOSTILE, "n": HOSTILE}),
    "speech_cost": (tokenomy.speech_cost, {"model": "tts-1", "text": "hi"}, {"model": HOSTILE, "text": HOSTILE}),
    "transcription_cost": (tokenomy.transcription_cost, {"model": "whisper-1", "seconds": 10},
                           {"model": HOSTILE, "seconds": HOSTILE}),
    "default_epochs": (tokenomy.default_epochs, {"examples": 100}, {"examples": HOSTILE}),
    "fine_tuning_cost": (tokenomy.fine_tuning_cost, {"model": "gpt-4o-mini-2024-07-18", "billed_tokens": 100,
                                                     "epochs": 3, "as_of": DAY},
                         {"model": HOSTILE, "billed_tokens": HOSTILE, "epochs": HOSTILE, "as_of": HOSTILE}),
    "count_image": (tokenomy.count_image, {"width": 512, "height": 512, "detail": "auto", "model": "gpt-4o",
                                           "as_of": DAY},
                    {"width": HOSTILE, "height": HOSTILE, "detail": HOSTILE,
                     "model": st.sampled_from(["gpt-4.1-mini", "gpt-4o-mini"]) | HOSTILE, "as_of": HOSTILE}),
    "model_info": (tokenomy.model_info, {"name": "gpt-4o", "as_of": DAY}, {"name": HOSTILE, "as_of": HOSTILE}),
    "models": (tokenomy.models, {"kind": None, "as_of": DAY}, {"kind": HOSTILE, "as_of": HOSTILE}),
    "register_model": (_register, {"name": "hostile-deploy", "based_on": "gpt-4o-2024-08-06", "fields": {}},
                       {"name": HOSTILE, "based_on": HOSTILE,
                        "fields": st.dictionaries(st.sampled_from(sorted(registry._ALLOWED)) | st.text(max_size=6),
                                                  HOSTILE, max_size=3)}),
    "endpoint_info": (tokenomy.endpoint_info, {"path": "/v1/chat/completions", "as_of": DAY},
                      {"path": HOSTILE, "as_of": HOSTILE}),
    "endpoints": (tokenomy.endpoints, {"as_of": DAY}, {"as_of": HOSTILE}),
    "check_request": (tokenomy.check_request, {"path": "/v1/chat/completions", "model": "gpt-4o", "as_of": DAY,
                                               "uses": (), "batch": False, "require_zero_retention": False},
                      {"path": HOSTILE, "model": HOSTILE, "as_of": HOSTILE, "uses": HOSTILE, "batch": HOSTILE,
                       "require_zero_retention": HOSTILE}),
    "load_rules": (_load_rules, {"path": "/nonexistent/rules.toml"}, {"path": HOSTILE}),
    "set_encodings_dir": (_set_encodings_dir, {"path": None}, {"path": HOSTILE}),
    "Budget": (tokenomy.Budget, {"model": "gpt-4o-2024-08-06", "reserve_output": None, "as_of": DAY},
               {"model": HOSTILE, "reserve_output": HOSTILE, "as_of": HOSTILE}),
    "Budget.check": (lambda messages, tools, tool_choice: _budget().check(messages, tools, tool_choice),
                     {"messages": [{"role": "user", "content": "hi"}], "tools": None, "tool_choice": None},
                     {"messages": MESSAGES, "tools": _tools(HOSTILE), "tool_choice": HOSTILE}),
    "Budget.fit": (lambda messages, strategy: _budget().fit(messages, strategy=strategy),
                   {"messages": [{"role": "user", "content": "hi"}], "strategy": "drop_oldest"},
                   {"messages": MESSAGES, "strategy": HOSTILE}),
    "Budget.allocate": (lambda sections, overhead: _budget().allocate(sections, overhead=overhead),
                        {"sections": [{"name": "a", "text": "hello"}], "overhead": 0},
                        {"sections": st.lists(st.dictionaries(st.sampled_from(["name", "text", "priority", "min_tokens",
                                                                               "max_tokens"]), HOSTILE), max_size=3)
                         | HOSTILE, "overhead": HOSTILE}),
    "backend_info": (tokenomy.backend_info, {}, {}),
    "encoding_names": (tokenomy.encoding_names, {}, {}),
}  # fmt: skip


def _allowed(name: str, call: Callable[[], Any]) -> None:
    """Call; only a typed TokenomyError (also a built-in) or a TypeError may escape."""
    TRIED[name] += 1
    try:
        with _quiet():
            call()
    except TokenomyError as error:
        assert type(error) is not TokenomyError, "the root is never raised itself"
        assert isinstance(error, (ValueError, LookupError, OSError)), f"{type(error).__name__} is no built-in"
        assert str(error), "an error says what was wrong"
    except TypeError as error:
        assert str(error), "an error says what was wrong"


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
@given(data=st.data())
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_public_entry_points_raise_only_typed_errors(name: str, data: st.DataObject) -> None:
    """Each public function, with one or more arguments replaced by hostile values, returns or
    raises a typed TokenomyError (also a built-in) or a TypeError, never anything else."""
    call, valid, hostile = ENTRY_POINTS[name]
    kwargs = dict(valid)
    if hostile:
        chosen = data.draw(st.lists(st.sampled_from(sorted(hostile)), min_size=1, max_size=len(hostile), unique=True))
        for argument in chosen:
            kwargs[argument] = data.draw(hostile[argument], label=argument)
    _allowed(name, lambda: call(**kwargs))


def test_every_public_function_is_driven() -> None:
    """The table above covers every public function and class of tokenomy but the dataset reports
    (fuzzed in test_hardening.py and their own tests)."""
    callables = {n for n in tokenomy.__all__ if callable(getattr(tokenomy, n)) and not isinstance(getattr(tokenomy, n), type)}
    classes_with_calls = {"Tokenizer", "Budget"}
    covered = {name.split(".")[0] for name in ENTRY_POINTS}
    assert callables - covered <= {"analyze"}
    assert classes_with_calls <= covered


# ---- the command line ---------------------------------------------------------------------------

TOKENS = st.sampled_from(["-m", "--model", "gpt-4o", "gpt-4o-mni", "gpt-4-o", "gpt-4o-2099-01-01", "--max-tokens",
                          "--overlap", "--side", "middle", "--marker", "--json", "--as-of", "2024-13-01", "2024-06-01",
                          "--input-tokens", "--output-tokens", "--cached-tokens", "--batch", "--endpoint",
                          "/v1/responses", "--kind", "chat", "text", "-", "0", "1", "-1", "5", "10" * 30,
                          "1e999999", "nan", "--debug", "--", "FILE", "FILE", "\x00", "😀"]) | st.text(max_size=8)  # fmt: skip
CONTENTS = st.one_of(
    st.text(max_size=300), st.binary(max_size=64),
    st.deferred(lambda: _body(JSON_LEAVES).map(lambda body: json.dumps(body, default=repr))),
    st.sampled_from(["{" * 100_000, '{"model": "gpt-4o", "max_tokens": ' + "9" * 5000 + "}", "\x00" * 10_000,
                     '{"messages": [{"role": ["user"], "content": "x"}], "model": "gpt-4o"}', "[1, 2]", "{}"]),
)  # fmt: skip
JSON_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-(10**60), 10**60), st.floats(allow_nan=False),
                        st.text(max_size=40), st.sampled_from(SPECIAL_TEXT))
COMMANDS = ["count", "fit", "chunk", "cost", "analyze", "reconcile", "models", "endpoints"]



def _argv(command: str, tokens: list[str], path: Path) -> list[str]:
    return [command, *(str(path) if t == "FILE" else t for t in tokens)]


def _write(path: Path, content: str | bytes) -> None:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", errors="surrogatepass")


def _check_exit(command: str, argv: list[str], code: object, err: str) -> None:
    assert code in (0, 1, 2), f"exit {code}: {err[-500:]}"
    if code == 1:  # over budget, and only that
        assert command == "count" and "--max-tokens" in argv and "over budget" in err, err
    if code == 2:
        assert err.startswith(("tokenomy: ", "usage: tokenomy")) and "Traceback" not in err, err[-500:]


@pytest.mark.parametrize("command", COMMANDS)
@given(tokens=st.lists(TOKENS, max_size=6), content=CONTENTS)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_cli_in_process_exits_0_1_or_2(command: str, tokens: list[str], content: str | bytes,
                                       tmp_path_factory: pytest.TempPathFactory,
                                       capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """main(argv) on hostile options and file contents exits 0, 1 (count over --max-tokens) or 2."""
    path = tmp_path_factory.mktemp("cli") / "input.txt"
    _write(path, content)
    argv = _argv(command, tokens, path)
    TRIED[f"cli {command}"] += 1
    real_stdin = sys.stdin
    sys.stdin = __import__("io").StringIO("hello from stdin")
    try:
        with _quiet():
            code = main(argv)
    except SystemExit as exit_:  # --help and --version
        code = exit_.code
    finally:
        sys.stdin = real_stdin
    _, err = capsys.readouterr()
    _check_exit(command, argv, code, err)
    if code == 2:
        assert len(err.strip().splitlines()) == 1 or err.startswith("usage: tokenomy"), err


SUBPROCESS_EXAMPLES = max(3, EXAMPLES // 4)


@pytest.mark.parametrize("command", COMMANDS)
@given(tokens=st.lists(TOKENS, max_size=5), content=CONTENTS)
@settings(max_examples=SUBPROCESS_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_cli_as_a_program_exits_0_1_or_2(command: str, tokens: list[str], content: str | bytes,
                                         tmp_path_factory: pytest.TempPathFactory) -> None:  # fmt: skip
    """`python -m tokenomy` on hostile options and files exits 0, 1 or 2 with one line, as a real process."""
    path = tmp_path_factory.mktemp("cli") / "input.txt"
    _write(path, content)
    argv = _argv(command, [t for t in tokens if "\x00" not in t], path)
    TRIED[f"cli {command} (process)"] += 1
    result = subprocess.run([sys.executable, "-m", "tokenomy", *argv], input=b"hello from stdin", capture_output=True,
                            timeout=120, check=False)  # fmt: skip
    err = result.stderr.decode("utf-8", "replace")
    _check_exit(command, argv, result.returncode, err)


def test_zz_report_inputs_tried(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints how many inputs each entry point was given in this run (for docs/reliability.md)."""
    with capsys.disabled():
        if os.environ.get("HOSTILE_REPORT"):
            print("\ninputs tried per entry point:")
            for name, n in sorted(TRIED.items()):
                print(f"  {name}: {n}")
            print(f"  total: {sum(TRIED.values())}")
