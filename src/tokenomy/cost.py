"""What a request will cost: :func:`estimate_cost`, :func:`cost_from_usage`,
:func:`cost_of_request`, and fine-tuning. Non-token prices (images, speech, transcription) are
:mod:`tokenomy.unit_cost`'s, importable from here as before.

Amounts are ``Decimal`` USD computed from the registry's prices per 1M tokens on ``as_of``
(an alias's price follows its snapshot on that day). Cached input tokens are part of the prompt,
never added on top of it; reasoning tokens are part of the output, never added on top of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any, overload

from tokenomy._args import check_bool
from tokenomy._data import table
from tokenomy._deprecation import positional_options, renamed
from tokenomy._results import Picklable, frozen, get
from tokenomy.errors import (
    InvalidArgumentError,
    PriceUnavailableError,
    ResultFormatError,
    short,
)
from tokenomy.registry import ModelInfo, resolve
from tokenomy.report import html_table, text_table
from tokenomy.requests import RequestCount
from tokenomy.unit_cost import MILLION, MOST, UnitCost, image_cost, speech_cost, transcription_cost
from tokenomy.unit_cost import whole as _whole

__all__ = ["Cost", "UnitCost", "cost_from_usage", "cost_of_request", "default_epochs", "estimate_cost",
           "fine_tuning_cost", "image_cost", "request_usd", "speech_cost", "transcription_cost",
           "usage_usd"]  # fmt: skip


@dataclass(frozen=True)
class Cost(Picklable):
    """USD per component and in total (:attr:`usd`), with the token counts and prices behind them.

    ``input_usd`` prices the uncached part of ``input_tokens``, ``cached_input_usd`` the cached
    part; ``rates`` are the USD prices per 1M tokens used. ``output_is_bound`` marks an output
    figure taken from the request's ``max_tokens`` (an upper bound, not an estimate); ``exact`` is
    False when the token counts priced are not exact, and ``notes`` lists every assumption used.

    >>> cost = estimate_cost("gpt-4o-2024-08-06", 2_000, output_tokens=500, cached_input_tokens=1_000,
    ...                      as_of=date(2025, 1, 1))
    >>> cost.input_usd, cost.cached_input_usd, cost.output_usd, cost.usd
    (Decimal('0.0025'), Decimal('0.00125'), Decimal('0.005'), Decimal('0.00875'))
    >>> dict(cost.rates), cost.exact, cost.notes
    ({'input': Decimal('2.5'), 'cached_input': Decimal('1.25'), 'output': Decimal('10')}, True, ())
    """

    model: str
    snapshot: str
    input_usd: Decimal
    cached_input_usd: Decimal
    output_usd: Decimal
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    batch: bool = False
    reasoning_tokens: int = 0
    output_is_bound: bool = False
    exact: bool = True
    notes: tuple[str, ...] = ()
    rates: Mapping[str, Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rates", frozen(self.rates))

    @property
    def usd(self) -> Decimal:
        """What it costs in all: the sum of the components."""
        return self.input_usd + self.cached_input_usd + self.output_usd

    @property
    def total(self) -> Decimal:
        """Deprecated spelling of :attr:`usd`."""
        renamed("Cost", "total", "usd")
        return self.usd

    @property
    def input(self) -> Decimal:
        """Deprecated spelling of :attr:`input_usd`."""
        renamed("Cost", "input", "input_usd")
        return self.input_usd

    @property
    def cached_input(self) -> Decimal:
        """Deprecated spelling of :attr:`cached_input_usd`."""
        renamed("Cost", "cached_input", "cached_input_usd")
        return self.cached_input_usd

    @property
    def output(self) -> Decimal:
        """Deprecated spelling of :attr:`output_usd`."""
        renamed("Cost", "output", "output_usd")
        return self.output_usd

    @property
    def exact_tokens(self) -> bool:
        """Deprecated spelling of :attr:`exact`."""
        renamed("Cost", "exact_tokens", "exact")
        return self.exact

    def __str__(self) -> str:
        rows = [
            ["input (uncached)", self.input_tokens - self.cached_input_tokens, _usd(self.input_usd)],
            ["input (cached)", self.cached_input_tokens, _usd(self.cached_input_usd)],
            [
                "output" + (" (upper bound)" if self.output_is_bound else ""),
                self.output_tokens,
                _usd(self.output_usd),
            ],
            ["total", self.input_tokens + self.output_tokens, _usd(self.usd)],
        ]
        title = f"{self.model} ({self.snapshot}){' batch' if self.batch else ''}"
        return text_table(["", "tokens", "USD"], rows, title)

    def _repr_html_(self) -> str:
        rows = [
            ["input", str(self.input_usd)], ["cached_input", str(self.cached_input_usd)],
            ["output", str(self.output_usd)], ["total", str(self.usd)],
        ]  # fmt: skip
        return html_table(["component", "USD"], rows, f"{self.model} ({self.snapshot})")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (amounts as strings, to keep them exact). The keys ``input``,
        ``cached_input``, ``output``, ``total`` and ``exact_tokens`` repeat the ``*_usd``, ``usd``
        and ``exact`` values under their old names until the next release."""
        return {
            "model": self.model, "snapshot": self.snapshot, "batch": self.batch,
            "input_tokens": self.input_tokens, "cached_input_tokens": self.cached_input_tokens,
            "output_tokens": self.output_tokens, "reasoning_tokens": self.reasoning_tokens,
            "input_usd": str(self.input_usd), "cached_input_usd": str(self.cached_input_usd),
            "output_usd": str(self.output_usd), "usd": str(self.usd),
            "output_is_bound": self.output_is_bound, "exact": self.exact,
            "notes": list(self.notes), "rates_per_1m": {k: str(v) for k, v in self.rates.items()},
            # deprecated keys, for one release
            "input": str(self.input_usd), "cached_input": str(self.cached_input_usd),
            "output": str(self.output_usd), "total": str(self.usd), "exact_tokens": self.exact,
        }  # fmt: skip


