"""Endpoint facts: the overview's data-use table row by row, lifecycle by date, and the pre-flight."""

from __future__ import annotations

import json
import warnings
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

import tokenomy
from tokenomy import _endpoint_data, registry
from tokenomy._data import table
from tokenomy.cli import main
from tokenomy.errors import (
    EndpointShutDownError,
    RegistryError,
    TokenomyError,
    UnknownEndpointError,
    UnsupportedModelError,
    ZeroRetentionError,
)

NOV_2023 = date(2023, 12, 1)  # the overview (D23) describes this month
TODAY = date(2026, 11, 30)  # pinned, so the suite does not change meaning as days pass

# OpenAI Models page, Nov 2023, "Default usage policies by endpoint": path, data used for training,
# default retention, eligible for zero retention, exceptions ("-" in the source: nothing retained).
OVERVIEW_2023 = [
    ("/v1/chat/completions", False, "30 days", "eligible", ("image input",)),
    ("/v1/files", False, "until deleted", "not eligible", ()),
    ("/v1/assistants", False, "until deleted", "not eligible", ()),
    ("/v1/threads", False, "30 days", "not eligible", ()),
    ("/v1/threads/messages", False, "30 days", "not eligible", ()),
    ("/v1/threads/runs", False, "30 days", "not eligible", ()),
    ("/v1/threads/runs/steps", False, "30 days", "not eligible", ()),
    ("/v1/images/generations", False, "30 days", "not eligible", ()),
    ("/v1/images/edits", False, "30 days", "not eligible", ()),
    ("/v1/images/variations", False, "30 days", "not eligible", ()),
    ("/v1/embeddings", False, "30 days", "eligible", ()),
    ("/v1/audio/transcriptions", False, "none", "by default", ()),
    ("/v1/audio/translations", False, "none", "by default", ()),
    ("/v1/audio/speech", False, "30 days", "not eligible", ()),
    ("/v1/fine_tuning/jobs", False, "until deleted", "not eligible", ()),
    ("/v1/fine-tunes", False, "until deleted", "not eligible", ()),
    ("/v1/moderations", False, "none", "by default", ()),
    ("/v1/completions", False, "30 days", "eligible", ()),
    ("/v1/edits", False, "30 days", "eligible", ()),
]

# OpenAI "Data controls" page, crawl of 2025-10-02: training, abuse monitoring retention,
# application state retention, ZDR eligible, the limits named below the table.
DATA_CONTROLS_2025 = [
    ("/v1/chat/completions", "30 days", "none", "eligible", ("image input", "file input", "audio output")),
    (
        "/v1/responses",
        "30 days",
        "none",
        "eligible",
        ("image input", "file input", "audio output", "code interpreter"),
    ),
    ("/v1/conversations", "until deleted", "until deleted", "not eligible", ()),
    ("/v1/conversations/items", "until deleted", "until deleted", "not eligible", ()),
    ("/v1/assistants", "30 days", "until deleted", "not eligible", ()),
    ("/v1/threads", "30 days", "until deleted", "not eligible", ()),
    ("/v1/threads/messages", "30 days", "until deleted", "not eligible", ()),
    ("/v1/threads/runs", "30 days", "until deleted", "not eligible", ()),
    ("/v1/threads/runs/steps", "30 days", "until deleted", "not eligible", ()),
    ("/v1/vector_stores", "30 days", "until deleted", "not eligible", ()),
    ("/v1/images/generations", "30 days", "none", "eligible", ("dall-e-2/dall-e-3", "image input")),
    ("/v1/images/edits", "30 days", "none", "eligible", ("dall-e-2/dall-e-3", "image input")),
    ("/v1/images/variations", "30 days", "none", "eligible", ("dall-e-2/dall-e-3", "image input")),
    ("/v1/embeddings", "30 days", "none", "eligible", ()),
    ("/v1/audio/transcriptions", "none", "none", "eligible", ()),
    ("/v1/audio/translations", "none", "none", "eligible", ()),
    ("/v1/audio/speech", "30 days", "none", "eligible", ()),
    ("/v1/files", "30 days", "until deleted", "not eligible", ()),
    ("/v1/fine_tuning/jobs", "30 days", "until deleted", "not eligible", ()),
    ("/v1/evals", "30 days", "until deleted", "not eligible", ()),
    ("/v1/batches", "30 days", "until deleted", "not eligible", ()),
    ("/v1/moderations", "none", "none", "eligible", ()),
    ("/v1/completions", "30 days", "none", "eligible", ()),
    ("/v1/realtime", "30 days", "none", "eligible", ()),
]

