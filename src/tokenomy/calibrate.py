"""Counting constants fitted to billed usage: :func:`constant_uses`, :func:`calibrate`, :class:`Calibration`.

A prompt's count is linear in the integer constants of its format (per message, reply priming,
per tool call, per tool result, tool-definition and response-format overheads, ...). Counting a
request once more with every constant ``c_i`` raised by ``B**i`` (``B`` = 2**24) under
:func:`~tokenomy.rules.overridden` gives, digit by digit, how many times each constant was added.
:func:`calibrate` then fits, per prompt format and model family, the integer changes that make the
most billed counts equal: a least-squares start, rounded, improved by integer steps on the half of
the requests it trains on, and kept only if it does not lower the exact share on the other half.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from tokenomy._data import table
from tokenomy._results import Picklable, frozen
from tokenomy.report import html_table, text_table
from tokenomy.requests import RequestCount, count_request
from tokenomy.rules import CONSTANTS, constants, loaded_files, nested, overridden, rules_for, validate_rules

_BASE = 1 << 24  # above any constant's multiplicity in one request
_MIN_SUPPORT = 5  # training requests that must use a constant before it is changed
_MAX_CHANGE = 10_000
_probes: dict[tuple[str, str | None, tuple[str, ...]], dict[str, Any]] = {}

Uses = tuple[tuple[str, int], ...]


class Observation(NamedTuple):
    """One request as calibration sees it: its group, the constants its count used, and both counts."""

    custom_id: str
    prompt_format: str
    family: str | None
    uses: Uses
    predicted_tokens: int
    billed_tokens: int


def constant_uses(counted: Sequence[tuple[Mapping[str, Any], RequestCount, str | None]]) -> list[Uses]:
    """For each ``(body, count of body, model family)``: how many times each counting constant was
    added in that count; constants not used are left out.

    >>> from tokenomy.requests import count_request
    >>> body = {"model": "gpt-4o-2024-08-06", "messages": [{"role": "user", "content": "Hi"}]}
    >>> constant_uses([(body, count_request(body), "gpt-4o")])
    [(('tokens_per_message', 1), ('reply_priming', 1))]
    """
    uses: list[Uses] = [()] * len(counted)
    groups: dict[tuple[str, str | None], list[int]] = {}
    for i, (_, result, family) in enumerate(counted):
        if result.prompt_format is not None:
            groups.setdefault((result.prompt_format, family), []).append(i)
    for (name, family), members in groups.items():
        # one override per group: counting under it reuses the rules it builds
        with overridden(_probe(name, family), label="calibration probe"):
            for i in members:
                body, result, _ = counted[i]
                probed = count_request(body, endpoint=result.endpoint, as_of=result.as_of)
                uses[i] = _digits(probed.tokens - result.tokens)
    return uses


def _probe(name: str, family: str | None) -> dict[str, Any]:
    """Every constant of the format raised by ``_BASE ** i`` (i its place in ``CONSTANTS``)."""
    key = (name, family, loaded_files())
    probe = _probes.get(key)
    if probe is None:
        values = constants(rules_for(name, family))
        raised = {constant: values[constant] + _BASE**i for i, constant in enumerate(CONSTANTS)}
        probe = _probes.setdefault(key, {"formats": {name: nested(raised)}})
    return probe


def _digits(rest: int) -> Uses:
    """Balanced base-``_BASE`` digits of the probed count's excess: each constant's multiplicity."""
    uses = []
    for name in CONSTANTS:
        digit = rest % _BASE
        digit -= _BASE if digit > _BASE // 2 else 0
        rest = (rest - digit) // _BASE
        if digit:
            uses.append((name, digit))
    if rest:
        raise ArithmeticError(f"counting is not linear in the constants (left over: {rest})")
    return tuple(uses)


@dataclass(frozen=True)
class CalibratedGroup:
    """The fit for one prompt format and model family: changes, and exact counts before and after.

    ``held_out_*`` are measured on requests the fit did not see; ``applied`` is True only when
    the fit does better there (more exact, else more within 2, else a smaller total error) without
    fewer exact; otherwise the constants are left as they were.
    """

    prompt_format: str
    family: str | None
    trained_on: int
    held_out: int
    changes: tuple[tuple[str, int, int], ...]  # constant, value before, value after
    train_exact_before: int
    train_exact_after: int
    held_out_exact_before: int
    held_out_exact_after: int
    held_out_within_2_before: int
    held_out_within_2_after: int
    applied: bool
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "prompt_format": self.prompt_format, "family": self.family, "trained_on": self.trained_on,
            "held_out": self.held_out,
            "changes": [{"constant": c, "before": b, "after": a} for c, b, a in self.changes],
            "train_exact_before": self.train_exact_before, "train_exact_after": self.train_exact_after,
            "held_out_exact_before": self.held_out_exact_before,
            "held_out_exact_after": self.held_out_exact_after,
            "held_out_within_2_before": self.held_out_within_2_before,
            "held_out_within_2_after": self.held_out_within_2_after,
            "applied": self.applied, "notes": list(self.notes),
        }  # fmt: skip


@dataclass(frozen=True)
class Calibration(Picklable):
    """Counting constants fitted to billed usage, per prompt format and model family.

    ``rules`` is a rules file (the ``data/chat.toml`` layout, one ``families`` table per group)
    for :func:`~tokenomy.load_rules` or ``TOKENOMY_RULES``; a group whose constants were kept gets
    a table with a note only, which changes no count; ``layer`` is the same rules as read-only
    mappings. ``exact_before``/``exact_after`` are shares of the held-out requests.

    Here the API bills one token per message more than the built-in rules count:

    >>> from tokenomy import reconcile
    >>> sizes = [1, 2, 3, 4] * 4
    >>> hi = {"role": "user", "content": "Hi"}
    >>> requests = [{"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
    ...              "body": {"model": "gpt-4o-2024-08-06", "messages": [hi] * n}}
    ...             for i, n in enumerate(sizes)]
    >>> billed = [{"custom_id": f"r{i}", "response": {"status_code": 200, "body": {
    ...              "usage": {"prompt_tokens": 3 + 6 * n, "completion_tokens": 1}}}}
    ...           for i, n in enumerate(sizes)]
    >>> calibration = reconcile(requests, billed, as_of="2025-06-01").calibrate()
    >>> calibration.changed, calibration.held_out, calibration.exact_before, calibration.exact_after
    (True, 7, 0.0, 1.0)
    >>> for line in calibration.rules.splitlines()[3:7]:  # after two comment lines and a blank one
    ...     print(line)
    [formats.chatml.families.gpt-4o]
    source = "tokenomy calibration on usage billed for 16 requests"
    calibrated_on = "9 requests fitted; 7 held out, exact 0 -> 7"
    tokens_per_message = 4
    """

    groups: tuple[CalibratedGroup, ...]
    rules: str
    notes: tuple[str, ...] = ()
    as_of: date | None = None
    layer: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "layer", frozen(self.layer))

    @property
    def held_out(self) -> int:
        """Requests held out of every fit."""
        return sum(g.held_out for g in self.groups)

    @property
    def exact_before(self) -> float | None:
        """Share of held-out requests counted exactly with the rules used for the reconciliation."""
        return _share(sum(g.held_out_exact_before for g in self.groups), self.held_out)

    @property
    def exact_after(self) -> float | None:
        """Share of held-out requests counted exactly with the calibrated rules."""
        return _share(sum(g.held_out_exact_after for g in self.groups), self.held_out)

    @property
    def changed(self) -> bool:
        """True when at least one constant changed."""
        return any(g.applied and g.changes for g in self.groups)

    def write(self, path: str | Path) -> Path:
        """Write :attr:`rules` to ``path`` (for ``TOKENOMY_RULES`` or :func:`~tokenomy.load_rules`)."""
        target = Path(path)
        target.write_text(self.rules, encoding="utf-8")
        return target

    def _rows(self) -> list[list[object]]:
        return [
            [g.prompt_format, g.family or "?", g.trained_on, g.held_out,
             f"{g.held_out_exact_before}/{g.held_out}", f"{g.held_out_exact_after}/{g.held_out}",
             ", ".join(f"{c} {b}->{a}" for c, b, a in g.changes) if g.applied and g.changes else "none"]
            for g in self.groups
        ]  # fmt: skip

    _HEADERS = ("format", "family", "trained on", "held out", "exact before", "exact after", "changes")

    def __str__(self) -> str:
        title = f"calibration: held-out exact {_pct(self.exact_before)} -> {_pct(self.exact_after)}"
        notes = [f"note: {n}" for g in self.groups for n in g.notes] + [f"note: {n}" for n in self.notes]
        return "\n".join([text_table(self._HEADERS, self._rows(), title), *notes])

    def _repr_html_(self) -> str:
        title = f"calibration: held-out exact {_pct(self.exact_before)} -> {_pct(self.exact_after)}"
        return html_table(self._HEADERS, self._rows(), title)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON, the rules file's text included."""
        return {
            "held_out": self.held_out, "exact_before": self.exact_before, "exact_after": self.exact_after,
            "changed": self.changed, "groups": [g.to_dict() for g in self.groups], "rules": self.rules,
            "notes": list(self.notes), "as_of": None if self.as_of is None else self.as_of.isoformat(),
        }  # fmt: skip


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _pct(share: float | None) -> str:
    return "n/a" if share is None else f"{share:.1%}"


