"""The shapes request bodies come in: strings, mappings or SDK objects, lists of parts.

Small checks shared by every parser of a request (chat messages, Responses items, tool
definitions), each raising :class:`~tokenomy.errors.MessageFormatError` with the field's path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tokenomy._data import table
from tokenomy.errors import MessageFormatError

# roles and text part types the APIs accept (data/chat.toml, from the API reference)
ROLES = frozenset(table("chat")["roles"])
TEXT_PARTS = frozenset(table("chat")["text_parts"])
MESSAGE_FIELDS = ("role", "content", "tool_calls", "tool_call_id", "name", "function_call")


def text_value(value: Any, where: str) -> str:
    """``value`` if it is a string, else a :class:`MessageFormatError` naming ``where``."""
    if isinstance(value, str):
        return value
    raise MessageFormatError(where, f"expected a string, got {type(value).__name__}")
def as_mapping(obj: Any, where: str) -> Mapping[str, Any]:
    """A tool definition or schema as a mapping (dicts, or pydantic objects via ``model_dump``)."""
    if isinstance(obj, Mapping):
        return obj
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        dumped = dump(exclude_none=True)
        if isinstance(dumped, Mapping):
            return dumped
    raise MessageFormatError(where, f"expected an object, got {type(obj).__name__}")
def is_sequence(value: Any) -> bool:
    """True for lists and tuples of parts or items (never a string, bytes or a mapping)."""
    return isinstance(value, Iterable) and not isinstance(value, (str, bytes, bytearray, Mapping))


def message_fields(message: Any) -> dict[str, Any]:
    """The message fields counting reads, from a mapping or an SDK object."""
    if isinstance(message, Mapping):
        return {key: message.get(key) for key in MESSAGE_FIELDS}
    return {key: getattr(message, key, None) for key in MESSAGE_FIELDS}
