"""Backend selection: a fast backend serves only after the conformance check, else tiktoken."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import tokenomy
from tests.conftest import BACKENDS, ENCODING_NAMES, tiktoken_enc
from tokenomy import _encoder as encoder_module
from tokenomy import backends
from tokenomy._data import table
from tokenomy.backends import (
    CANARIES,
    FastCounter,
    _conforms,
    backend_info,
    canaries_digest,
    clean,
    ids_digest,
)
from tokenomy.tokenizer import Tokenizer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from make_canaries import rows


def test_backend_info_reports_every_loaded_encoding() -> None:
    """backend_info names the backend and the reason for each loaded encoding."""
    tokenomy.count("hello", model="gpt-4o")
    status = backend_info()["o200k_base"]
    assert status.backend in ("tiktoken", "toktok") and status.reason


def test_canary_answers_are_tiktokens() -> None:
    """data/canaries.toml holds exactly what tiktoken answers today, for every encoding."""
    data = table("canaries")
    assert data["canaries_sha256"] == canaries_digest(), "CANARIES changed: run scripts/make_canaries.py"
    for name in ENCODING_NAMES:
        counts, digests = rows(tiktoken_enc(name))
        assert data["encodings"][name] == {"counts": counts, "ids_sha256": digests}, name


def test_a_wrong_backend_fails_the_check() -> None:
    """A backend that is off by one token on any canary is refused, with the canary named."""
    ref = tiktoken_enc("cl100k_base")

    def off_by_one(text: str) -> int:
        n = len(ref.encode_ordinary(text))
        return n + 1 if "<|endoftext|>" in text else n

    bad = FastCounter("bad", "0", off_by_one, lambda ts: [off_by_one(t) for t in ts], ref.encode_ordinary)
    assert "canary" in (_conforms(bad, "cl100k_base") or "")
    good = FastCounter("good", "0", lambda t: len(ref.encode_ordinary(t)),
                       lambda ts: [len(ref.encode_ordinary(t)) for t in ts], ref.encode_ordinary)  # fmt: skip
    assert _conforms(good, "cl100k_base") is None


def test_same_count_other_ids_fails_the_check() -> None:
    """Right counts with one wrong id are refused: the ids themselves are compared."""
    ref = tiktoken_enc("o200k_base")

    def shifted(text: str) -> list[int]:
        ids = ref.encode_ordinary(text)
        return [ids[0] + 1, *ids[1:]] if ids else ids

    wrong = FastCounter("ids", "0", lambda t: len(ref.encode_ordinary(t)),
                        lambda ts: [len(ref.encode_ordinary(t)) for t in ts], shifted)  # fmt: skip
    assert "canary 1" in (_conforms(wrong, "o200k_base") or "")


def test_ids_digest_is_little_endian_uint32() -> None:
    """The digest of ids is the SHA-256 of their little-endian uint32 bytes."""
    import hashlib

    assert ids_digest([1, 256]) == hashlib.sha256(b"\x01\x00\x00\x00\x00\x01\x00\x00").hexdigest()
    assert len(CANARIES) == len(table("canaries")["encodings"]["o200k_base"]["counts"])
    assert clean("a\ud800") == "a\ufffd"


def test_failing_candidate_falls_back_to_tiktoken(monkeypatch: pytest.MonkeyPatch) -> None:
    """If the only candidate is wrong, tiktoken serves and the reason is kept."""
    wrong = FastCounter("wrong", "9", lambda t: 0, lambda ts: [0] * len(ts), lambda t: [])
    monkeypatch.setattr(backends, "_CANDIDATES", ((lambda name: True, lambda name: wrong),))
    monkeypatch.setattr(backends, "_chosen", {})
    assert backends.fast_backend("r50k_base") is None
    assert "wrong 9 failed the conformance check" in backend_info()["r50k_base"].reason
    tok = Tokenizer("r50k_base", backend="fast")
    assert tok.backend == "tiktoken" and tok.count("hello world") == 2


def test_env_var_turns_the_fast_path_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """TOKENOMY_BACKEND=tiktoken keeps tiktoken for every encoding."""
    monkeypatch.setenv("TOKENOMY_BACKEND", "tiktoken")
    monkeypatch.setattr(backends, "_chosen", {})
    assert backends.fast_backend("o200k_base") is None
    assert backends.fast_offered("o200k_base") is None
    assert backend_info()["o200k_base"].backend == "tiktoken"


@pytest.mark.skipif("fast" not in BACKENDS, reason="the fast extra (toktok-rs) is not installed")
def test_tiktoken_serves_first_then_the_fast_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """By default tiktoken counts until the work repays the fast build; then the fast backend
    serves, tiktoken's vocabulary is dropped, and every count stays equal to tiktoken's."""
    monkeypatch.setattr(encoder_module, "SWITCH_CHARS", 10_000)
    ref = tiktoken_enc("cl100k_base")
    tok = Tokenizer("cl100k_base")
    text = "Exact counts, one vocabulary at a time. " * 20
    counts = []
    while tok.backend == "tiktoken":
        assert tok._encoding is not None or not counts
        counts.append(tok.count(text))
        assert len(counts) < 100
    assert tok._encoding is None and tok._core is None
    counts.append(tok.count(text))
    assert set(counts) == {len(ref.encode_ordinary(text))}
    assert tok.decode(tok.encode(text)) == text  # tiktoken is rebuilt on demand for decoding


@pytest.mark.skipif("fast" not in BACKENDS, reason="the fast extra (toktok-rs) is not installed")
def test_a_big_first_call_builds_only_the_fast_backend() -> None:
    """A first call bigger than the switch threshold never builds tiktoken's vocabulary."""
    tok = Tokenizer("o200k_base")
    blocks = ["word " * 200_000] * 3
    assert tok.count_stream(iter(blocks), block_chars=1_000_000) == len(tiktoken_enc("o200k_base").encode_ordinary("".join(blocks)))
    assert tok.backend == "toktok" and tok._encoding is None


@pytest.mark.skipif("fast" not in BACKENDS, reason="the fast extra (toktok-rs) is not installed")
def test_the_switch_under_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Eight threads counting across the switch all get tiktoken's count, and tiktoken's
    vocabulary is not rebuilt behind the fast backend's back."""
    import threading

    monkeypatch.setattr(encoder_module, "SWITCH_CHARS", 20_000)
    text = "Threads meet the switch. " * 40
    expected = len(tiktoken_enc("cl100k_base").encode_ordinary(text))
    tok = Tokenizer("cl100k_base")
    barrier, results = threading.Barrier(8), []

    def work() -> None:
        barrier.wait()
        results.extend(tok.count(text) for _ in range(40))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 320
    assert tok.backend == "toktok" and tok._encoding is None and tok._core is None
