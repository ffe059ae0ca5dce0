"""The Batch API's rules for an input file, each broken rule a problem on the line where it breaks,
whichever way the work is split (one process, byte ranges on two cores, a .gz read as a stream)."""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenomy import analyze, count_request
from tokenomy._data import table
from tokenomy.datasets import run

DAY = date(2025, 6, 1)
CHAT = "/v1/chat/completions"


def line(i: int, content: str = "Hello there", *, model: str = "gpt-4o-mini", url: str = CHAT,
         method: str = "POST", custom_id: Any = None, **body: Any) -> str:  # fmt: skip
    body = {"model": model, "messages": [{"role": "user", "content": content}], **body}
    return json.dumps({"custom_id": f"r{i}" if custom_id is None else custom_id, "method": method, "url": url,
                       "body": body})  # fmt: skip


def checks(report: Any) -> list[tuple[int, str]]:
    return [(n, check) for n, check, _ in report.stats.problems]


def run_all_ways(tmp_path: Path, lines: list[str], **kwargs: Any) -> Any:
    """The report from one process, from byte ranges across the pool, and from a .gz: all equal."""
    text = "\n".join(lines) + "\n"
    path = tmp_path / "batch.jsonl"
    path.write_text(text, encoding="utf-8")
    gz = tmp_path / "batch.jsonl.gz"
    gz.write_bytes(gzip.compress(text.encode("utf-8")))
    serial = analyze(path, as_of=DAY, parallel=False, **kwargs)
    tiny_ranges = _small_ranges()
    with tiny_ranges:
        parallel = analyze(path, as_of=DAY, parallel=True, **kwargs)
    zipped = analyze(gz, as_of=DAY, **kwargs)
    a, b, c = (json.dumps(r.to_dict()["stats"], sort_keys=True) for r in (serial, parallel, zipped))
    assert a == b == c
    return serial


class _small_ranges:
    """Byte ranges of 64 bytes and tasks of 3 lines, so that every rule meets a task boundary."""

    def __enter__(self) -> None:
        self.saved = run._RANGE_BYTES, run._TASK_LINES
        run._RANGE_BYTES, run._TASK_LINES = 64, 3

    def __exit__(self, *exc: object) -> None:
        run._RANGE_BYTES, run._TASK_LINES = self.saved


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Shrink the Batch limits of data/batch.toml for one test."""

    def shrink(requests: int | None = None, size: int | None = None, inputs: int | None = None) -> None:
        rules = table("batch")
        if requests is not None:
            monkeypatch.setitem(rules["file"], "max_requests", requests)
        if size is not None:
            monkeypatch.setitem(rules["file"], "max_bytes", size)
        if inputs is not None:
            monkeypatch.setitem(rules["embeddings"], "max_inputs", inputs)

    yield shrink


def test_the_rules_come_from_data_with_sources() -> None:
    """Every Batch fact is a row of data/batch.toml with its source."""
    rules = table("batch")
    assert rules["file"]["max_requests"] == 50_000 and rules["file"]["max_bytes"] == 200_000_000
    assert rules["embeddings"]["max_inputs"] == 50_000 and rules["lines"]["methods"] == ["POST"]
    assert {"/v1/responses", CHAT, "/v1/embeddings", "/v1/completions", "/v1/moderations"} <= set(
        rules["endpoints"]["supported"]
    )
    assert all(row["source"] for row in rules.values())


def test_a_valid_file_has_no_problems(tmp_path: Path) -> None:
    """One model, one endpoint, unique ids, POST: nothing to report."""
    report = run_all_ways(tmp_path, [line(i) for i in range(20)])
    assert report.stats.problem_count == 0 and report.records == 20 and report.stats.requests == 20


def test_too_many_requests(tmp_path: Path, limits: Any) -> None:
    """Past the request limit, the first request over it is the problem (blank lines are not requests)."""
    limits(requests=5)
    lines = [line(i) for i in range(8)]
    lines.insert(2, "")
    lines.insert(3, "   ")
    report = run_all_ways(tmp_path, lines)
    assert checks(report) == [(8, "too_many_requests")]
    assert "request 6 of 8" in report.stats.problems[0][2] and report.records == 8


def test_file_too_large(tmp_path: Path, limits: Any) -> None:
    """Past the byte limit, the line that ends beyond it is the problem."""
    lines = [line(i) for i in range(10)]
    limit = sum(len(x) + 1 for x in lines[:6]) + 5  # inside line 7
    limits(size=limit)
    report = run_all_ways(tmp_path, lines)
    assert checks(report) == [(7, "file_too_large")]


def test_custom_id_present_string_and_unique(tmp_path: Path) -> None:
    """A missing custom_id, a number, and a repeat (even across tasks) are each their line's problem."""
    lines = [line(i) for i in range(12)]
    lines[2] = json.dumps({"method": "POST", "url": CHAT, "body": json.loads(lines[2])["body"]})
    lines[4] = line(4, custom_id=17)
    lines[9] = line(9, custom_id="r1")
    lines[11] = line(11, custom_id="r1")
    long = "x" * 500
    lines += [line(12, custom_id=long), line(13, custom_id=long)]
    report = run_all_ways(tmp_path, lines)
    assert checks(report) == [(3, "missing_key"), (5, "custom_id_type"), (10, "duplicate_custom_id"),
                              (12, "duplicate_custom_id"), (14, "duplicate_custom_id")]  # fmt: skip
    assert "'r1'" in report.stats.problems[2][2]


