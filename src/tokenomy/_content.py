"""Tokens of message content: text parts, images, audio clips and files.

Each function adds to a :class:`~tokenomy.counter.PromptCounter`: text is counted where it
stands, while images, audio and files go to their own totals (the API reports audio apart, and a
breakdown shows images and files apart), with the features met and notes for what only the server
can know (an image or a file given by id).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from tokenomy._data import table
from tokenomy._results import get
from tokenomy._shapes import TEXT_PARTS, is_sequence, text_value
from tokenomy.audio import audio_seconds
from tokenomy.errors import ImageError, MessageFormatError, short
from tokenomy.files import decode_file_data, file_text
from tokenomy.images import ImageCount, count_image_for, image_size_from_data_url

if TYPE_CHECKING:
    from tokenomy.counter import PromptCounter

ImageDimensions = Mapping[str, tuple[int, int]] | Callable[[str], tuple[int, int] | None]


def content_tokens(counter: PromptCounter, content: Any, where: str) -> int:
    """Tokens of a message's content: a string, None, or a list of parts."""
    if content is None:
        return 0
    if isinstance(content, str):
        return counter.count(content)
    if not is_sequence(content):
        raise MessageFormatError(where, "content must be a string, None or a list of parts")
    return sum(part_tokens(counter, part, f"{where}[{i}]") for i, part in enumerate(content))


def part_tokens(counter: PromptCounter, part: Any, where: str) -> int:
    if isinstance(part, str):  # the Responses API accepts bare strings in some lists
        return counter.count(part)
    kind = get(part, "type")
    if not isinstance(kind, str):
        raise MessageFormatError(where, "a content part needs a 'type' string")
    if kind in TEXT_PARTS:
        return counter.count(text_value(get(part, "text"), f"{where}.text"))
    if kind == "refusal":
        return counter.count(text_value(get(part, "refusal"), f"{where}.refusal"))
    if kind in ("image_url", "input_image"):
        counter.feature("image")
        image = get(part, "image_url")
        if kind == "input_image" and not isinstance(image, str):
            image = {"url": image, "detail": get(part, "detail")}
        counter.image_tokens += image_count(counter, image, where).tokens
        return 0
    if kind == "input_audio":
        return audio_tokens(counter, get(part, "input_audio"), f"{where}.input_audio")
    if kind in ("file", "input_file"):
        if kind == "file":
            return file_tokens(counter, get(part, "file"), f"{where}.file")
        return file_tokens(counter, part, where)
    counter.feature(f"part:{short(kind, 40)}")
    text = get(part, "text")
    counter.note(f"content part type {short(kind)} is not known to tokenomy; counted for its text only")
    return counter.count(text) if isinstance(text, str) else 0


def audio_tokens(counter: PromptCounter, clip: Any, where: str) -> int:
    """An audio clip: tokens by duration (into ``audio``) plus the part's text framing."""
    counter.feature("audio")
    rules = table("chat")["audio"]
    fmt = get(clip, "format")
    data = decode_file_data(get(clip, "data"), f"{where}.data")
    seconds = audio_seconds(data, fmt if isinstance(fmt, str) else "")
    counter.audio_tokens += math.floor(seconds * rules["tokens_per_second"] + 1e-9)
    return int(rules["part_framing"])


def file_tokens(counter: PromptCounter, spec: Any, where: str) -> int:
    """A file part: its extracted text plus the format's framing."""
    counter.feature("file")
    counter.file_parts += 1
    data = get(spec, "file_data")
    framing = counter.api_rules.file_part
    if data is None:
        counter.note(f"{where}: a file given by id or URL is read by the server; framing alone counted")
        counter.file_tokens += framing
        return 0
    extracted = file_text(decode_file_data(data, f"{where}.file_data"))
    if extracted.note:
        counter.note(extracted.note)
    counter.file_tokens += counter.count(extracted.text) + framing
    return 0


def image_count(counter: PromptCounter, image: Any, where: str) -> ImageCount:
    url = image if isinstance(image, str) else get(image, "url")
    detail = "auto" if isinstance(image, str) else (get(image, "detail") or "auto")
    if not isinstance(url, str):
        if get(image, "file_id") is not None:
            counter.note("an image given by file id has a size only the server knows")
            return count_image_for(counter.info, None, None, detail if detail in ("low", "high") else "auto")
        raise MessageFormatError(f"{where}.image_url", "an image part needs a url string")
    size: tuple[int, int] | None = None
    if url.startswith("data:"):
        try:
            size = image_size_from_data_url(url)
        except ImageError as error:
            raise ImageError(f"{where}.image_url: {error}") from None
    elif counter.dimensions is not None:
        given = counter.dimensions
        found = given.get(url) if isinstance(given, Mapping) else given(url)
        size = dimensions_of(found, where)
    if detail not in ("auto", "low", "high"):
        raise MessageFormatError(f"{where}.detail",
                                 f"detail is 'auto', 'low' or 'high', not {short(detail)}")  # fmt: skip
    result = count_image_for(counter.info, size[0] if size else None, size[1] if size else None, detail)
    if result.notes:
        counter.note("; ".join(result.notes))
    return result


def only_files(content: Any) -> bool:
    return is_sequence(content) and all(get(p, "type") in ("file", "input_file") for p in content)


def dimensions_of(found: Any, where: str) -> tuple[int, int] | None:
    """``(width, height)`` from what ``image_dimensions`` gave for a URL (numpy integers too)."""
    if found is None:
        return None
    sides = list(found) if is_sequence(found) and not isinstance(found, Mapping) else []
    try:
        if len(sides) != 2 or any(isinstance(v, (bool, float)) for v in sides):
            raise TypeError
        width, height = operator.index(sides[0]), operator.index(sides[1])
    except TypeError:
        width = height = 0
    if width <= 0 or height <= 0:
        problem = f"image_dimensions gave {short(found)}, not (width, height) in pixels"
        raise MessageFormatError(f"{where}.image_url", problem)
    return width, height
