"""The pre-flight a request goes through before it is sent: :func:`check_request`.

It reads the facts of :mod:`tokenomy.endpoint` (``data/endpoints.toml``) and the registry: is the
path live on the day, does it take the model, and what would zero data retention not cover.
The answer depends only on the path, the day, the model, what the request uses and the flags, so
it is remembered for those (a request path calls it once per request); errors are raised again
every time, and :func:`~tokenomy.register_model` forgets every answer.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from tokenomy._args import check_bool
from tokenomy._data import table
from tokenomy._endpoint_data import EFFECTS, PathRow, known_uses, normalise, row
from tokenomy.errors import (
    EndpointShutDownError,
    InvalidArgumentError,
    UnsupportedModelError,
    ZeroRetentionError,
    short,
)
from tokenomy.registry import ModelInfo, day_of, model_info, on_registry_change

# (path, day, model name or id of its ModelInfo, uses, batch, require_zero_retention) -> notes
_answers: dict[tuple[object, ...], tuple[ModelInfo | None, tuple[str, ...]]] = {}
_MOST_ANSWERS = 4096  # a service asked about endless distinct paths or models keeps bounded memory
on_registry_change(_answers.clear)


def _lifecycle(target: PathRow, day: date) -> list[str]:
    """Notes on ``target``'s status on ``day``; raises once it is surely shut down."""
    notes = target.uncertain_notes(day)
    status, shutdown = target.status(day), target.shutdown
    if status == "shut down" and shutdown is not None:
        if not notes:
            raise EndpointShutDownError(target.path, shutdown.on, day, shutdown.replacement)
        notes.insert(0, f"{target.path} is shut down from {shutdown.on}, a date not surely known")
    elif status == "not launched" and target.launched is not None:
        notes.insert(0, f"{target.path} did not exist yet on {day} (launched {target.launched.on})")
    elif status == "deprecated" and target.deprecated is not None:
        until = f"; it shuts down on {shutdown.on}" if shutdown else ""
        instead = f" (replacement: {shutdown.replacement})" if shutdown and shutdown.replacement else ""
        notes.insert(0, f"{target.path} is deprecated since {target.deprecated.on}{until}{instead}")
    return notes


def _model_notes(target: PathRow, info: ModelInfo, batch: bool) -> list[str]:
    """Whether ``target`` takes ``info``'s model; raises when its kind rules it out."""
    batch_path: str = table("endpoints")["batch_api"]["models_on"]
    listed = sorted(dict.fromkeys(normalise(p) for p in info.endpoints))
    if target.kinds and info.kind not in target.kinds and target.path not in listed:
        direct = [p for p in listed if p != batch_path]
        elsewhere = (
            f"send it to {' or '.join(direct)} instead" if direct else "the registry lists no endpoint"
        )
        kinds = " or ".join(target.kinds)
        raise UnsupportedModelError(
            info.name, f"is of kind {info.kind!r}; {target.path} takes {kinds} models: {elsewhere}"
        )
    notes = []
    if not target.kinds:
        notes.append(f"tokenomy's data names no models for {target.path}; {info.name} was not checked")
    elif not listed:
        notes.append(f"the registry lists no endpoints for {info.name}; {target.path} was not checked")
    elif target.path not in listed:
        notes.append(f"the registry does not list {info.name} on {target.path} "
                     f"(it lists {', '.join(listed)}); the API may refuse it")  # fmt: skip
    if batch and listed and batch_path not in listed:
        notes.append(f"the registry does not list {info.name} for the Batch API ({batch_path})")
    return notes


def _zero_retention(
    target: PathRow, day: date, info: ModelInfo | None, uses: Collection[str]
) -> tuple[list[str], list[str]]:
    """What keeps a request to ``target`` from zero retention, and what could not be checked."""
    policy, caveats = target.policy_on(day)
    if policy is None:
        return [f"{caveats[0]}, so its zero-retention coverage is unknown"], []
    read = f"({policy.reading}, as read {policy.on})"
    if policy.zero_retention == "not eligible":
        return [f"{target.path} {EFFECTS['not eligible']}: data is kept {policy.retention} {read}",
                *caveats], []  # fmt: skip
    problems, unchecked = [], []
    names = {n for n in (info.name, info.snapshot, info.alias, info.base_model) if n} if info else set()
    for exc in policy.exceptions:
        if exc.models and info is None:
            unchecked.append(f"{target.path}: {exc.note}; no model was given to check {read}")
        elif (exc.models and names & set(exc.models)) or (not exc.models and exc.name in uses):
            what = info.name if exc.models and info else exc.label
            problems.append(f"{what} on {target.path} {EFFECTS[exc.effect]}: {exc.note} {read}")
    return problems + (caveats if problems else []), unchecked


