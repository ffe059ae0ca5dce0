"""API-billed request vectors (../shared/reference/api-verified-requests.json) and the exact rate
tokenomy reaches on them, per category. Used by the reference test and by scripts/exactness.py."""

from __future__ import annotations

import json
import os
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import tokenomy

ENV_VAR = "TOKENOMY_REFERENCE_DIR"
ENDPOINTS = {"chat": "/v1/chat/completions", "responses": "/v1/responses"}


def reference_file() -> Path | None:
    """The vectors file: $TOKENOMY_REFERENCE_DIR, else ../shared/reference beside the clone."""
    folder = os.environ.get(ENV_VAR)
    candidates = [Path(folder)] if folder else [Path(__file__).resolve().parents[3] / "shared" / "reference"]
    for candidate in candidates:
        path = candidate / "api-verified-requests.json"
        if path.is_file():
            return path
    return None


def load_vectors(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text("utf-8"))["vectors"])


def recorded_day(vector: Mapping[str, Any]) -> date:
    parts = [int(p) for p in vector["recorded_at"].split("-")]
    return date(parts[0], parts[1], parts[2] if len(parts) > 2 else 15)


@dataclass(frozen=True)
class Outcome:
    vector: Mapping[str, Any]
    counted: int | None
    exact_flag: bool
    error: str | None
    notes: tuple[str, ...]

    @property
    def expected(self) -> int:
        return int(self.vector["expected_tokens"])

    @property
    def diff(self) -> int | None:
        return None if self.counted is None else self.counted - self.expected

    @property
    def hit(self) -> bool:
        """Equal to the API; a vector whose stored text was normalised may be off by 2."""
        if self.diff is None:
            return False
        return self.diff == 0 or (bool(self.vector["normalisation_risk"]) and abs(self.diff) <= 2)

    @property
    def within2(self) -> bool:
        return self.diff is not None and abs(self.diff) <= 2


def count_vector(vector: Mapping[str, Any]) -> Outcome:
    body = {**vector["input"], "model": vector["model"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            result = tokenomy.count_request(body, endpoint=ENDPOINTS[vector["kind"]], as_of=recorded_day(vector))
        except tokenomy.TokenomyError as error:
            return Outcome(vector, None, False, f"{type(error).__name__}: {error}", ())
    return Outcome(vector, result.tokens, result.exact, None, result.notes)


def family(vector: Mapping[str, Any]) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return tokenomy.model_info(vector["model"]).family or "?"
        except tokenomy.TokenomyError:
            return "?"


def categories(vector: Mapping[str, Any]) -> Iterable[str]:
    yield "all"
    yield f"api: {vector['kind']}"
    yield f"family: {family(vector)}"
    for feature in vector["features"]:
        yield f"feature: {feature}"


def summary(outcomes: Iterable[Outcome]) -> list[tuple[str, int, int, int, int]]:
    """(category, vectors, exact, within 2, errors) per category, sorted."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for o in outcomes:
        for cat in categories(o.vector):
            counts[cat]["n"] += 1
            counts[cat]["exact"] += o.hit
            counts[cat]["within2"] += o.within2
            counts[cat]["errors"] += o.error is not None
    order = sorted(counts, key=lambda c: (c != "all", c.split(":")[0], -counts[c]["n"], c))
    return [(c, counts[c]["n"], counts[c]["exact"], counts[c]["within2"], counts[c]["errors"]) for c in order]


def flag_precision(outcomes: Iterable[Outcome]) -> tuple[int, int]:
    """(results flagged exact, of those equal to the API)."""
    flagged = [o for o in outcomes if o.exact_flag]
    return len(flagged), sum(o.hit for o in flagged)


def markdown(outcomes: list[Outcome]) -> str:
    rows = ["| category | vectors | exact | within 2 | errors |", "| --- | ---: | ---: | ---: | ---: |"]
    for cat, n, exact, within2, errors in summary(outcomes):
        rows.append(f"| {cat} | {n} | {exact} ({exact / n:.0%}) | {within2} ({within2 / n:.0%}) | {errors} |")
    flagged, right = flag_precision(outcomes)
    rows.append("")
    rows.append(f"Results flagged `exact=True`: {flagged}, of which {right} equal the API"
                f" ({right / max(flagged, 1):.1%}).")
    return "\n".join(rows)
