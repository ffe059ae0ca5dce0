"""reconcile(): predicted against billed prompt tokens, joined by custom_id, and calibration.

Batch input and output files are built in the real format from the API-billed vectors
(../shared/reference/api-verified-requests.json): each output line bills the recorded count.
"""

from __future__ import annotations

import gzip
import json
import warnings
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokenomy
from tests.reference.verified import ENDPOINTS, family, load_vectors, recorded_day, reference_file
from tokenomy import registry, rules
from tokenomy.calibrate import constant_uses, held_out
from tokenomy.cli import main
from tokenomy.reconciling import reconcile

PATH = reference_file()
VECTORS: list[dict[str, Any]] = load_vectors(PATH) if PATH else []
needs_vectors = pytest.mark.skipif(PATH is None, reason="api-verified-requests.json not found (../shared/reference)")
HI = {"model": "gpt-4o-2024-08-06", "messages": [{"role": "user", "content": "Hi"}]}


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    rules.reset_rules()
    yield
    rules.reset_rules()
    registry._reset_for_tests()


# ---- building Batch files in the API's format ---------------------------------------------------


def _usage(kind: str, prompt: int, i: int, reasoning: bool) -> dict[str, Any]:
    """Usage as the API writes it; cached, output and reasoning figures vary by line."""
    cached = (prompt // 2) if i % 3 == 0 else 0
    output = 7 + i % 11
    thought = output // 2 if reasoning else 0
    if kind == "chat":
        return {"prompt_tokens": prompt, "completion_tokens": output, "total_tokens": prompt + output,
                "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": thought, "audio_tokens": 0}}
    return {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": output, "output_tokens_details": {"reasoning_tokens": thought},
            "total_tokens": prompt + output}


def _output_line(custom_id: str, kind: str, model: str, usage: dict[str, Any], day: date) -> dict[str, Any]:
    stamp = int(datetime(day.year, day.month, day.day, 12, tzinfo=timezone.utc).timestamp())
    if kind == "chat":
        body = {"id": f"chatcmpl-{custom_id}", "object": "chat.completion", "created": stamp, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                             "finish_reason": "stop"}], "usage": usage}
    else:
        body = {"id": f"resp_{custom_id}", "object": "response", "created_at": stamp, "status": "completed",
                "model": model, "output": [], "usage": usage}
    return {"id": f"batch_req_{custom_id}", "custom_id": custom_id,
            "response": {"status_code": 200, "request_id": f"req_{custom_id}", "body": body}, "error": None}


def _write_batch(folder: Path, vectors: Sequence[dict[str, Any]], *, model: str | None = None,
                 billed: Sequence[int] | None = None) -> tuple[Path, Path]:
    """A Batch input file and its output file; the output bills each vector's recorded count
    (or ``billed``)."""
    inputs, outputs = folder / "batch-input.jsonl", folder / "batch-output.jsonl"
    with inputs.open("w", encoding="utf-8") as fi, outputs.open("w", encoding="utf-8") as fo:
        for i, v in enumerate(vectors):
            body = {**v["input"], "model": model or v["model"]}
            fi.write(json.dumps({"custom_id": v["id"], "method": "POST", "url": ENDPOINTS[v["kind"]],
                                 "body": body}) + "\n")
            prompt = v["expected_tokens"] if billed is None else billed[i]
            usage = _usage(v["kind"], prompt, i, reasoning=v["model"].startswith(("gpt-5", "o")))
            fo.write(json.dumps(_output_line(v["id"], v["kind"], body["model"], usage, recorded_day(v))) + "\n")
    return inputs, outputs


def _file_sums(path: Path) -> dict[str, int]:
    sums = dict.fromkeys(("prompt", "cached", "output", "reasoning"), 0)
    for line in path.read_text("utf-8").splitlines():
        usage = json.loads(line)["response"]["body"]["usage"]
        sums["prompt"] += usage.get("prompt_tokens", usage.get("input_tokens", 0))
        sums["output"] += usage.get("completion_tokens", usage.get("output_tokens", 0))
        details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details")
        sums["cached"] += details["cached_tokens"]
        out = usage.get("completion_tokens_details") or usage.get("output_tokens_details")
        sums["reasoning"] += out["reasoning_tokens"]
    return sums