def held_out(custom_id: str, fraction: float = 0.5) -> bool:
    """Whether request ``custom_id`` is held out of the fit: a fixed split by a hash of the id.

    >>> sum(held_out(f"r{i}") for i in range(10_000)), held_out("r1") == held_out("r1")
    (4973, True)
    """
    digest = hashlib.blake2b(custom_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") < fraction * 2**64


def calibrate(observations: Iterable[Observation], *, fraction: float = 0.5,
              as_of: date | None = None, source: str = "billed usage") -> Calibration:  # fmt: skip
    """Fit the counting constants per prompt format and model family to ``observations``;
    ``fraction`` of each group's requests (by a hash of the id) is held out to check the fit.

    >>> obs = [Observation(f"r{i}", "chatml", "gpt-4o", (("tokens_per_message", n), ("reply_priming", 1)),
    ...                    100 + n, 101 + 2 * n) for i, n in enumerate([1, 2, 3, 4, 5, 6, 7, 8] * 3)]
    >>> result = calibrate(obs)
    >>> result.groups[0].changes, result.exact_before, result.exact_after
    ((('tokens_per_message', 3, 4), ('reply_priming', 3, 4)), 0.0, 1.0)
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be between 0 and 1, not {fraction!r}")
    groups: dict[tuple[str, str | None], list[Observation]] = {}
    for obs in observations:
        if obs.uses:
            groups.setdefault((obs.prompt_format, obs.family), []).append(obs)
    fitted: list[CalibratedGroup] = []
    notes: list[str] = []
    layer: dict[str, Any] = {}
    for (name, family), members in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        if family is None:
            notes.append(f"{len(members)} {name} requests of models without a family: a rules file "
                         "changes constants per family, so they were not fitted")  # fmt: skip
            continue
        group = _fit_group(name, family, members, fraction)
        fitted.append(group)
        section: dict[str, Any] = {"source": f"tokenomy calibration on {source}",
                                   "calibrated_on": _summary(group)}  # fmt: skip
        if group.applied and group.changes:
            section.update(_section(name, family, {c: after for c, _, after in group.changes}))
        else:
            section["note"] = "no constant changed"
        layer.setdefault(name, {"families": {}})["families"][family] = section
    if not layer:
        notes.append("no request of a chat or responses endpoint could be fitted")
        layer[table("chat")["default_format"]] = {"note": "nothing was calibrated"}
    validate_rules({"formats": layer}, source="calibration")  # what is written loads, whole
    return Calibration(tuple(fitted), _toml(layer), tuple(notes), as_of, layer)


def _summary(group: CalibratedGroup) -> str:
    return (f"{group.trained_on} requests fitted; {group.held_out} held out, exact "
            f"{group.held_out_exact_before} -> {group.held_out_exact_after}")  # fmt: skip


def _section(name: str, family: str, after: Mapping[str, int]) -> dict[str, Any]:
    """The changed constants as rules-file tables; a case table (tools, tool_choice) is written
    whole, so that no case falls back to a changed neighbour."""
    values = {**after}
    current = constants(rules_for(name, family))
    for constant in after:
        parts = constant.split(".")
        if len(parts) == 3:
            prefix = f"{parts[0]}.{parts[1]}."
            values.update({c: v for c, v in current.items() if c.startswith(prefix) and c not in after})
    return nested(dict(sorted(values.items(), key=lambda kv: CONSTANTS.index(kv[0]))))


def _fit_group(name: str, family: str, members: Sequence[Observation], fraction: float) -> CalibratedGroup:
    columns = sorted({c for obs in members for c, _ in obs.uses}, key=CONSTANTS.index)
    index = {c: j for j, c in enumerate(columns)}
    uses = np.zeros((len(members), len(columns)), dtype=np.int64)
    for i, obs in enumerate(members):
        for c, times in obs.uses:
            uses[i, index[c]] = times
    residual = np.array([o.billed_tokens - o.predicted_tokens for o in members], dtype=np.int64)
    test = np.array([held_out(o.custom_id, fraction) for o in members], dtype=bool)
    train = ~test
    notes: list[str] = []
    support = (uses[train] != 0).sum(axis=0)
    fittable = support >= _MIN_SUPPORT
    thin = [f"{c} ({int(n)})" for c, n, ok in zip(columns, support, fittable, strict=True) if n and not ok]
    if thin:
        notes.append(f"{name}/{family}: used by fewer than {_MIN_SUPPORT} training requests, not fitted: "
                     f"{', '.join(thin)}")  # fmt: skip
    delta = np.zeros(len(columns), dtype=np.int64)
    if train.any() and fittable.any():
        delta[fittable] = _fit(uses[train][:, fittable], residual[train])
    before = _exact(uses, residual, np.zeros_like(delta))
    after = _exact(uses, residual, delta)
    near_before = _exact(uses, residual, np.zeros_like(delta), 2)
    near_after = _exact(uses, residual, delta, 2)
    current = constants(rules_for(name, family))
    changes = tuple((c, current[c], current[c] + int(d)) for c, d in zip(columns, delta, strict=True) if d)
    checked = (_score(residual[test], delta * 0), _score(residual[test] - uses[test] @ delta, delta * 0))
    applied = bool(delta.any()) and checked[1][:3] > checked[0][:3] and checked[1][0] >= checked[0][0]
    if delta.any() and not test.any():
        notes.append(f"{name}/{family}: no request held out, so the fit could not be checked; not applied")
    elif delta.any() and not applied:
        notes.append(f"{name}/{family}: the fit did not do better on the held-out requests "
                     f"(exact {checked[0][0]} -> {checked[1][0]}); constants kept")  # fmt: skip
    if not applied:
        after, near_after = before, near_before
    return CalibratedGroup(
        prompt_format=name, family=family, trained_on=int(train.sum()), held_out=int(test.sum()),
        changes=changes, train_exact_before=int((before & train).sum()),
        train_exact_after=int((after & train).sum()), held_out_exact_before=int((before & test).sum()),
        held_out_exact_after=int((after & test).sum()),
        held_out_within_2_before=int((near_before & test).sum()),
        held_out_within_2_after=int((near_after & test).sum()), applied=applied, notes=tuple(notes),
    )  # fmt: skip


Ints = npt.NDArray[np.int64]


def _exact(uses: Ints, residual: Ints, delta: Ints, within: int = 0) -> npt.NDArray[np.bool_]:
    return np.asarray(np.abs(residual - uses @ delta) <= within)


def _score(residual: Ints, delta: Ints) -> tuple[int, int, int, int]:
    """Exact counts first, then within 2, then total error, then the smallest change."""
    error = np.abs(residual)
    return (int((error == 0).sum()), int((error <= 2).sum()), -int(error.sum()), -int(np.abs(delta).sum()))


def _fit(uses: Ints, residual: Ints) -> Ints:
    """Integer changes to the constants (columns of ``uses``) that best explain ``residual``
    (billed - predicted): from zero and from the rounded least-squares solution, greedy integer
    steps on one constant at a time while they improve :func:`_score`."""
    starts = [np.zeros(uses.shape[1], dtype=np.int64)]
    solution = np.linalg.lstsq(uses.astype(float), residual.astype(float), rcond=None)[0]
    starts.append(np.clip(np.rint(solution), -_MAX_CHANGE, _MAX_CHANGE).astype(np.int64))
    best: Ints | None = None
    best_score: tuple[int, int, int, int] | None = None
    for start in starts:
        delta = _descend(uses, residual, start)
        score = _score(residual - uses @ delta, delta)
        if best_score is None or score > best_score:
            best, best_score = delta, score
    assert best is not None
    return best


def _descend(uses: Ints, residual: Ints, delta: Ints) -> Ints:
    delta = delta.copy()
    for _ in range(200):
        rest = residual - uses @ delta
        best = _score(rest, delta)
        move: tuple[int, int] | None = None
        for j in range(uses.shape[1]):
            column = uses[:, j]
            used = column != 0
            # the steps that make some request exact, most frequent first, and +-1
            ratios = rest[used] // column[used]
            whole = ratios[rest[used] % column[used] == 0]
            values, counts = np.unique(whole, return_counts=True)
            steps = {int(v) for v in values[np.argsort(-counts)][:8]} | {-1, 1}
            for step in sorted(steps - {0}):
                if abs(delta[j] + step) > _MAX_CHANGE:
                    continue
                trial = delta.copy()
                trial[j] += step
                score = _score(rest - step * column, trial)
                if score > best:
                    best, move = score, (j, step)
        if move is None:
            return delta
        delta[move[0]] += move[1]
    return delta


def _toml(layer: Mapping[str, Any]) -> str:
    """The rules file: one ``[formats.NAME.families."FAMILY"]`` table (and its API tables) per group."""
    lines = ["# Counting constants calibrated by tokenomy on API-billed usage (tokenomy reconcile).",
             "# Load with tokenomy.load_rules(path) or TOKENOMY_RULES=path; counts made with it name it.",
             ""]  # fmt: skip
    for name, body in layer.items():
        if "families" not in body:
            lines += [f"[formats.{name}]", *(f"{k} = {_value(v)}" for k, v in body.items()), ""]
        for family, section in body.get("families", {}).items():
            header = f"formats.{name}.families.{_key(family)}"
            lines.append(f"[{header}]")
            lines += [f"{k} = {_value(v)}" for k, v in section.items() if not isinstance(v, Mapping)]
            for api, constants_ in section.items():
                if isinstance(constants_, Mapping):
                    lines += ["", f"[{header}.{api}]"]
                    lines += [f"{k} = {_value(v)}" for k, v in constants_.items()]
            lines.append("")
    return "\n".join(lines)


def _key(text: str) -> str:
    bare = text.replace("-", "").replace("_", "").isalnum() and text.isascii()
    return text if bare else _value(text)


def _value(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    return str(int(value))
