"""Pre-flight checks where requests are made: :class:`Guard` wraps an OpenAI SDK client.

``Guard(...).wrap(client)`` returns a copy of an ``OpenAI``, ``AsyncOpenAI``, ``AzureOpenAI`` or
``AsyncAzureOpenAI`` client (``client.with_options(http_client=...)``) whose HTTP client passes
each request through the guard's transport, then on to the original client's own connection
pool, proxies and settings. The SDK itself is not patched, and the original client is unchanged.

Each JSON body sent to a path :func:`~tokenomy.count_request` knows (chat completions, responses,
embeddings, completions, moderations) is counted before it is sent. Over the context window,
``max_prompt_tokens`` or ``max_cost_usd``, the guard raises :class:`RequestOverBudgetError` (a
:class:`~tokenomy.BudgetExceededError`) before a byte leaves the process, warns and sends
(``on_exceed="warn"``), or sends the body a callable fits. Responses, streamed ones included,
are read as they pass for their ``usage``: :attr:`Guard.ledger` compares predicted and billed
tokens and prices them.

The guard's errors are also ``openai.OpenAIError``: from openai 2.31 on, the SDK re-raises those
from its HTTP client unchanged, where it would retry any other exception and wrap it in
``APIConnectionError``. This module imports the SDK; ``import tokenomy`` never does.
"""

from __future__ import annotations

import json
import re
import sys
import warnings
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, TypeAlias, TypeVar, cast

import openai

from tokenomy._accounts import Accounts, Ticket
from tokenomy._data import table
from tokenomy._exchanges import Exchanges
from tokenomy._forwarding import forwarding_client, http_library
from tokenomy.cost import request_usd
from tokenomy.errors import BudgetError, BudgetExceededError, TokenomyError
from tokenomy.ledger import Ledger, LedgerEntry, LedgerTotals, UsageRecord
from tokenomy.registry import ModelInfo, day_of, on_registry_change, resolve
from tokenomy.requests import RequestCount, count_request

__all__ = ["BudgetWarning", "Guard", "Ledger", "LedgerEntry", "LedgerTotals", "RequestOverBudgetError",
           "UsageRecord"]  # fmt: skip

if tuple(int(part) for part in re.findall(r"\d+", openai.__version__)[:2]) < (2, 31):
    raise ImportError(f"tokenomy.openai needs openai>=2.31 (found {openai.__version__}): earlier releases "
                      "retry an error raised before sending and wrap it in APIConnectionError. "
                      'pip install "tokenomy[openai]"')  # fmt: skip

_ClientT = TypeVar("_ClientT", bound="openai.OpenAI | openai.AsyncOpenAI")
# "raise", "warn", or (body, error) -> a body to send instead, or None to raise
OnExceed: TypeAlias = "str | Callable[[dict[str, Any], BudgetExceededError], Mapping[str, Any] | None]"


class RequestOverBudgetError(BudgetExceededError, openai.OpenAIError):
    """A request the guard refused before sending it.

    ``limit_name`` says which limit (``"context_window"``, ``"max_prompt_tokens"``,
    ``"max_cost_usd"`` or ``"request_tokens"``); ``needed`` and ``limit`` are tokens, or USD as
    ``Decimal`` for ``max_cost_usd``; ``count`` is the body's :class:`~tokenomy.RequestCount`.
    """

    def __init__(self, needed: int | Decimal, limit: int | Decimal, limit_name: str, message: str,
                 count: RequestCount, body: Mapping[str, Any]) -> None:  # fmt: skip
        BudgetError.__init__(self, message)
        self.needed, self.limit, self.limit_name = needed, limit, limit_name
        self.count, self.body = count, body
        self.model, self.endpoint = count.model, count.endpoint


class BudgetWarning(UserWarning):
    """A request over a limit was sent anyway (``on_exceed="warn"``); :meth:`Guard.check` raises
    what a wrapped client would warn of:

    >>> import warnings
    >>> guard = Guard(max_prompt_tokens=5, on_exceed="warn", as_of=date(2025, 1, 1))
    >>> body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello there"}]}
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     try:
    ...         guard.check(body)
    ...     except RequestOverBudgetError as error:
    ...         warnings.warn(str(error), BudgetWarning)
    ...         refused = error
    >>> caught[0].category.__name__, refused.limit_name, refused.needed, refused.limit
    ('BudgetWarning', 'max_prompt_tokens', 9, 5)
    """


_reclassed: dict[type[TokenomyError], type[TokenomyError]] = {}


def _passthrough(error: TokenomyError) -> TokenomyError:
    """``error``, made an ``openai.OpenAIError`` too, so the SDK re-raises it unchanged."""
    if not isinstance(error, openai.OpenAIError):
        cls = type(error)
        both = _reclassed.get(cls)
        if both is None:
            made = type(cls.__name__, (cls, openai.OpenAIError),
                        {"__module__": cls.__module__, "__doc__": cls.__doc__})  # fmt: skip
            both = _reclassed.setdefault(cls, cast("type[TokenomyError]", made))
        error.__class__ = both
    return error


