"""Registry data and name resolution: invariants, aliases by date, fine-tunes, prefixes, errors."""

from __future__ import annotations

import csv
import os
import warnings
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import tiktoken

import tokenomy
from tokenomy import registry
from tokenomy._data import table
from tokenomy.errors import RegistryError, UnknownModelError

REFERENCE_CSV = (
    Path(os.environ.get("TOKENOMY_CORPUS_DIR", "/nonexistent")).parent / "reference" / "openai-models.csv"
)


@pytest.fixture(autouse=True)
def _clean_registry() -> object:
    yield
    registry._reset_for_tests()


def _all() -> list[tokenomy.ModelInfo]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tokenomy.models(as_of=date(2025, 1, 1))


def test_every_entry_is_consistent() -> None:
    """Every entry: known encoding, cap within window, non-negative prices, a source."""
    known = set(tiktoken.list_encoding_names()) | set(tokenomy.encoding_names())
    for info in _all():
        assert info.encoding is None or info.encoding in known, info.name
        if info.context_window and info.max_output_tokens:
            assert info.max_output_tokens <= info.context_window, info.name
        for value in vars(info.price).values():
            assert value is None or value >= 0, info.name
        assert info.source, info.name
    text_kinds = {"chat", "completion", "embedding", "moderation", "realtime"}
    assert all(i.encoding for i in _all() if i.kind in text_kinds), "every text model has a tokenizer"


def test_alias_targets_exist() -> None:
    """Every alias move and alias_of points to a registry entry."""
    entries = table("models")["models"]
    for name, alias in table("aliases")["aliases"].items():
        assert name in entries
        assert all(m["to"] in entries for m in alias["moves"])
        assert [m["on"] for m in alias["moves"]] == sorted(m["on"] for m in alias["moves"])
    for name, entry in entries.items():
        assert entry.get("alias_of") is None or entry["alias_of"] in entries, name
    for target in table("aliases")["prefixes"].values():
        assert target in entries


@pytest.mark.skipif(not REFERENCE_CSV.is_file(), reason="shared reference table not available")
def test_registry_carries_the_reference_table() -> None:
    """Each reference row is in the registry with its window, cap and prices."""
    rows = list(csv.DictReader(REFERENCE_CSV.open(encoding="utf-8")))
    entries = table("models")["models"]
    for row in rows:
        entry = entries[row["model"]]
        if row["context_window"]:
            assert entry["context_window"] == int(row["context_window"])
        if row["encoding"]:
            assert entry["encoding"] == row["encoding"]
        if row["input_per_1m"]:
            assert Decimal(str(entry["price"]["input"])) == Decimal(row["input_per_1m"])


@pytest.mark.parametrize(
    ("day", "snapshot", "window"),
    [
        (date(2023, 4, 1), "gpt-3.5-turbo-0301", 4096),
        (date(2023, 12, 20), "gpt-3.5-turbo-0613", 4096),  # the announced 1106 move never happened
        (date(2024, 2, 15), "gpt-3.5-turbo-0613", 4096),
        (date(2024, 2, 16), "gpt-3.5-turbo-0125", 16385),
    ],
)
def test_gpt35_alias_by_date(day: date, snapshot: str, window: int) -> None:
    """gpt-3.5-turbo resolves to the snapshot it pointed to on that day."""
    info = registry._lookup("gpt-3.5-turbo", day)
    assert (info.snapshot, info.context_window, info.alias) == (snapshot, window, "gpt-3.5-turbo")


def test_gpt4o_alias_and_price_move() -> None:
    """gpt-4o: 2024-05-13 at $5/$15 until 2024-10-02, then 2024-08-06 at $2.50/$10."""
    before = registry._lookup("gpt-4o", date(2024, 10, 1))
    after = registry._lookup("gpt-4o", date(2024, 10, 2))
    assert before.snapshot == "gpt-4o-2024-05-13" and before.price.input == Decimal("5")
    assert after.snapshot == "gpt-4o-2024-08-06" and after.price.output == Decimal("10")
    assert any("code comments" in a for a in after.assumptions)  # the uncertain date says so


def test_output_caps() -> None:
    """Documented separate output caps: 4,096 for gpt-4-1106-preview and gpt-3.5-turbo-1106."""
    for name in ("gpt-4-1106-preview", "gpt-3.5-turbo-1106"):
        assert registry._lookup(name, date(2024, 1, 1)).max_output_tokens == 4096
    assert registry._lookup("text-embedding-ada-002", date(2024, 1, 1)).context_window == 8191


