"""Every error tokenomy raises, rooted at :class:`TokenomyError`.

::

    TokenomyError                    (never raised itself: catch it to catch them all)
    ├── UnknownModelError            (also KeyError)    no model matches: fix the name
    ├── UnknownEncodingError         (also KeyError)    no encoding matches: fix the name
    ├── UnknownEndpointError         (also KeyError)    no API path matches: fix the path
    ├── UnsupportedModelError        (also ValueError)  no text tokenizer, or the wrong endpoint
    ├── EndpointShutDownError        (also ValueError)  the path was shut down by that date
    ├── ZeroRetentionError           (also ValueError)  zero retention required, not available
    ├── EncodingError
    │   ├── EncodingUnavailableError (also FileNotFoundError)  a file missing from the folder
    │   └── EncodingFileError        (also ValueError)  a vocabulary file fails its SHA-256
    ├── RegistryError                (also ValueError)  a registry entry is malformed
    ├── MessageFormatError           (also ValueError)  a chat message or tool has the wrong shape
    ├── ResultFormatError            (also ValueError)  an API result handed back is malformed
    ├── InputFileError               (also OSError)     a file cannot be read, or is not what it should be
    ├── ImageError                   (also ValueError)  an image's size cannot be read
    ├── InvalidArgumentError         (also ValueError)  an argument's value is out of range or not a choice
    ├── BudgetError                  (also ValueError)  negative or impossible budgets
    │   └── BudgetExceededError      even the minimum does not fit
    ├── PriceUnavailableError        (also LookupError)
    └── DatasetError                 (also ValueError)  a dataset cannot be analysed as asked

Each class also subclasses the built-in exception callers already catch, keeps the facts as
attributes, and ends its message with what to do. An argument of the wrong Python type (a number
where a model name belongs) raises ``TypeError``, as Python's own functions do. Errors pickle with
their message and attributes, so one raised in a worker process reaches the caller unchanged.
"""

from __future__ import annotations

import reprlib
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any