def _quiet_count(body: dict[str, Any], endpoint: str, day: date) -> tokenomy.RequestCount:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return tokenomy.count_request(body, endpoint=endpoint, as_of=day)


# ---- the reference vectors as a Batch job --------------------------------------------------------


@needs_vectors
def test_totals_equal_the_files_sums(tmp_path: Path) -> None:
    """Billed prompt, cached, output and reasoning totals equal the output file's sums; every
    request is joined; predictions are count_request's; billed tokens are the recorded ones."""
    inputs, outputs = _write_batch(tmp_path, VECTORS)
    result = reconcile(inputs, outputs)
    sums = _file_sums(outputs)
    assert (result.prompt_tokens, result.cached_tokens, result.output_tokens, result.reasoning_tokens) == (
        sums["prompt"], sums["cached"], sums["output"], sums["reasoning"])
    assert result.issues == () and len(result.requests) == len(VECTORS)
    assert result.as_of == min(recorded_day(v) for v in VECTORS)  # the earliest response's day
    assert any("results were created from" in n for n in result.notes)
    by_id = {v["id"]: v for v in VECTORS}
    for row in result.requests:
        vector = by_id[row.custom_id]
        assert row.billed_tokens == vector["expected_tokens"]
        assert row.predicted_tokens == _quiet_count({**vector["input"], "model": vector["model"]},
                                                    ENDPOINTS[vector["kind"]], result.as_of).tokens
    assert result.predicted_tokens == sum(r.predicted_tokens for r in result.requests)
    total = result.accuracy()
    assert total.requests == len(VECTORS) and total.equal == sum(r.difference == 0 for r in result.requests)
    assert total.max_error == max(abs(r.difference) for r in result.requests)
    print(f"\nreference vectors reconciled: exact {total.exact_share:.1%}, within 2 {total.within_2_share:.1%}")


@needs_vectors
def test_billed_cost_prices_each_line_at_the_batch_rate(tmp_path: Path) -> None:
    """The billed cost equals the sum of cost_from_usage over the output lines (cached tokens at the
    cached rate, reasoning inside output, the batch rate), in exact Decimal."""
    chosen = [v for v in VECTORS if family(v) in ("gpt-4o", "gpt-4o-mini", "gpt-5-mini")]
    inputs, outputs = _write_batch(tmp_path, chosen)
    result = reconcile(inputs, outputs, as_of="2025-09-01")
    expected = Decimal(0)
    for line in outputs.read_text("utf-8").splitlines():
        body = json.loads(line)["response"]["body"]
        expected += tokenomy.cost_from_usage(body["model"], body["usage"], batch=True, as_of=date(2025, 9, 1)).usd
    assert result.batch and result.billed_usd == expected
    standard = reconcile(inputs, outputs, as_of="2025-09-01", batch=False).billed_usd
    assert standard is not None and standard > expected
    assert all(c.billed is not None and c.billed.reasoning_tokens == c.reasoning_tokens for c in result.costs)


@needs_vectors
def test_summaries_per_model_family_and_feature(tmp_path: Path) -> None:
    """Per-model rows partition the requests; feature rows hold each request with that feature."""
    result = reconcile(*_write_batch(tmp_path, VECTORS))
    assert sum(a.requests for a in result.by_model()) == len(result.requests)
    assert sum(a.requests for a in result.by_family()) == len(result.requests)
    features = {a.group: a for a in result.by_feature()}
    assert features["tool_calls"].requests == sum("tool_calls" in r.features for r in result.requests)
    assert features["/v1/responses"].requests == sum(v["kind"] == "responses" for v in VECTORS)
    text, html = str(result), result._repr_html_()
    assert "predicted = billed" in text and "gpt-4o-2024-08-06" in text and "tool_calls" in text
    assert "<table>" in html and "gpt-4o-2024-08-06" in html
    data = json.loads(json.dumps(result.to_dict()))
    assert data["prompt_tokens"] == result.prompt_tokens and len(data["requests"]) == len(VECTORS)


