"""Non-token prices: :class:`UnitCost` of images (:func:`image_cost`), characters of speech
(:func:`speech_cost`) and minutes of transcribed audio (:func:`transcription_cost`), in ``Decimal``
USD from ``data/pricing.toml``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tokenomy._args import check_choice, check_str, check_whole
from tokenomy._data import table
from tokenomy._deprecation import renamed
from tokenomy.errors import InvalidArgumentError, PriceUnavailableError

MILLION = Decimal(1_000_000)
# No bill comes near this many tokens or units; below it, a price with up to 10 significant digits
# times a count stays within Decimal's 28 digits, so every amount is exact.
MOST = 10**18


def whole(value: Any, name: str) -> int:
    """``value`` as a count for ``name``: a whole number from 0 to below :data:`MOST`.

    >>> whole(3, "n")
    3
    """
    number = check_whole(value, name)
    if number >= MOST:
        raise InvalidArgumentError(name, value, f"a whole number below {MOST:.0e}")
    return number


@dataclass(frozen=True)
class UnitCost:
    """A non-token price: images, characters of speech, minutes of audio. ``usd`` is what
    ``quantity`` of ``unit`` cost at ``rate`` USD per unit.

    >>> cost = image_cost("dall-e-3", size="1024x1792", quality="hd", n=2)
    >>> cost.quantity, cost.unit, cost.rate, cost.usd
    (Decimal('2'), 'image', Decimal('0.12'), Decimal('0.24'))
    >>> speech_cost("tts-1", "Hello, world!").quantity
    Decimal('13')
    """

    model: str
    usd: Decimal
    quantity: Decimal
    unit: str
    rate: Decimal
    source: str

    @property
    def amount(self) -> Decimal:
        """Deprecated spelling of :attr:`usd`."""
        renamed("UnitCost", "amount", "usd")
        return self.usd

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (amounts as strings, to keep them exact)."""
        return {"model": self.model, "usd": str(self.usd), "quantity": str(self.quantity), "unit": self.unit,
                "rate": str(self.rate), "source": self.source}  # fmt: skip


def image_cost(model: str, *, size: str = "1024x1024", quality: str = "standard", n: int = 1) -> UnitCost:
    """Price of ``n`` generated images.

    >>> image_cost("dall-e-3", size="1024x1792", quality="hd").usd
    Decimal('0.12')
    """
    row = table("pricing").get("images", {}).get(check_str(model, "model"))
    if row is None:
        raise PriceUnavailableError(model, "per-image")
    qualities = {k: v for k, v in row.items() if isinstance(v, Mapping)}
    check_choice(quality, "quality", tuple(sorted(qualities)))
    check_choice(size, "size", tuple(sorted(qualities[quality])))
    rate = Decimal(str(qualities[quality][size]))
    count = whole(n, "n")
    return UnitCost(model, rate * count, Decimal(count), "image", rate, row["source"])


def speech_cost(model: str, text: str | int) -> UnitCost:
    """Price of speaking ``text`` (or a number of characters) with a TTS model.

    >>> speech_cost("tts-1", 1_000_000).usd
    Decimal('15')
    """
    row = table("pricing").get("speech", {}).get(check_str(model, "model"))
    if row is None:
        raise PriceUnavailableError(model, "per-character")
    characters = len(text) if isinstance(text, str) else whole(text, "text")
    rate = Decimal(str(row["per_1m_characters"]))
    return UnitCost(
        model,
        rate * characters / MILLION,
        Decimal(characters),
        "character",
        rate / MILLION,
        row["source"],
    )


def transcription_cost(model: str, *, seconds: float) -> UnitCost:
    """Price of transcribing ``seconds`` of audio (billed per minute, rounded up to the second).

    >>> transcription_cost("whisper-1", seconds=90).usd
    Decimal('0.009')
    """
    row = table("pricing").get("transcription", {}).get(check_str(model, "model"))
    if row is None:
        raise PriceUnavailableError(model, "per-minute")
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not 0 <= seconds < MOST  # before isfinite(): a 5,000-digit int overflows a float
        or not math.isfinite(seconds)
    ):
        raise InvalidArgumentError("seconds", seconds, "a finite number of seconds >= 0")
    whole_seconds = Decimal(math.ceil(seconds))
    rate = Decimal(str(row["per_minute"]))
    return UnitCost(model, rate * whole_seconds / 60, whole_seconds / 60, "minute", rate, row["source"])