# The overview's "Model endpoint compatibility" table (Nov 2023), against the registry's lists.
COMPATIBILITY_2023 = {
    "/v1/audio/transcriptions": ["whisper-1"],
    "/v1/audio/translations": ["whisper-1"],
    "/v1/audio/speech": ["tts-1", "tts-1-hd"],
    "/v1/chat/completions": ["gpt-4", "gpt-4-0613", "gpt-4-1106-preview", "gpt-4-vision-preview", "gpt-4-32k",
                             "gpt-4-32k-0613", "gpt-3.5-turbo", "gpt-3.5-turbo-1106", "gpt-3.5-turbo-16k"],
    "/v1/completions": ["gpt-3.5-turbo-instruct", "babbage-002", "davinci-002"],
    "/v1/embeddings": ["text-embedding-ada-002"],
    "/v1/fine_tuning/jobs": ["babbage-002", "davinci-002"],
    "/v1/moderations": ["text-moderation-stable", "text-moderation-latest"],
    "/v1/images/generations": ["dall-e-2", "dall-e-3"],
    "/v1/assistants": ["gpt-4", "gpt-4-1106-preview", "gpt-3.5-turbo-1106"],
}  # fmt: skip
# The overview lists gpt-3.5-turbo for fine-tuning; models.toml lists neither the alias nor its
# target then (gpt-3.5-turbo-0613) on /v1/fine_tuning/jobs. A registry gap, kept visible here.
REGISTRY_GAPS_2023 = {("/v1/fine_tuning/jobs", "gpt-3.5-turbo")}


@pytest.fixture(autouse=True)
def _quiet_retired_models() -> None:
    warnings.simplefilter("ignore", DeprecationWarning)


@pytest.mark.parametrize(("path", "training", "retention", "zero", "limits"), OVERVIEW_2023)
def test_overview_2023_row(
    path: str, training: bool, retention: str, zero: str, limits: tuple[str, ...]
) -> None:
    """Each row of the Nov 2023 overview table reads back from the data as printed, with its source."""
    info = tokenomy.endpoint_info(path, as_of=NOV_2023)
    assert (info.used_for_training, info.retention, info.zero_retention) == (training, retention, zero)
    assert tuple(x.split(":")[0] for x in info.zero_retention_exceptions) == limits
    assert info.policy_as_read == date(2023, 11, 6) and any(s.startswith("D23") for s in info.sources)
    assert info.abuse_monitoring_retention is None and info.application_state_retention is None


def test_overview_2023_table_is_complete() -> None:
    """The data holds exactly the overview's rows for its reading, and the image footnote's effect."""
    reading = table("endpoints")["readings"][0]
    assert reading["name"] == "D23" and sorted(reading["paths"]) == sorted(r[0] for r in OVERVIEW_2023)
    chat = tokenomy.endpoint_info("/v1/chat/completions", as_of=NOV_2023)
    assert chat.zero_retention_exceptions[0].startswith("image input: not eligible (")


@pytest.mark.parametrize(("path", "abuse", "state", "zero", "limits"), DATA_CONTROLS_2025)
def test_data_controls_2025_row(
    path: str, abuse: str, state: str, zero: str, limits: tuple[str, ...]
) -> None:
    """Each row of the 2025 data-controls table is a dated later entry: both retentions, ZDR, limits."""
    info = tokenomy.endpoint_info(path, as_of=date(2026, 1, 1))
    assert (info.abuse_monitoring_retention, info.application_state_retention) == (abuse, state)
    assert info.zero_retention == zero and info.used_for_training is False
    assert tuple(x.split(":")[0] for x in info.zero_retention_exceptions) == limits
    assert info.policy_as_read == date(2025, 10, 2)
    assert info.retention == max(abuse, state, key=_endpoint_data.RETENTIONS.index)