# ---- calibration ----------------------------------------------------------------------------------


def _families(minimum: int) -> list[str]:
    counts: dict[str, int] = {}
    for v in VECTORS:
        counts[family(v)] = counts.get(family(v), 0) + 1
    return sorted(f for f, n in counts.items() if n >= minimum)


@needs_vectors
@pytest.mark.parametrize("name", _families(20) or ["gpt-4o"])
def test_calibration_keeps_or_raises_the_held_out_exact_share(tmp_path: Path, name: str) -> None:
    """Fitted on half of a family's requests, the calibrated rules count the other half exactly at
    least as often; loaded from the file they write, they do what the report says, and name it."""
    chosen = [v for v in VECTORS if family(v) == name]
    inputs, outputs = _write_batch(tmp_path, chosen)
    before = reconcile(inputs, outputs)
    calibration = before.calibrate()
    held = [r for r in before.requests if held_out(r.custom_id)]
    assert calibration.held_out == len(held) > 0
    assert calibration.exact_after is not None and calibration.exact_before is not None
    assert calibration.exact_after >= calibration.exact_before
    path = calibration.write(tmp_path / "rules.toml")
    tokenomy.load_rules(path)
    after = reconcile(inputs, outputs)
    held_after = [r for r in after.requests if held_out(r.custom_id)]
    assert sum(r.difference == 0 for r in held_after) == sum(g.held_out_exact_after for g in calibration.groups)
    assert after.rules_files == (str(path),)
    if calibration.changed:
        assert all(any(str(path) in n for n in r.notes) for r in after.requests if r.family == name)
    print(f"\n{name}: held-out exact {calibration.exact_before:.1%} -> {calibration.exact_after:.1%}")


@needs_vectors
def test_a_shifted_overhead_is_recovered(tmp_path: Path) -> None:
    """A model registered with based_on whose bill has 2 tokens more per message: calibration finds
    tokens_per_message 3 -> 5 for its family alone, restores the held-out exact share, and the
    rules it writes change that model's counts and no other."""
    tokenomy.register_model("acme-4o", based_on="gpt-4o-2024-08-06", family="acme")
    day = date(2025, 9, 1)
    chosen, billed = [], []
    for v in VECTORS:  # per-message framing counted independently: one token more per message
        body, endpoint = {**v["input"], "model": "acme-4o"}, ENDPOINTS[v["kind"]]
        if v["model"] != "gpt-4o-2024-08-06" or "image" in v["features"]:
            continue  # a registered model has no image rule: such requests are uncountable for it
        with rules.overridden({"formats": {"chatml": {"tokens_per_message": 4}}}):
            raised = _quiet_count(body, endpoint, day).tokens
        messages = raised - _quiet_count(body, endpoint, day).tokens
        assert messages >= 1
        chosen.append(v)
        billed.append(v["expected_tokens"] + 2 * messages)
    unshifted = reconcile(*_write_batch(tmp_path, chosen), as_of=day)
    (tmp_path / "acme").mkdir()
    inputs, outputs = _write_batch(tmp_path / "acme", chosen, model="acme-4o", billed=billed)
    shifted = reconcile(inputs, outputs, as_of=day)
    assert shifted.accuracy().equal < unshifted.accuracy().equal // 4
    calibration = shifted.calibrate()
    (group,) = calibration.groups
    assert (group.prompt_format, group.family, group.applied) == ("chatml", "acme", True)
    assert ("tokens_per_message", 3, 5) in group.changes
    held_unshifted = sum(r.difference == 0 for r in unshifted.requests if held_out(r.custom_id))
    assert group.held_out_exact_after >= held_unshifted > 2 * group.held_out_exact_before
    tokenomy.load_rules(calibration.write(tmp_path / "acme.toml"))
    assert _quiet_count({**HI, "model": "acme-4o"}, ENDPOINTS["chat"], day).tokens == 8 + 2
    assert _quiet_count(HI, ENDPOINTS["chat"], day).tokens == 8  # gpt-4o, same format, untouched