def check_request(
    path: str,
    *,
    model: str | ModelInfo | None = None,
    as_of: date | str | None = None,
    uses: Collection[str] = (),
    batch: bool = False,
    require_zero_retention: bool = False,
) -> tuple[str, ...]:
    """Pre-flight a request to ``path``: notes on what it should know, errors for what would fail.

    Raises :class:`UnknownEndpointError` (and the registry's :class:`UnknownModelError` for a model
    name), :class:`EndpointShutDownError` (naming the replacement) once ``path`` is surely shut
    down on ``as_of``, :class:`UnsupportedModelError` when the model's kind is not one the path
    takes, and, with ``require_zero_retention``, :class:`ZeroRetentionError` for anything zero data
    retention would not cover (what could not be checked, such as a model-bound exception with no
    model given, stays a note). ``uses`` names what the request carries
    (keys of ``[uses]`` in ``data/endpoints.toml``: ``image_input``, ``file_input``, ``audio_output``,
    ``code_interpreter``); ``batch=True`` also checks the Batch API's own paths (files, batches).
    Returns the notes, each once, in order: lifecycle, model, zero retention.

    >>> check_request("/v1/chat/completions", model="gpt-4o", as_of=date(2025, 1, 1))
    ()
    >>> check_request("/v1/chat/completions", as_of=date(2023, 12, 1), uses={"image_input"})[0]
    ... # doctest: +ELLIPSIS
    'image input on /v1/chat/completions is not eligible for zero data retention: ...'
    >>> check_request("/v1/edits", as_of=date(2026, 11, 30))
    Traceback (most recent call last):
    tokenomy.errors.EndpointShutDownError: /v1/edits was shut down on 2024-01-04 (as of 2026-11-30): \
send it to /v1/chat/completions instead. `tokenomy endpoints` lists each path's status.
    """
    if isinstance(uses, str):
        raise TypeError(f"uses is a collection of names, e.g. {{{short(uses)}}}, not one string")
    wanted = frozenset(uses)
    unknown = sorted(map(short, wanted.difference(known_uses())))
    if unknown:
        raise InvalidArgumentError("uses", unknown, f"names from {', '.join(sorted(known_uses()))}")
    check_bool(batch, "batch")
    check_bool(require_zero_retention, "require_zero_retention")
    if model is not None and not isinstance(model, (str, ModelInfo)):
        raise TypeError(f"model must be a model name or a ModelInfo, not {type(model).__name__}")
    day = day_of(as_of)
    if not isinstance(path, str):
        raise TypeError(f"path must be a str, not {type(path).__name__}")
    # a ModelInfo is remembered by identity (the registry hands out one per name and day), and
    # kept with the answer so that its id is not reused while the answer is
    given = model if isinstance(model, ModelInfo) else None
    key = (path, day, model if given is None else id(model), wanted, batch, require_zero_retention)
    known = _answers.get(key)
    if known is not None and known[0] is given:
        if isinstance(model, str):
            model_info(model, as_of=day)  # its retirement warning, as on the first call
        return known[1]
    notes = _check(path, model, day, wanted, batch, require_zero_retention)
    if len(_answers) >= _MOST_ANSWERS:
        _answers.clear()
    _answers[key] = (given, notes)
    return notes


def _check(path: str, model: str | ModelInfo | None, day: date, uses: frozenset[str], batch: bool,
           require_zero_retention: bool) -> tuple[str, ...]:  # fmt: skip
    """check_request's answer, worked out: lifecycle, then model, then zero retention."""
    target = row(path)
    batch_api = table("endpoints")["batch_api"]
    rows = [target, *(row(p) for p in batch_api["paths"] if p != target.path)] if batch else [target]
    notes = [note for r in rows for note in _lifecycle(r, day)]
    info = model_info(model, as_of=day) if isinstance(model, str) else model
    if info is not None:
        notes += _model_notes(target, info, batch)
    problems: list[str] = []
    for r in rows:
        found, unchecked = _zero_retention(r, day, info, uses)
        problems += found
        notes += unchecked
    if require_zero_retention and problems:
        raise ZeroRetentionError(target.path, list(dict.fromkeys(problems)))
    return tuple(dict.fromkeys([*notes, *problems]))


__all__ = ["check_request"]