def short(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to about ``limit`` characters: a message never holds a gigabyte string,
    and never fails on an integer too long for ``repr``.

    >>> short("x" * 1000, 12), short(10**5000)
    ("'xxx...xxxx'", '<an integer of 16610 bits>')
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 4 * limit:
        return f"<an integer of {value.bit_length()} bits>"  # repr() fails past 4,300 digits
    shown = reprlib.Repr()  # a few levels and items of a container: a shared or cyclic one stays cheap
    shown.maxlevel, shown.maxstring, shown.maxother = 3, limit, limit
    try:
        text = shown.repr(value)
    except (ValueError, RecursionError):
        return f"<a {type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


class TokenomyError(Exception):
    """Root of every error raised by tokenomy; only its subclasses are raised.

    >>> from tokenomy import count
    >>> try:
    ...     count("hello", model="gpt-4o-mni")
    ... except TokenomyError as error:  # whatever went wrong inside tokenomy
    ...     print(type(error).__name__)
    UnknownModelError
    """

    __str__ = Exception.__str__

    def __reduce__(self) -> tuple[Any, ...]:
        # the subclasses' __init__ take the facts, not the message: rebuild without calling it
        return _rebuild, (type(self), self.args, dict(self.__dict__))


def _rebuild(cls: type[TokenomyError], args: tuple[Any, ...], state: dict[str, Any]) -> TokenomyError:
    error = cls.__new__(cls)
    BaseException.__init__(error, *args)
    error.__dict__.update(state)
    return error


class UnknownModelError(TokenomyError, KeyError):
    """No model, alias, fine-tune name or known prefix matches ``name``.

    >>> from tokenomy import model_info
    >>> try:
    ...     model_info("gpt-4o-mni", as_of=date(2025, 1, 1))
    ... except KeyError as error:  # UnknownModelError is a KeyError too
    ...     print(error.name, "->", error.close[0])
    gpt-4o-mni -> gpt-4o-mini
    """

    def __init__(self, name: str, close: Sequence[str] = ()) -> None:
        self.name, self.close = name, tuple(close)
        hint = f" Did you mean {' or '.join(map(repr, self.close))}?" if self.close else ""
        super().__init__(
            f"unknown model {short(name)}.{hint} `tokenomy models` lists them; "
            "tokenomy.register_model() adds your own."
        )

    __str__ = Exception.__str__  # KeyError.__str__ would print the message inside quotes


class UnknownEncodingError(TokenomyError, KeyError):
    """No tokenizer encoding (``cl100k_base``, ``o200k_base``, ...) is named ``name``.

    >>> from tokenomy import Tokenizer
    >>> try:
    ...     Tokenizer("cl100k")
    ... except KeyError as error:  # UnknownEncodingError is a KeyError too
    ...     print(error.name, "->", error.close)
    cl100k -> ('cl100k_base',)
    """

    def __init__(self, name: str, close: Sequence[str] = (), known: Sequence[str] = ()) -> None:
        self.name, self.close, self.known = name, tuple(close), tuple(known)
        hint = f" Did you mean {' or '.join(map(repr, self.close))}?" if self.close else ""
        super().__init__(
            f"unknown encoding {short(name)}.{hint} Use one of {', '.join(self.known)}, "
            "or a model name (tokenomy.encoding_for)."
        )

    __str__ = Exception.__str__


class UnsupportedModelError(TokenomyError, ValueError):
    """The model exists but cannot do what was asked (no text tokenizer, wrong endpoint).

    >>> from tokenomy import check_request
    >>> try:
    ...     check_request("/v1/chat/completions", model="dall-e-3", as_of=date(2025, 1, 1))
    ... except ValueError as error:  # UnsupportedModelError is a ValueError too
    ...     print(error)
    model 'dall-e-3': is of kind 'image'; ... send it to /v1/images/generations instead
    """

    def __init__(self, name: str, reason: str) -> None:
        self.name, self.reason = name, reason
        super().__init__(f"model {name!r}: {reason}")


class UnknownEndpointError(TokenomyError, KeyError):
    """No API path tokenomy knows matches ``path``.

    >>> from tokenomy import endpoint_info
    >>> try:
    ...     endpoint_info("/v1/chat/complete", as_of=date(2025, 1, 1))
    ... except KeyError as error:  # UnknownEndpointError is a KeyError too
    ...     print(error.path, "->", error.close[0])
    /v1/chat/complete -> /v1/chat/completions
    """

    def __init__(self, path: str, close: Sequence[str] = ()) -> None:
        self.path, self.close = path, tuple(close)
        hint = f" Did you mean {' or '.join(map(repr, self.close))}?" if self.close else ""
        super().__init__(f"unknown API path {short(path)}.{hint} `tokenomy endpoints` lists them.")

    __str__ = Exception.__str__  # KeyError.__str__ would print the message inside quotes


class EndpointShutDownError(TokenomyError, ValueError):
    """The API path no longer accepts requests on the date asked about.

    >>> from tokenomy import check_request
    >>> try:
    ...     check_request("/v1/edits", as_of=date(2024, 6, 1))
    ... except ValueError as error:  # EndpointShutDownError is a ValueError too
    ...     print(error.shutdown_on, "->", error.replacement)
    2024-01-04 -> /v1/chat/completions
    """

    def __init__(self, path: str, shutdown_on: date, as_of: date, replacement: str | None) -> None:
        self.path, self.shutdown_on, self.as_of, self.replacement = path, shutdown_on, as_of, replacement
        instead = f"send it to {replacement} instead" if replacement else "it has no replacement endpoint"
        super().__init__(
            f"{path} was shut down on {shutdown_on.isoformat()} (as of {as_of.isoformat()}): {instead}. "
            "`tokenomy endpoints` lists each path's status."
        )


class ZeroRetentionError(TokenomyError, ValueError):
    """Zero data retention was required, but the request cannot be covered by it.

    >>> from tokenomy import check_request
    >>> try:
    ...     check_request("/v1/assistants", as_of=date(2025, 1, 1), require_zero_retention=True)
    ... except ValueError as error:  # ZeroRetentionError is a ValueError too
    ...     print(error.reasons[0])
    /v1/assistants is not eligible for zero data retention: data is kept until deleted ...
    """

    def __init__(self, path: str, reasons: Sequence[str]) -> None:
        self.path, self.reasons = path, tuple(reasons)
        super().__init__(
            f"zero data retention was required, but this request to {path} is not covered: "
            f"{'; '.join(self.reasons)}. Remove what is not covered, use an eligible endpoint, or "
            "drop require_zero_retention."
        )


class EncodingError(TokenomyError):
    """A tokenizer encoding could not be provided: a vocabulary file is missing or corrupt.

    >>> from tokenomy import set_encodings_dir
    >>> try:
    ...     set_encodings_dir("/no/such/folder")
    ... except EncodingError as error:  # EncodingUnavailableError or EncodingFileError
    ...     print(type(error).__name__, error.folder)
    EncodingUnavailableError /no/such/folder
    """


class EncodingUnavailableError(EncodingError, FileNotFoundError):
    """A vocabulary file is not in the folder tokenomy was told to read (nothing is downloaded).

    >>> import tempfile
    >>> from tokenomy import set_encodings_dir
    >>> from tokenomy.encodings import vocabulary
    >>> with tempfile.TemporaryDirectory() as empty:
    ...     set_encodings_dir(empty)  # the only place looked from now on
    ...     try:
    ...         vocabulary("r50k_base")  # what the first count with r50k_base reads
    ...     except FileNotFoundError as error:  # EncodingUnavailableError is one too
    ...         print(error.encoding, error.files)
    ...     finally:
    ...         set_encodings_dir(None)  # the default again
    r50k_base ('r50k_base.tiktoken',)
    """

    def __init__(self, encoding: str, files: Sequence[str], folder: str | None, cause: str,
                 *, bundled: bool = False) -> None:  # fmt: skip
        self.encoding, self.files, self.folder = encoding, tuple(files), folder
        if bundled:
            hint = ("The installation is incomplete: reinstall tokenomy, or point "
                    "TOKENOMY_ENCODINGS_DIR (or tokenomy.set_encodings_dir()) at a folder of the files.")
        else:
            hint = (f"Put {' and '.join(self.files)} there (copies ship with tokenomy), or unset "
                    "TOKENOMY_ENCODINGS_DIR (set_encodings_dir(None)) to use the bundled files.")
        super().__init__(f"encoding {encoding!r} is unavailable: {', '.join(self.files)} in {folder}: "
                         f"{cause}. {hint}")

    __str__ = Exception.__str__


class EncodingFileError(EncodingError, ValueError):
    """A vocabulary file does not have the SHA-256 tiktoken expects.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from tokenomy import set_encodings_dir
    >>> from tokenomy.encodings import vocabulary
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = Path(folder, "r50k_base.tiktoken").write_text("not a vocabulary")
    ...     set_encodings_dir(folder)
    ...     try:
    ...         vocabulary("r50k_base")  # what the first count with r50k_base reads
    ...     except ValueError as error:  # EncodingFileError is a ValueError too
    ...         print(Path(error.path).name, error.expected[:12])
    ...     finally:
    ...         set_encodings_dir(None)  # the default again
    r50k_base.tiktoken 306cd27f03c1
    """

    def __init__(self, path: str, expected: str, actual: str) -> None:
        self.path, self.expected, self.actual = path, expected, actual
        super().__init__(
            f"vocabulary file {path} has SHA-256 {actual}, expected {expected}: it is corrupt, "
            "truncated or another encoding's file. Replace it with the official file."
        )


class RegistryError(TokenomyError, ValueError):
    """A registry entry (built-in, user file or register_model), or a user registry file, is
    malformed. ``file`` is the file's path (``None`` for register_model); ``entry`` and ``field``
    are ``None`` when the whole file is at fault (missing, not TOML).

    >>> from tokenomy import register_model
    >>> try:
    ...     register_model("acme-gpt", based_on="gpt-4o-2024-08-06", context_window=-5)
    ... except ValueError as error:  # RegistryError is a ValueError too; nothing was registered
    ...     print(error.entry, error.field)
    acme-gpt context_window
    """

    def __init__(self, entry: str | None, field: str | None, problem: str, *,
                 file: str | None = None, setting: str = "TOKENOMY_REGISTRY") -> None:  # fmt: skip
        self.entry, self.field, self.problem, self.file = entry, field, problem, file
        where = [f"file {file}"] if file else []
        if entry is not None:
            where.append(f"entry {short(entry)}")
        if field is not None:
            where.append(f"field {short(field)}")
        fix = "Fix the entry; nothing of it was applied." if entry is not None else (
            f"Fix the file or unset {setting}; nothing of it was applied.")  # fmt: skip
        super().__init__(f"{', '.join(where) or 'registry'}: {problem}. {fix}")


class MessageFormatError(TokenomyError, ValueError):
    """A chat message, content part or tool definition does not have the API's shape.

    >>> from tokenomy import count_messages
    >>> try:
    ...     count_messages([{"content": "Hi"}], "gpt-4o-2024-08-06", as_of=date(2025, 1, 1))
    ... except ValueError as error:  # MessageFormatError is a ValueError too
    ...     print(error.where)
    messages[0].role
    """

    def __init__(self, where: str, problem: str) -> None:
        self.where, self.problem = where, problem
        super().__init__(
            f"{where}: {problem}. Pass messages in the Chat Completions shape, e.g. "
            '{"role": "user", "content": "hi"}.'
        )


class ResultFormatError(TokenomyError, ValueError):
    """A moderation or embedding result, or a ``usage``, handed back to tokenomy does not have
    the API's shape.

    >>> from tokenomy import merge_moderation
    >>> try:
    ...     merge_moderation([{"flagged": True}])
    ... except ValueError as error:  # ResultFormatError is a ValueError too
    ...     print(error.where, "|", error.problem)
    results[0] | a moderation result needs 'flagged', 'categories' and 'category_scores'
    """

    def __init__(self, where: str, problem: str) -> None:
        self.where, self.problem = where, problem
        super().__init__(
            f"{where}: {problem}. Pass the API's results as returned (dicts or SDK objects), one "
            "per chunk, in the plan's order."
        )


class InputFileError(TokenomyError, OSError):
    """A file given to tokenomy is missing, unreadable, not UTF-8 text, a truncated or corrupt
    compressed stream, or not what it should be. About the file as a whole, never about one line
    (a bad line of a dataset is a problem in its report).

    >>> from tokenomy import analyze
    >>> try:
    ...     analyze("no-such-file.jsonl")
    ... except OSError as error:  # InputFileError is an OSError too
    ...     print(error.filename, "|", error.problem)
    no-such-file.jsonl | no such file
    """

    def __init__(self, path: str, problem: str,
                 hint: str = "pass a readable UTF-8 file of the kind asked for") -> None:  # fmt: skip
        self.path, self.problem = str(path), problem
        super().__init__(f"cannot read {path}: {problem}; {hint}.")
        self.filename = self.path

    __str__ = Exception.__str__  # OSError.__str__ would print the arguments tuple and errno fields


class ImageError(TokenomyError, ValueError):
    """An image's size cannot be read or is not a valid image.

    >>> from tokenomy import count_image
    >>> try:
    ...     count_image(0, 512, model="gpt-4o-2024-08-06", as_of=date(2025, 1, 1))
    ... except ValueError as error:  # ImageError is a ValueError too
    ...     print(error)
    image width must be a positive whole number of pixels, not 0
    """


class InvalidArgumentError(TokenomyError, ValueError):
    """An argument has a usable type but a value tokenomy cannot take: out of range, not one of
    the choices, the wrong shape. ``argument`` names it, ``value`` is what was passed.

    >>> from tokenomy import truncate
    >>> try:
    ...     truncate("hello world", 1, model="gpt-4o", side="left")
    ... except ValueError as error:  # InvalidArgumentError is a ValueError too
    ...     print(error.argument, error.value, "|", error.expected)
    side left | one of 'end', 'start', 'middle'
    """

    def __init__(self, argument: str, value: object, expected: str) -> None:
        self.argument, self.value, self.expected = argument, value, expected
        super().__init__(f"{argument}={short(value)} cannot be used: pass {expected}.")


class BudgetError(TokenomyError, ValueError):
    """A budget that is negative, not a number, or impossible for the model.

    >>> from tokenomy import truncate
    >>> try:
    ...     truncate("hello world", -1, model="gpt-4o")
    ... except ValueError as error:  # BudgetError is a ValueError too
    ...     print(error)
    max_tokens must be a whole number of tokens >= 1, not -1
    """


class BudgetExceededError(BudgetError):
    """Even the parts that must be kept do not fit in the budget (tokens, or USD as a Decimal).

    >>> from tokenomy import Budget
    >>> budget = Budget("gpt-4-0613", as_of=date(2024, 1, 1))  # 8,192 tokens, 1,024 kept for output
    >>> system = {"role": "system", "content": "word " * 8000}  # always kept, like the last user message
    >>> try:
    ...     budget.fit([system, {"role": "user", "content": "Hi"}])
    ... except ValueError as error:  # BudgetExceededError is a BudgetError, so a ValueError too
    ...     print(error.needed, error.limit)
    8013 7168
    """

    def __init__(self, needed: int | Decimal, limit: int | Decimal, what: str) -> None:
        self.needed, self.limit = needed, limit
        amounts = f"${needed} but the budget is ${limit}" if isinstance(needed, Decimal) else (
            f"{short(needed)} tokens but the budget is {short(limit)}")  # fmt: skip
        super().__init__(
            f"{what} needs {amounts}: shorten it, reserve less output, or choose a model with a "
            "larger context window."
        )


class PriceUnavailableError(TokenomyError, LookupError):
    """The registry has no price for this model and component.

    >>> from tokenomy import estimate_cost
    >>> try:
    ...     estimate_cost("text-embedding-3-small", 1000, output_tokens=10, as_of=date(2025, 1, 1))
    ... except LookupError as error:  # PriceUnavailableError is a LookupError too
    ...     print(error.model, error.component)
    text-embedding-3-small output
    """

    def __init__(self, model: str, component: str) -> None:
        self.model, self.component = model, component
        super().__init__(
            f"no {component} price for model {model!r} in the registry. Add one with "
            "tokenomy.register_model(name, price={...}) or a user registry file."
        )


class DatasetError(TokenomyError, ValueError):
    """A dataset cannot be analysed as asked (an unknown kind, a limit that is not a whole number,
    a one-shot iterator read twice).

    >>> from tokenomy import analyze
    >>> try:
    ...     analyze([], kind="evals")
    ... except ValueError as error:  # DatasetError is a ValueError too
    ...     print(error)
    kind must be one of batch, fine-tune, chat, text, not 'evals'
    """