def test_calibration_without_chat_requests_writes_a_harmless_file(tmp_path: Path) -> None:
    """With nothing to fit, the rules file still loads and changes no count."""
    lines = [{"custom_id": "e", "method": "POST", "url": "/v1/embeddings",
              "body": {"model": "text-embedding-3-small", "input": "hello"}}]
    out = [{"custom_id": "e", "response": {"status_code": 200, "body": {"usage": {"prompt_tokens": 1}}}}]
    calibration = reconcile(lines, out).calibrate()
    assert not calibration.changed and calibration.groups == ()
    tokenomy.load_rules(calibration.write(tmp_path / "none.toml"))
    assert tokenomy.count_request(HI) == tokenomy.count_request(HI)
    assert tokenomy.count_request(HI).exact


def test_constant_uses_match_one_constant_at_a_time() -> None:
    """The multiplicities read from one encoded count equal those of raising each constant by one."""
    bodies = [HI, {"model": "gpt-5-mini-2025-08-07", "instructions": "Be brief.", "input": "Hi",
                   "tools": [{"type": "function", "name": "f", "parameters": {"type": "object", "properties": {}}}],
                   "tool_choice": "required"}]
    for body in bodies:
        endpoint = "/v1/chat/completions" if "messages" in body else "/v1/responses"
        counted = tokenomy.count_request(body, endpoint=endpoint)
        info = tokenomy.model_info(body["model"])
        assert counted.prompt_format is not None
        (found,) = constant_uses([(body, counted, info.family)])
        uses = dict(found)
        values = rules.constants(rules.rules_for(counted.prompt_format, info.family))
        for name in rules.CONSTANTS:
            layer = rules.nested({name: values[name] + 1})
            with rules.overridden({"formats": {counted.prompt_format: layer}}):
                raised = tokenomy.count_request(body, endpoint=endpoint).tokens
            assert raised - counted.tokens == uses.get(name, 0), name


# ---- what cannot be joined -------------------------------------------------------------------------


def _ok(custom_id: str, prompt: int = 8) -> str:
    return json.dumps(_output_line(custom_id, "chat", "gpt-4o-2024-08-06", _usage("chat", prompt, 1, False),
                                   date(2025, 6, 2)))


def _request(custom_id: str, body: dict[str, Any] | None = None) -> str:
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
                       "body": body or HI})