def test_policy_changes_between_readings_are_dated_and_marked() -> None:
    """Speech became ZDR-eligible between the readings: the old answer holds before, marked inexact."""
    before = tokenomy.endpoint_info("/v1/audio/speech", as_of=date(2024, 6, 1))
    after = tokenomy.endpoint_info("/v1/audio/speech", as_of=date(2025, 11, 1))
    assert (before.zero_retention, after.zero_retention) == ("not eligible", "eligible")
    assert not before.exact and "not eligible -> eligible" in " ".join(before.notes)
    assert after.exact
    unchanged = tokenomy.endpoint_info("/v1/embeddings", as_of=date(2024, 6, 1))
    assert unchanged.exact and unchanged.zero_retention == "eligible"


def test_before_the_first_reading_and_before_training_policy() -> None:
    """Before a path's first reading its earliest facts stand in, marked; before March 2023 training is unknown."""
    early = tokenomy.endpoint_info("/v1/responses", as_of=date(2025, 5, 1))
    assert early.zero_retention == "eligible" and not early.exact
    assert any("earliest reading" in n for n in early.notes)
    old = tokenomy.endpoint_info("/v1/completions", as_of=date(2022, 6, 1))
    assert old.used_for_training is None and any("training use before 2023-03-01" in n for n in old.notes)


@pytest.mark.parametrize(
    ("path", "in_2023", "today", "replacement"),
    [("/v1/chat/completions", "active", "active", None),
     ("/v1/edits", "deprecated", "shut down", "/v1/chat/completions"),
     ("/v1/fine-tunes", "deprecated", "shut down", "/v1/fine_tuning/jobs"),
     ("/v1/responses", "not launched", "active", None),
     ("/v1/assistants", "active", "shut down", "/v1/responses"),
     ("/v1/threads", "active", "shut down", "/v1/conversations"),
     ("/v1/threads/messages", "active", "shut down", "/v1/conversations/items"),
     ("/v1/threads/runs", "active", "shut down", "/v1/responses"),
     ("/v1/threads/runs/steps", "active", "shut down", "/v1/conversations/items"),
     ("/v1/fine_tuning/jobs", "active", "deprecated", None),
     ("/v1/engines", "shut down", "shut down", "/v1/models")],
)  # fmt: skip
def test_lifecycle_2023_versus_today(path: str, in_2023: str, today: str, replacement: str | None) -> None:
    """A path's status depends on the date asked about; retirements name their replacement."""
    assert tokenomy.endpoint_info(path, as_of=NOV_2023).status == in_2023
    info = tokenomy.endpoint_info(path, as_of=TODAY)
    assert info.status == today and info.replacement == replacement


def test_lifecycle_dates_and_sources() -> None:
    """Retirement dates are the deprecations page's, each fact with its source."""
    edits = tokenomy.endpoint_info("/v1/edits", as_of=TODAY)
    assert (edits.deprecated_on, edits.shutdown_on) == (date(2023, 7, 6), date(2024, 1, 4))
    assistants = tokenomy.endpoint_info("/v1/assistants", as_of=TODAY)
    assert (assistants.deprecated_on, assistants.shutdown_on) == (date(2025, 8, 26), date(2026, 8, 26))
    assert any("DEP25" in s for s in assistants.sources)
    responses = tokenomy.endpoint_info("/v1/responses", as_of=date(2025, 3, 20))
    assert responses.launched_on == date(2025, 3, 11) and not responses.exact  # the day is secondary
    jobs = tokenomy.endpoint_info("/v1/fine_tuning/jobs", as_of=TODAY)
    assert jobs.shutdown_on == date(2027, 1, 6) and not jobs.exact
    assert tokenomy.endpoint_info("/v1/fine_tuning/jobs", as_of=date(2025, 1, 1)).exact


@pytest.mark.parametrize("as_of", [NOV_2023, datetime(2023, 12, 1, 23, 30), "2023-12-01", "2023-12-01T10:00:00Z",
                                   datetime(2023, 12, 1, 9, tzinfo=timezone.utc)])  # fmt: skip
def test_as_of_accepts_dates_datetimes_and_iso_strings(as_of: object) -> None:
    """as_of may be a date, a datetime or an ISO string; all name the same day."""
    assert tokenomy.endpoint_info("/v1/edits", as_of=as_of).as_of == NOV_2023  # type: ignore[arg-type]


