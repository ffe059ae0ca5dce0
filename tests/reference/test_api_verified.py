"""count_request against what the live API billed (../shared/reference/api-verified-requests.json).

The vectors are recorded request bodies with the usage the API returned. Skipped with a reason
when the file is not beside the clone (a user's machine); CI has it.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.reference.verified import (
    Outcome,
    count_vector,
    flag_precision,
    load_vectors,
    markdown,
    reference_file,
)

PATH = reference_file()
VECTORS: list[dict[str, Any]] = load_vectors(PATH) if PATH else []
pytestmark = pytest.mark.skipif(PATH is None, reason="api-verified-requests.json not found (../shared/reference)")

# what tokenomy reaches today; the test fails if a change lowers it
MIN_EXACT = 0.88
MIN_WITHIN_2 = 0.92
MIN_FLAG_PRECISION = 0.97


@pytest.fixture(scope="module")
def outcomes() -> list[Outcome]:
    return [count_vector(v) for v in VECTORS]


def test_exact_rate(outcomes: list[Outcome], capsys: pytest.CaptureFixture[str]) -> None:
    """The share of API-billed requests counted exactly (and within 2) stays at what is reached; none refused."""
    with capsys.disabled():
        print("\n" + markdown(outcomes))
    hits = sum(o.hit for o in outcomes)
    errors = [(o.vector["id"], o.error) for o in outcomes if o.error]
    assert not errors
    assert hits / len(outcomes) >= MIN_EXACT
    assert sum(o.within2 for o in outcomes) / len(outcomes) >= MIN_WITHIN_2


def test_exact_flag_is_honest(outcomes: list[Outcome]) -> None:
    """Among results flagged exact=True, nearly all equal what the API billed."""
    flagged, right = flag_precision(outcomes)
    assert flagged and right / flagged >= MIN_FLAG_PRECISION, [
        (o.vector["id"], o.diff) for o in outcomes if o.exact_flag and not o.hit
    ]


def test_inexact_results_say_why(outcomes: list[Outcome]) -> None:
    """Every result flagged exact=False carries at least one note."""
    assert all(o.notes for o in outcomes if not o.exact_flag and o.error is None)
