"""Whole-process cold start and peak memory, side by side with tiktoken.

Each case is a new Python process timed by ``/usr/bin/time`` (wall seconds and peak RSS); the
cases run interleaved, round after round, and the table gives medians and ratios to tiktoken's
one-liner ``import tiktoken; tiktoken.get_encoding('o200k_base').encode(text)``. tiktoken reads the
bundled vocabulary files through its own cache (``TIKTOKEN_CACHE_DIR``, a temporary folder of
links), so nothing is downloaded.

    python benchmarks/coldstart.py                      # cold start and memory, 15 rounds
    python benchmarks/coldstart.py --stream-mb 200      # and count_stream of a 200 MB file
    python benchmarks/coldstart.py --stages             # where a first count's time goes, per idea

Bytecode is cached as after ``pip install`` (``PYTHONDONTWRITEBYTECODE`` is dropped and an untimed
round runs first). "Without the fast extra" runs with ``TOKENOMY_BACKEND=tiktoken`` (toktok is then never imported),
or with another interpreter whose environment lacks toktok: ``--python-without-fast PATH``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
TIME = "/usr/bin/time"

COUNT_ONE = "import sys, tokenomy; tokenomy.count(open(sys.argv[1], encoding='utf-8').read())"
TIKTOKEN_ONE = (
    "import sys, tiktoken; tiktoken.get_encoding('o200k_base').encode(open(sys.argv[1], encoding='utf-8').read())"
)
TIKTOKEN_TWO = (
    "import sys, tiktoken; text = open(sys.argv[1], encoding='utf-8').read()\n"
    "for name in ('cl100k_base', 'o200k_base'): tiktoken.get_encoding(name).encode(text)"
)
COUNT_TWO = (
    "import sys, tokenomy; text = open(sys.argv[1], encoding='utf-8').read()\n"
    "for model in ('gpt-4', 'gpt-4o'): tokenomy.count(text, model=model)"
)
# a small count on each encoding (tiktoken serves), then 20M characters: the fast backend is built
# and tiktoken's vocabulary dropped; prints the resident set at the end next to the peak
SWITCH = (
    "import sys, tokenomy; text = open(sys.argv[1], encoding='utf-8').read()\n"
    "for model in ('gpt-4', 'gpt-4o'): tokenomy.count(text, model=model)\n"
    "for model in ('gpt-4', 'gpt-4o'): tokenomy.encoding_for(model).count_batch([text] * 2000)\n"
    "assert {s.backend for s in tokenomy.backend_info().values()} == {'toktok'}, tokenomy.backend_info()\n"
    "print([l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1], file=sys.stderr)"
)
STREAM = (
    "import sys, tokenomy\n"
    "with open(sys.argv[1], encoding='utf-8') as f: print(tokenomy.encoding_for('gpt-4o').count_stream(f))"
)


# Each stage timed in a new process (ms); the ideas of issue 13 side by side with what they replace.
STAGES = r"""
import json, sys, time
T = time.perf_counter
out = {}
t = T(); import tokenomy; out["import tokenomy"] = T() - t
t = T(); import tokenomy.tokenizer; out["import the modules a first count needs"] = T() - t
t = T(); import numpy; out["import numpy (no longer on that path)"] = T() - t
from tokenomy._data import data_dir, sections
import tomllib
t = T(); tomllib.loads((data_dir() / "models.toml").read_text("utf-8")); out["parse all of models.toml (before)"] = T() - t
t = T(); sections("models", "models")["gpt-4o-2024-08-06"]; out["read one model's rows (now)"] = T() - t
from tokenomy.encodings import bundled_dir, _ranks, _read_verified, encoding_spec, _build
import tiktoken.load
path = bundled_dir() / "o200k_base.tiktoken"
t = T(); tiktoken.load.load_tiktoken_bpe(str(path)); out["o200k ranks, tiktoken's loader (before)"] = T() - t
t = T(); ranks = _ranks(_read_verified(path, encoding_spec("o200k_base")["files"][0]["sha256"]))
out["o200k ranks, SHA-256 + bulk parse (now)"] = T() - t
t = T(); _build("o200k_base", encoding_spec("o200k_base"), ranks); out["o200k tiktoken Encoding"] = T() - t
del ranks
try:
    import toktok
    t = T(); toktok._encoding("o200k_base"); out["o200k toktok vocabulary"] = T() - t
    from tokenomy.backends import _conforms, _toktok
    fast = _toktok("o200k_base")
    t = T(); assert _conforms(fast, "o200k_base") is None; out["canary check on stored answers (now)"] = T() - t
    enc = tiktoken.get_encoding("o200k_base")
    from tokenomy.backends import CANARIES, clean
    t = T(); [enc.encode_ordinary(clean(c)) for c in CANARIES]; out["tiktoken encoding the canaries (before)"] = T() - t