def test_fine_tuned_names_use_base_model() -> None:
    """ft: names take their base's tokenizer, including ft:gpt-4.1 (which tiktoken gets wrong)."""
    day = date(2025, 6, 1)
    assert registry._lookup("ft:gpt-3.5-turbo-0613:acme::8abc", day).encoding == "cl100k_base"
    info = registry._lookup("ft:gpt-4.1-2025-04-14:acme:v1:xyz", day)
    assert info.encoding == "o200k_base" and info.fine_tuned and info.base_model == "gpt-4.1-2025-04-14"
    assert info.price.input is None  # fine-tuned usage prices are not guessed from the base
    assert registry._lookup("curie:ft-acme-2023-01-01", day).encoding == "r50k_base"


def test_prefixes_resolve_longest_match_with_assumption() -> None:
    """Unknown dated names resolve by the longest prefix and say so."""
    info = registry._lookup("gpt-4o-mini-2099-01-01", date(2025, 1, 1))
    assert info.snapshot.startswith("gpt-4o-mini") and info.assumptions
    assert registry._lookup("gpt-35-turbo-0125", date(2025, 1, 1)).snapshot == "gpt-3.5-turbo-0125"


def test_unknown_model_suggests_close_names() -> None:
    """A typo raises UnknownModelError (a KeyError) naming close matches."""
    with pytest.raises(UnknownModelError) as info:
        tokenomy.model_info("gtp-4o-mini")
    assert "gpt-4o-mini" in str(info.value)
    assert isinstance(info.value, KeyError)


def test_retired_model_warns_with_replacement() -> None:
    """A shut-down model still resolves, with a DeprecationWarning naming its replacement."""
    with pytest.warns(DeprecationWarning, match="gpt-4o"):
        info = tokenomy.model_info("gpt-4-vision-preview", as_of=date(2025, 1, 1))
    assert info.status == "shut down"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tokenomy.model_info("gpt-4-vision-preview", as_of=date(2024, 1, 1)).status == "active"


def test_register_model_overrides_and_validates() -> None:
    """register_model layers entries; bad ones are refused whole with the field named."""
    info = tokenomy.register_model("acme-chat", based_on="gpt-4o-mini-2024-07-18", context_window=64000)
    assert (info.encoding, info.context_window) == ("o200k_base", 64000)
    assert tokenomy.count("hello world", model="acme-chat") == 2
    with pytest.raises(RegistryError, match=r"price\.input"):
        tokenomy.register_model("bad", based_on="gpt-4o", price={"input": -1})
    with pytest.raises(RegistryError, match="context_windw"):
        tokenomy.register_model("bad", context_windw=5)
    with pytest.raises(UnknownModelError):
        tokenomy.model_info("bad")


def test_user_registry_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user file named by TOKENOMY_REGISTRY adds entries; a typo'd key refuses the file."""
    good = tmp_path / "good.toml"
    good.write_text('[models."my-deploy"]\nbased_on = "gpt-4.1-mini"\nprice = { input = 0.3 }\n')
    monkeypatch.setenv("TOKENOMY_REGISTRY", str(good))
    registry._reset_for_tests()
    assert tokenomy.model_info("my-deploy").price.input == Decimal("0.3")
    bad = tmp_path / "bad.toml"
    bad.write_text('[models."x"]\nencodng = "o200k_base"\n')
    monkeypatch.setenv("TOKENOMY_REGISTRY", str(bad))
    registry._reset_for_tests()
    with pytest.raises(RegistryError, match="encodng"):
        tokenomy.model_info("gpt-4o")


def test_rows_read_one_by_one_equal_the_whole_file() -> None:
    """Each model row, parsed on its own when first asked for, equals its row in the whole file."""
    from tokenomy._data import sections

    assert dict(sections("models", "models")) == table("models")["models"]


@pytest.mark.parametrize("as_of", [date(2024, 6, 1), datetime(2024, 6, 1, 18, 30), "2024-06-01",
                                   "2024-06-01T18:30:00", "2024-06-01T18:30:00Z"])  # fmt: skip