def test_as_of_defaults_to_today_and_rejects_other_types() -> None:
    """Without as_of the answer is today's; a number is a TypeError."""
    assert tokenomy.endpoint_info("/v1/edits").as_of == date.today()
    with pytest.raises(TypeError):
        tokenomy.endpoint_info("/v1/edits", as_of=20231201)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spelled", "path"),
    [("chat/completions", "/v1/chat/completions"), ("/chat/completions/", "/v1/chat/completions"),
     ("https://api.openai.com/v1/embeddings?x=1", "/v1/embeddings"),
     ("/v1/threads/thread_abc123/messages/msg_9", "/v1/threads/messages"),
     ("/v1/threads/{thread_id}/runs/{run_id}/steps", "/v1/threads/runs/steps"),
     ("/v1/fine_tuning/jobs/ftjob-abc123", "/v1/fine_tuning/jobs"), ("/V1/Images/Generations", "/v1/images/generations"),
     ("/v1/batch", "/v1/batches"), ("/v1/realtime/transcription_sessions", "/v1/realtime")],
)  # fmt: skip
def test_paths_are_normalised(spelled: str, path: str) -> None:
    """Full URLs, a missing /v1, object ids, case, query strings and registry spellings all resolve."""
    assert tokenomy.endpoint_info(spelled, as_of=TODAY).path == path


def test_unknown_path_is_a_typed_error_with_close_matches() -> None:
    """An unknown path raises UnknownEndpointError (a KeyError) suggesting the nearest paths."""
    with pytest.raises(UnknownEndpointError) as caught:
        tokenomy.endpoint_info("/v1/chat/compleions")
    assert isinstance(caught.value, KeyError) and isinstance(caught.value, TokenomyError)
    assert caught.value.close[0] == "/v1/chat/completions" and str(caught.value).startswith(
        "unknown API path"
    )
    with pytest.raises(UnknownEndpointError):
        tokenomy.endpoint_info("/v1/threads/typo")  # a misspelt segment is not mistaken for an id
    with pytest.raises(TypeError):
        tokenomy.endpoint_info(None)  # type: ignore[arg-type]


def test_endpoints_lists_every_path_once() -> None:
    """endpoints() lists every path of the data, sorted, with JSON-ready dicts."""
    infos = tokenomy.endpoints(as_of=TODAY)
    paths = [e.path for e in infos]
    assert paths == sorted(table("endpoints")["paths"]) and len(set(paths)) == len(paths)
    assert {r[0] for r in OVERVIEW_2023} <= set(paths)
    json.dumps([e.to_dict() for e in infos])


@pytest.mark.parametrize(("path", "names"), COMPATIBILITY_2023.items())
def test_models_served_come_from_the_registry(path: str, names: list[str]) -> None:
    """The models a path serves are the registry's, matching the overview's compatibility table."""
    served = tokenomy.endpoint_info(path, as_of=NOV_2023).models
    assert [n for n in names if n not in served] == []
    for gap_path, gap_model in REGISTRY_GAPS_2023:
        assert gap_model not in tokenomy.endpoint_info(gap_path, as_of=NOV_2023).models


def test_models_served_follow_the_date() -> None:
    """A model shut down or not yet released on as_of is not served then."""
    chat_2023 = tokenomy.endpoint_info("/v1/chat/completions", as_of=NOV_2023).models
    chat_today = tokenomy.endpoint_info("/v1/chat/completions", as_of=TODAY).models
    assert "gpt-4o" not in chat_2023 and "gpt-4o" in chat_today
    assert "gpt-3.5-turbo-0613" in chat_2023 and "gpt-3.5-turbo-0613" not in chat_today
    assert "text-embedding-3-small" in tokenomy.endpoint_info("/v1/batches", as_of=TODAY).models


# ---- pre-flight -------------------------------------------------------------------------------


def test_image_input_on_chat_is_noted_and_refused_under_required_zero_retention() -> None:
    """An image input on chat completions cannot be zero-retained: a note, or an error when required."""
    for day in (NOV_2023, TODAY):
        notes = tokenomy.check_request(
            "/v1/chat/completions", model="gpt-4o", as_of=day, uses={"image_input"}
        )
        assert notes and notes[0].startswith("image input on /v1/chat/completions")
        with pytest.raises(ZeroRetentionError) as caught:
            tokenomy.check_request("/v1/chat/completions", as_of=day, uses={"image_input"},
                                   require_zero_retention=True)  # fmt: skip
        assert isinstance(caught.value, ValueError) and caught.value.path == "/v1/chat/completions"
        assert caught.value.reasons[0] == notes[0]
    plain = tokenomy.check_request(
        "/v1/chat/completions", model="gpt-4o", as_of=TODAY, require_zero_retention=True
    )
    assert plain == ()