def _usd(amount: Decimal) -> str:
    return f"${amount.normalize():f}" if amount else "$0"  # exact, no rounding for display


def _rate(info: ModelInfo, component: str, batch: bool, notes: list[str]) -> Decimal:
    """Price per 1M tokens for ``component`` ("input", "cached_input" or "output")."""
    base = _listed_rate(info, component, notes)
    if not batch:
        return base
    listed = getattr(info.price, f"batch_{component}", None)
    if listed is not None:
        return Decimal(listed)
    discount = Decimal(str(table("pricing")["batch"]["discount"]))
    notes.append(
        f"no batch {component.replace('_', ' ')} price: the documented {discount:.0%} discount applied"
    )
    return base * discount


@overload
def estimate_cost(model: str, input_tokens: int, *, output_tokens: int = 0, cached_input_tokens: int = 0,
                  batch: bool = False, as_of: date | None = None) -> Cost: ...
@overload  # deprecated: output and cached tokens given positionally (until the next release)
def estimate_cost(model: str, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0, *,
                  batch: bool = False, as_of: date | None = None) -> Cost: ...
def estimate_cost(
    model: str,
    input_tokens: int,
    *args: int,
    output_tokens: int = 0,
    cached_input_tokens: int = 0,
    batch: bool = False,
    as_of: date | None = None,
) -> Cost:  # fmt: skip
    """Price ``input_tokens`` (the whole prompt, cached part included) and ``output_tokens``.

    >>> cost = estimate_cost("gpt-4o", 1_000_000, output_tokens=1_000_000, as_of=date(2024, 6, 1))
    >>> cost.input_usd, cost.output_usd, cost.usd
    (Decimal('5'), Decimal('15'), Decimal('20'))
    >>> estimate_cost("gpt-4o", 1_000_000, cached_input_tokens=400_000, as_of=date(2025, 1, 1)).usd
    Decimal('2.00')
    """
    if args:
        moved = positional_options("estimate_cost", args, ("output_tokens", "cached_input_tokens"))
        output_tokens = moved.get("output_tokens", output_tokens)
        cached_input_tokens = moved.get("cached_input_tokens", cached_input_tokens)
    check_bool(batch, "batch")
    return _estimate(_resolve(model, as_of), model, input_tokens, output_tokens, cached_input_tokens, batch)


def _resolve(model: str, as_of: date | str | None) -> ModelInfo:
    return resolve(model, as_of)


def _estimate(info: ModelInfo, model: str, input_tokens: int, output_tokens: int, cached: int,
              batch: bool, **extra: Any) -> Cost:  # fmt: skip
    notes: list[str] = list(extra.pop("notes", ()))
    notes += list(info.assumptions)
    rates: dict[str, Decimal] = {}
    (input_tokens, cached, output_tokens), amounts = _amounts(
        info, input_tokens, output_tokens, cached, batch, notes, rates)  # fmt: skip
    return Cost(
        model=model, snapshot=info.snapshot, input_usd=amounts[0], cached_input_usd=amounts[1],
        output_usd=amounts[2], input_tokens=input_tokens, cached_input_tokens=cached,
        output_tokens=output_tokens, batch=batch, notes=tuple(dict.fromkeys(notes)), rates=rates, **extra,
    )  # fmt: skip