def test_malformed_unmatched_and_failed_lines_are_reported_by_line(tmp_path: Path) -> None:
    """Every line that cannot be joined is an issue naming its file, line number and custom_id."""
    inputs, outputs = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inputs.write_text("\n".join([
        _request("a"),                                   # 1 joined
        "{not json",                                     # 2 malformed
        json.dumps({"custom_id": "c", "url": "/v1/chat/completions"}),  # 3 no body
        _request("d"),                                   # 4 no result line
        _request("e"),                                   # 5 failed: error object
        _request("f"),                                   # 6 failed: status 500
        _request("a"),                                   # 7 duplicate custom_id
        "",                                              # 8 blank: skipped
        _request("g", {"model": "no-such-model", "messages": []}),  # 9 uncountable
        _request("h"),                                   # 10 its result has no usage
    ]) + "\n", encoding="utf-8")
    outputs.write_text("\n".join([
        _ok("a"),                                                                        # 1
        json.dumps({"id": "x", "custom_id": "e", "response": None,
                    "error": {"code": "batch_expired", "message": "This request could not be executed"}}),  # 2
        json.dumps({"id": "y", "custom_id": "f", "error": None, "response": {"status_code": 500,
                    "request_id": "r", "body": {"error": {"message": "server error"}}}}),  # 3
        _ok("z", prompt=11),                                                             # 4 no request
        "[1, 2]",                                                                        # 5 not an object
        _ok("a"),                                                                        # 6 duplicate
        json.dumps({"custom_id": "h", "response": {"status_code": 200, "body": {}}}),    # 7 no usage
        _ok("g"),                                                                        # 8
    ]) + "\n", encoding="utf-8")
    result = reconcile(inputs, outputs)
    found = {(Path(i.source).name, i.line, i.custom_id, i.kind) for i in result.issues}
    assert found == {
        ("in.jsonl", 2, None, "malformed"), ("in.jsonl", 3, "c", "malformed"),
        ("in.jsonl", 4, "d", "unmatched"), ("in.jsonl", 7, "a", "duplicate"),
        ("in.jsonl", 9, "g", "uncountable"), ("in.jsonl", 10, "h", "unmatched"),
        ("out.jsonl", 2, "e", "failed"), ("out.jsonl", 3, "f", "failed"), ("out.jsonl", 4, "z", "unmatched"),
        ("out.jsonl", 5, None, "malformed"), ("out.jsonl", 6, "a", "duplicate"),
        ("out.jsonl", 7, "h", "malformed"), ("out.jsonl", 8, "g", "unmatched"),
    }
    assert [r.custom_id for r in result.requests] == ["a"]
    failed = {i.custom_id: i.message for i in result.issues_of("failed")}
    assert "could not be executed" in failed["e"] and "500" in failed["f"] and "server error" in failed["f"]
    assert "UnknownModelError" in result.issues_of("uncountable")[0].message
    assert result.prompt_tokens == 8 + 11 + 8  # unmatched results were billed too: in the totals
    assert "unmatched" in str(result) and "line" in result._repr_html_()
    with pytest.raises(ValueError, match="kind must be one of"):
        result.issues_of("odd")


def test_unreadable_files_are_typed_errors(tmp_path: Path) -> None:
    """A missing file or bytes that are not UTF-8 raise InputFileError (also an OSError) naming the file."""
    good = tmp_path / "out.jsonl"
    good.write_text(_ok("a") + "\n", encoding="utf-8")
    with pytest.raises(tokenomy.InputFileError, match=r"missing\.jsonl") as caught:
        reconcile(tmp_path / "missing.jsonl", good)
    assert isinstance(caught.value, OSError)
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b'{"custom_id": "\xff"}\n')
    with pytest.raises(tokenomy.InputFileError, match="UTF-8"):
        reconcile(binary, good)
    with pytest.raises(tokenomy.ResultFormatError):
        reconcile(None, good)


def test_gzip_files_and_the_worker_pool_give_the_same_result(tmp_path: Path) -> None:
    """Gzipped files read like plain ones, and counting in worker processes changes nothing."""
    requests = [_request(f"r{i}", {**HI, "messages": HI["messages"] * (1 + i % 4)}) for i in range(60)]
    results = [_ok(f"r{i}", prompt=3 + 5 * (1 + i % 4)) for i in range(60)]
    plain_in, plain_out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    plain_in.write_text("\n".join(requests) + "\n", encoding="utf-8")
    plain_out.write_text("\n".join(results) + "\n", encoding="utf-8")
    zipped_in, zipped_out = tmp_path / "in.jsonl.gz", tmp_path / "out.jsonl.gz"
    zipped_in.write_bytes(gzip.compress(plain_in.read_bytes()))
    zipped_out.write_bytes(gzip.compress(plain_out.read_bytes()))
    local = reconcile(plain_in, plain_out, parallel=False)
    assert local.accuracy().equal == 60
    assert reconcile(zipped_in, zipped_out).requests == local.requests
    pooled = reconcile(plain_in, plain_out, parallel=True)
    assert pooled.requests == local.requests and pooled.to_dict() == local.to_dict()


# ---- SDK pairs --------------------------------------------------------------------------------