@pytest.mark.parametrize(
    "path", ["/v1/embeddings", "/v1/moderations", "/v1/audio/transcriptions", "/v1/completions"]
)
def test_zero_retention_passes_where_covered(path: str) -> None:
    """Eligible and never-retaining paths pass require_zero_retention, in 2023 and today."""
    for day in (NOV_2023, TODAY):
        assert tokenomy.check_request(path, as_of=day, require_zero_retention=True) == ()


def test_ineligible_paths_and_limits() -> None:
    """Ineligible paths, model-bound limits and tool limits are each noted; unchecked ones stay notes."""
    notes = tokenomy.check_request("/v1/files", as_of=TODAY)
    assert notes == ("/v1/files is not eligible for zero data retention: data is kept until deleted "
                     "(YD25, as read 2025-10-02)",)  # fmt: skip
    dalle = tokenomy.check_request("/v1/images/generations", model="dall-e-3", as_of=date(2025, 11, 1))
    assert dalle[0].startswith("dall-e-3 on /v1/images/generations is not eligible")
    assert (
        tokenomy.check_request("/v1/images/generations", model="gpt-image-1", as_of=date(2025, 11, 1)) == ()
    )
    unchecked = tokenomy.check_request("/v1/images/generations", as_of=date(2025, 11, 1),
                                       require_zero_retention=True)  # fmt: skip
    assert "no model was given" in unchecked[0]
    tool = tokenomy.check_request("/v1/responses", model="gpt-4.1", as_of=TODAY, uses={"code_interpreter"})
    assert tool[0].startswith("code interpreter on /v1/responses is not eligible")


def test_shut_down_paths_raise_naming_the_replacement() -> None:
    """A surely shut-down path raises EndpointShutDownError (a ValueError) naming its replacement."""
    with pytest.raises(EndpointShutDownError) as caught:
        tokenomy.check_request("/v1/assistants", model="gpt-4o", as_of=TODAY)
    error = caught.value
    assert isinstance(error, ValueError) and (error.replacement, error.shutdown_on) == (
        "/v1/responses",
        date(2026, 8, 26),
    )
    assert "/v1/responses" in str(error)
    with pytest.raises(EndpointShutDownError, match="/v1/chat/completions"):
        tokenomy.check_request("/v1/edits", as_of=TODAY)
    with pytest.raises(EndpointShutDownError, match="no replacement endpoint"):
        tokenomy.check_request("/v1/answers", as_of=TODAY)
    in_2023 = tokenomy.check_request("/v1/assistants", model="gpt-4", as_of=NOV_2023)
    assert any(n.startswith("/v1/assistants is not eligible") for n in in_2023)


def test_lifecycle_notes_deprecated_not_launched_and_uncertain_shutdown() -> None:
    """Deprecated and not-yet-launched paths are notes; an uncertain shutdown near as_of is a note too."""
    notes = tokenomy.check_request("/v1/edits", as_of=NOV_2023)
    assert (
        notes[0]
        == "/v1/edits is deprecated since 2023-07-06; it shuts down on 2024-01-04 (replacement: /v1/chat/completions)"
    )
    assert tokenomy.check_request("/v1/responses", as_of=date(2024, 11, 30))[0].startswith(
        "/v1/responses did not exist yet"
    )
    near = tokenomy.check_request("/v1/fine_tuning/jobs", as_of=date(2027, 1, 10))
    assert "a date not surely known" in near[0] and "uncertain" in near[1]
    with pytest.raises(EndpointShutDownError):
        tokenomy.check_request("/v1/fine_tuning/jobs", as_of=date(2027, 6, 1))


def test_models_sent_to_the_wrong_endpoint() -> None:
    """A model of a kind the path does not take is an error; one the registry does not list there, a note."""
    with pytest.raises(UnsupportedModelError, match="/v1/embeddings"):
        tokenomy.check_request("/v1/chat/completions", model="text-embedding-3-small", as_of=TODAY)
    with pytest.raises(UnsupportedModelError):
        tokenomy.check_request("/v1/embeddings", model="gpt-4o", as_of=TODAY)
    notes = tokenomy.check_request("/v1/chat/completions", model="o1-pro", as_of=date(2025, 6, 1))
    assert notes[0].startswith("the registry does not list o1-pro on /v1/chat/completions")
    info = tokenomy.model_info("gpt-4o", as_of=TODAY)
    assert tokenomy.check_request("/v1/responses", model=info, as_of=TODAY) == ()
    fine_tune = tokenomy.check_request(
        "/v1/chat/completions", model="ft:gpt-4o-mini-2024-07-18:acme::x1", as_of=TODAY
    )
    assert fine_tune == ()