def _amounts(info: ModelInfo, input_tokens: int, output_tokens: int, cached: int, batch: bool,
             notes: list[str], rates: dict[str, Decimal]
             ) -> tuple[tuple[int, int, int], tuple[Decimal, Decimal, Decimal]]:  # fmt: skip
    """The checked counts (input, cached, output) and the USD of the uncached input, cached input
    and output; ``rates`` and ``notes`` receive the prices used and the assumptions made."""
    input_tokens = _whole(input_tokens, "input_tokens")
    output_tokens = _whole(output_tokens, "output_tokens")
    cached = _whole(cached, "cached_input_tokens")
    if cached > input_tokens:
        raise InvalidArgumentError("cached_input_tokens", cached,
            f"a number no larger than input_tokens ({input_tokens}): cached tokens are part of input_tokens, "
            "so pass the whole prompt as input_tokens")  # fmt: skip
    amounts = []
    for component, tokens in (("input", input_tokens - cached), ("cached_input", cached),
                              ("output", output_tokens)):  # fmt: skip
        if tokens == 0:
            amounts.append(Decimal(0))
            continue
        rates[component] = _rate(info, component, batch, notes)
        amounts.append(rates[component] * tokens / MILLION)
    return (input_tokens, cached, output_tokens), (amounts[0], amounts[1], amounts[2])


def _usd_of(info: ModelInfo, input_tokens: int, output_tokens: int, cached: int) -> Decimal:
    """``_estimate(...).usd`` (not batch), without the :class:`Cost`: a guard prices every request
    and response under ``max_cost_usd``, and needs only the amount. Counts already in order take
    a short way to the same sum; any other goes through :func:`_amounts`, which says what is wrong."""
    if (type(input_tokens) is not int or type(output_tokens) is not int or type(cached) is not int
            or not 0 <= cached <= input_tokens < MOST or not 0 <= output_tokens < MOST):  # fmt: skip
        _, (uncached_usd, cached_usd, output_usd) = _amounts(info, input_tokens, output_tokens, cached,
                                                             False, [], {})  # fmt: skip
        return uncached_usd + cached_usd + output_usd
    uncached = input_tokens - cached
    # the amounts _amounts gives, added in its order (a Decimal's digits depend on both)
    uncached_usd = _listed_rate(info, "input", None) * uncached / MILLION if uncached else _ZERO
    cached_usd = _listed_rate(info, "cached_input", None) * cached / MILLION if cached else _ZERO
    output_usd = _listed_rate(info, "output", None) * output_tokens / MILLION if output_tokens else _ZERO
    return uncached_usd + cached_usd + output_usd


def _listed_rate(info: ModelInfo, component: str, notes: list[str] | None) -> Decimal:
    """The listed price per 1M tokens for ``component`` (cached input without a price of its own
    at the input price, with a note in ``notes``); PriceUnavailableError when there is none."""
    price = info.price
    base: Decimal | None = getattr(price, component)
    if component == "cached_input" and base is None:
        if price.input is None:
            raise PriceUnavailableError(info.name, "input")
        if notes is not None:
            notes.append("no cached-input price: cached tokens priced at the input rate")
        base = price.input
    if base is None:
        raise PriceUnavailableError(info.name, component)
    return base


_ZERO = Decimal(0)


def cost_from_usage(model: str, usage: Any, *, batch: bool = False, as_of: date | None = None) -> Cost:
    """Price an API ``usage`` object or dict (Chat Completions or Responses field names).

    >>> usage = {"prompt_tokens": 2000, "completion_tokens": 500,
    ...          "prompt_tokens_details": {"cached_tokens": 1000},
    ...          "completion_tokens_details": {"reasoning_tokens": 300}}
    >>> cost_from_usage("gpt-4o-mini-2024-07-18", usage, as_of=date(2025, 1, 1)).usd
    Decimal('0.000525')
    """
    check_bool(batch, "batch")
    prompt, completion, cached, reasoning = _usage_tokens(usage)
    info = _resolve(model, as_of)
    # reasoning tokens are already inside completion_tokens: they are reported, not added
    return _estimate(info, model, prompt, completion, cached, batch, reasoning_tokens=reasoning)