class _Model:
    """A pydantic-like request object."""

    def __init__(self, **fields: Any) -> None:
        self._fields = fields

    def model_dump(self, **_: Any) -> dict[str, Any]:
        return dict(self._fields)


def test_sdk_pairs_of_dicts_objects_and_exceptions() -> None:
    """(request, response or usage) pairs from the SDK: Chat and Responses usage, objects with
    attributes, and a raised error reported as failed; priced at the standard rate."""
    chat_usage = SimpleNamespace(prompt_tokens=8, completion_tokens=4, total_tokens=12,
                                 prompt_tokens_details=SimpleNamespace(cached_tokens=0),
                                 completion_tokens_details=SimpleNamespace(reasoning_tokens=0))
    pairs = [
        (HI, {"id": "c1", "model": "gpt-4o-2024-08-06", "created": 1_750_000_000, "usage": {
            "prompt_tokens": 8, "completion_tokens": 3}}),
        (_Model(model="gpt-4o-2024-08-06", input="Hi"), SimpleNamespace(model="gpt-4o-2024-08-06", usage=SimpleNamespace(
            input_tokens=8, output_tokens=20, input_tokens_details=SimpleNamespace(cached_tokens=0),
            output_tokens_details=SimpleNamespace(reasoning_tokens=5)))),
        (HI, chat_usage),
        (HI, TimeoutError("timed out")),
        ("not a pair",),
    ]
    result = reconcile(None, pairs)
    assert [r.custom_id for r in result.requests] == ["#1", "#2", "#3"]
    assert [r.endpoint for r in result.requests] == ["/v1/chat/completions", "/v1/responses", "/v1/chat/completions"]
    assert all(r.difference == 0 for r in result.requests)
    assert result.as_of == date(2025, 6, 15) and not result.batch
    assert {(i.line, i.kind) for i in result.issues} == {(4, "failed"), (5, "malformed")}
    assert "TimeoutError" in result.issues_of("failed")[0].message
    assert (result.output_tokens, result.reasoning_tokens) == (27, 5)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 10**7), st.integers(0, 10**6),
                          st.integers(0, 100), st.integers(0, 100)), min_size=1, max_size=12))
def test_totals_and_cost_add_up_for_any_usage(lines: list[tuple[bool, int, int, int, int]]) -> None:
    """For any usage figures, in either API's field names, the totals are the sums and the billed
    cost is the sum of each line's cost_from_usage."""
    requests, results, expected = [], [], Decimal(0)
    for i, (responses, prompt, output, cached_pct, reasoning_pct) in enumerate(lines):
        cached, reasoning = prompt * cached_pct // 100, output * reasoning_pct // 100
        if responses:
            body = {"model": "gpt-4o-mini-2024-07-18", "input": "Hi"}
            url, usage = "/v1/responses", {"input_tokens": prompt, "output_tokens": output,
                                            "input_tokens_details": {"cached_tokens": cached},
                                            "output_tokens_details": {"reasoning_tokens": reasoning}}
        else:
            body = {**HI, "model": "gpt-4o-mini-2024-07-18"}
            url, usage = "/v1/chat/completions", {"prompt_tokens": prompt, "completion_tokens": output,
                                                   "prompt_tokens_details": {"cached_tokens": cached},
                                                   "completion_tokens_details": {"reasoning_tokens": reasoning}}
        requests.append({"custom_id": str(i), "url": url, "body": body})
        results.append({"custom_id": str(i), "response": {"status_code": 200, "body": {"usage": usage}}})
        expected += tokenomy.cost_from_usage("gpt-4o-mini-2024-07-18", usage, batch=True, as_of=date(2025, 6, 1)).usd
    result = reconcile(requests, results, as_of="2025-06-01")
    assert result.prompt_tokens == sum(p for _, p, _, _, _ in lines)
    assert result.output_tokens == sum(o for _, _, o, _, _ in lines)
    assert result.billed_usd == expected


# ---- command line ------------------------------------------------------------------------------