def test_batch_checks_the_batch_api_paths() -> None:
    """batch=True adds the Batch API's own paths (not zero-retainable) and the model's Batch listing."""
    notes = tokenomy.check_request("/v1/chat/completions", model="gpt-4o", as_of=TODAY, batch=True)
    assert [n.split(" ")[0] for n in notes] == ["/v1/files", "/v1/batches"]
    with pytest.raises(ZeroRetentionError):
        tokenomy.check_request("/v1/embeddings", as_of=TODAY, batch=True, require_zero_retention=True)
    not_listed = tokenomy.check_request(
        "/v1/chat/completions", model="gpt-4-0613", as_of=date(2025, 1, 1), batch=True
    )
    assert "the registry does not list gpt-4-0613 for the Batch API (/v1/batches)" in not_listed
    assert tokenomy.check_request("/v1/chat/completions", as_of=NOV_2023, batch=True)[0].startswith(
        "/v1/batches did not exist yet"
    )


def test_remembered_answers_behave_like_the_first() -> None:
    """A repeated pre-flight gives the same notes, warns again for a retired model and raises again."""
    day = date(2025, 1, 1)
    retired = next(m.name for m in tokenomy.models("chat", as_of=day) if m.status == "deprecated")
    for _ in range(2):
        with pytest.warns(DeprecationWarning, match=retired):
            first = tokenomy.check_request("/v1/chat/completions", model=retired, as_of=day)
        assert first == tokenomy.check_request("/v1/chat/completions", model=retired, as_of=day)
        with pytest.raises(EndpointShutDownError):
            tokenomy.check_request("/v1/edits", as_of=TODAY)
        with pytest.raises(UnsupportedModelError):
            tokenomy.check_request("/v1/embeddings", model="gpt-4o", as_of=TODAY)
    with pytest.raises(ZeroRetentionError):
        tokenomy.check_request("/v1/chat/completions", as_of=NOV_2023, uses={"image_input"},
                               require_zero_retention=True)  # fmt: skip
    assert tokenomy.check_request("/v1/chat/completions", as_of=NOV_2023, uses=["image_input"])
    assert tokenomy.check_request("/v1/chat/completions", as_of=NOV_2023) == ()


def test_register_model_changes_the_answer() -> None:
    """A model registered again with other endpoints is checked against the new ones."""
    try:
        tokenomy.register_model("acme-router", based_on="gpt-4o-2024-08-06", endpoints=["/v1/chat/completions"])
        assert tokenomy.check_request("/v1/chat/completions", model="acme-router", as_of=TODAY) == ()
        tokenomy.register_model("acme-router", based_on="gpt-4o-2024-08-06", endpoints=["/v1/responses"])
        notes = tokenomy.check_request("/v1/chat/completions", model="acme-router", as_of=TODAY)
        assert notes and notes[0].startswith("the registry does not list acme-router on /v1/chat/completions")
        assert "acme-router" in tokenomy.endpoint_info("/v1/responses", as_of=TODAY).models
    finally:
        registry._reset_for_tests()
    assert "acme-router" not in tokenomy.endpoint_info("/v1/responses", as_of=TODAY).models


def test_uses_are_checked() -> None:
    """uses is a collection of known names: a bare string is a TypeError, an unknown name a ValueError."""
    with pytest.raises(TypeError):
        tokenomy.check_request("/v1/chat/completions", uses="image_input")
    with pytest.raises(ValueError, match="image_input"):
        tokenomy.check_request("/v1/chat/completions", uses={"image"})


# ---- data rows ----------------------------------------------------------------------------------