except ImportError:
    pass
print(json.dumps({k: v * 1000 for k, v in out.items()}))
"""


def tiktoken_cache(folder: Path) -> Path:
    """A TIKTOKEN_CACHE_DIR whose entries link to the bundled files (tiktoken still checks them)."""
    specs = tomllib.loads((DATA / "encodings.toml").read_text("utf-8"))["encodings"]
    for spec in specs.values():
        for entry in spec["files"]:
            link = folder / hashlib.sha1(entry["url"].encode()).hexdigest()
            if not link.exists():
                link.symlink_to(DATA / "encodings" / entry["name"])
    return folder


def sample_text(size: int) -> str:
    corpus = os.environ.get("TOKENOMY_CORPUS_DIR")
    source = Path(corpus) / "austen.txt" if corpus else DATA / "samples" / "sample-document.txt"
    text = source.read_text("utf-8")
    return (text * (size // len(text) + 1))[:size]


def run(command: list[str], env: dict[str, str]) -> tuple[float, float, float | None]:
    """Wall seconds, peak RSS (MB) and the RSS (MB) a process printed at its end, if it did."""
    result = subprocess.run([TIME, "-f", "%e %M", *command], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{command} failed:\n{result.stderr}")
    *printed, timing = result.stderr.strip().splitlines()
    wall, rss = timing.split()
    end = int(printed[-1]) / 1024 if printed and printed[-1].isdigit() else None
    return float(wall), int(rss) / 1024, end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    parser.add_argument("--python-without-fast", help="interpreter without toktok (default: TOKENOMY_BACKEND=tiktoken)")
    parser.add_argument("--stream-mb", type=int, default=0, help="also count_stream a file of this size")
    parser.add_argument("--stream-rounds", type=int, default=3)
    parser.add_argument("--stages", action="store_true", help="time each stage of a first count instead")
    args = parser.parse_args()
    if args.stages:
        stages(args.rounds)
        return

    python = sys.executable
    cli = str(Path(python).with_name("tokenomy"))
    plain = args.python_without_fast or python
    plain_cli = str(Path(plain).with_name("tokenomy"))
    tmp = Path(tempfile.mkdtemp(prefix="tokenomy-coldstart-"))
    try:
        text = tmp / "ten.txt"
        text.write_text(sample_text(10_000), encoding="utf-8")
        # as after `pip install`: bytecode is cached (an untimed first round writes it for a checkout)
        drop = ("TOKENOMY_", "TIKTOKEN_", "PYTHONDONTWRITEBYTECODE")
        base = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
        (tmp / "cache").mkdir()
        tk_env = {**base, "TIKTOKEN_CACHE_DIR": str(tiktoken_cache(tmp / "cache"))}
        fast_env = dict(base)
        plain_env = dict(base) if args.python_without_fast else {**base, "TOKENOMY_BACKEND": "tiktoken"}
        cases = {
            "tiktoken one-liner (o200k, 10 KB)": ([python, "-c", TIKTOKEN_ONE, str(text)], tk_env),
            "first tokenomy.count, fast extra": ([python, "-c", COUNT_ONE, str(text)], fast_env),
            "first tokenomy.count, without": ([plain, "-c", COUNT_ONE, str(text)], plain_env),
            "tokenomy count FILE, fast extra": ([cli, "count", str(text)], fast_env),
            "tokenomy count FILE, without": ([plain_cli, "count", str(text)], plain_env),
            "tiktoken, cl100k + o200k": ([python, "-c", TIKTOKEN_TWO, str(text)], tk_env),
            "tokenomy cl100k + o200k, fast extra": ([python, "-c", COUNT_TWO, str(text)], fast_env),
            "tokenomy cl100k + o200k, without": ([plain, "-c", COUNT_TWO, str(text)], plain_env),
            "tokenomy cl100k + o200k, fast backend from the start": (
                [python, "-c", COUNT_TWO, str(text)], {**base, "TOKENOMY_BACKEND": "fast"}),
            "tokenomy cl100k + o200k, switching to the fast backend": (
                [python, "-c", SWITCH, str(text)], fast_env),
        }
        results: dict[str, list[tuple[float, float, float | None]]] = {name: [] for name in cases}
        for command, env in cases.values():
            run(command, env)
        for _ in range(args.rounds):
            for name, (command, env) in cases.items():
                results[name].append(run(command, env))
        print(f"{args.rounds} interleaved rounds, medians; Python {sys.version.split()[0]}, {os.cpu_count()} cores\n")
        print("| process | wall | vs tiktoken | peak RSS | vs tiktoken |")
        print("| --- | ---: | ---: | ---: | ---: |")
        reference = None
        ends = []
        for name, figures in results.items():
            wall = statistics.median(w for w, _, _ in figures)
            rss = statistics.median(r for _, r, _ in figures)
            if name.startswith("tiktoken"):
                reference = (wall, rss)
            assert reference is not None
            print(f"| {name} | {wall:.3f} s | {wall / reference[0]:.2f}x | {rss:.0f} MB | {rss / reference[1]:.2f}x |")
            if figures[0][2] is not None:
                ends.append(f"{name}: RSS at the end {statistics.median(e or 0 for _, _, e in figures):.0f} MB")
        print("\n" + "\n".join(ends) if ends else "")
        if args.stream_mb:
            stream_file = tmp / "big.txt"
            block = sample_text(4_000_000).encode("utf-8") + b"\n"
            with stream_file.open("wb") as out:
                for _ in range((args.stream_mb << 20) // len(block) + 1):
                    out.write(block)
            size_mb = stream_file.stat().st_size / (1 << 20)
            streams = {
                "count_stream, fast extra": ([python, "-c", STREAM, str(stream_file)], fast_env),
                "count_stream, without": ([plain, "-c", STREAM, str(stream_file)], plain_env),
            }
            print(f"\n| count_stream of a {size_mb:.0f} MB file | wall | peak RSS |")
            print("| --- | ---: | ---: |")
            stream_results: dict[str, list[tuple[float, float, float | None]]] = {name: [] for name in streams}
            for _ in range(args.stream_rounds):
                for name, (command, env) in streams.items():
                    stream_results[name].append(run(command, env))
            for name, figures in stream_results.items():
                wall = statistics.median(w for w, _, _ in figures)
                rss = statistics.median(r for _, r, _ in figures)
                print(f"| {name} | {wall:.2f} s | {rss:.0f} MB |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def stages(rounds: int) -> None:
    """Median time of each stage of a first count, each round in a new process."""
    import json

    with tempfile.TemporaryDirectory(prefix="tokenomy-stages-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TOKENOMY_", "TIKTOKEN_", "PYTHONDONTWRITEBYTECODE"))}
        env["TIKTOKEN_CACHE_DIR"] = str(tiktoken_cache(Path(tmp)))
        subprocess.run([sys.executable, "-c", STAGES], env=env, check=True, capture_output=True)  # bytecode
        runs = [json.loads(subprocess.run([sys.executable, "-c", STAGES], env=env, check=True, capture_output=True,
                                          text=True).stdout) for _ in range(rounds)]  # fmt: skip
    print(f"{rounds} processes, medians; Python {sys.version.split()[0]}\n")
    print("| stage | ms |\n| --- | ---: |")
    for name in runs[0]:
        print(f"| {name} | {statistics.median(r[name] for r in runs):.0f} |")


if __name__ == "__main__":
    main()