def test_cli_reconcile_text_json_and_calibrate(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """`tokenomy reconcile IN OUT` prints the report; --json its data; --calibrate writes rules that
    load through TOKENOMY_RULES and tokenomy.load_rules."""
    inputs, outputs = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inputs.write_text("\n".join(_request(f"r{i}", {**HI, "messages": HI["messages"] * (1 + i % 3)})
                                for i in range(30)) + "\n", encoding="utf-8")
    outputs.write_text("\n".join(_ok(f"r{i}", prompt=3 + 6 * (1 + i % 3)) for i in range(30)) + "\n", encoding="utf-8")
    assert main(["reconcile", str(inputs), str(outputs)]) == 0
    assert "predicted = billed" in capsys.readouterr().out
    rules_path = tmp_path / "rules.toml"
    assert main(["reconcile", str(inputs), str(outputs), "--json", "--calibrate", str(rules_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["prompt_tokens"] == sum(3 + 6 * (1 + i % 3) for i in range(30))
    assert data["calibration"]["changed"] and data["calibration"]["exact_after"] == 1.0
    monkeypatch.setenv("TOKENOMY_RULES", str(rules_path))
    rules.reset_rules()
    counted = tokenomy.count_request(HI)
    assert counted.tokens == 9 and any(str(rules_path) in n for n in counted.notes)
    monkeypatch.delenv("TOKENOMY_RULES")
    rules.reset_rules()
    assert tokenomy.load_rules(rules_path) == ("chatml",)
    assert tokenomy.count_request(HI).tokens == 9


def test_cli_reconcile_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unreadable file is exit 2 with one line on stderr; line problems are reported, exit 0."""
    outputs = tmp_path / "out.jsonl"
    outputs.write_text(_ok("a") + "\n", encoding="utf-8")
    assert main(["reconcile", str(tmp_path / "none.jsonl"), str(outputs)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tokenomy: cannot read") and err.count("\n") == 1
    inputs = tmp_path / "in.jsonl"
    inputs.write_text("{broken\n", encoding="utf-8")
    assert main(["reconcile", str(inputs), str(outputs)]) == 0
    assert "malformed" in capsys.readouterr().out
    assert main(["reconcile", str(inputs), str(outputs), "--calibrate", str(tmp_path / "no" / "dir.toml")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_dask_engine_equals_local(tmp_path: Path) -> None:
    """tokenomy.dask.reconcile, over many partitions, gives the local result, line numbers included
    (the sync scheduler: tests/test_dask.py covers the LocalCluster itself)."""
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    from tokenomy.dask import reconcile as dask_reconcile

    inputs, outputs = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    lines = [_request(f"r{i}", {**HI, "messages": HI["messages"] * (1 + i % 5)}) for i in range(300)]
    lines.insert(120, "{broken")
    inputs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    outputs.write_text("\n".join(_ok(f"r{i}", prompt=8 + i % 3) for i in range(300)) + "\n", encoding="utf-8")
    local = reconcile(inputs, outputs)
    distributed = dask_reconcile(str(inputs), outputs, blocksize=4_000, scheduler="sync")
    assert distributed.to_dict() == local.to_dict()
    assert [(i.line, i.kind) for i in local.issues] == [(121, "malformed")]


def test_cli_reconcile_help(capsys: pytest.CaptureFixture[str]) -> None:
    """`tokenomy reconcile --help` describes the command and names the exit codes."""
    with pytest.raises(SystemExit) as info:
        main(["reconcile", "--help"])
    out = capsys.readouterr().out
    assert info.value.code == 0 and "exit codes" in out and "--calibrate" in out


def test_the_public_name_is_the_function() -> None:
    """tokenomy.reconcile is the function even after its module was imported by name (the module
    is tokenomy.reconciling, so no submodule attribute can shadow it)."""
    import tokenomy.dask  # imports the module behind reconcile

    assert tokenomy.reconcile is reconcile and callable(tokenomy.reconcile)
