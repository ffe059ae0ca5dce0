"""Vocabulary loading: bundled files or a chosen folder, SHA-256 checks, no download, one build per process."""

from __future__ import annotations

import shutil
import socket
import threading
from pathlib import Path
from typing import Any

import pytest
import tiktoken.load

from tests.conftest import BUNDLED_DIR, ENCODING_NAMES, ENCODING_SPECS, ENCODINGS_DIR, tiktoken_enc
from tokenomy import encodings as enc_module
from tokenomy.errors import EncodingFileError, EncodingUnavailableError, UnknownModelError

needs_folder = pytest.mark.skipif(
    not ENCODINGS_DIR, reason="TOKENOMY_ENCODINGS_DIR is not set (offline vocabulary folder)"
)


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run with an empty encoding cache and restore it afterwards."""
    monkeypatch.setattr(enc_module, "_cache", {})
    monkeypatch.setattr(enc_module, "_origins", {})
    monkeypatch.setattr(enc_module, "_folder", None)


def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No socket can be opened, and tiktoken's own loaders refuse (tokenomy must not call them)."""

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(tiktoken.load, "read_file", refuse)
    monkeypatch.setattr(tiktoken.load, "read_file_cached", refuse)


@pytest.mark.parametrize("name", ENCODING_NAMES)
def test_bundled_encoding_equals_tiktoken(name: str, fresh: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no folder set, an encoding is built from the bundled files, offline, with tiktoken's
    ranks, pattern and special tokens."""
    monkeypatch.delenv("TOKENOMY_ENCODINGS_DIR", raising=False)
    ref = tiktoken_enc(name)
    _offline(monkeypatch)
    ours = enc_module.load_encoding(name)
    assert enc_module.encoding_origin(name) == "bundled"
    assert ours._pat_str == ref._pat_str
    assert ours._special_tokens == ref._special_tokens
    assert ours.n_vocab == ref.n_vocab
    assert ours._mergeable_ranks == ref._mergeable_ranks


def test_bundled_files_match_their_sums() -> None:
    """Each bundled file is listed in SHA256SUMS beside it, with the hash encodings.toml expects."""
    sums = dict(line.split()[::-1] for line in (BUNDLED_DIR / "SHA256SUMS").read_text().splitlines())
    for spec in ENCODING_SPECS.values():
        for entry in spec["files"]:
            assert sums[entry["name"]] == entry["sha256"], entry["name"]
            assert (BUNDLED_DIR / entry["name"]).is_file()


@needs_folder
@pytest.mark.parametrize("name", ENCODING_NAMES)
def test_folder_encoding_equals_tiktoken(name: str, fresh: None) -> None:
    """An encoding built from the folder has tiktoken's ranks, pattern and special tokens."""
    ours = enc_module.load_encoding(name)
    ref = tiktoken_enc(name)
    assert enc_module.encoding_origin(name) == ENCODINGS_DIR
    assert ours._pat_str == ref._pat_str
    assert ours._special_tokens == ref._special_tokens
    assert ours.n_vocab == ref.n_vocab
    assert ours._mergeable_ranks == ref._mergeable_ranks


@needs_folder
def test_ci_folder_is_complete() -> None:
    """Where CI points the folder, every vocabulary file the registry names is present."""
    for spec in ENCODING_SPECS.values():
        for entry in spec["files"]:
            assert (Path(ENCODINGS_DIR or "") / entry["name"]).is_file(), entry["name"]


def test_corrupt_file_is_refused(tmp_path: Path, fresh: None) -> None:
    """A truncated vocabulary file raises EncodingFileError naming the file and expected hash."""
    data = (BUNDLED_DIR / "r50k_base.tiktoken").read_bytes()
    (tmp_path / "r50k_base.tiktoken").write_bytes(data[:-100])
    enc_module.set_encodings_dir(tmp_path)
    with pytest.raises(EncodingFileError) as info:
        enc_module.load_encoding("r50k_base")
    assert "r50k_base.tiktoken" in str(info.value)
    assert ENCODING_SPECS["r50k_base"]["files"][0]["sha256"] in str(info.value)


def test_swapped_file_is_refused(tmp_path: Path, fresh: None) -> None:
    """The cl100k file saved under the p50k name is detected by its hash."""
    shutil.copy(BUNDLED_DIR / "cl100k_base.tiktoken", tmp_path / "p50k_base.tiktoken")
    enc_module.set_encodings_dir(tmp_path)
    with pytest.raises(EncodingFileError):
        enc_module.load_encoding("p50k_base")


@pytest.mark.parametrize("how", ["api", "env"])
def test_a_chosen_folder_is_the_only_place(
    tmp_path: Path, fresh: None, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """A folder set by the API or TOKENOMY_ENCODINGS_DIR that lacks a file is an error naming the
    file and the folder: no fallback to the bundled files, no download attempt."""
    shutil.copy(BUNDLED_DIR / "cl100k_base.tiktoken", tmp_path / "cl100k_base.tiktoken")
    _offline(monkeypatch)
    if how == "api":
        enc_module.set_encodings_dir(tmp_path)
    else:
        monkeypatch.setenv("TOKENOMY_ENCODINGS_DIR", str(tmp_path))
    with pytest.raises(EncodingUnavailableError) as info:
        enc_module.load_encoding("r50k_base")
    message = str(info.value)
    assert "r50k_base.tiktoken" in message and str(tmp_path) in message
    assert "TOKENOMY_ENCODINGS_DIR" in message
    assert enc_module.load_encoding("cl100k_base").encode("hello world") == [15339, 1917]
    assert enc_module.encoding_origin("cl100k_base") == str(tmp_path)


def test_env_var_names_the_folder(tmp_path: Path, fresh: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """TOKENOMY_ENCODINGS_DIR is read when no folder was set by the API."""
    monkeypatch.setenv("TOKENOMY_ENCODINGS_DIR", str(tmp_path))
    assert enc_module.encodings_dir() == tmp_path
    enc_module.set_encodings_dir(tmp_path / "..")
    assert enc_module.encodings_dir() == tmp_path / ".."


def test_set_encodings_dir_rejects_missing_folder(tmp_path: Path) -> None:
    """A folder that does not exist is refused at once."""
    with pytest.raises(EncodingUnavailableError):
        enc_module.set_encodings_dir(tmp_path / "nope")


def test_unknown_encoding_suggests_names() -> None:
    """A misspelt encoding name suggests the real one."""
    with pytest.raises(UnknownModelError) as info:
        enc_module.load_encoding("cl100k")
    assert "cl100k_base" in str(info.value)


def test_concurrent_first_use_builds_once(fresh: None) -> None:
    """Eight threads asking at once get one and the same Encoding object."""
    barrier = threading.Barrier(8)
    results: list[object] = []

    def load() -> None:
        barrier.wait()
        results.append(enc_module.load_encoding("r50k_base"))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and all(r is results[0] for r in results)