def usage_usd(model: str, usage: Any, *, as_of: date | None = None) -> Decimal:
    """``cost_from_usage(model, usage, as_of=as_of).usd``, raising what it raises, without building
    the :class:`Cost` (a guard's running account prices each response as it ends).

    >>> usage = {"prompt_tokens": 2000, "completion_tokens": 500}
    >>> usage_usd("gpt-4o-mini-2024-07-18", usage, as_of=date(2025, 1, 1))
    Decimal('0.0006')
    """
    prompt, completion, cached, _ = _usage_tokens(usage)
    return _usd_of(_resolve(model, as_of), prompt, completion, cached)


def _usage_tokens(usage: Any) -> tuple[int, int, int, int]:
    """Prompt, output, cached and reasoning tokens of an API usage object, checked."""
    if type(usage) is dict:
        plain = _plain_usage_tokens(usage)
        if plain is not None:
            return plain
    chat = get(usage, "prompt_tokens") is not None
    names = ("prompt_tokens", "completion_tokens") if chat else ("input_tokens", "output_tokens")
    prompt = _usage_field(usage, names[0], required=True)
    completion = _usage_field(usage, names[1])
    details = get(usage, f"{names[0]}_details")
    cached = _usage_field(details, "cached_tokens", f"{names[0]}_details.") if details is not None else 0
    out_details = get(usage, f"{names[1]}_details")
    reasoning = (_usage_field(out_details, "reasoning_tokens", f"{names[1]}_details.")
                 if out_details is not None else 0)  # fmt: skip
    parts = {"cached_tokens": (cached, prompt, names[0]),
             "reasoning_tokens": (reasoning, completion, names[1])}  # fmt: skip
    for key, (part, whole, within) in parts.items():
        if part > whole:
            raise ResultFormatError(f"usage.{within}_details.{key}",
                                    f"{part} is more than {within} ({whole}), which includes it")  # fmt: skip
    return prompt, completion, cached, reasoning


# the usage fields of Chat Completions and of the Responses API: prompt, output and their details
_USAGE_NAMES = (
    ("prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details"),
    ("input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details"),
)
_NO_DETAILS: dict[str, Any] = {}


def _plain_usage_tokens(usage: dict[str, Any]) -> tuple[int, int, int, int] | None:
    """What :func:`_usage_tokens` gives for a usage dict, the way a response's JSON has it, in
    fewer steps; None when anything is missing or out of order (the checking way then says what)."""
    names = _USAGE_NAMES[usage.get("prompt_tokens") is None]
    prompt_name, output_name, prompt_details, output_details = names
    details, out_details = usage.get(prompt_details) or _NO_DETAILS, usage.get(output_details) or _NO_DETAILS
    if type(details) is not dict or type(out_details) is not dict:
        return None
    prompt, completion = usage.get(prompt_name), usage.get(output_name, 0)
    cached, reasoning = details.get("cached_tokens", 0), out_details.get("reasoning_tokens", 0)
    if completion is None or cached is None or reasoning is None:  # null: as good as absent
        return None
    if (type(prompt) is not int or type(completion) is not int or type(cached) is not int
            or type(reasoning) is not int or not 0 <= cached <= prompt < MOST
            or not 0 <= reasoning <= completion < MOST):  # fmt: skip
        return None
    return prompt, completion, cached, reasoning


def _usage_field(obj: Any, name: str, within: str = "", *, required: bool = False) -> int:
    """A token count from an API usage object: a whole number >= 0 (absent: 0, or an error)."""
    value = get(obj, name)
    if value is None:
        if required:
            raise ResultFormatError("usage", "has neither prompt_tokens nor input_tokens")
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MOST:
        raise ResultFormatError(f"usage.{within}{name}", f"{short(value)} is not a token count")
    return value