def test_every_data_row_is_well_formed() -> None:
    """Every path, fact, reading and exception parses; kinds, aliases and Batch paths point at real things."""
    rows = _endpoint_data.paths()
    data = table("endpoints")
    kinds = {m.kind for m in tokenomy.models(as_of=TODAY)}
    for row in rows.values():
        assert row.name and set(row.kinds) <= kinds, row.path
        facts = [f for f in (row.launched, row.deprecated, row.shutdown) if f is not None]
        assert all(f.source for f in facts), row.path
        if row.deprecated and row.shutdown:
            assert row.deprecated.on < row.shutdown.on, row.path
        if row.launched and row.shutdown:
            assert row.launched.on < row.shutdown.on, row.path
        assert all(p.source and p.on for p in row.policies), row.path
    assert set(data["aliases"].values()) <= set(rows) and set(data["batch_api"]["paths"]) <= set(rows)
    assert data["batch_api"]["models_on"] in rows
    assert {data["moderations"]["path"], data["embeddings"]["path"]} <= set(rows)  # the input rules' paths


def test_every_registry_endpoint_is_a_known_path_of_the_right_kind() -> None:
    """Each path a model lists exists here, and takes that model's kind where the data names kinds."""
    rows = _endpoint_data.paths()
    for info in tokenomy.models(as_of=TODAY):
        for listed in info.endpoints:
            row = rows[_endpoint_data.normalise(listed)]
            assert not row.kinds or info.kind in row.kinds, (info.name, listed)


@pytest.mark.parametrize(
    ("raw", "field"),
    [({"on": date(2024, 1, 1)}, "launched"),
     ({"on": date(2024, 1, 1), "source": "x", "uncertain": True}, "launched"),
     ({"on": date(2024, 1, 1), "source": "x", "replacement": "/v1/x"}, "launched.replacement")],
)  # fmt: skip
def test_malformed_facts_are_refused(raw: dict[str, object], field: str) -> None:
    """A fact without a source, an uncertain fact without a note, or a stray field is a RegistryError."""
    with pytest.raises(RegistryError) as caught:
        _endpoint_data._fact("paths./v1/x", "launched", raw)
    assert field.split(".")[-1] in (caught.value.field, f"{caught.value.entry}.{caught.value.field}")


def test_malformed_policy_rows_are_refused() -> None:
    """A reading row with an unknown retention, both retention styles, or an unknown exception is refused."""
    reading = {"name": "T", "on": date(2024, 1, 1), "source": "test"}
    good = {"training": False, "retention": "30 days", "zero_retention": "eligible"}
    assert _endpoint_data._policy(reading, "/v1/x", good, {}).retention == "30 days"
    for bad in ({**good, "retention": "forever"}, {**good, "abuse_monitoring": "none"},
                {**good, "zero_retention": "maybe"}, {**good, "except": ["nope"]}):  # fmt: skip
        with pytest.raises(RegistryError):
            _endpoint_data._policy(reading, "/v1/x", bad, {})


# ---- command line -------------------------------------------------------------------------------


def test_cli_endpoints_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    """`tokenomy endpoints` prints the table with footnoted limits; --json the same facts; a filter narrows."""
    assert main(["endpoints", "--as-of", "2023-12-01"]) == 0
    out = capsys.readouterr().out
    assert "/v1/edits" in out and "deprecated" in out and "* image input: not eligible" in out
    assert main(["endpoints", "threads", "--as-of", "2026-11-30", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["path"] for r in rows] == [
        "/v1/threads",
        "/v1/threads/messages",
        "/v1/threads/runs",
        "/v1/threads/runs/steps",
    ]
    assert all(r["status"] == "shut down" for r in rows) and rows[0]["replacement"] == "/v1/conversations"


def test_cli_endpoints_help(capsys: pytest.CaptureFixture[str]) -> None:
    """The endpoints subcommand documents itself."""
    with pytest.raises(SystemExit):
        main(["endpoints", "--help"])
    assert "zero data retention" in " ".join(capsys.readouterr().out.split())  # argparse wraps lines


def test_readme_lists_the_table_via_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    """README's endpoints table is the CLI's output (model counts aside: they follow models.toml)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    block = readme.split("$ tokenomy endpoints --as-of 2026-11-30\n", 1)[1].split("```", 1)[0]
    assert main(["endpoints", "--as-of", "2026-11-30"]) == 0
    printed = capsys.readouterr().out

    def rows(text: str) -> list[list[str]]:
        return [[t for t in line.split() if not t.isdigit()] for line in text.splitlines() if line]

    assert rows(block) == rows(printed), "regenerate README's table: tokenomy endpoints --as-of 2026-11-30"
