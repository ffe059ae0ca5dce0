"""Every row of data/*.toml: a source, dates that parse, numbers in sane ranges, references that
resolve, vocabulary files that match their sums. One test per row, so a failure names the row.

The files are read with tomllib directly, not through tokenomy, and checked against each other
and against the library's own resolution (an alias resolves to the snapshot its row names).
Where a row's source is: see ``src/tokenomy/_data.py``.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import regex

from tokenomy._registry_entries import MAX_PRICE
from tokenomy.registry import PRICE_FIELDS, resolve

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DATA = Path(__file__).resolve().parents[1] / "data"
FILES: dict[str, dict[str, Any]] = {p.name: tomllib.loads(p.read_text("utf-8")) for p in sorted(DATA.glob("*.toml"))}
TEXT: dict[str, str] = {p.name: p.read_text("utf-8") for p in sorted(DATA.glob("*.toml"))}

MODELS: dict[str, dict[str, Any]] = FILES["models.toml"]["models"]
ENCODINGS: dict[str, dict[str, Any]] = FILES["encodings.toml"]["encodings"]
ENDPOINTS = FILES["endpoints.toml"]
CHAT = FILES["chat.toml"]
PATHS: dict[str, dict[str, Any]] = ENDPOINTS["paths"]
KINDS = {"chat", "completion", "embedding", "moderation", "image", "audio-stt", "audio-tts", "realtime"}
TEXT_KINDS = {"chat", "completion", "embedding", "moderation"}
MODEL_FIELDS = {"kind", "family", "encoding", "context_window", "max_output_tokens", "endpoints", "released",
                "deprecated_on", "shutdown_on", "replacement", "price", "other_pricing", "source", "notes",
                "assumption", "uncertain", "alias_of", "training_cutoff"}  # fmt: skip
EARLIEST, LATEST = date(2015, 1, 1), date(2035, 12, 31)  # OpenAI was founded in December 2015
HEX64 = re.compile(r"^[0-9a-f]{64}$")

# ---- which tables are rows, per file -------------------------------------------------------------
# A pattern is a path of keys: "*" is every key of a table, "[]" every element of an array of
# tables. A row is one fact or one record of facts, and needs a source (see ROW_SOURCES below).
ROWS: dict[str, tuple[tuple[str, ...], ...]] = {
    "aliases.toml": (("aliases", "*"), ("spellings",), ("prefixes",), ("suffixes",)),
    "batch.toml": (("file",), ("endpoints",), ("embeddings",), ("lines",), ("models",)),
    "canaries.toml": (("encodings", "*"),),
    "chat.toml": (("default_format",), ("format_for_family",), ("format_for_snapshot",), ("render_styles", "*"),
                  ("formats", "*"), ("audio",), ("unsettled_billing", "*"), ("tools_adjustment", "*"),
                  ("server_state_fields",), ("legacy_functions",), ("image_policies", "*"),
                  ("image_geometry",), ("image_policy_for",), ("roles",), ("plain_roles",), ("text_parts",),
                  ("verified_parameter_fields",)),
    "encodings.toml": (("encodings", "*"),),
    "endpoints.toml": (("moderations",), ("embeddings",), ("training", "off_since"), ("batch_api",),
                       ("aliases",), ("paths", "*", "launched"), ("paths", "*", "deprecated"),
                       ("paths", "*", "shutdown"), ("readings", "[]"), ("output_cap_fields",),
                       ("request_output", "*"), ("usage_fields",)),
    "finetuning.toml": (("epochs",), ("examples",), ("checks",)),
    "models.toml": (("models", "*"),),
    "pricing.toml": (("batch",), ("history", "[]"), ("images", "*"), ("speech", "*"), ("transcription", "*")),
}  # fmt: skip
# Top-level keys that hold no fact about OpenAI, so need no source: when a file was compiled, a
# digest of code, where sources are kept, and tokenomy's own vocabulary (names of request uses,
# which endpoints count_request counts, each path's display name and the registry kinds it takes,
# as models.toml's endpoints say).
NOT_ROWS: dict[str, set[str]] = {
    "canaries.toml": {"canaries_sha256"},
    "endpoints.toml": {"uses", "request_counting", "paths"},
    "models.toml": {"as_of"},
}
# Files written from one source, named in their opening comment ("# Source: ...").
WHOLE_FILE_SOURCE = {"canaries.toml", "encodings.toml"}


def display(path: tuple[Any, ...]) -> str:
    """A row's path as TOML writes it: ``models."gpt-4.1"``, ``history[2]``."""
    out = ""
    for key in path:
        if isinstance(key, int):
            out += f"[{key}]"
        else:
            bare = re.fullmatch(r"[A-Za-z0-9_-]+", key)
            out += ("." if out else "") + (key if bare else f'"{key}"')
    return out