def cost_of_request(
    request: RequestCount,
    *,
    output_tokens: int | None = None,
    batch: bool = False,
) -> Cost:
    """Price a counted request (:func:`~tokenomy.count_request`): its prompt, and ``output_tokens``
    if given, else the request's own output cap (``max_tokens`` and friends, times ``n``) as an
    upper bound (``output_is_bound``), else no output, with a note.

    >>> from tokenomy.requests import count_request
    >>> body = {"model": "gpt-4o-2024-08-06", "max_tokens": 100,
    ...         "messages": [{"role": "user", "content": "Say hi"}]}
    >>> cost = cost_of_request(count_request(body, as_of=date(2025, 1, 1)))
    >>> cost.input_tokens, cost.output_tokens, cost.output_is_bound
    (9, 100, True)
    """
    if not isinstance(request, RequestCount):
        raise TypeError(
            f"cost_of_request prices a RequestCount (from count_request), not a {type(request).__name__}"
        )
    check_bool(batch, "batch")
    info = _resolve(request.model, request.as_of)
    notes = list(request.notes)
    endpoint, free = _kind(request)
    if free and endpoint is not None:
        notes.append(f"{request.endpoint} requests are free ({table('endpoints')[endpoint]['source']})")
        return Cost(
            model=request.model, snapshot=request.snapshot, input_usd=Decimal(0),
            cached_input_usd=Decimal(0), output_usd=Decimal(0), input_tokens=request.tokens,
            cached_input_tokens=0, output_tokens=0, batch=batch, exact=request.exact, notes=tuple(notes),
        )  # fmt: skip
    bound = False
    if output_tokens is None:
        if request.max_output_tokens is not None:
            output_tokens, bound = request.max_output_tokens, True
        else:
            output_tokens = 0
            if endpoint in ("chat", "responses", "completions"):
                notes.append("no output tokens given and no output cap in the request: output priced at 0")
    return _estimate(info, request.model, request.tokens, output_tokens, 0, batch, notes=notes,
                     output_is_bound=bound, exact=request.exact)  # fmt: skip


def request_usd(request: RequestCount, *, output_tokens: int) -> Decimal:
    """``cost_of_request(request, output_tokens=output_tokens).usd``, raising what it raises,
    without building the :class:`Cost` (a guard prices each request's worst case before sending).

    >>> from tokenomy.requests import count_request
    >>> body = {"model": "gpt-4o-2024-08-06", "messages": [{"role": "user", "content": "Say hi"}]}
    >>> request_usd(count_request(body, as_of=date(2025, 1, 1)), output_tokens=100)
    Decimal('0.0010225')
    """
    info = _resolve(request.model, request.as_of)
    if _free(request.endpoint):
        return Decimal(0)
    return _usd_of(info, request.tokens, output_tokens, 0)


def _kind(request: RequestCount) -> tuple[str | None, bool]:
    """The request's endpoint kind, and whether its requests are free (``data/endpoints.toml``)."""
    kind: str | None = table("endpoints")["request_counting"].get(request.endpoint)
    return kind, _free(request.endpoint)


@lru_cache(maxsize=64)  # a handful of endpoints
def _free(endpoint: str) -> bool:
    """Whether requests to ``endpoint`` are free (``data/endpoints.toml``)."""
    kind: str = table("endpoints")["request_counting"].get(endpoint) or ""
    return bool(table("endpoints").get(kind, {}).get("free", False))


def default_epochs(examples: int) -> int:
    """Epochs a fine-tuning job runs by default for ``examples`` training examples.

    >>> default_epochs(10), default_epochs(1000), default_epochs(20000)
    (10, 3, 1)
    """
    rules = table("finetuning")["epochs"]
    count = _whole(examples, "examples")
    if count == 0:
        return int(rules["target"])
    if count * rules["target"] < rules["min_target_examples"]:
        return int(min(rules["max_epochs"], rules["min_target_examples"] // count))
    if count * rules["target"] > rules["max_target_examples"]:
        return int(max(rules["min_epochs"], rules["max_target_examples"] // count))
    return int(rules["target"])


def fine_tuning_cost(model: str, billed_tokens: int, *, epochs: int, as_of: date | None = None) -> Cost:
    """Training cost: billed tokens (each example capped) times epochs at the training rate.

    >>> fine_tuning_cost("gpt-4o-mini-2024-07-18", 100_000, epochs=3, as_of=date(2025, 1, 1)).usd
    Decimal('0.9')
    """
    info = _resolve(model, as_of)
    tokens = _whole(billed_tokens, "billed_tokens") * _whole(epochs, "epochs")
    rate = info.price.ft_training
    if rate is None:
        raise PriceUnavailableError(model, "fine-tuning training")
    return Cost(
        model=model, snapshot=info.snapshot, input_usd=rate * tokens / MILLION, cached_input_usd=Decimal(0),
        output_usd=Decimal(0), input_tokens=tokens, cached_input_tokens=0, output_tokens=0,
        notes=(f"{billed_tokens} billed tokens x {epochs} epochs at the training rate",),
        rates={"ft_training": rate},
    )  # fmt: skip
