"""analyze on hostile input: a bad line is a problem on its line and never aborts the report; what
is not about one line (the file, the vocabulary, the call) raises at once, typed, on both engines;
memory stays bounded whatever one line holds."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import tokenomy
from tokenomy import (
    DatasetError,
    InputFileError,
    TokenomyError,
    UnknownModelError,
    analyze,
)

DAY = date(2025, 6, 1)
CHAT = "/v1/chat/completions"


def good(i: int) -> str:
    return json.dumps({"custom_id": f"r{i}", "method": "POST", "url": CHAT,
                       "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}})  # fmt: skip


def with_body(i: int, **changes: Any) -> str:
    record = json.loads(good(i))
    record["body"].update(changes)
    return json.dumps(record)


HOSTILE = {
    "deep JSON": '{"a": ' * 100_000 + "1" + "}" * 100_000,
    "deep body": json.dumps({"custom_id": "d", "method": "POST", "url": CHAT, "body": {"model": "gpt-4o-mini",
                             "messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]}}).replace(
        '"x"', "[" * 900 + '"x"' + "]" * 900),
    "5,000-digit integer": with_body(90, max_tokens=0).replace('"max_tokens": 0', '"max_tokens": ' + "7" * 5000),
    "list as role": with_body(91, messages=[{"role": ["user"], "content": "hi"}]),
    "list as content": with_body(92, messages=[{"role": "user", "content": [1, 2, 3]}]),
    "list as model": with_body(93, model=["gpt-4o-mini"]),
    "object as url": json.dumps({**json.loads(good(94)), "url": {"path": CHAT}}),
    "number as body": json.dumps({**json.loads(good(95)), "body": 7}),
    "a JSON array": "[1, 2, 3]",
    "not UTF-8": b'{"custom_id": "\xff\xfe"}'.decode("latin-1"),
    "NaN max_tokens": with_body(96).replace('"model"', '"max_tokens": NaN, "model"'),
    "huge n": with_body(97, n=10**30, max_tokens=5),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_one_hostile_line_is_a_problem_on_its_line(tmp_path: Path, name: str) -> None:
    """Good lines around one hostile line: the report counts them and names the bad one's line."""
    path = tmp_path / "b.jsonl"
    raw = HOSTILE[name].encode("latin-1") if name == "not UTF-8" else HOSTILE[name].encode("utf-8")
    path.write_bytes(b"\n".join([good(1).encode(), raw, good(3).encode()]) + b"\n")
    report = analyze(path, as_of=DAY, parallel=False)
    assert report.records == 2 and [p[0] for p in report.stats.problems] == [2], report.stats.problems
    assert str(report) and report._repr_html_()


def test_hostile_records_too() -> None:
    """The same lines given as Python records (or JSON strings) give the same problems."""
    items: list[Any] = [json.loads(good(1)), HOSTILE["5,000-digit integer"], {"custom_id": 5}, None, 3.5]
    report = analyze(items, as_of=DAY)
    assert report.records == 1 and [p[0] for p in report.stats.problems] == [2, 3, 4, 5]


def test_a_line_over_the_limit_is_skipped_in_bounded_steps(tmp_path: Path) -> None:
    """max_line_bytes: a longer line is a problem that says how to read it; the rest is counted,
    from a plain file and from a .gz alike."""
    long = with_body(2, messages=[{"role": "user", "content": "word " * 5000}])
    text = "\n".join([good(1), long, good(3)]) + "\n"
    (tmp_path / "b.jsonl").write_text(text, encoding="utf-8")
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(text.encode()))
    for name in ("b.jsonl", "b.jsonl.gz"):
        report = analyze(tmp_path / name, as_of=DAY, max_line_bytes=10_000)
        assert report.records == 2 and report.stats.problems[0][:2] == (2, "line_too_long")
        assert "max_line_bytes" in report.stats.problems[0][2]
        assert analyze(tmp_path / name, as_of=DAY).records == 3
    with pytest.raises(DatasetError):
        analyze(tmp_path / "b.jsonl", max_line_bytes=0)


_BOMB = """
import gzip, os, resource, sys, zlib
sys.path[:0] = {paths!r}
import tokenomy
tokenomy.count("warm up", model="gpt-4o-mini")  # the vocabulary is in memory before the limit
vm = int(next(l for l in open("/proc/self/status") if l.startswith("VmSize")).split()[1]) * 1024
resource.setrlimit(resource.RLIMIT_AS, (vm + (400 << 20), vm + (400 << 20)))
report = tokenomy.analyze({path!r}, as_of="2025-06-01", parallel=False)
print(report.records, sorted(set(c for line, c, _ in report.stats.problems if line == 2)))
"""