def test_as_of_takes_a_date_a_datetime_or_an_iso_string(as_of: object) -> None:
    """model_info, models, estimate_cost, count_messages and analyze accept each form of as_of."""
    assert tokenomy.model_info("gpt-4o", as_of=as_of).snapshot == "gpt-4o-2024-05-13"  # type: ignore[arg-type]
    assert "gpt-4o" in [m.name for m in tokenomy.models("chat", as_of=as_of)]  # type: ignore[arg-type]
    assert tokenomy.estimate_cost("gpt-4o", 1_000_000, as_of=as_of).usd == 5  # type: ignore[arg-type]
    chat = [{"role": "user", "content": "hi"}]
    assert tokenomy.count_messages(chat, "gpt-4o", as_of=as_of).tokens > 0  # type: ignore[arg-type]
    report = tokenomy.analyze(["hello"], kind="text", model="gpt-4o", as_of=as_of, parallel=False)  # type: ignore[arg-type]
    assert report.to_dict()["as_of"] == "2024-06-01"


def test_a_malformed_as_of_says_what_to_pass() -> None:
    """A string that is no date is a ValueError naming the accepted forms; other types a TypeError."""
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        tokenomy.model_info("gpt-4o", as_of="June 1st")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="as_of"):
        tokenomy.model_info("gpt-4o", as_of=20240601)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("content", "entry", "field"),
    [
        ('[models."x"\nkind = "chat"\n', None, None),  # malformed TOML
        ("models = 5\n", None, "models"),
        ('[aliases."x"]\nmoves = []\n', None, "aliases"),
        ('[models."x"]\nbased_on = "gpt-4o"\nendpoints = 5\n', "x", "endpoints"),
        ('[models."x"]\nbased_on = "gpt-4o"\ncontext_window = "big"\n', "x", "context_window"),
        ('[models."x"]\nbased_on = ["gpt-4o"]\n', "x", "based_on"),
        ('[models."x"]\nbased_on = "gpt-4o"\nalias_of = [1]\n', "x", "alias_of"),
        ('[models."x"]\nbased_on = "gpt-4o"\nfamily = 4\n', "x", "family"),
        ('[models."x"]\nbased_on = "gpt-4o"\nuncertain = "price"\n', "x", "uncertain"),
        ('[models."x"]\nbased_on = "gpt-4o"\nprice = { input = "1e999999" }\n', "x", "price.input"),
        ('[models."x"]\nbased_on = "gpt-4o"\nprice = { input = "abc" }\n', "x", "price.input"),
        ('[models."x"]\nbased_on = "gpt-4o"\nreleased = 10:00:00\n', "x", "released"),
        ('[models."x"]\nkind = ["chat"]\n', "x", "kind"),
        ('[models."x"]\nencoding = 5\n', "x", "encoding"),
        ('[models."x"]\nencodng = "o200k_base"\n', "x", "encodng"),
        ('[models.x]\n"" = 5\n', "x", ""),
    ],
)
def test_bad_user_registry_files_name_file_entry_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, entry: str | None, field: str | None
) -> None:
    """A malformed TOKENOMY_REGISTRY (bad TOML, wrong types, a price too large) is a RegistryError
    naming the file, the entry and the field, from the first lookup and from every one after."""
    path = tmp_path / "registry.toml"
    path.write_text(content, encoding="utf-8")
    monkeypatch.setenv("TOKENOMY_REGISTRY", str(path))
    registry._reset_for_tests()
    for _ in range(2):
        with pytest.raises(RegistryError) as info:
            tokenomy.count("hi", model="gpt-4o")
        assert (info.value.file, info.value.entry, info.value.field) == (str(path), entry, field)
        assert str(path) in str(info.value) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("where", ["missing", "folder", "binary"])
def test_unreadable_user_registry_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """A missing file, a folder or a file that is not UTF-8 is a RegistryError naming the file."""
    path = tmp_path / "registry.toml"
    if where == "folder":
        path.mkdir()
    elif where == "binary":
        path.write_bytes(b"\xff\xfe[models]")
    monkeypatch.setenv("TOKENOMY_REGISTRY", str(path))
    registry._reset_for_tests()
    with pytest.raises(RegistryError) as info:
        tokenomy.models()
    assert info.value.file == str(path) and info.value.entry is None


