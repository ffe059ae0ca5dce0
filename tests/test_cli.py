"""The command line, called in-process through main(argv) and once as a real subprocess."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import tiktoken_enc
from tokenomy.cli import main

DATA = Path(__file__).resolve().parents[1] / "data" / "samples"
DOC = DATA / "sample-document.txt"
CHAT = DATA / "chat-request.json"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_count_text_and_chat(capsys: pytest.CaptureFixture[str]) -> None:
    """count prints exact counts for text files and chat requests, per model, with --json."""
    code, out, _ = run(capsys, "count", str(DOC), str(CHAT), "-m", "gpt-4o", "--json")
    rows = json.loads(out)
    assert code == 0 and [r["kind"] for r in rows] == ["text", "chat"]
    assert rows[0]["tokens"] == len(tiktoken_enc("o200k_base").encode_ordinary(DOC.read_text("utf-8")))
    assert rows[0]["fits"] is True and rows[1]["context_window"] == 128000
    code, out, _ = run(capsys, "count", str(DOC), "-m", "gpt-4o", "-m", "gpt-4.1")
    assert code == 0 and "gpt-4.1" in out and "yes" in out


def test_max_tokens_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    """--max-tokens exits 1 when over and 0 when within."""
    assert run(capsys, "count", str(DOC), "--max-tokens", "10")[0] == 1
    assert run(capsys, "count", str(DOC), "--max-tokens", "100000")[0] == 0


@pytest.mark.parametrize(
    "argv",
    [["count", "missing.txt"], ["count", str(DOC), "-m", "gtp-4o"], ["fit", str(DOC), "--max-tokens", "-3"],
     ["chunk", str(DOC), "--max-tokens", "0"], ["cost"], ["cost", str(DOC)]],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    """Bad input gives exit code 2 and a one-line error, never a traceback."""
    code, _, err = run(capsys, *argv)
    assert code == 2 and err.startswith("tokenomy: ") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_non_utf8_and_malformed_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A non-UTF-8 file and a malformed JSON request are reported, exit 2."""
    latin = tmp_path / "latin.txt"
    latin.write_bytes("café".encode("latin-1"))
    assert run(capsys, "count", str(latin))[0] == 2
    broken = tmp_path / "req.json"
    broken.write_text('{"messages": [', encoding="utf-8")
    code, _, err = run(capsys, "count", str(broken))
    assert code == 2 and "malformed JSON" in err


def test_fit_and_chunk(capsys: pytest.CaptureFixture[str]) -> None:
    """fit prints the kept text (report on stderr); chunk prints exact JSONL chunks."""
    code, out, err = run(capsys, "fit", str(DOC), "--max-tokens", "50")
    assert code == 0 and DOC.read_text("utf-8").startswith(out) and "cut" in err
    assert len(tiktoken_enc("o200k_base").encode_ordinary(out)) <= 50
    code, out, _ = run(capsys, "chunk", str(DOC), "--max-tokens", "64")
    chunks = [json.loads(line) for line in out.splitlines()]
    assert "".join(c["text"] for c in chunks) == DOC.read_text("utf-8")
    assert all(c["tokens"] <= 64 for c in chunks)


def test_cost_and_models(capsys: pytest.CaptureFixture[str]) -> None:
    """cost prices token counts and request files; models lists the registry."""
    code, out, _ = run(capsys, "cost", "--model", "gpt-4o-2024-08-06", "--input-tokens", "1000000", "--json")
    assert code == 0 and json.loads(out)["total"] == "2.5"
    code, out, _ = run(capsys, "cost", str(CHAT), "--output-tokens", "100")
    assert code == 0 and "total" in out
    code, out, _ = run(capsys, "models", "gpt-4.1", "--json")
    names = [m["name"] for m in json.loads(out)]
    assert code == 0 and "gpt-4.1-mini" in names and all("gpt-4.1" in n for n in names)