def test_a_small_gz_of_one_gigabyte_line_stays_in_bounded_memory(tmp_path: Path) -> None:
    """A ~1 MB .gz that expands to a 1 GiB line: reported as too long under a 400 MB memory limit."""
    path = tmp_path / "bomb.jsonl.gz"
    chunk = b"a" * (1 << 20)
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(good(1).encode() + b'\n{"custom_id": "')
        for _ in range(1024):
            out.write(chunk)
        out.write(b'"}\n' + good(3).encode() + b"\n")
    assert path.stat().st_size < 8 << 20
    script = textwrap.dedent(_BOMB.format(paths=sys.path, path=str(path)))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    # one 1 GiB line: too long to read, and past the 200 MB a Batch file may hold
    assert done.stdout.strip() == "2 ['file_too_large', 'line_too_long']"


@pytest.mark.parametrize("damage", ["truncated", "garbage", "missing", "folder", "bad bzip2"])
def test_an_unreadable_file_is_a_typed_file_error(tmp_path: Path, damage: str) -> None:
    """A file that cannot be read whole raises InputFileError (a TokenomyError and an OSError)."""
    data = gzip.compress(("\n".join(good(i) for i in range(2000)) + "\n").encode())
    path = tmp_path / "b.jsonl.gz"
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(data[:10] + b"\x00garbage" * 1000)
    elif damage == "folder":
        path.mkdir()
    elif damage == "bad bzip2":
        path = tmp_path / "b.jsonl.bz2"
        path.write_bytes(b"BZh9" + b"\x01" * 500)
    with pytest.raises(InputFileError) as caught:
        analyze(path, as_of=DAY)
    assert isinstance(caught.value, OSError) and isinstance(caught.value, TokenomyError)
    assert str(path) in str(caught.value)


def test_dask_raises_the_same_file_errors(tmp_path: Path) -> None:
    """The Dask engine raises InputFileError where the local engine does."""
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    from tokenomy.dask import analyze as dask_analyze

    with pytest.raises(InputFileError):
        dask_analyze([str(tmp_path / "missing.jsonl")])
    with pytest.raises(InputFileError):
        dask_analyze([str(tmp_path / "nothing-*.jsonl")])
    path = tmp_path / "b.jsonl.gz"
    data = gzip.compress(("\n".join(good(i) for i in range(2000)) + "\n").encode())
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError):
        dask_analyze([str(path)])


_NO_VOCABULARY = """
import os, sys, time
sys.path[:0] = {paths!r}
import tokenomy
started = time.monotonic()
try:
    tokenomy.analyze({path!r}, as_of="2025-06-01", parallel={parallel!r})
except tokenomy.EncodingUnavailableError as error:
    print("raised", round(time.monotonic() - started) < 30)
"""


@pytest.mark.parametrize("parallel", [False, True])
def test_a_missing_vocabulary_raises_at_once(tmp_path: Path, parallel: bool) -> None:
    """No vocabulary file (tiktoken backend, an empty folder): EncodingUnavailableError at once, not
    a report of 0 records and a problem per line."""
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(good(i) for i in range(20_000)) + "\n", encoding="utf-8")
    empty = tmp_path / "no-vocabularies"
    empty.mkdir()
    script = textwrap.dedent(_NO_VOCABULARY.format(paths=sys.path, path=str(path), parallel=parallel))
    env = {**os.environ, "TOKENOMY_BACKEND": "tiktoken", "TOKENOMY_ENCODINGS_DIR": str(empty)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert done.stdout.strip() == "raised True", done.stderr


def test_a_wrong_call_raises_at_once(tmp_path: Path) -> None:
    """An unknown model on every line, a model= that does not exist, no model for fine-tuning
    examples, an unknown kind: typed errors, not reports."""
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(with_body(i, model="llama-3-70b") for i in range(5000)) + "\n", encoding="utf-8")
    with pytest.raises(UnknownModelError, match="llama-3-70b"):
        analyze(path, as_of=DAY)
    with pytest.raises(UnknownModelError):
        analyze([json.loads(good(1))], model="llama-3-70b")
    with pytest.raises(DatasetError, match="model"):
        analyze([{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}],
                kind="fine-tune")  # fmt: skip
    with pytest.raises(DatasetError):
        analyze([], kind="batches")
    mostly_good = [good(i) for i in range(50)] + [with_body(50, model="llama-3-70b")]
    report = analyze(mostly_good, as_of=DAY)  # one typo among good lines: a problem on its line
    assert report.records == 50 and report.stats.problems[0][:2] == (51, "UnknownModelError")


def test_what_if_needs_records_it_can_read_again() -> None:
    """what_if on a report of a one-shot iterator says why it cannot, typed."""
    report = analyze(iter([json.loads(good(1))]), as_of=DAY)
    with pytest.raises(DatasetError, match="again"):
        report.what_if(["gpt-4o"])
    with pytest.raises(DatasetError):
        analyze([json.loads(good(1))], as_of=DAY).what_if(["gpt-4o"], cached_share=1.5)
    assert tokenomy.DatasetError.__mro__[1:3] == (TokenomyError, ValueError)