def test_method_is_post(tmp_path: Path) -> None:
    """GET (or a method that is not a string) is a problem; the body is still counted."""
    lines = [line(0), line(1, method="GET"), json.dumps({**json.loads(line(2)), "method": ["POST"]})]
    report = run_all_ways(tmp_path, lines)
    assert checks(report) == [(2, "invalid_method"), (3, "invalid_method")] and report.records == 3


def test_one_supported_endpoint(tmp_path: Path) -> None:
    """An unknown url is a problem on its line; a second endpoint in the file is one problem at its
    first line; an endpoint the Batch API takes but that is not priced by tokens is checked, not counted."""
    lines = [line(0), line(1, url="/v1/chat"), line(2),
             json.dumps({"custom_id": "e", "method": "POST", "url": "/v1/embeddings",
                         "body": {"model": "text-embedding-3-small", "input": "hi"}}),
             json.dumps({"custom_id": "e2", "method": "POST", "url": "/v1/embeddings",
                         "body": {"model": "text-embedding-3-small", "input": "hi"}}),
             json.dumps({"custom_id": "i", "method": "POST", "url": "/v1/images/generations",
                         "body": {"model": "gpt-image-1", "prompt": "a cat"}})]  # fmt: skip
    report = run_all_ways(tmp_path, lines)
    got = checks(report)
    assert (2, "unsupported_url") in got and (4, "mixed_endpoints") in got and (6, "mixed_endpoints") in got
    assert (4, "mixed_models") in got
    assert "on 2 line(s), while line 1 uses '/v1/chat/completions'" in dict(
        ((n, c), m) for n, c, m in report.stats.problems
    )[(4, "mixed_endpoints")]
    assert report.records == 4 and any("images/generations" in n for n in report.notes)


def test_one_model(tmp_path: Path) -> None:
    """A second model is one problem at the first line naming it, with how many lines do."""
    lines = [line(0), line(1, model="gpt-4o"), line(2), line(3, model="gpt-4o")]
    report = run_all_ways(tmp_path, lines)
    assert checks(report) == [(2, "mixed_models")] and "on 2 line(s)" in report.stats.problems[0][2]


def test_embedding_inputs_in_all(tmp_path: Path, limits: Any) -> None:
    """An embeddings batch over its input limit: the line that passes it is the problem."""
    limits(inputs=7)

    def embed(i: int, inputs: Any) -> str:
        return json.dumps({"custom_id": f"e{i}", "method": "POST", "url": "/v1/embeddings",
                           "body": {"model": "text-embedding-3-small", "input": inputs}})  # fmt: skip

    lines = [embed(0, ["a", "b", "c"]), embed(1, "d"), embed(2, ["e", "f"]), embed(3, [[1, 2], [3]]), embed(4, "x")]
    report = run_all_ways(tmp_path, lines)
    assert checks(report) == [(4, "too_many_embedding_inputs")]


