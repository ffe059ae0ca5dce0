"""Facts about OpenAI API paths by date: :class:`EndpointInfo`, :func:`endpoint_info`, :func:`endpoints`.

A path's lifecycle (launch, deprecation, shutdown and replacement), the model kinds it takes, and
what OpenAI does with the data sent to it (training use, retention, zero data retention and its
exceptions, one entry per reading of OpenAI's table) live in ``data/endpoints.toml``; which models
a path serves comes from the registry (each model's ``endpoints``). The pre-flight a request goes
through before it is sent, :func:`~tokenomy.preflight.check_request`, is in :mod:`tokenomy.preflight`
(also importable from here). (The module is not named ``endpoints``: that name is the function,
and ``import tokenomy.endpoints`` would then give the function.)
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from tokenomy._data import table
from tokenomy._endpoint_data import PathRow, normalise, paths, row
from tokenomy.preflight import check_request
from tokenomy.registry import day_of, models, on_registry_change

_SERVING = ("active", "deprecated")  # statuses in which a path takes requests


@dataclass(frozen=True)
class EndpointInfo:
    """What tokenomy knows about one API path on one date.

    ``retention`` is the longest any data of a request is kept by default (``"none"``, ``"30
    days"``, ``"until deleted"``); newer readings split it into ``abuse_monitoring_retention`` and
    ``application_state_retention``. ``zero_retention`` is ``"eligible"``, ``"not eligible"`` or
    ``"by default"`` (nothing is kept to begin with); whether an organisation has zero data
    retention is for OpenAI to approve, not for tokenomy to know. ``policy_as_read`` is the day
    the data-use facts were read from OpenAI; ``exact`` is False when a fact used rests on a
    secondary source near ``as_of`` or the policy may have changed around it (``notes`` say which).

    >>> info = endpoint_info("/v1/assistants", as_of=date(2023, 12, 1))
    >>> info.status, info.retention, info.zero_retention
    ('active', 'until deleted', 'not eligible')
    >>> endpoint_info("/v1/assistants", as_of=date(2026, 11, 30)).replacement
    '/v1/responses'
    """

    path: str
    name: str
    as_of: date
    status: str
    launched_on: date | None
    deprecated_on: date | None
    shutdown_on: date | None
    replacement: str | None
    kinds: tuple[str, ...]
    models: tuple[str, ...]
    used_for_training: bool | None
    retention: str | None
    abuse_monitoring_retention: str | None
    application_state_retention: str | None
    zero_retention: str | None
    zero_retention_exceptions: tuple[str, ...]
    policy_as_read: date | None
    sources: tuple[str, ...]
    exact: bool
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (dates as ISO strings)."""
        return {
            key: value.isoformat() if isinstance(value, date) else list(value) if isinstance(value, tuple)
            else value
            for key, value in vars(self).items()
        }  # fmt: skip


_served_on: dict[date, dict[str, tuple[str, ...]]] = {}
_served_lock = threading.Lock()
on_registry_change(_served_on.clear)


def _served(day: date) -> Mapping[str, tuple[str, ...]]:
    """Registry models in service on ``day`` by the path they list (aliases resolved), per day."""
    served = _served_on.get(day)
    if served is not None:
        return served
    found: dict[str, list[str]] = {}
    for info in models(as_of=day):
        if info.status == "shut down" or (info.released is not None and info.released > day):
            continue
        for path in dict.fromkeys(normalise(p) for p in info.endpoints):
            found.setdefault(path, []).append(info.name)
    served = {path: tuple(names) for path, names in found.items()}
    with _served_lock:
        if len(_served_on) >= 64:  # a report over many days keeps bounded memory
            _served_on.clear()
        _served_on[day] = served
    return served


def _info(path_row: PathRow, day: date, served: Mapping[str, tuple[str, ...]]) -> EndpointInfo:
    r = path_row
    notes = r.uncertain_notes(day)
    exact = not notes
    policy, caveats = r.policy_on(day)
    exact = exact and not (caveats and policy is not None)
    off_since = table("endpoints")["training"]["off_since"]
    training = None if policy is None or day < off_since["on"] else policy.training
    if policy is not None and training is None:
        caveats.append(f"tokenomy holds no facts on training use before {off_since['on']}, when the API "
                       "stopped training on customer data by default")  # fmt: skip
    status = r.status(day)
    facts = (r.launched, r.deprecated, r.shutdown)
    sources = [f.source for f in facts if f is not None]
    sources += [policy.source] if policy is not None else []
    sources += [off_since["source"]] if training is not None else []
    return EndpointInfo(
        path=r.path, name=r.name, as_of=day, status=status,
        launched_on=r.launched.on if r.launched else None,
        deprecated_on=r.deprecated.on if r.deprecated else None,
        shutdown_on=r.shutdown.on if r.shutdown else None,
        replacement=r.shutdown.replacement if r.shutdown else None,
        kinds=r.kinds, models=served.get(r.path, ()) if status in _SERVING else (),
        used_for_training=training,
        retention=policy.retention if policy else None,
        abuse_monitoring_retention=policy.abuse_monitoring if policy else None,
        application_state_retention=policy.application_state if policy else None,
        zero_retention=policy.zero_retention if policy else None,
        zero_retention_exceptions=tuple(f"{e.label}: {e.effect} ({e.note})"
                                        for e in (policy.exceptions if policy else ())),
        policy_as_read=policy.on if policy else None, sources=tuple(dict.fromkeys(sources)), exact=exact,
        notes=tuple(n for n in (*notes, *caveats, r.note, policy.note if policy else None) if n),
    )  # fmt: skip


def endpoint_info(path: str, *, as_of: date | str | None = None) -> EndpointInfo:
    """Facts for the API ``path`` on ``as_of`` (a date, datetime or ISO string; default today).

    ``path`` may be a full URL, lack the ``/v1`` prefix, or hold object ids
    (``/v1/threads/thread_abc123/messages``).

    >>> info = endpoint_info("chat/completions", as_of="2023-12-01")
    >>> info.path, info.retention, info.zero_retention, len(info.zero_retention_exceptions)
    ('/v1/chat/completions', '30 days', 'eligible', 1)
    >>> endpoint_info("/v1/edits", as_of=date(2026, 11, 30)).status
    'shut down'
    """
    day = day_of(as_of)
    return _info(row(path), day, _served(day))


def endpoints(*, as_of: date | str | None = None) -> list[EndpointInfo]:
    """Every API path tokenomy knows, sorted, with its facts on ``as_of`` (default today).

    >>> [e.path for e in endpoints(as_of=date(2026, 11, 30)) if e.status == "deprecated"]
    ['/v1/fine_tuning/jobs']
    """
    day = day_of(as_of)
    served = _served(day)
    return [_info(r, day, served) for _, r in sorted(paths().items())]


__all__ = ["EndpointInfo", "check_request", "endpoint_info", "endpoints"]