class Guard:
    """Token and cost limits checked on every request a wrapped OpenAI client makes.

    ``reserve_output`` is the output a request without ``max_tokens`` (``max_completion_tokens``,
    ``max_output_tokens``) must leave room for; by default the model's output cap, or nothing when
    that cap is not below the window (the output then shares it). ``max_cost_usd`` bounds the
    running cost: billed costs so far, plus the worst case of every request in flight, plus this
    request's worst case (its prompt at the input price and its most possible output).
    ``on_exceed`` is ``"raise"``, ``"warn"`` or a callable ``(body, error)`` returning a body to
    send instead (checked again) or None to raise. The ledger keeps the latest ``ledger_entries``
    exchanges, with no more than 16 MiB of their request bodies (None: every one, for a guard
    that does not live long), and sums the earlier ones into its totals, so a guard serving for
    weeks holds a bounded ledger. :meth:`check` runs the same pre-flight on one body without
    sending it:

    >>> guard = Guard(max_prompt_tokens=10, as_of=date(2025, 1, 1))
    >>> guard.check({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}).tokens
    8
    >>> guard.check({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi " * 20}]})
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tokenomy.openai.RequestOverBudgetError: gpt-4o request to /v1/chat/completions: 28 prompt tokens, ...
    """

    def __init__(
        self,
        *,
        max_prompt_tokens: int | None = None,
        max_cost_usd: Decimal | float | int | str | None = None,
        reserve_output: int | None = None,
        on_exceed: OnExceed = "raise",
        as_of: date | str | None = None,
        ledger_entries: int | None = 10_000,
    ) -> None:
        for name, value in (("max_prompt_tokens", max_prompt_tokens), ("reserve_output", reserve_output),
                            ("ledger_entries", ledger_entries)):  # fmt: skip
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise BudgetError(f"{name} must be a whole number >= 0 or None, not {value!r}")
        if on_exceed not in ("raise", "warn") and not callable(on_exceed):
            raise BudgetError(f"on_exceed must be 'raise', 'warn' or a callable, not {on_exceed!r}")
        self.max_prompt_tokens, self.reserve_output = max_prompt_tokens, reserve_output
        self.on_exceed = on_exceed
        self._accounts = Accounts(None if max_cost_usd is None else _usd(max_cost_usd),
                                  None if as_of is None else day_of(as_of), ledger_entries)  # fmt: skip
        self._exchanges = Exchanges(self._admit, self._accounts)

    def __repr__(self) -> str:
        return (f"Guard(max_prompt_tokens={self.max_prompt_tokens}, max_cost_usd={self.max_cost_usd}, "
                f"reserve_output={self.reserve_output}, on_exceed={self.on_exceed!r}, "
                f"as_of={self.as_of}, ledger_entries={self._accounts.keep})")  # fmt: skip

    def wrap(self, client: _ClientT) -> _ClientT:
        """A copy of ``client`` whose every request passes through this guard first.

        The copy shares the original's connection pool, proxies, hooks and cookies; closing it
        leaves them to the original. Nothing is sent when a request is refused:

        >>> from openai import OpenAI
        >>> guard = Guard(max_prompt_tokens=5, as_of=date(2025, 1, 1))
        >>> client = guard.wrap(OpenAI(api_key="sk-none", base_url="http://127.0.0.1:9/v1"))
        >>> client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hello"}])
        ... # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        tokenomy.openai.RequestOverBudgetError: gpt-4o request to /v1/chat/completions: 8 prompt tokens, ...
        """
        inner: Any = getattr(client, "_client", None)
        if http_library(inner) is None or not callable(getattr(client, "with_options", None)):
            raise TypeError("Guard.wrap takes an OpenAI, AsyncOpenAI, AzureOpenAI or AsyncAzureOpenAI "
                            f"client (openai>=2.31), not {type(client).__name__}")  # fmt: skip
        hooks, accounts = self._exchanges, self._accounts
        outer = forwarding_client(inner, hooks.prepare, hooks.observe, accounts.release)
        return cast("_ClientT", client.with_options(http_client=outer))

    @property
    def max_cost_usd(self) -> Decimal | None:
        """The cost limit in USD (None: none); the running account keeps it."""
        return self._accounts.limit

    @max_cost_usd.setter
    def max_cost_usd(self, value: Decimal | float | int | str | None) -> None:
        self._accounts.limit = None if value is None else _usd(value)

    @property
    def as_of(self) -> date | None:
        """The day counts and prices are taken on (None: each request's own day)."""
        return self._accounts.as_of

    @as_of.setter
    def as_of(self, value: date | str | None) -> None:
        self._accounts.as_of = None if value is None else day_of(value)

    @property
    def ledger(self) -> Ledger:
        """Every request counted and answered so far (a snapshot): the latest ``ledger_entries``, the
        earlier ones summed in :attr:`Ledger.earlier` (its totals cover all)."""
        return self._accounts.ledger()

    @property
    def spent(self) -> Decimal:
        """USD billed so far, counting the worst case of responses that reported no usage."""
        return self._accounts.spent

    @property
    def reserved(self) -> Decimal:
        """USD held for the worst case of requests in flight."""
        return self._accounts.reserved

    def check(self, body: Mapping[str, Any], *, endpoint: str = "/v1/chat/completions"
              ) -> RequestCount:  # fmt: skip
        """The pre-flight :meth:`wrap` runs, on one body: its count, or
        :class:`RequestOverBudgetError` whatever ``on_exceed`` says; nothing is sent or reserved."""
        count, worst, error = self._assess(dict(body), endpoint)
        if error is None and worst is not None and self.max_cost_usd is not None:
            running = self.spent + self.reserved
            if running + worst > self.max_cost_usd:
                error = self._cost_error(count, worst, running, body)
        if error is not None:
            raise error
        return count

    # -- before sending --------------------------------------------------------------------

    def _assess(self, body: dict[str, Any], path: str
                ) -> tuple[RequestCount, Decimal | None, RequestOverBudgetError | None]:  # fmt: skip
        """Count ``body``; the first token limit it breaks; its worst-case cost (with max_cost_usd)."""
        accounts = self._accounts
        count = count_request(body, endpoint=path, as_of=accounts.as_of)
        info, kind, rules, cap_fields = _endpoint_rules(count.model, count.as_of, count.endpoint)
        window, error, output, limit = info.context_window, None, 0, accounts.limit
        if not rules.get("output", True):  # input only: each input within the window
            largest = max(count.messages, default=0)
            most = table("endpoints").get(kind, {}).get("max_request_tokens")
            if window is not None and largest > window:
                i = count.messages.index(largest)
                error = RequestOverBudgetError(largest, window, "context_window",
                    f"{_what(count)}: input {i} has {largest:,} tokens{_estimated(count)}, over the model's "
                    f"{window:,}-token input limit. Nothing was sent: split it (tokenomy.embedding_chunks).",
                    count, body)  # fmt: skip
            elif most is not None and count.tokens > most:
                error = RequestOverBudgetError(count.tokens, most, "request_tokens",
                    f"{_what(count)}: {count.tokens:,} tokens{_estimated(count)}, over the {most:,}-token "
                    "limit per request. Nothing was sent: send the inputs in smaller batches.",
                    count, body)  # fmt: skip
        else:
            cap = None
            for field in cap_fields:
                cap = body.get(field)
                if cap is not None:
                    break
            cap = cap if isinstance(cap, int) else None  # count_request has checked the field
            requested = cap if cap is not None else self._reserve(info)
            per_prompt = rules.get("per_prompt", False)  # a list of prompts, each answered alone
            prompt = max(count.messages, default=0) if per_prompt else count.tokens
            if window is not None and prompt + requested > window:
                said = "requested" if cap is not None else "reserved"
                error = RequestOverBudgetError(prompt + requested, window, "context_window",
                    f"{_what(count)}: {prompt:,} prompt tokens{_estimated(count)} + {requested:,} output "
                    f"tokens {said} = {prompt + requested:,}, over the {window:,}-token context window. "
                    "Nothing was sent: set a smaller max_tokens, shorten the prompt (tokenomy.Budget.fit), "
                    "or choose a model with a larger window.", count, body)  # fmt: skip
            if limit is not None:
                room = None if window is None else max(0, window - prompt)
                bounds = [b for b in (cap, info.max_output_tokens, room) if b is not None]
                prompts = len(count.messages) if per_prompt else 1
                choices = _choices(body, rules.get("choices"))
                output = min(bounds) * choices * max(prompts, 1) if bounds else -1
        if error is None and self.max_prompt_tokens is not None and count.tokens > self.max_prompt_tokens:
            error = RequestOverBudgetError(count.tokens, self.max_prompt_tokens, "max_prompt_tokens",
                f"{_what(count)}: {count.tokens:,} prompt tokens{_estimated(count)}, over max_prompt_tokens="
                f"{self.max_prompt_tokens:,}. Nothing was sent: shorten the prompt (tokenomy.Budget.fit) "
                "or raise max_prompt_tokens.", count, body)  # fmt: skip
        if limit is None or error is not None:
            return count, None, error
        if output < 0:
            raise BudgetError(f"{_what(count)}: the registry knows no window or output cap for "
                              f"{count.model}, so its worst-case cost is unbounded: set max_tokens in the "
                              "request")  # fmt: skip
        return count, request_usd(count, output_tokens=output), error

    def _reserve(self, info: ModelInfo) -> int:
        if self.reserve_output is not None:
            return self.reserve_output
        cap, window = info.max_output_tokens, info.context_window
        return cap if cap is not None and window is not None and cap < window else 0

    def _cost_error(self, count: RequestCount, worst: Decimal, running: Decimal,
                    body: Mapping[str, Any]) -> RequestOverBudgetError:  # fmt: skip
        assert self.max_cost_usd is not None
        return RequestOverBudgetError(running + worst, self.max_cost_usd, "max_cost_usd",
            f"{count.model} request to {count.endpoint}: worst case ${worst} on top of ${running} spent "
            f"or reserved = ${running + worst}, over max_cost_usd=${self.max_cost_usd}. Nothing was "
            "sent: set a smaller max_tokens, shorten the prompt, or raise max_cost_usd.",
            count, body)  # fmt: skip

    def _admit(self, body: dict[str, Any], content: bytes, path: str) -> Ticket:
        """Check ``body`` (``content`` is its JSON), act on ``on_exceed``, reserve its worst case;
        the ticket of what to send (a ticket whose content is not ``content`` says: send this)."""
        fitted, accounts = False, self._accounts
        while True:
            try:
                count, worst, error = self._assess(body, path)
            except TokenomyError as exc:
                if self.on_exceed != "warn":
                    raise _passthrough(exc) from None
                warnings.warn(f"sent uncounted: {exc}", BudgetWarning, stacklevel=_stacklevel())
                return Ticket(path, content, str(body.get("model", "")), None, None, False,
                              (f"not counted: {exc}",))  # fmt: skip
            reserved = False
            if error is None and worst is not None:
                running = accounts.reserve(worst)
                reserved = running is None
                if running is not None:
                    error = self._cost_error(count, worst, running, body)
            if error is None:
                return Ticket(path, content, count.model, count, worst, reserved)
            if self.on_exceed == "warn":
                warnings.warn(str(error), BudgetWarning, stacklevel=_stacklevel())
                if worst is not None:
                    accounts.hold(worst)
                return Ticket(path, content, count.model, count, worst, worst is not None,
                              (f"sent over budget: {error}",))  # fmt: skip
            if fitted or not callable(self.on_exceed):
                raise error
            replacement = self.on_exceed(dict(body), error)
            if replacement is None:
                raise error
            if not isinstance(replacement, Mapping):
                raise _passthrough(BudgetError(f"on_exceed returned a {type(replacement).__name__}; "
                                               "return a request body (a dict) or None"))  # fmt: skip
            body, fitted = dict(replacement), True
            try:
                content = json.dumps(body, ensure_ascii=False, separators=_COMPACT, allow_nan=False).encode()
            except (TypeError, ValueError) as exc:
                problem = f"on_exceed returned a body that is not JSON ({exc}); return plain dicts and lists"
                raise _passthrough(BudgetError(problem)) from None