def test_each_body_is_checked_as_count_request_checks_it(tmp_path: Path) -> None:
    """A body count_request refuses is a problem naming count_request's error, on its line."""
    bad_role = json.loads(line(1))
    bad_role["body"]["messages"][0]["role"] = "wizard"
    bad_tokens = json.loads(line(2, max_tokens=True))
    no_messages = json.loads(line(3))
    del no_messages["body"]["messages"]
    unknown = json.loads(line(4, model="gpt-9-ultra"))
    lines = [line(0), *map(json.dumps, (bad_role, bad_tokens, no_messages, unknown)), line(5)]
    report = run_all_ways(tmp_path, lines)
    assert checks(report) == [(2, "MessageFormatError"), (3, "MessageFormatError"), (4, "MessageFormatError"),
                              (5, "UnknownModelError"), (5, "mixed_models")]  # fmt: skip
    assert report.records == 2


plain_messages = st.lists(
    st.fixed_dictionaries({"role": st.sampled_from(["system", "developer", "user", "assistant"]),
                           "content": st.text(max_size=40)}),
    min_size=1, max_size=4,
)  # fmt: skip
extras = st.dictionaries(
    st.sampled_from(["max_tokens", "max_completion_tokens", "n", "temperature", "user", "seed"]),
    st.one_of(st.integers(-2, 300), st.booleans(), st.floats(0, 2), st.text(max_size=5), st.none()),
    max_size=3,
)


@given(bodies=st.lists(st.tuples(st.sampled_from(["gpt-4o-mini", "gpt-4", "gpt-5-mini", "o3-mini"]),
                                 plain_messages, extras), min_size=1, max_size=8))  # fmt: skip
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_counts_equal_count_request(bodies: list[tuple[str, list[dict[str, str]], dict[str, Any]]]) -> None:
    """Every line's tokens, output bound and refusal equal count_request's for its body, whatever
    its fields (booleans where numbers belong, floats, negatives) and in whatever order lines repeat."""
    lines = []
    expected: dict[str, list[int]] = {}
    refused = []
    for i, (model, messages, fields) in enumerate(bodies * 2):
        body = {"model": model, "messages": messages, **fields}
        lines.append({"custom_id": f"r{i}", "method": "POST", "url": CHAT, "body": body})
        try:
            counted = count_request(body, as_of=DAY)
        except Exception as error:
            refused.append((i + 1, type(error).__name__))
            continue
        row = expected.setdefault(model, [0, 0, 0])
        row[0] += 1
        row[1] += counted.tokens
        row[2] += counted.max_output_tokens or 0
    report = analyze(lines, as_of=DAY)
    assert {m.model: [m.records, m.prompt_tokens, m.output_tokens_bound] for m in report.models} == expected
    assert [p for p in checks(report) if p[1] != "mixed_models"] == refused


def test_any_split_gives_the_same_problems(tmp_path: Path) -> None:
    """Random files with every kind of problem: ranges of any size give the serial report."""
    rng = random.Random(5)
    lines = []
    for i in range(60):
        kind = rng.randrange(8)
        lines.append([line(i), line(i % 7, custom_id=f"r{i % 7}"), "", "{bad", line(i, method="PUT"),
                      line(i, model="gpt-4o"), line(i, url="/v1/nope"), line(i, content="word " * rng.randrange(50))
                      ][kind])  # fmt: skip
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")  # no newline at the end
    serial = json.dumps(analyze(path, as_of=DAY, parallel=False).to_dict()["stats"], sort_keys=True)
    for size in (1, 7, 100, 1000):
        saved = run._RANGE_BYTES
        run._RANGE_BYTES = size
        try:
            split = analyze(path, as_of=DAY, parallel=False)
        finally:
            run._RANGE_BYTES = saved
        assert json.dumps(split.to_dict()["stats"], sort_keys=True) == serial


