"""Backend selection: a fast backend serves only after the conformance check, else tiktoken."""

from __future__ import annotations

import pytest

import tokenomy
from tests.conftest import tiktoken_enc
from tokenomy import backends
from tokenomy.backends import FastCounter, _conforms, backend_info


def test_backend_info_reports_every_loaded_encoding() -> None:
    """backend_info names the backend and the reason for each loaded encoding."""
    tokenomy.count("hello", model="gpt-4o")
    status = backend_info()["o200k_base"]
    assert status.backend in ("tiktoken", "toktok") and status.reason


def test_a_wrong_backend_fails_the_check() -> None:
    """A backend that is off by one token on any canary is refused, with the canary named."""
    ref = tiktoken_enc("cl100k_base")

    def off_by_one(text: str) -> int:
        n = len(ref.encode_ordinary(text))
        return n + 1 if "<|endoftext|>" in text else n

    bad = FastCounter("bad", "0", off_by_one, lambda ts: [off_by_one(t) for t in ts],
                      lambda t: ref.encode_ordinary(t))  # fmt: skip
    assert "canary" in (_conforms(bad, ref) or "")
    good = FastCounter("good", "0", lambda t: len(ref.encode_ordinary(t)),
                       lambda ts: [len(ref.encode_ordinary(t)) for t in ts], ref.encode_ordinary)  # fmt: skip
    assert _conforms(good, ref) is None


def test_failing_candidate_falls_back_to_tiktoken(monkeypatch: pytest.MonkeyPatch) -> None:
    """If the only candidate is wrong, tiktoken serves and the reason is kept."""
    ref = tiktoken_enc("r50k_base")
    wrong = FastCounter("wrong", "9", lambda t: 0, lambda ts: [0] * len(ts), lambda t: [])
    monkeypatch.setattr(backends, "_CANDIDATES", (lambda name: wrong,))
    monkeypatch.setattr(backends, "_chosen", {})
    assert backends.fast_backend("r50k_base", ref) is None
    assert "wrong 9 failed the conformance check" in backend_info()["r50k_base"].reason


def test_env_var_turns_the_fast_path_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """TOKENOMY_BACKEND=tiktoken keeps tiktoken for every encoding."""
    monkeypatch.setenv("TOKENOMY_BACKEND", "tiktoken")
    monkeypatch.setattr(backends, "_chosen", {})
    assert backends.fast_backend("o200k_base", tiktoken_enc("o200k_base")) is None
    assert backend_info()["o200k_base"].backend == "tiktoken"
