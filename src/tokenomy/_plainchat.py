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
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, TypeAlias, TypeVar, cast

from tokenomy._data import table
from tokenomy.errors import TokenomyError
from tokenomy.registry import ModelInfo
from tokenomy.rules import rules_state
from tokenomy.tokenizer import encoding_for

_R = TypeVar("_R")  # RequestCount, which is defined where the whole count is
# a shape's model facts and overridden-rules block (kept, so that their ids stay theirs), its
# framing (None: not a plain chat) and its encoding
_Found: TypeAlias = "tuple[ModelInfo, object | None, _R | None, str]"
_MOST_SHAPES = 4096  # shapes remembered before the memo starts again (bounded memory)
# field values a plain chat's framing is keyed by (a dict of them too: stream_options)
_SCALARS = frozenset({str, int, float, bool, type(None)})


def skeleton(body: Mapping[str, Any], roles: Iterable[Any]) -> dict[str, Any]:
    """``body`` with every message's content emptied: its count is the framing of each body of the
    same shape (the same roles and other fields), whatever their contents."""
    return {**body, "messages": [{"role": role, "content": ""} for role in roles]}


class PlainChats(Generic[_R]):
    """The framings of plain chat shapes met so far, and the count of a plain chat from them.

    A framing is reused only under the registry entry and the prompt rules it was counted with:
    user rules loaded or :func:`~tokenomy.rules.overridden` since (``rules_state``) count afresh.
    """

    def __init__(self, count_whole: Callable[[Mapping[str, Any], ModelInfo, str, bool], _R]) -> None:
        self._count_whole = count_whole
        self._framings: dict[tuple[Any, ...], _Found[_R]] = {}
        self._lock = threading.Lock()
        self._roles = frozenset(table("chat")["plain_roles"])

    def count(self, body: Mapping[str, Any], info: ModelInfo, path: str, strict: bool) -> _R | None:
        """``count_whole(body, info, path, strict)`` if ``body`` is a plain chat, else None (count it
        whole); ``strict`` is count_request's require_zero_retention."""
        messages = body.get("messages")
        if type(messages) is not list or not messages or type(body) is not dict:
            return None
        roles, contents = [], []
        for message in messages:  # the roles are checked once per shape, in _framing
            if type(message) is not dict or len(message) != 2:
                return None
            content = message.get("content")
            if type(content) is not str:
                return None
            roles.append(message.get("role"))
            contents.append(content)
        generation, override = rules_state()
        # every field but the contents, types included (True == 1 == 1.0 count apart)
        names, values = tuple(body), [*body.values()]
        values[names.index("messages")] = None  # the messages are keyed by their roles alone
        kinds = tuple(map(type, values))
        start = (path, id(info), generation, id(override), strict)
        try:
            key: tuple[Any, ...] = (*start, tuple(roles), names, tuple(values), kinds)
            found = self._framings.get(key)
        except TypeError:  # a dict among the fields (stream_options), or an unhashable role
            key, found = self._frozen(start, roles, names, values, kinds)
            if not key:
                return None
        if found is None or found[0] is not info or found[1] is not override:
            found = self._framing(key, body, info, override, path, strict, roles)
        framing = found[2]
        if framing is None:
            return None
        tok = encoding_for(found[3])
        counts = [tok.count_cached(content) for content in contents]
        result: Any = object.__new__(type(framing))  # a frozen dataclass: filled as a copy would be
        own = framing.__dict__
        result.__dict__.update(own, tokens=own["tokens"] + sum(counts),
                               messages=tuple(map(int.__add__, own["messages"], counts)))  # fmt: skip
        return cast("_R", result)

    def _frozen(self, start: tuple[Any, ...], roles: list[Any], names: tuple[str, ...], values: list[Any],
                kinds: tuple[type, ...]) -> tuple[tuple[Any, ...], _Found[_R] | None]:  # fmt: skip
        """The key of a body with flat dicts among its fields (``start``: the key's first items),
        and its framing if known; ``()`` if a field or a role cannot be a key."""
        flat = []
        for value, kind in zip(values, kinds, strict=True):
            if kind is dict:
                if not all(type(v) in _SCALARS for v in value.values()):
                    return (), None
                value = tuple((k, v, type(v)) for k, v in value.items())
            elif kind not in _SCALARS:  # a list (tools) or an object: not a plain chat
                return (), None
            flat.append(value)
        if not all(type(role) is str for role in roles):
            return (), None
        key = (*start, tuple(roles), names, tuple(flat), kinds)
        return key, self._framings.get(key)

    def _framing(self, key: tuple[Any, ...], body: Mapping[str, Any], info: ModelInfo,
                 override: object | None, path: str, strict: bool, roles: list[Any]
                 ) -> _Found[_R]:  # fmt: skip
        """Count the framing of a new shape (None: not a plain chat, or one the whole count refuses)."""
        framing: _R | None = None
        plain = all(role in self._roles for role in roles) and all(
            kind in _SCALARS or kind is dict for kind in key[-1])  # fmt: skip
        encoding = info.encoding or ""
        if plain and encoding:
            try:
                framing = self._count_whole(skeleton(body, roles), info, path, strict)
            except TokenomyError:  # the body counted whole raises its own error
                return info, override, None, encoding  # not remembered: errors are raised afresh each time
        found = (info, override, framing, encoding)
        with self._lock:
            if len(self._framings) >= _MOST_SHAPES:
                self._framings.clear()
            self._framings[key] = found
        return found
