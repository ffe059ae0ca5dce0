"""Every error tokenomy raises, rooted at :class:`TokenomyError`.

::

    TokenomyError
    ├── UnknownModelError            (also KeyError)
    ├── UnsupportedModelError        (also ValueError)  no text tokenizer, or the wrong endpoint
    ├── UnknownEndpointError         (also KeyError)    no API path matches
    ├── EndpointShutDownError        (also ValueError)  the path was shut down by that date
    ├── ZeroRetentionError           (also ValueError)  zero retention required, not available
    ├── EncodingError
    │   ├── EncodingUnavailableError (also FileNotFoundError)
    │   └── EncodingFileError        (also ValueError)  a vocabulary file fails its SHA-256
    ├── RegistryError                (also ValueError)  a registry entry is malformed
    ├── MessageFormatError           (also ValueError)  a chat message or tool has the wrong shape
    ├── ResultFormatError            (also ValueError)  an API result handed back is malformed
    ├── ImageError                   (also ValueError)
    ├── BudgetError                  (also ValueError)  negative or impossible budgets
    │   └── BudgetExceededError      even the minimum does not fit
    └── PriceUnavailableError        (also LookupError)

Each class also subclasses the built-in exception callers already catch, keeps the facts as
attributes, and ends its message with what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal


class TokenomyError(Exception):
    """Root of every error raised by tokenomy."""

    __str__ = Exception.__str__


class UnknownModelError(TokenomyError, KeyError):
    """No model, alias, fine-tune name or known prefix matches ``name``."""

    def __init__(self, name: str, close: Sequence[str] = ()) -> None:
        self.name, self.close = name, tuple(close)
        hint = f" Did you mean {' or '.join(map(repr, self.close))}?" if self.close else ""
        super().__init__(
            f"unknown model {name!r}.{hint} `tokenomy models` lists them; "
            "tokenomy.register_model() adds your own."
        )

    __str__ = Exception.__str__  # KeyError.__str__ would print the message inside quotes


class UnsupportedModelError(TokenomyError, ValueError):
    """The model exists but cannot do what was asked (no text tokenizer, wrong endpoint)."""

    def __init__(self, name: str, reason: str) -> None:
        self.name, self.reason = name, reason
        super().__init__(f"model {name!r}: {reason}")


class UnknownEndpointError(TokenomyError, KeyError):
    """No API path tokenomy knows matches ``path``."""

    def __init__(self, path: str, close: Sequence[str] = ()) -> None:
        self.path, self.close = path, tuple(close)
        hint = f" Did you mean {' or '.join(map(repr, self.close))}?" if self.close else ""
        super().__init__(f"unknown API path {path!r}.{hint} `tokenomy endpoints` lists them.")

    __str__ = Exception.__str__  # KeyError.__str__ would print the message inside quotes


class EndpointShutDownError(TokenomyError, ValueError):
    """The API path no longer accepts requests on the date asked about."""

    def __init__(self, path: str, shutdown_on: date, as_of: date, replacement: str | None) -> None:
        self.path, self.shutdown_on, self.as_of, self.replacement = path, shutdown_on, as_of, replacement
        instead = f"send it to {replacement} instead" if replacement else "it has no replacement endpoint"
        super().__init__(
            f"{path} was shut down on {shutdown_on.isoformat()} (as of {as_of.isoformat()}): {instead}. "
            "`tokenomy endpoints` lists each path's status."
        )


class ZeroRetentionError(TokenomyError, ValueError):
    """Zero data retention was required, but the request cannot be covered by it."""

    def __init__(self, path: str, reasons: Sequence[str]) -> None:
        self.path, self.reasons = path, tuple(reasons)
        super().__init__(
            f"zero data retention was required, but this request to {path} is not covered: "
            f"{'; '.join(self.reasons)}. Remove what is not covered, use an eligible endpoint, or "
            "drop require_zero_retention."
        )


class EncodingError(TokenomyError):
    """A tokenizer encoding could not be provided."""


class EncodingUnavailableError(EncodingError, FileNotFoundError):
    """The vocabulary file is neither in the local folder nor downloadable."""

    def __init__(self, encoding: str, files: Sequence[str], folder: str | None, cause: str) -> None:
        self.encoding, self.files, self.folder = encoding, tuple(files), folder
        where = f"in {folder}" if folder else "(no folder set)"
        super().__init__(
            f"encoding {encoding!r} is unavailable: {', '.join(self.files)} not found {where}, "
            f"and tiktoken's download failed ({cause}). Put {' and '.join(self.files)} in a folder "
            "and point TOKENOMY_ENCODINGS_DIR (or tokenomy.set_encodings_dir()) at it."
        )

    __str__ = Exception.__str__


class EncodingFileError(EncodingError, ValueError):
    """A vocabulary file does not have the SHA-256 tiktoken expects."""

    def __init__(self, path: str, expected: str, actual: str) -> None:
        self.path, self.expected, self.actual = path, expected, actual
        super().__init__(
            f"vocabulary file {path} has SHA-256 {actual}, expected {expected}: it is corrupt, "
            "truncated or another encoding's file. Replace it with the official file."
        )


class RegistryError(TokenomyError, ValueError):
    """A registry entry (built-in, user file or register_model) is malformed."""

    def __init__(self, entry: str, field: str, problem: str) -> None:
        self.entry, self.field, self.problem = entry, field, problem
        super().__init__(
            f"registry entry {entry!r}, field {field!r}: {problem}. Fix the entry; nothing of it was applied."
        )


class MessageFormatError(TokenomyError, ValueError):
    """A chat message, content part or tool definition does not have the API's shape."""

    def __init__(self, where: str, problem: str) -> None:
        self.where, self.problem = where, problem
        super().__init__(
            f"{where}: {problem}. Pass messages in the Chat Completions shape, e.g. "
            '{"role": "user", "content": "hi"}.'
        )


class ResultFormatError(TokenomyError, ValueError):
    """A moderation or embedding result handed back to tokenomy does not have the API's shape."""

    def __init__(self, where: str, problem: str) -> None:
        self.where, self.problem = where, problem
        super().__init__(
            f"{where}: {problem}. Pass the API's results as returned (dicts or SDK objects), one "
            "per chunk, in the plan's order."
        )


class ImageError(TokenomyError, ValueError):
    """An image's size cannot be read or is not a valid image."""


class BudgetError(TokenomyError, ValueError):
    """A budget that is negative, not a number, or impossible for the model."""


class BudgetExceededError(BudgetError):
    """Even the parts that must be kept do not fit in the budget (tokens, or USD as a Decimal)."""

    def __init__(self, needed: int | Decimal, limit: int | Decimal, what: str) -> None:
        self.needed, self.limit = needed, limit
        amounts = f"${needed} but the budget is ${limit}" if isinstance(needed, Decimal) else (
            f"{needed} tokens but the budget is {limit}")  # fmt: skip
        super().__init__(
            f"{what} needs {amounts}: shorten it, reserve less output, or choose a model with a "
            "larger context window."
        )


class PriceUnavailableError(TokenomyError, LookupError):
    """The registry has no price for this model and component."""

    def __init__(self, model: str, component: str) -> None:
        self.model, self.component = model, component
        super().__init__(
            f"no {component} price for model {model!r} in the registry. Add one with "
            "tokenomy.register_model(name, price={...}) or a user registry file."
        )