def _usd(value: Decimal | float | int | str) -> Decimal:
    try:
        amount = Decimal(str(value)) if not isinstance(value, bool) else Decimal("NaN")
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount < 0:
        raise BudgetError(f"max_cost_usd must be a finite amount >= 0, not {value!r}")
    return amount


@lru_cache(maxsize=1024)  # a client sends a few models to a few endpoints
def _endpoint_rules(model: str, as_of: date | None, endpoint: str
                    ) -> tuple[ModelInfo, str, Mapping[str, Any], tuple[str, ...]]:  # fmt: skip
    """A counted request's model facts, endpoint kind, ``[request_output]`` rules and output cap
    fields (``data/endpoints.toml``)."""
    kind = table("endpoints")["request_counting"][endpoint]
    fields = tuple(table("endpoints")["output_cap_fields"].get(kind, ()))
    return resolve(model, as_of, warn=False), kind, table("endpoints")["request_output"][kind], fields


on_registry_change(_endpoint_rules.cache_clear)


def _what(count: RequestCount) -> str:
    return f"{count.model} request to {count.endpoint}"


def _estimated(count: RequestCount) -> str:
    return "" if count.exact else " (an estimate)"


def _choices(body: Mapping[str, Any], field: str | None) -> int:
    """How many answers the body asks for in ``field`` (None: the endpoint gives one)."""
    n = body.get(field, 1) if field is not None else 1
    return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1


_COMPACT = (",", ":")  # JSON separators of a replaced body, as the SDK writes its own
_SKIPPED_FRAMES = ("tokenomy.", "openai.", "httpx", "httpcore", "anyio.", "asyncio.", "contextlib")


def _stacklevel() -> int:
    """warnings.warn stacklevel of the first frame outside tokenomy, the SDK and httpx."""
    frame, level = sys._getframe(1), 1
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith(_SKIPPED_FRAMES):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level