def test_analyze(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """analyze reports a Batch file, malformed lines included."""
    line = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini-2024-07-18", "messages": [{"role": "user", "content": "hi"}]}}  # fmt: skip
    path = tmp_path / "b.jsonl"
    path.write_text(json.dumps(line) + "\nnot json\n", encoding="utf-8")
    code, out, _ = run(capsys, "analyze", str(path), "--json", "--as-of", "2025-01-01")
    report = json.loads(out)
    assert code == 0 and report["records"] == 1 and report["stats"]["problem_count"] == 1


def test_help_documents_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    """Every subcommand has help text naming the exit codes."""
    for command in ("count", "fit", "chunk", "cost", "analyze", "models"):
        with pytest.raises(SystemExit) as info:
            main([command, "--help"])
        assert info.value.code == 0 and "exit codes" in capsys.readouterr().out


def test_real_subprocess() -> None:
    """`python -m tokenomy count` works as a program, reading stdin."""
    env = {**os.environ}
    result = subprocess.run([sys.executable, "-m", "tokenomy", "count", "-", "-m", "gpt-4o", "--json"],
                            input="tiktoken is great!", capture_output=True, text=True, env=env, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["tokens"] == 6


def test_version_and_bare_command(capsys: pytest.CaptureFixture[str]) -> None:
    """`tokenomy --version` prints the version; a bare `tokenomy` prints the help, exit 0."""
    import tokenomy

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"tokenomy {tokenomy.__version__}"
    code, out, _ = run(capsys)
    assert code == 0 and "usage: tokenomy" in out and "count" in out and "example:" in out


@pytest.mark.parametrize("command", ["count", "fit", "chunk", "cost", "analyze", "models"])
def test_subcommand_help_shows_defaults_and_an_example(capsys: pytest.CaptureFixture[str], command: str) -> None:
    """Each subcommand's help shows an example line starting with `tokenomy COMMAND` and its defaults."""
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = capsys.readouterr().out
    assert f"example:\n  tokenomy {command} " in out
    assert "(default" in out


def test_over_budget_says_why_and_the_table_agrees(capsys: pytest.CaptureFixture[str]) -> None:
    """count --max-tokens explains exit 1 on stderr, and the table (and JSON) mark the row over budget."""
    code, out, err = run(capsys, "count", str(DOC), "--max-tokens", "10")
    assert code == 1 and "over budget" in err and "--max-tokens 10" in err
    header, row = out.splitlines()[:2]
    assert "<= 10" in header and row.split()[-1] == "NO"
    code, out, err = run(capsys, "count", str(DOC), "--max-tokens", "100000", "--json")
    assert code == 0 and err == "" and json.loads(out)[0]["within_max_tokens"] is True


@pytest.mark.parametrize("argv", [["count", str(DOC), "--max-tokens", "-1"], ["chunk", str(DOC), "--max-tokens", "8", "--overlap", "-2"],
                                  ["cost", "-m", "gpt-4o", "--input-tokens", "-5"], ["fit", str(DOC), "--max-tokens", "ten"]])  # fmt: skip
def test_negative_budgets_are_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    """A negative or non-numeric budget is a usage error: exit 2, one line naming the option."""
    code, _, err = run(capsys, *argv)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--" in err and "--help" in err


def test_count_without_file_on_a_terminal_prints_help(capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """`tokenomy count` with no FILE and a terminal on stdin prints help instead of waiting."""

    class Terminal:
        def isatty(self) -> bool:
            return True

        def read(self, *_: object) -> str:
            raise AssertionError("waited on stdin")

    monkeypatch.setattr(sys, "stdin", Terminal())
    code, _, err = run(capsys, "count")
    assert code == 2 and "usage: tokenomy count" in err and "needs a FILE" in err


def test_ctrl_c_exits_130_with_one_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """An interrupt exits 130 with one line on stderr, no traceback."""
    import tokenomy

    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(tokenomy, "model_info", interrupted)
    code, _, err = run(capsys, "count", str(DOC))
    assert code == 130 and err == "tokenomy: interrupted\n"


def test_as_of_accepted_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    """--as-of resolves an alias on that day."""
    code, out, _ = run(capsys, "count", str(DOC), "--as-of", "2024-06-01", "--json")
    assert code == 0 and json.loads(out)[0]["snapshot"] == "gpt-4o-2024-05-13"


def test_internal_errors_exit_3_never_1(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception that is not a TokenomyError is an internal error: exit 3, one line on stderr;
    --debug (before or after the subcommand) adds the traceback."""
    import tokenomy

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("something inside broke")

    monkeypatch.setattr(tokenomy, "model_info", broken)
    code, _, err = run(capsys, "count", str(DOC), "--max-tokens", "5")
    assert code == 3 and len(err.strip().splitlines()) == 1 and "internal error" in err and "--debug" in err
    for argv in (["count", str(DOC), "--debug"], ["--debug", "count", str(DOC)]):
        code, _, err = run(capsys, *argv)
        assert code == 3 and "Traceback" in err and "something inside broke" in err


@pytest.mark.parametrize("body", [
    {"model": "gpt-4o", "messages": [{"role": ["user"], "content": "x"}]},
    {"model": 5, "messages": [{"role": "user", "content": "x"}]},
    {"model": "gpt-4o", "n": "2", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
    {"model": "gpt-4o", "max_tokens": 10**400, "messages": [{"role": "user", "content": "x"}]},
    {"model": "gpt-4o-mni", "messages": [{"role": "user", "content": "x"}]},
])  # fmt: skip
@pytest.mark.parametrize("command", ["count", "cost"])
def test_hostile_request_files_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path, body: dict[str, object],
                                      command: str) -> None:  # fmt: skip
    """The issue's crashing request bodies (role as a list, a numeric model, n as a string, a
    400-digit max_tokens, a typo'd model) are bad input: exit 2, one line."""
    path = tmp_path / "request.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    code, _, err = run(capsys, command, str(path))
    assert code == 2 and err.startswith("tokenomy: ") and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("content", ["{" * 100_000, '{"messages": [], "model": ' + "9" * 5000 + "}", "{\"a\": 1",
                                     "{}" + "\n" * 3])  # fmt: skip
def test_unreadable_json_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str) -> None:
    """JSON nested past the parser, a 5,000-digit number or a cut-off object is exit 2, one line."""
    path = tmp_path / "request.json"
    path.write_text(content, encoding="utf-8")
    for command in ("count", "cost"):
        code, _, err = run(capsys, command, str(path))
        assert code in (0, 2) and len(err.strip().splitlines()) <= 1 and "Traceback" not in err


def test_count_reads_stdin_as_a_stream(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """count with no FILE reads piped stdin; several encodings are counted in one pass."""
    text = DOC.read_text("utf-8")
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    code, out, _ = run(capsys, "count", "-m", "gpt-4o", "-m", "gpt-4-0613", "--json")
    rows = json.loads(out)
    assert code == 0 and [r["tokens"] for r in rows] == [
        len(tiktoken_enc("o200k_base").encode_ordinary(text)), len(tiktoken_enc("cl100k_base").encode_ordinary(text))]
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    code, out, err = run(capsys, "count", "--max-tokens", "10", "--json")
    row = json.loads(out)[0]
    assert code == 1 and row["tokens"] is None and row["more_than"] == 10 and "more than 10 tokens" in err


def test_a_prefix_that_decided_is_shown(capsys: pytest.CaptureFixture[str]) -> None:
    """A model taken from a known prefix is marked estimated, with the note under the table."""
    code, out, _ = run(capsys, "count", str(DOC), "-m", "gpt-4o-2099-01-01")
    assert code == 0 and "~" in out and "note: 'gpt-4o-2099-01-01' is not in the registry" in out
    code, _, err = run(capsys, "chunk", str(DOC), "--max-tokens", "500", "-m", "gpt-4o-2099-01-01")
    assert code == 0 and "note: 'gpt-4o-2099-01-01' is not in the registry" in err


def test_help_names_every_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    """`tokenomy --help` documents 0, 1, 2, 3 and 130, and --debug."""
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    for part in ("0 success", "1 over budget", "2 bad input", "3 internal error", "130 interrupted", "--debug"):
        assert part in out


# ---- endless and huge input, in a real process under a memory limit ----------------------------

MEMORY_LIMIT = 400 << 20  # the interpreter, numpy, tiktoken and one vocabulary fit in about 250 MB


def _limited(argv: list[str], *, stdin: object = None, code: str | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """Run `python -m tokenomy ARGV` (or `python -c CODE`) with its address space capped."""
    import resource

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "tokenomy", *argv]
    return subprocess.run(command, stdin=stdin, capture_output=True, text=True, timeout=timeout,  # type: ignore[arg-type]
                          preexec_fn=cap, check=False)  # fmt: skip


@pytest.mark.skipif(not Path("/dev/zero").exists() or sys.platform == "darwin", reason="needs /dev/zero and RLIMIT_AS")
def test_endless_input_stops_at_the_budget_under_a_memory_limit(tmp_path: Path) -> None:
    """`count /dev/zero --max-tokens 5`, the same on stdin, and an endless pipe counted for two
    encodings all stop once over the budget: exit 1 within a 400 MB address space."""
    result = _limited(["count", "/dev/zero", "--max-tokens", "5"])
    assert result.returncode == 1 and "more than 5 tokens" in result.stderr, result.stderr
    with open("/dev/zero", "rb") as zero:
        result = _limited(["count", "--max-tokens", "5"], stdin=zero)
    assert result.returncode == 1, result.stderr
    writer = subprocess.Popen([sys.executable, "-c", "import sys\nwhile True: sys.stdout.write('hello world ' * 1000)"],
                              stdout=subprocess.PIPE)  # fmt: skip
    try:
        result = _limited(["count", "-", "--max-tokens", "100000", "-m", "gpt-4o", "-m", "gpt-4-0613"],
                          stdin=writer.stdout)  # fmt: skip
    finally:
        writer.kill()
        writer.wait()
    assert result.returncode == 1 and result.stderr.count("more than 100,000 tokens") == 2, result.stderr
    endless = ("import itertools, tokenomy\n"
               "tok = tokenomy.encoding_for('gpt-4o')\n"
               "print(tok.count_stream(itertools.repeat('\\0' * 65536), max_tokens=5) > 5,\n"
               "      tok.count_stream(itertools.repeat('hello world ' * 5000), max_tokens=10**6) > 10**6)")  # fmt: skip
    result = _limited([], code=endless)
    assert result.stdout.split() == ["True", "True"], result.stderr


@pytest.mark.skipif(sys.platform == "darwin", reason="RLIMIT_AS")
def test_huge_files_count_and_chunk_in_bounded_memory(tmp_path: Path) -> None:
    """A 60 MB file is counted exactly for two encodings and chunked as a stream, each within a
    400 MB address space (reading it whole and encoding it at once took several times that)."""
    import random

    rng = random.Random(14)
    words = ["alpha", "beta", "délta", "中文", "😀", "x1y2", "\n\n", "the", "of"]
    path = tmp_path / "huge.txt"
    # starts with a space after the previous part's last word: the parts' counts add up
    part = "".join(" " + rng.choice(words) for _ in range(100_000)) + " end"
    path.write_text(part * 120, encoding="utf-8")
    result = _limited(["count", str(path), "-m", "gpt-4o", "-m", "gpt-4-0613", "--json"])
    assert result.returncode == 0, result.stderr
    counts = [row["tokens"] for row in json.loads(result.stdout)]
    assert counts == [120 * len(tiktoken_enc(name).encode_ordinary(part)) for name in ("o200k_base", "cl100k_base")]
    result = _limited(["chunk", str(path), "--max-tokens", "8000"])
    assert result.returncode == 0, result.stderr[-500:]
    chunks = [json.loads(line) for line in result.stdout.splitlines()]
    assert chunks[-1]["end"] == len(part) * 120 and all(c["tokens"] <= 8000 for c in chunks)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_on_a_real_process_exits_130(tmp_path: Path) -> None:
    """SIGINT during an endless count exits 130 with one line on stderr, no traceback."""
    import signal
    import time

    process = subprocess.Popen([sys.executable, "-m", "tokenomy", "count", "/dev/zero", "-m", "gpt-4o", "-m", "gpt-4-0613"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    time.sleep(3)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and err.strip() == "tokenomy: interrupted", err


# ---- every subcommand, and the JSON of a request -----------------------------------------------

COMMANDS = ["count", "fit", "chunk", "cost", "analyze", "reconcile", "models", "endpoints"]


def test_every_subcommand_takes_the_shared_options_and_shows_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    """`tokenomy --help` lists every subcommand; each one's help names --json, --as-of and --debug,
    shows an example of itself and the exit codes (README: "Every subcommand takes ...")."""
    with pytest.raises(SystemExit):
        main(["--help"])
    listed = capsys.readouterr().out
    for command in COMMANDS:
        assert f"\n    {command}" in listed
        with pytest.raises(SystemExit) as info:
            main([command, "--help"])
        out = capsys.readouterr().out
        assert info.value.code == 0 and f"example:\n  tokenomy {command} " in out and "exit codes: 0 success" in out
        assert all(option in out for option in ("--json", "--as-of", "--debug")), command
        assert "(default: )" not in out


def test_count_json_of_a_request_holds_its_request_count(capsys: pytest.CaptureFixture[str]) -> None:
    """count --json gives a request's row every field of its RequestCount.to_dict(), beside the
    row's own keys (file, model, snapshot, kind, tokens, exact, notes, window, fits)."""
    import tokenomy

    code, out, _ = run(capsys, "count", str(CHAT), "-m", "gpt-4o", "-m", "gpt-4.1", "--json", "--as-of", "2025-06-01")
    body = json.loads(CHAT.read_text("utf-8"))
    rows = json.loads(out)
    assert code == 0 and [r["model"] for r in rows] == ["gpt-4o", "gpt-4.1"]
    for row in rows:
        expected = tokenomy.count_request({**body, "model": row["model"]}, as_of="2025-06-01").to_dict()
        assert {key: row[key] for key in expected} == expected
        assert {"file", "kind", "context_window", "fits"} <= row.keys() and row["kind"] == "chat"