def test_lone_surrogates_count_as_count_request_counts_them(tmp_path: Path) -> None:
    """A content with a lone surrogate (valid JSON: "\\ud800") counts as count_request counts it,
    on the plain-chat path too (the fast backend refuses such text; count() reads it as U+FFFD)."""
    lines = [line(i, content="a\ud800b \udfff c") for i in range(3)]
    report = run_all_ways(tmp_path, lines)
    body = json.loads(lines[0])["body"]
    assert report.records == 3 and report.total_tokens == 3 * count_request(body, as_of=DAY).tokens


# ---- the short path: whichever parser reads a line, the report is json's ------------------------


def _good(i: int, **body: Any) -> bytes:
    return line(i, f"hello number {i}", max_tokens=100, **body).encode()


def _with(i: int, text: str) -> bytes:
    """A good line with ``text`` (raw JSON) put in place of its max_tokens value."""
    return _good(i).replace(b'"max_tokens": 100', text.encode("utf-8", "surrogatepass"))


# lines json and orjson read differently, or where one refuses what the other reads
PARSERS_DIFFER = {
    "NaN": _with(1, '"max_tokens": NaN'),
    "Infinity": _with(2, '"temperature": Infinity, "max_tokens": 100'),
    "1e400": _with(3, '"temperature": 1e400, "max_tokens": 100'),
    "integer past 64 bits": _with(4, '"max_tokens": 100000000000000000000'),
    "integer below -2**63": _with(5, '"max_tokens": -9223372036854775809'),
    "the same value as a float": _with(6, '"seed": 1e20, "max_tokens": 100'),
    "the same value as an integer": _with(7, '"seed": 100000000000000000000, "max_tokens": 100'),
    "integer custom_id": _good(8).replace(b'"r8"', b"100000000000000000000"),
    "lone surrogate escape": line(9, "a\ud800b").encode(),
    "surrogate as UTF-8 bytes": _good(10).replace(b"hello", b"\xed\xa0\x80"),
    "byte-order mark": b"\xef\xbb\xbf" + _good(11),
    "invalid UTF-8": _good(12).replace(b"hello", b"\xff"),
    "repeated keys": _with(13, '"max_tokens": 5, "max_tokens": 100').replace(b'"custom_id": "r13"',
                                                                              b'"custom_id": "x", "custom_id": "r13"'),
    "5,000-digit integer": _with(14, '"max_tokens": ' + "7" * 5000),
    "deep nesting beside the four keys": _good(15)[:-1] + b', "extra": ' + b"[" * 990 + b"]" * 990 + b"}",
    "extra data": _good(16) + b" x",
    "leading white space": b" \t" + _good(17),
    "float max_tokens": _with(18, '"max_tokens": 1.0E2'),
}


