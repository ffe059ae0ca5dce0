"""The command line, called in-process through main(argv) and once as a real subprocess."""

from __future__ import annotations

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
