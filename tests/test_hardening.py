"""Hostile input, fuzzed entry points, concurrency and integrity: only TokenomyError (or TypeError
for plainly wrong Python types) ever escapes, nothing is lost, no I/O or network is touched."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import math
import os
import socket
import struct
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokenomy
from tests.conftest import ENCODING_NAMES, tiktoken_enc
from tokenomy import TokenomyError
from tokenomy.cli import main
from tokenomy.images import image_size, image_size_from_data_url

DAY = date(2025, 3, 1)
ALLOWED = (TokenomyError, TypeError)
UNICODE = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=200) | st.sampled_from(
    ["\ud800", "\x00" * 10, "\u202e\u202d", "👩‍👩‍👧‍👦" * 5, "a\u0301\u0302\u0303", "<|endoftext|>", " " * 300]
)
NUMBERS = st.one_of(st.integers(-(10**20), 10**20), st.floats(allow_nan=True, allow_infinity=True), st.none(),
                    st.booleans(), st.text(max_size=5))  # fmt: skip
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def _only_allowed(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except ALLOWED as error:
        assert str(error), "errors must say what was wrong"
        return None


@given(text=UNICODE | st.binary(max_size=20), budget=NUMBERS)
@settings(max_examples=200, deadline=None)
def test_text_entry_points(text: Any, budget: Any) -> None:
    """count, fits, truncate and chunk on arbitrary text and arbitrary budgets."""
    _only_allowed(tokenomy.count, text, model="gpt-4o")
    _only_allowed(tokenomy.fits, text, budget, model="gpt-4o")
    _only_allowed(tokenomy.truncate, text, budget, model="gpt-4o")
    _only_allowed(lambda: list(tokenomy.chunk(text, budget, model="gpt-4o")))
    _only_allowed(tokenomy.moderation_chunks, text, chunk_tokens=budget)


@given(data=st.binary(max_size=64))
@settings(max_examples=300, deadline=None)
def test_image_header_parser(data: bytes) -> None:
    """Any bytes: a size or an ImageError; data URLs likewise."""
    _only_allowed(image_size, data)
    _only_allowed(image_size_from_data_url, "data:image/png;base64," + base64.b64encode(data).decode())
    _only_allowed(image_size_from_data_url, "data:image/png;base64," + data.decode("latin-1"))


@given(width=NUMBERS, height=NUMBERS, detail=st.sampled_from(["auto", "low", "high", "ultra", None]),
       model=st.sampled_from(["gpt-4o", "gpt-4.1-mini", "gpt-4o-mini", "gpt-3.5-turbo-0125", "nope"]))  # fmt: skip
@settings(max_examples=200, deadline=None)
def test_count_image(width: Any, height: Any, detail: Any, model: str) -> None:
    """count_image with any numbers: a count or a clear error."""
    result = _only_allowed(tokenomy.count_image, width, height, detail=detail, model=model, as_of=DAY)
    if result is not None:
        assert result.tokens > 0


def test_oversized_and_broken_images() -> None:
    """A 100000x100000 header is priced arithmetically; truncated or non-image data is an error;
    an http URL without dimensions is never fetched and is marked inexact."""
    header = b"\x89PNG\r\n\x1a\n" + bytes(4) + b"IHDR" + struct.pack(">II", 100_000, 100_000)
    url = "data:image/png;base64," + base64.b64encode(header).decode()
    msg = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url, "detail": "high"}}]}]
    assert tokenomy.count_messages(msg, "gpt-4o", as_of=DAY).images == 765
    for bad in ("data:image/png;base64,iVBORw0", "data:text/plain;base64,aGVsbG8=", "data:image/png,raw"):
        with pytest.raises(tokenomy.ImageError):
            tokenomy.count_messages([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": bad}}]}],
                                    "gpt-4o", as_of=DAY)  # fmt: skip
    with _no_network():
        remote = tokenomy.count_messages(
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://169.254.169.254/x.png"}}]}],
            "gpt-4o", as_of=DAY)  # fmt: skip
    assert not remote.exact


@given(body=JSONISH, endpoint=st.sampled_from(["/v1/chat/completions", "/v1/embeddings", "/v1/completions", "/v9"]),
       usage=JSONISH)  # fmt: skip
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_cost_entry_points(body: Any, endpoint: str, usage: Any) -> None:
    """estimate_cost, cost_of_request and cost_from_usage on arbitrary JSON."""
    _only_allowed(tokenomy.count_request, body, endpoint=endpoint, as_of=DAY)
    _only_allowed(tokenomy.count_request, {"model": "gpt-4o-2024-08-06", **(body if isinstance(body, dict) else {})},
                  endpoint=endpoint, as_of=DAY)  # fmt: skip
    _only_allowed(tokenomy.cost_from_usage, "gpt-4o-2024-08-06", usage, as_of=DAY)


@given(a=NUMBERS, b=NUMBERS, c=NUMBERS)
@settings(max_examples=150, deadline=None)
def test_estimate_cost_numbers(a: Any, b: Any, c: Any) -> None:
    """Huge, negative, NaN and non-integer token numbers give BudgetError, never a price."""
    result = _only_allowed(tokenomy.estimate_cost, "gpt-4o-2024-08-06", a, output_tokens=b, cached_input_tokens=c,
                           as_of=DAY)
    if result is not None:
        assert result.usd >= 0 and math.isfinite(float(result.usd))


@given(results=JSONISH)
@settings(max_examples=200, deadline=None)
def test_merge_moderation(results: Any) -> None:
    """merge_moderation on arbitrary JSON: merged results or a ResultFormatError."""
    _only_allowed(tokenomy.merge_moderation, results)
    _only_allowed(tokenomy.merge_moderation, [results, results])


@given(lines=st.lists(JSONISH.map(json.dumps) | st.text(max_size=40), max_size=8),
       kind=st.sampled_from(["batch", "fine-tune", "chat", "text"]))  # fmt: skip
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip
def test_analyze_any_lines(tmp_path_factory: pytest.TempPathFactory, lines: list[str], kind: str) -> None:
    """analyze on arbitrary JSONL lines: a report, with bad lines counted as problems."""
    path = tmp_path_factory.mktemp("fuzz") / "x.jsonl"
    path.write_text(
        "\n".join(line.replace("\n", " ") for line in lines) + "\n", encoding="utf-8", errors="surrogatepass"
    )
    try:
        report = tokenomy.analyze(path, kind=kind, model="gpt-4o-2024-08-06", as_of=DAY, parallel=False)
    except ALLOWED:
        return
    # blank as JSON reads it (a line of "\x1f" is not blank); a line may break several rules
    non_blank = sum(1 for line in lines if line.replace("\n", " ").encode("utf-8", "surrogatepass").strip())
    assert report.records <= report.stats.requests == non_blank <= report.records + report.stats.problem_count


@given(argv=st.lists(st.sampled_from(["count", "fit", "chunk", "cost", "analyze", "models", "--json", "-m",
                                      "gpt-4o", "--max-tokens", "-5", "0", "10", "x", "-", "--as-of", "2024-13-01",
                                      "--kind", "text", "--side", "middle", "nope.txt"]), max_size=7))  # fmt: skip
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_cli_main_never_crashes(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """main(argv) returns 0, 1 or 2 (or exits through argparse with 0 or 2)."""
    real_stdin = sys.stdin
    sys.stdin = io.StringIO("hello")
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code  # type: ignore[assignment]
    finally:
        sys.stdin = real_stdin
    capsys.readouterr()
    assert code in (0, 1, 2)


def test_hostile_sizes_are_exact() -> None:
    """Long runs of one character, spaces, newlines, CJK and base64: equal to tiktoken where it
    survives, on every encoding (1 MB each; larger sizes are in benchmarks/bench_hostile.py)."""
    rng = __import__("random").Random(4)
    inputs = {
        "repeated": "a" * 1_000_000, "spaces": " " * 900_000, "newlines": "\n" * 1_000_000,
        "cjk": "中文字符" * 250_000, "base64": base64.b64encode(rng.randbytes(750_000)).decode(),
        "letters": "".join(rng.choice("abcdefghij") for _ in range(1_000_000)),
    }  # fmt: skip
    for name in ENCODING_NAMES:
        tok = tokenomy.encoding_for(name)
        for label, text in inputs.items():
            assert tok.count(text) == len(tiktoken_enc(name).encode_ordinary(text)), (name, label)


def test_panic_is_caught_precisely() -> None:
    """A KeyboardInterrupt during counting is not swallowed by the panic fallback."""
    from tokenomy.tokenizer import Tokenizer

    class Interrupting:
        name = "x"

        def encode_ordinary(self, text: str) -> list[int]:
            raise KeyboardInterrupt

    tok = Tokenizer.__new__(Tokenizer)
    tok._encoding, tok._fast = Interrupting(), None  # type: ignore[assignment]
    with pytest.raises(KeyboardInterrupt):
        tok._encode_long("x" * 200_000)


def test_eight_threads_agree_with_serial(corpus_file: str) -> None:
    """8 threads counting, chunking and loading encodings give the serial results."""
    from tests.conftest import corpus_text

    text = corpus_text(corpus_file)[:60_000]
    names = ["cl100k_base", "o200k_base", "r50k_base", "p50k_base"]
    expected = {n: (tokenomy.encoding_for(n).count(text), [c.end for c in tokenomy.chunk(text, 300, model=n)])
                for n in names}  # fmt: skip
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work(i: int) -> None:
        try:
            barrier.wait()
            for _ in range(3):
                name = names[i % len(names)]
                got = (
                    tokenomy.encoding_for(name).count(text),
                    [c.end for c in tokenomy.chunk(text, 300, model=name)],
                )
                assert got == expected[name]
        except BaseException as error:  # collected and re-raised in the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_builtin_registry_passes_the_user_validation() -> None:
    """Every built-in entry satisfies the rules a user registry is held to."""
    from tokenomy._data import table
    from tokenomy.registry import _validated

    entries = {name: dict(raw) for name, raw in table("models")["models"].items()}
    assert _validated(entries, entries).keys() == entries.keys()


@contextlib.contextmanager
def _no_network() -> Any:
    real = socket.socket

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("tokenomy opened a network socket")

    socket.socket = refuse  # type: ignore[misc,assignment]
    try:
        yield
    finally:
        socket.socket = real  # type: ignore[misc]


def test_public_api_without_network(tmp_path: Path) -> None:
    """The public API runs with sockets disabled (the vocabularies are bundled)."""
    with _no_network():
        tokenomy.count("hello", model="gpt-4o")
        tokenomy.count_messages([{"role": "user", "content": "hi"}], "gpt-4o", as_of=DAY)
        tokenomy.truncate("hello world " * 100, 10)
        list(tokenomy.chunk("hello world " * 100, 10))
        tokenomy.estimate_cost("gpt-4o", 100, as_of=DAY)
        tokenomy.moderation_chunks("hello " * 100, model="omni-moderation-latest")
        path = tmp_path / "t.jsonl"
        path.write_text('"hello"\n', encoding="utf-8")
        tokenomy.analyze(path, kind="text", model="gpt-4o", as_of=DAY, parallel=False)


def test_import_does_no_io_and_no_environment_change() -> None:
    """`import tokenomy` opens no data file and changes no environment variable."""
    probe = """