def expand(node: Any, pattern: tuple[str, ...], path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if not pattern:
        yield path, node
        return
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        for key, value in node.items():
            yield from expand(value, rest, (*path, key))
    elif head == "[]":
        for i, value in enumerate(node):
            yield from expand(value, rest, (*path, i))
    elif isinstance(node, dict) and head in node:
        yield from expand(node[head], rest, (*path, head))


def rows(file: str) -> Iterator[tuple[str, Any]]:
    for pattern in ROWS[file]:
        for path, value in expand(FILES[file], pattern):
            yield display(path), value


def params(file: str, pattern: tuple[str, ...]) -> list[Any]:
    """(row path, row) of one kind of row, each a test named by the row."""
    return [pytest.param(display(p), v, id=f"{file}:{display(p)}") for p, v in expand(FILES[file], pattern)]


def day(value: Any) -> date:
    """A TOML date, or a 'YYYY-MM' / 'YYYY-MM-DD' string (month-only dates count from the 1st)."""
    if isinstance(value, date):
        return value
    match = re.fullmatch(r"(\d{4})-(\d{2})(?:-(\d{2}))?", value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD or YYYY-MM)")
    return date(int(match[1]), int(match[2]), int(match[3] or 1))


def whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# ---- every file is described, every row has a source ---------------------------------------------


def test_every_data_file_is_described() -> None:
    """Each data file's rows are listed here: a new file needs its rows described before it ships."""
    assert sorted(FILES) == sorted(ROWS)


@pytest.mark.parametrize("file", sorted(FILES))
def test_every_top_level_key_is_a_row_or_named(file: str) -> None:
    """Every top-level key of a file is the root of a row pattern, or named as holding no fact."""
    roots = {pattern[0] for pattern in ROWS.get(file, ())}
    assert sorted(set(FILES[file]) - roots - NOT_ROWS.get(file, set()) - {"sources"}) == []


def _source(file: str, path: str, row: Any) -> str | None:
    if isinstance(row, dict) and isinstance(row.get("source"), str):
        return row["source"]
    kept = FILES[file].get("sources", {})
    for prefix in [path, *(path.rsplit(".", n)[0] for n in range(1, path.count(".") + 1))]:
        if isinstance(kept.get(prefix), str):
            return str(kept[prefix])
    if file in WHOLE_FILE_SOURCE:
        header = re.match(r"(?:#[^\n]*\n)+", TEXT[file])
        found = re.search(r"^# Source: (.+)$", header[0] if header else "", re.M)
        return found[1] if found else None
    return None


def _source_params() -> list[Any]:
    return [pytest.param(file, path, row, id=f"{file}:{path}") for file in sorted(ROWS) for path, row in rows(file)]


@pytest.mark.parametrize(("file", "path", "row"), _source_params())
def test_row_has_a_source(file: str, path: str, row: Any) -> None:
    """Each row names its source: its own ``source``, the file's ``[sources]`` entry for its table,
    or, for a file written from one source, the opening comment's ``# Source:`` line."""
    source = _source(file, path, row)
    assert source and source.strip(), f"{file} {path} names no source"


@pytest.mark.parametrize("file", sorted(FILES))
def test_sources_table_names_rows(file: str) -> None:
    """A ``[sources]`` entry is the source of a row that exists, and is text."""
    kept = FILES[file].get("sources", {})
    paths = {path for path, _ in rows(file)}
    for key, value in kept.items():
        assert isinstance(value, str) and value.strip(), key
        assert key in paths, f"[sources] names {key!r}, which is no row of {file}"


# ---- dates -----------------------------------------------------------------------------------------

DATE_KEYS = {"released", "deprecated_on", "shutdown_on", "on", "until", "as_of", "training_cutoff"}


def _dates(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in DATE_KEYS and not isinstance(value, (dict, list)):
                yield (*path, key), value
            else:
                yield from _dates(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _dates(value, (*path, i))


DATES = [pytest.param(value, id=f"{file}:{display(path)}") for file in sorted(FILES)
         for path, value in _dates(FILES[file])]  # fmt: skip


@pytest.mark.parametrize("value", DATES)
def test_dates_parse_and_are_plausible(value: Any) -> None:
    """Every date is a TOML date or 'YYYY-MM(-DD)', and falls between 2015 and 2035."""
    assert EARLIEST <= day(value) <= LATEST


@pytest.mark.parametrize(("path", "row"), params("models.toml", ("models", "*")))
def test_model_dates_are_in_order(path: str, row: dict[str, Any]) -> None:
    """A model is released before it is deprecated, and deprecated before it shuts down."""
    dates = [day(row[k]) for k in ("released", "deprecated_on", "shutdown_on") if row.get(k) is not None]
    assert dates == sorted(dates), path


@pytest.mark.parametrize(("path", "row"), params("endpoints.toml", ("paths", "*")))
def test_path_lifecycle_is_in_order(path: str, row: dict[str, Any]) -> None:
    """A path launches before it is deprecated, and is deprecated before it shuts down."""
    dates = [row[k]["on"] for k in ("launched", "deprecated", "shutdown") if k in row]
    assert dates == sorted(dates), path


def test_readings_are_in_date_order() -> None:
    """The data-use readings of endpoints.toml come oldest first."""
    days = [reading["on"] for reading in ENDPOINTS["readings"]]
    assert days == sorted(days) and len(set(days)) == len(days)


# ---- models.toml -----------------------------------------------------------------------------------

MODEL_ROWS = params("models.toml", ("models", "*"))


@pytest.mark.parametrize(("path", "row"), MODEL_ROWS)
def test_model_fields_are_known(path: str, row: dict[str, Any]) -> None:
    """A model row holds only the registry's fields; ``uncertain`` names fields of a model."""
    assert set(row) <= MODEL_FIELDS, sorted(set(row) - MODEL_FIELDS)
    assert set(row.get("uncertain", ())) <= MODEL_FIELDS
    assert row["kind"] in KINDS


@pytest.mark.parametrize(("path", "row"), MODEL_ROWS)
def test_model_windows_are_sane(path: str, row: dict[str, Any]) -> None:
    """Context windows and output caps are positive whole numbers, the cap within the window."""
    window, cap = row.get("context_window"), row.get("max_output_tokens")
    if window is not None:
        assert whole(window) and 0 < window <= 1 << 40
    if cap is not None:
        assert whole(cap) and 0 < cap <= 1 << 40
    if window is not None and cap is not None:
        assert cap <= window


@pytest.mark.parametrize(("path", "row"), MODEL_ROWS)
def test_model_prices_are_sane(path: str, row: dict[str, Any]) -> None:
    """Prices per 1M tokens are known fields, from 0 to the registry's bound; a batch or cached price
    is never above the price it discounts."""
    price = row.get("price", {})
    assert set(price) <= set(PRICE_FIELDS)
    assert all(number(v) and 0 <= Decimal(str(v)) <= MAX_PRICE for v in price.values())
    for cheaper, full in (("batch_input", "input"), ("batch_output", "output"), ("cached_input", "input")):
        if cheaper in price and full in price:
            assert price[cheaper] <= price[full], cheaper


@pytest.mark.parametrize(("path", "row"), MODEL_ROWS)
def test_model_references_resolve(path: str, row: dict[str, Any]) -> None:
    """A model's encoding, endpoints and ``alias_of`` name things that exist; text models have an encoding."""
    if row["kind"] in TEXT_KINDS:
        assert row.get("encoding") in ENCODINGS
    assert row.get("encoding") is None or row["encoding"] in ENCODINGS
    spellings = set(PATHS) | set(ENDPOINTS["aliases"])
    assert set(row.get("endpoints", ())) <= spellings, sorted(set(row["endpoints"]) - spellings)
    target = row.get("alias_of")
    if target is not None:
        assert target in MODELS and target != path and MODELS[target].get("alias_of") is None


@pytest.mark.parametrize(
    ("name", "target"),
    [pytest.param(n, r["alias_of"], id=n) for n, r in MODELS.items()
     if r.get("alias_of") and n not in FILES["aliases.toml"]["aliases"]],
)  # fmt: skip
def test_alias_of_resolves_to_its_target(name: str, target: str) -> None:
    """The registry resolves a name with ``alias_of`` to that snapshot."""
    assert resolve(name, date(2025, 1, 1), warn=False).snapshot == target


# ---- aliases.toml ----------------------------------------------------------------------------------

ALIASES = FILES["aliases.toml"]


@pytest.mark.parametrize(("path", "row"), params("aliases.toml", ("aliases", "*")))
def test_dated_alias_moves_resolve(path: str, row: dict[str, Any]) -> None:
    """A dated alias is a registry entry whose moves, in date order, go to registry entries, and
    the registry resolves it on each move's day to that move's target."""
    name = path.split(".", 1)[1].strip('"')
    assert name in MODELS
    days = [move["on"] for move in row["moves"]]
    assert days == sorted(days) and len(set(days)) == len(days)
    for move in row["moves"]:
        assert move["to"] in MODELS
        assert resolve(name, move["on"], warn=False).snapshot == move["to"]


@pytest.mark.parametrize(("variant", "canonical"), sorted(ALIASES["spellings"].items()))
def test_spellings_resolve(variant: str, canonical: str) -> None:
    """Another spelling names a registry entry and resolves as that entry does."""
    assert canonical in MODELS
    assert resolve(variant, date(2025, 1, 1), warn=False).snapshot == resolve(canonical, date(2025, 1, 1),
                                                                             warn=False).snapshot  # fmt: skip


@pytest.mark.parametrize(("prefix", "target"), sorted(ALIASES["prefixes"].items()))
def test_prefixes_resolve_to_their_model(prefix: str, target: str) -> None:
    """A prefix points at a registry entry, and a new snapshot under it takes that entry's facts."""
    assert target in MODELS
    name = prefix + ("" if prefix.endswith("-") else "-") + "2031-01-01"
    assert name not in MODELS
    day_ = date(2025, 1, 1)
    assert resolve(name, day_, warn=False).snapshot == resolve(target, day_, warn=False).snapshot


@pytest.mark.parametrize("suffix", ALIASES["suffixes"]["patterns"], ids=lambda s: s["what"])
def test_suffix_patterns_match_their_example(suffix: dict[str, str]) -> None:
    """Each suffix pattern compiles and its example's last part is such a suffix."""
    pattern = re.compile(suffix["pattern"])
    assert any(pattern.fullmatch(suffix["example"][i:]) for i in range(len(suffix["example"])))


# ---- pricing.toml ----------------------------------------------------------------------------------

PRICING = FILES["pricing.toml"]


def test_batch_discount_is_a_fraction() -> None:
    """The Batch API discount is a share of the standard price, above 0 and at most 1."""
    assert number(PRICING["batch"]["discount"]) and 0 < PRICING["batch"]["discount"] <= 1


@pytest.mark.parametrize(("path", "row"), params("pricing.toml", ("history", "[]")))
def test_price_history_rows_are_sane(path: str, row: dict[str, Any]) -> None:
    """A past price names a registry snapshot, known price fields from 0 up, and ends after the
    snapshot's release."""
    assert row["model"] in MODELS
    assert set(row["price"]) <= set(PRICE_FIELDS)
    assert all(number(v) and 0 <= Decimal(str(v)) <= MAX_PRICE for v in row["price"].values())
    released = MODELS[row["model"]].get("released")
    assert released is None or day(released) < row["until"]


@pytest.mark.parametrize(
    ("path", "row"),
    [p for table in ("images", "speech", "transcription") for p in params("pricing.toml", (table, "*"))],
)
def test_unit_prices_are_sane(path: str, row: dict[str, Any]) -> None:
    """Image, speech and transcription prices name a registry model and are positive amounts."""
    assert path.split(".", 1)[1].strip('"') in MODELS
    amounts = [v for key, v in row.items() if key != "source" and not isinstance(v, dict)]
    amounts += [v for key, v in row.items() if isinstance(v, dict) for v in v.values()]
    assert amounts and all(number(v) and 0 < v < 1000 for v in amounts)


# ---- batch.toml and finetuning.toml ----------------------------------------------------------------

BATCH = FILES["batch.toml"]


def test_batch_limits_are_positive() -> None:
    """The Batch file's limits are positive whole numbers."""
    for value in (BATCH["file"]["max_requests"], BATCH["file"]["max_bytes"], BATCH["embeddings"]["max_inputs"]):
        assert whole(value) and value > 0


def test_batch_lines_have_four_keys_and_a_method() -> None:
    """A Batch line has four distinct keys and an HTTP method."""
    keys = BATCH["lines"]["keys"]
    assert sorted(keys) == ["body", "id", "method", "url"] and len(set(keys.values())) == 4
    assert BATCH["lines"]["methods"] and all(m.isupper() for m in BATCH["lines"]["methods"])


@pytest.mark.parametrize("path", BATCH["endpoints"]["supported"])
def test_batch_endpoints_are_known_paths(path: str) -> None:
    """Each endpoint the Batch API takes is a path of endpoints.toml."""
    assert path in PATHS


def test_finetuning_epochs_are_in_order() -> None:
    """Fine-tuning's epoch rule: 1 <= min <= target <= max epochs, and its example bounds in order."""
    epochs = FILES["finetuning.toml"]["epochs"]
    assert 1 <= epochs["min_epochs"] <= epochs["target"] <= epochs["max_epochs"]
    assert 0 < epochs["min_target_examples"] < epochs["max_target_examples"]
    assert whole(FILES["finetuning.toml"]["examples"]["max_tokens"])
    assert FILES["finetuning.toml"]["examples"]["max_tokens"] > 0


def test_finetuning_checks_are_unique_names() -> None:
    """The fine-tuning checks, message keys and roles are lists of distinct names."""
    checks = FILES["finetuning.toml"]["checks"]
    for key in ("names", "message_keys", "roles"):
        assert checks[key] and len(set(checks[key])) == len(checks[key]), key


# ---- encodings.toml, canaries.toml and the vocabulary files ----------------------------------------

SUMS = dict(line.split()[::-1] for line in (DATA / "encodings" / "SHA256SUMS").read_text().splitlines() if line)


@pytest.mark.parametrize(("name", "digest"), sorted(SUMS.items()))
def test_vocabulary_file_matches_its_sum(name: str, digest: str) -> None:
    """Each bundled vocabulary file hashes to the SHA-256 listed beside it."""
    assert hashlib.sha256((DATA / "encodings" / name).read_bytes()).hexdigest() == digest


def test_every_vocabulary_file_is_summed() -> None:
    """Every file in data/encodings is listed in SHA256SUMS (and nothing else is)."""
    present = {p.name for p in (DATA / "encodings").iterdir() if p.name != "SHA256SUMS"}
    assert present == set(SUMS)


@pytest.mark.parametrize(("path", "row"), params("encodings.toml", ("encodings", "*")))
def test_encoding_rows_are_sane(path: str, row: dict[str, Any]) -> None:
    """An encoding's files are bundled with the hash SHA256SUMS lists, its pattern compiles, its
    special tokens have distinct ids from 0 up, and its sizes are positive."""
    assert row["format"] in ("tiktoken", "data_gym") and row["files"]
    for entry in row["files"]:
        assert HEX64.match(entry["sha256"]) and SUMS.get(entry["name"]) == entry["sha256"], entry["name"]
        assert entry["url"].startswith("https://")
    regex.compile(row["pattern"])
    ids = list(row["special_tokens"].values())
    assert all(whole(i) and i >= 0 for i in ids) and len(set(ids)) == len(ids)
    assert whole(row["max_token_bytes"]) and row["max_token_bytes"] > 0
    assert "explicit_n_vocab" not in row or (whole(row["explicit_n_vocab"]) and row["explicit_n_vocab"] > max(ids))


@pytest.mark.parametrize(("path", "row"), params("canaries.toml", ("encodings", "*")))
def test_canary_rows_are_sane(path: str, row: dict[str, Any]) -> None:
    """A canary row is for a known encoding, with one count (from 0 up) and one SHA-256 per canary."""
    assert path.split(".", 1)[1] in ENCODINGS
    assert len(row["counts"]) == len(row["ids_sha256"]) > 0
    assert all(whole(c) and c >= 0 for c in row["counts"])
    assert all(HEX64.match(d) for d in row["ids_sha256"])


def test_every_encoding_has_canaries() -> None:
    """canaries.toml answers for every encoding, with the same number of canaries each."""
    rows_ = FILES["canaries.toml"]["encodings"]
    assert set(rows_) == set(ENCODINGS)
    assert len({len(r["counts"]) for r in rows_.values()}) == 1
    assert HEX64.match(FILES["canaries.toml"]["canaries_sha256"])


# ---- endpoints.toml --------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "row"), params("endpoints.toml", ("paths", "*")))
def test_path_rows_resolve(path: str, row: dict[str, Any]) -> None:
    """A path has a name, registry kinds, and a replacement that is itself a path."""
    assert row["name"] and set(row.get("kinds", ())) <= KINDS
    replacement = row.get("shutdown", {}).get("replacement")
    assert replacement is None or replacement in PATHS


def test_endpoint_references_resolve() -> None:
    """Aliases, the Batch API's paths, the input rules' paths and the counted paths are known paths;
    each counted path's kind has output-cap fields."""
    assert set(ENDPOINTS["aliases"].values()) <= set(PATHS)
    assert set(ENDPOINTS["batch_api"]["paths"]) <= set(PATHS) and ENDPOINTS["batch_api"]["models_on"] in PATHS
    assert {ENDPOINTS["moderations"]["path"], ENDPOINTS["embeddings"]["path"]} <= set(PATHS)
    assert set(ENDPOINTS["request_counting"]) <= set(PATHS)
    assert set(ENDPOINTS["request_counting"].values()) <= set(ENDPOINTS["output_cap_fields"])


def test_endpoint_input_rules_are_sane() -> None:
    """Moderation chunks fit within the checked length; embedding limits are positive."""
    moderation, embeddings = ENDPOINTS["moderations"], ENDPOINTS["embeddings"]
    assert 0 < moderation["chunk_tokens"] <= moderation["max_tokens"]
    assert embeddings["max_inputs"] > 0 and embeddings["max_request_tokens"] > 0


@pytest.mark.parametrize(("path", "row"), params("endpoints.toml", ("readings", "[]")))
def test_reading_rows_resolve(path: str, row: dict[str, Any]) -> None:
    """A reading covers known paths, and each exception a path names is one of the reading's,
    triggered by a known use or by registry models."""
    exceptions = row.get("exceptions", {})
    for name, exception in exceptions.items():
        models = exception.get("models", ())
        assert name in ENDPOINTS["uses"] or (models and set(models) <= set(MODELS)), name
        assert exception["effect"] in ("not eligible", "may be retained", "retained")
    for name, policy in row["paths"].items():
        assert name in PATHS
        assert set(policy.get("except", ())) <= set(exceptions), name
        assert policy["zero_retention"] in ("eligible", "not eligible", "by default"), name


# ---- chat.toml -------------------------------------------------------------------------------------

FAMILIES = {row["family"] for row in MODELS.values()}


def test_prompt_formats_resolve() -> None:
    """Families and snapshots map to formats that exist; families and snapshots are the registry's."""
    assert CHAT["default_format"] in CHAT["formats"]
    assert set(CHAT["format_for_family"]) <= FAMILIES
    assert set(CHAT["format_for_family"].values()) <= set(CHAT["formats"])
    assert set(CHAT["format_for_snapshot"]) <= set(MODELS)
    assert set(CHAT["format_for_snapshot"].values()) <= set(CHAT["formats"])
    assert set(CHAT["tools_adjustment"]) <= set(MODELS)
    assert CHAT["legacy_functions"]["render_style"] in CHAT["render_styles"]


@pytest.mark.parametrize(("path", "row"), params("chat.toml", ("formats", "*")))
def test_format_rows_resolve(path: str, row: dict[str, Any]) -> None:
    """A prompt format renders with a known style and names registry families as verified."""
    styles = CHAT["render_styles"]
    assert row["render_style"] in styles
    assert all(row.get(api, {}).get("render_style", row["render_style"]) in styles for api in ("chat", "responses"))
    assert set(row["verified_families"]) <= FAMILIES
    assert set(row.get("plain_message_families", ())) <= FAMILIES
    assert whole(row["tokens_per_message"]) and row["tokens_per_message"] > 0


@pytest.mark.parametrize(("path", "row"), params("chat.toml", ("image_policies", "*")))
def test_image_policies_are_sane(path: str, row: dict[str, Any]) -> None:
    """A tile policy bills a positive base and per-tile; a patch policy a positive multiplier."""
    if row["kind"] == "tile":
        assert whole(row["base"]) and whole(row["per_tile"]) and row["base"] > 0 and row["per_tile"] > 0
    else:
        assert row["kind"] == "patch" and number(row["multiplier"]) and row["multiplier"] > 0
        assert whole(row["per_image"]) and row["per_image"] >= 0


def test_image_rules_resolve() -> None:
    """Every model prefix maps to a known image policy; the geometry is positive and consistent."""
    assert set(CHAT["image_policy_for"].values()) <= set(CHAT["image_policies"])
    geometry = CHAT["image_geometry"]
    assert all(whole(v) and v > 0 for v in geometry.values())
    assert geometry["tile_size"] <= geometry["short_side"] <= geometry["max_side"]
    assert CHAT["audio"]["tokens_per_second"] > 0 and CHAT["audio"]["part_framing"] >= 0
