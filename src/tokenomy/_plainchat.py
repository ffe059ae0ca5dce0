"""Plain chats counted as a framing plus their contents: :class:`PlainChats`.

Most Chat Completions bodies are plain: each message a ``role`` and a string ``content``, the
other fields scalars. Their prompt is additive: the full count of the body with every content
emptied (its framing: roles, per-message and reply tokens, the fields' own tokens, the notes and
the ``exact`` flag) plus each content's own tokens. The framing is remembered per model, day,
prompt rules and every field but the contents, so a service that sends many conversations of the
same shape pays for the rules once, and each request only for counting its text. A body of any
other shape (tools, a response format, content parts, names, non-scalar fields) is counted whole.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar, cast

from tokenomy._data import table
from tokenomy.errors import TokenomyError
from tokenomy.registry import ModelInfo
from tokenomy.rules import FormatRules
from tokenomy.tokenizer import encoding_for

_R = TypeVar("_R")  # RequestCount, which is defined where the whole count is
_MOST_SHAPES = 4096  # shapes remembered before the memo starts again (bounded memory)
# field values a plain chat's framing is keyed by (a dict of them too: stream_options)
_SCALARS = frozenset({str, int, float, bool, type(None)})


class PlainChats(Generic[_R]):
    """The framings of plain chat shapes met so far, and the count of a plain chat from them.

    ``rules_of`` gives the prompt rules a model counts under now (user rules may change them):
    a framing is reused only under the very rules and registry entry it was counted with.
    """

    def __init__(self, count_whole: Callable[[Mapping[str, Any], ModelInfo, str, bool], _R],
                 rules_of: Callable[[ModelInfo], FormatRules]) -> None:  # fmt: skip
        self._count_whole, self._rules_of = count_whole, rules_of
        self._framings: dict[tuple[Any, ...], tuple[ModelInfo, FormatRules, _R]] = {}
        self._lock = threading.Lock()
        self._roles = frozenset(table("chat")["plain_roles"])

    def count(self, body: Mapping[str, Any], info: ModelInfo, path: str, strict: bool) -> _R | None:
        """``count_whole(body, info, path, strict)`` if ``body`` is a plain chat, else None (count it
        whole); ``strict`` is count_request's require_zero_retention."""
        messages = body.get("messages")
        if type(messages) is not list or not messages or type(body) is not dict or info.encoding is None:
            return None
        roles, contents, plain = [], [], self._roles
        for message in messages:
            if type(message) is not dict or len(message) != 2:
                return None
            role, content = message.get("role"), message.get("content")
            if type(content) is not str or type(role) is not str or role not in plain:
                return None
            roles.append(role)
            contents.append(content)
        rules = self._rules_of(info)
        # every field but the contents, types included (True == 1 == 1.0 count apart)
        fields: list[Any] = []
        for name, value in body.items():
            kind = type(value)
            if kind is dict:  # stream_options, a json_object format: flat ones only
                if not all(type(v) in _SCALARS for v in value.values()):
                    return None
                value = tuple((k, v, type(v)) for k, v in value.items())
            elif kind not in _SCALARS:
                if name == "messages":
                    continue
                return None
            fields += (name, value, kind)
        frozen = (path, id(info), id(rules), strict, tuple(roles), tuple(fields))
        found = self._framings.get(frozen)
        if found is None or found[0] is not info or found[1] is not rules:
            skeleton = {**body, "messages": [{"role": role, "content": ""} for role in roles]}
            try:
                framing = self._count_whole(skeleton, info, path, strict)
            except TokenomyError:  # the body counted whole raises its own error
                return None
            with self._lock:
                if len(self._framings) >= _MOST_SHAPES:
                    self._framings.clear()
                self._framings[frozen] = (info, rules, framing)  # info and rules kept: their ids stay theirs
        else:
            framing = found[2]
        tok = encoding_for(info.encoding)
        counts = [tok.count_cached(content) for content in contents]
        result: Any = object.__new__(type(framing))  # a frozen dataclass: filled as a copy would be
        own = framing.__dict__
        result.__dict__.update(own, tokens=own["tokens"] + sum(counts),
                               messages=tuple(map(int.__add__, own["messages"], counts)))  # fmt: skip
        return cast("_R", result)