@pytest.mark.parametrize(
    "fields",
    [{"endpoints": 5}, {"price": {"input": "1e999999"}}, {"price": {"input": float("nan")}}, {"kind": ["chat"]},
     {"uncertain": [1]}, {"notes": b"x"}, {"released": "tomorrow"}, {"alias_of": ["gpt-4o"]},
     {"context_window": 10, "max_output_tokens": 20}, {"price": 5}],
)
def test_register_model_is_all_or_nothing(fields: dict[str, object]) -> None:
    """A bad field raises RegistryError and leaves nothing registered: models() keeps working."""
    before = len(tokenomy.models())
    with pytest.raises(RegistryError):
        tokenomy.register_model("half-registered", based_on="gpt-4o-2024-08-06", **fields)
    with pytest.raises(UnknownModelError):
        tokenomy.model_info("half-registered")
    assert len(tokenomy.models()) == before
    with pytest.raises(TypeError):
        tokenomy.register_model(5)  # type: ignore[arg-type]


@pytest.mark.parametrize("typo", ["gpt-4o-mni", "gpt-4-o", "gpt-4o-mini-x", "gpt-4.1-nanoo", "o3-mimi", "gpt-5o",
                                  "text-moderation-lates", "gpt-4-turbo-previe"])
def test_typos_are_unknown_models_not_another_model(typo: str) -> None:
    """A name that differs from a known prefix by anything but a date, version or tag is an
    UnknownModelError with close names, in model_info, estimate_cost and count alike."""
    with pytest.raises(UnknownModelError) as info:
        tokenomy.model_info(typo, as_of=date(2025, 1, 1))
    assert info.value.close
    with pytest.raises(UnknownModelError):
        tokenomy.estimate_cost(typo, 10, as_of=date(2025, 1, 1))
    with pytest.raises(UnknownModelError):
        tokenomy.count("hi", model=typo)


@pytest.mark.parametrize(("name", "base"), [("gpt-4o-2099-01-01", "gpt-4o"), ("gpt-4-9999", "gpt-4"),
                                            ("text-moderation-999", "text-moderation-007"),
                                            ("gpt-4o-mini-v2", "gpt-4o-mini"), ("gpt-4.1-mini-preview", "gpt-4.1-mini"),
                                            ("gpt-5-2099-01-01-v3", "gpt-5")])
def test_suffixes_resolve_by_prefix_and_say_so(name: str, base: str) -> None:
    """A snapshot date, a version or a deployment tag after a known prefix takes that model's
    facts, and the assumption is named in the result and in a request count's notes."""
    day = date(2025, 6, 1)
    info = tokenomy.model_info(name, as_of=day)
    assert info.snapshot == tokenomy.model_info(base, as_of=day).snapshot
    assert any("not in the registry" in a for a in info.assumptions)
    if info.kind == "chat":
        counted = tokenomy.count_request({"model": name, "messages": [{"role": "user", "content": "hi"}]}, as_of=day)
        assert not counted.exact and any("not in the registry" in n for n in counted.notes)


def test_suffix_patterns_are_data_with_a_source() -> None:
    """The suffixes live in data/aliases.toml with a source and an example each."""
    suffixes = table("aliases")["suffixes"]
    assert suffixes["source"] and all(p["pattern"] and p["example"] for p in suffixes["patterns"])


@pytest.mark.parametrize("name", [5, None, b"gpt-4o", ["gpt-4o"], 4.0])
def test_model_names_of_the_wrong_type_are_type_errors(name: object) -> None:
    """A model name that is not a str is a TypeError everywhere a model is named."""
    calls = [lambda: tokenomy.model_info(name), lambda: tokenomy.count("x", model=name),
             lambda: tokenomy.count_image(10, 10, model=name), lambda: tokenomy.Budget(name),
             lambda: tokenomy.estimate_cost(name, 1), lambda: tokenomy.encoding_for(name),
             lambda: tokenomy.truncate("x", 5, model=name), lambda: tokenomy.embedding_chunks("x", model=name)]  # fmt: skip
    for call in calls:
        with pytest.raises(TypeError):
            call()


def test_a_gigabyte_name_is_refused_quickly_and_briefly() -> None:
    """A huge unknown name gets no suggestions (difflib is quadratic) and a short message."""
    import time

    name = "g" * 50_000_000
    start = time.perf_counter()
    with pytest.raises(UnknownModelError) as info:
        tokenomy.model_info(name)
    assert time.perf_counter() - start < 5 and len(str(info.value)) < 300 and info.value.name is name