import os, sys
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
before = dict(os.environ)
import tokenomy
data = [p for p in opened if not p.endswith((".py", ".pyc", ".so", ".pth")) and "__pycache__" not in p
        and not os.path.isdir(p)]
print(len(data), data[:3], dict(os.environ) == before)
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("True"), out
    assert out.startswith("0 "), out


@given(
    turns=st.integers(1, 12),
    limit=st.integers(60, 400),
    strategy=st.sampled_from(["drop_oldest", "drop_middle"]),
)
@settings(max_examples=60, deadline=None)
def test_fit_keeps_plus_drops_equals_input(turns: int, limit: int, strategy: str) -> None:
    """Every message is either kept or reported dropped; nothing disappears silently."""
    from tokenomy.budget import Budget

    chat = [{"role": "system", "content": "s"}]
    for i in range(turns):
        chat += [{"role": "user", "content": f"q{i} " * 20}, {"role": "assistant", "content": f"a{i} " * 20}]
    chat.append({"role": "user", "content": "last"})
    budget = Budget.__new__(Budget)
    budget.__dict__.update(Budget("gpt-4o-2024-08-06", as_of=DAY).__dict__, limit=limit)
    try:
        result = budget.fit(chat, strategy=strategy)
    except tokenomy.BudgetExceededError:
        return
    kept_ids = {id(m) for m in result.messages}
    dropped_ids = {id(m) for _, m in result.dropped}
    assert kept_ids | dropped_ids == {id(m) for m in chat} and not kept_ids & dropped_ids
    assert result.report.prompt_tokens <= limit


def test_env_untouched_by_use() -> None:
    """Using the library does not change environment variables (unlike some peers)."""
    before = dict(os.environ)
    tokenomy.count("x", model="gpt-4o")
    tokenomy.encoding_for("cl100k_base")
    assert dict(os.environ) == before


@pytest.mark.parametrize(
    ("width", "height"), [(1, 49153), (49153, 1), (1, 1), (100_000, 100_000), (33, 1_000_000)]
)
def test_patch_images_of_extreme_shapes(width: int, height: int) -> None:
    """Extreme aspect ratios still cost at least one patch and at most the documented cap."""
    result = tokenomy.count_image(width, height, model="gpt-4.1-mini", as_of=DAY)
    assert result.patches is not None and 1 <= result.patches <= 1536 and result.tokens >= 1