def _parsed_by(parser: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on the short path reads lines with ``parser``; each process starts afresh."""
    from tokenomy.datasets import batch, records

    monkeypatch.setattr(batch, "parse", parser)
    records._counters.clear()


@pytest.mark.parametrize("name", list(PARSERS_DIFFER))
def test_lines_parsers_read_differently_give_json_results(tmp_path: Path, name: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """A line orjson refuses or reads otherwise (NaN, integers past 64 bits, lone surrogates, a
    byte-order mark, repeated keys, deep nesting) gives the report json's reading gives, problem
    messages and line numbers included, among good lines the short path takes."""
    orjson = pytest.importorskip("orjson", reason="the fast extra is not installed")
    from tokenomy.datasets import lines

    raw = [_good(i) for i in range(100, 110)]
    raw[5:5] = [PARSERS_DIFFER["the same value as a float"], PARSERS_DIFFER[name], _good(111)]
    path = tmp_path / "batch.jsonl"
    path.write_bytes(b"\n".join(raw) + b"\n")
    reports = {}
    for parser in (lines._scan, orjson.loads):
        _parsed_by(parser, monkeypatch)
        reports[parser] = json.dumps(analyze(path, as_of=DAY, parallel=False).to_dict(), sort_keys=True)
    assert reports[orjson.loads] == reports[lines._scan]


def test_the_short_path_takes_the_common_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the first line of a shape, a plain chat line is counted on the short path: the general
    way sees only the first and the unusual lines."""
    from tokenomy.datasets import batch, records

    records._counters.clear()
    general: list[int] = []
    full = batch.BatchLines.line

    def counted(self: Any, number: int, *args: Any) -> None:
        general.append(number)
        full(self, number, *args)

    monkeypatch.setattr(batch.BatchLines, "line", counted)
    raw = [_good(i) for i in range(20)]
    raw[10] = PARSERS_DIFFER["NaN"]
    path = tmp_path / "batch.jsonl"
    path.write_bytes(b"\n".join(raw) + b"\n")
    report = analyze(path, as_of=DAY, parallel=False)
    assert general == [1, 11] and report.records == 19  # the NaN line: a problem


def test_a_float_that_may_be_a_misread_integer_is_never_matched(monkeypatch: pytest.MonkeyPatch) -> None:
    """A framing whose fields hold a float of 2**63 or more (what orjson makes of a longer
    integer) is not kept for the short path; smaller floats are."""
    from tokenomy.datasets import batch, records

    records._counters.clear()
    items = [json.loads(line(i, max_tokens=5, seed=seed)) for i, seed in enumerate([1e20, -2.0**63, 0.5])]
    analyze(items, as_of=DAY)
    kept = [key for counter in records._counters.values() if counter.batch for key in counter.batch.fast]
    floats = [field[1] for key in kept for field in key if isinstance(field, tuple) and isinstance(field[1], float)]
    assert floats == [0.5]
    assert batch.BIG_FLOAT == 2.0**63


def test_repeated_custom_ids_on_both_paths(tmp_path: Path) -> None:
    """A custom_id repeated on short-path lines and on lines read the general way (a bad method)
    is a problem on every line but its first, however the lines are split."""
    lines = [line(i) for i in range(12)]
    lines[3] = line(3, custom_id="r0", method="GET")
    lines[6] = line(6, custom_id="r0")
    lines[7] = line(7, custom_id="r6")
    lines[9] = line(9, custom_id="r2", method="GET")
    report = run_all_ways(tmp_path, lines)
    assert checks(report) == [(4, "duplicate_custom_id"), (4, "invalid_method"), (7, "duplicate_custom_id"),
                              (10, "duplicate_custom_id"), (10, "invalid_method")]  # fmt: skip


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(-(2**80), 2**80)
    | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


def _same_as_json(ours: Any, theirs: Any) -> bool:
    """Equal in type and value, but for an integer json keeps where ours is a float of 2**63 or more."""
    if isinstance(theirs, int) and not isinstance(theirs, bool) and ours.__class__ is float:
        return abs(ours) >= 2.0**63 and float(theirs) == ours
    if ours.__class__ is not theirs.__class__:
        return False
    if isinstance(theirs, list):
        return len(ours) == len(theirs) and all(map(_same_as_json, ours, theirs))
    if isinstance(theirs, dict):
        return list(ours) == list(theirs) and all(_same_as_json(ours[k], theirs[k]) for k in theirs)
    return repr(ours) == repr(theirs)  # floats to the bit, -0.0 and NaN included


@given(value=json_values, ascii_only=st.booleans())
@settings(max_examples=300, deadline=None)
def test_parse_reads_what_json_reads(value: Any, ascii_only: bool) -> None:
    """Whatever JSON the line holds, the short path's parser refuses it or reads json's values,
    but for an integer past 64 bits, which it may read as a float of 2**63 or more."""
    from tokenomy.datasets.lines import parse

    raw = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    try:
        ours = parse(raw)
    except Exception:
        return
    assert _same_as_json(ours, json.loads(raw))


@given(st.from_regex(r"\A-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,25})?([eE][-+]?[0-9]{1,3})?\Z"))
@settings(max_examples=500, deadline=None)
def test_parse_reads_numbers_to_the_bit(text: str) -> None:
    """A number reads as json reads it, to the last bit of a float."""
    from tokenomy.datasets.lines import parse

    try:
        ours = parse(text.encode())
    except Exception:
        return
    assert _same_as_json(ours, json.loads(text))
