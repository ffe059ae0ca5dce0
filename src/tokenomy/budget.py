"""Does a request fit its model, and how to make it fit: :class:`Budget`.

The usable prompt budget is the context window minus the tokens reserved for the answer. The
default reservation is the smaller of the model's output cap and 1,024 tokens (never the whole
cap: gpt-4's cap equals its 8,192-token window); ``reserve_output=0`` checks the prompt alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, overload

from tokenomy._args import check_choice
from tokenomy._deprecation import positional_options, renamed
from tokenomy._results import Picklable, frozen, plain
from tokenomy.errors import BudgetError, BudgetExceededError, InvalidArgumentError, short
from tokenomy.registry import resolve
from tokenomy.report import html_table, text_table
from tokenomy.requests import RequestCount, count_messages
from tokenomy.tokenizer import encoding_for
from tokenomy.truncation import Truncation, nothing_kept, truncate

DEFAULT_RESERVE = 1024
STRATEGIES = ("drop_oldest", "truncate_longest", "drop_middle")


@dataclass(frozen=True)
class BudgetReport:
    """Prompt tokens against the budget, with a per-message breakdown; ``exact`` and ``notes`` as
    :class:`~tokenomy.RequestCount` gives them for the count.

    >>> budget = Budget("gpt-4o-2024-08-06", as_of=date(2025, 1, 1))
    >>> report = budget.check([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])
    >>> report.per_message, report.prompt_tokens, report.fits
    ((7, 5), 15, True)
    >>> report.limit == report.context_window - report.reserve_output, report.remaining, report.overflow
    (True, 126961, 0)
    """

    model: str
    snapshot: str
    prompt_tokens: int
    limit: int
    context_window: int
    reserve_output: int
    per_message: tuple[int, ...]
    exact: bool
    notes: tuple[str, ...] = ()

    @property
    def reasons(self) -> tuple[str, ...]:
        """Deprecated spelling of :attr:`notes`."""
        renamed("BudgetReport", "reasons", "notes")
        return self.notes

    @property
    def remaining(self) -> int:
        """Tokens still free (negative when over)."""
        return self.limit - self.prompt_tokens

    @property
    def fits(self) -> bool:
        """True if the prompt fits within the limit."""
        return self.prompt_tokens <= self.limit

    @property
    def overflow(self) -> int:
        """Tokens over the limit (0 when it fits)."""
        return max(0, -self.remaining)

    def _rows(self) -> list[list[object]]:
        rows: list[list[object]] = [[f"message {i}", n] for i, n in enumerate(self.per_message)]
        rows += [
            ["prompt tokens" + ("" if self.exact else " (estimate)"), self.prompt_tokens],
            ["limit (window - reserved output)", self.limit],
            ["remaining", self.remaining],
            ["fits", self.fits],
        ]
        return rows

    def __str__(self) -> str:
        title = f"{self.model} ({self.snapshot}): window {self.context_window:,}, "
        title += f"{self.reserve_output:,} reserved for output"
        return text_table(["", "tokens"], self._rows(), title)

    def _repr_html_(self) -> str:
        title = f"{self.model} ({self.snapshot})"
        return html_table(["", "tokens"], self._rows(), title)

    def to_dict(self) -> dict[str, Any]:
        """Plain data, for JSON; ``reasons`` repeats ``notes`` until the next release."""
        return {
            "model": self.model, "snapshot": self.snapshot, "prompt_tokens": self.prompt_tokens,
            "limit": self.limit, "context_window": self.context_window,
            "reserve_output": self.reserve_output, "remaining": self.remaining, "fits": self.fits,
            "overflow": self.overflow, "per_message": list(self.per_message), "exact": self.exact,
            "notes": list(self.notes), "reasons": list(self.notes),
        }  # fmt: skip


@dataclass(frozen=True)
class FitResult:
    """A fitted message list and a record of everything that was dropped or shortened.

    ``messages`` is what to send; ``dropped`` holds ``(index, message)`` and ``truncated``
    ``(index, Truncation)`` pairs, indices into the messages given to :meth:`Budget.fit`.

    >>> budget = Budget("gpt-4-0613", as_of=date(2024, 1, 1))  # 8,192 tokens, 1,024 kept for output
    >>> history = [{"role": "system", "content": "Be brief."},
    ...            {"role": "user", "content": "Summarise: " + "word " * 8000},
    ...            {"role": "assistant", "content": "Done."},
    ...            {"role": "user", "content": "Now in French?"}]
    >>> result = budget.fit(history)
    >>> [index for index, _ in result.dropped], [m["content"] for m in result.messages]
    ([1], ['Be brief.', 'Done.', 'Now in French?'])
    >>> result.report.fits, result.truncated
    (True, ())
    """

    messages: tuple[Any, ...]
    report: BudgetReport
    dropped: tuple[tuple[int, Any], ...] = ()
    truncated: tuple[tuple[int, Truncation], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (messages that are SDK objects as their dicts)."""
        return {
            "messages": plain(self.messages), "report": self.report.to_dict(),
            "dropped": [{"index": i, "message": plain(m)} for i, m in self.dropped],
            "truncated": [{"index": i, "truncation": t.to_dict()} for i, t in self.truncated],
        }  # fmt: skip


@dataclass(frozen=True)
class Section:
    """A named part of a prompt for :meth:`Budget.allocate`; higher ``priority`` is kept longer."""

    name: str
    text: str
    priority: int = 0
    min_tokens: int = 0
    max_tokens: int | None = None


@dataclass(frozen=True)
class Allocation(Picklable):
    """Tokens given to each section, their texts, and what each lost (read-only mappings by
    section name).

    >>> budget = Budget("gpt-4o-2024-08-06", as_of=date(2025, 1, 1))
    >>> plan = budget.allocate([Section("question", "What is BPE?", priority=9),
    ...                         Section("docs", "Byte pair encoding merges pairs. " * 40, max_tokens=20)])
    >>> dict(plan.tokens), plan.total_tokens, list(plan.truncations)
    ({'question': 5, 'docs': 20}, 25, ['docs'])
    >>> plan.texts["docs"][-16:], plan.truncations["docs"].dropped_tokens
    ('pairs. Byte pair', 221)
    """

    tokens: Mapping[str, int]
    texts: Mapping[str, str]
    truncations: Mapping[str, Truncation] = field(default_factory=dict)
    limit: int = 0

    def __post_init__(self) -> None:
        for name in ("tokens", "texts", "truncations"):
            object.__setattr__(self, name, frozen(getattr(self, name)))

    @property
    def total_tokens(self) -> int:
        """Tokens of all sections together."""
        return sum(self.tokens.values())

    @property
    def total(self) -> int:
        """Deprecated spelling of :attr:`total_tokens`."""
        renamed("Allocation", "total", "total_tokens")
        return self.total_tokens

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "tokens": dict(self.tokens), "total_tokens": self.total_tokens, "texts": dict(self.texts),
            "truncations": {name: cut.to_dict() for name, cut in self.truncations.items()},
            "limit": self.limit,
        }  # fmt: skip


def _role(message: Any) -> Any:
    return message.get("role") if isinstance(message, Mapping) else getattr(message, "role", None)


def _field(message: Any, key: str) -> Any:
    return message.get(key) if isinstance(message, Mapping) else getattr(message, key, None)


class Budget:
    """The prompt budget of ``model`` on ``as_of``.

    >>> budget = Budget("gpt-4-0613", as_of=date(2024, 1, 1))
    >>> budget.limit, budget.reserve_output
    (7168, 1024)
    >>> budget.check([{"role": "user", "content": "Hello!"}]).fits
    True
    """

    def __init__(self, model: str, *, reserve_output: int | None = None, as_of: date | None = None) -> None:
        info = resolve(model, as_of)
        if info.context_window is None:
            raise BudgetError(f"model {short(model)} has no known context window; register_model() adds one")
        cap = info.max_output_tokens
        if reserve_output is None:
            reserve_output = min(cap, DEFAULT_RESERVE) if cap else DEFAULT_RESERVE
        if isinstance(reserve_output, bool) or not isinstance(reserve_output, int) or reserve_output < 0:
            raise BudgetError(f"reserve_output must be a whole number >= 0, not {short(reserve_output)}")
        if cap is not None and reserve_output > cap:
            raise BudgetError(f"reserve_output {short(reserve_output)} exceeds {model}'s output cap of {cap}")
        if reserve_output >= info.context_window:
            raise BudgetError(
                f"reserve_output {short(reserve_output)} leaves no room in the {info.context_window}-token "
                "window"
            )
        self.model, self.info, self.as_of = model, info, info.as_of
        self.context_window, self.reserve_output = info.context_window, reserve_output
        self.limit = info.context_window - reserve_output

    def __repr__(self) -> str:
        return f"Budget({self.model!r}, limit={self.limit}, reserve_output={self.reserve_output})"

    def _count(self, messages: Sequence[Any], tools: Sequence[Any] | None, tool_choice: Any) -> RequestCount:
        return count_messages(messages, self.model, tools=tools, tool_choice=tool_choice, as_of=self.as_of)

    def _report(self, result: RequestCount) -> BudgetReport:
        return BudgetReport(
            self.model, result.snapshot, result.tokens, self.limit, self.context_window,
            self.reserve_output, result.messages, result.exact, result.notes,
        )  # fmt: skip

    @overload
    def check(self, messages: Sequence[Any], *, tools: Sequence[Any] | None = None,
              tool_choice: Any = None) -> BudgetReport: ...
    @overload  # deprecated: tools and tool_choice given positionally (until the next release)
    def check(self, messages: Sequence[Any], tools: Sequence[Any] | None,
              tool_choice: Any = None) -> BudgetReport: ...
    def check(self, messages: Sequence[Any], *args: Any, tools: Sequence[Any] | None = None,
              tool_choice: Any = None) -> BudgetReport:  # fmt: skip
        """Prompt tokens (exactly as :func:`~tokenomy.count_messages`) against the limit.

        >>> budget = Budget("gpt-4o-2024-08-06", as_of=date(2025, 1, 1))
        >>> budget.check([{"role": "user", "content": "Hi"}], tools=None).prompt_tokens
        8
        """
        if args:
            moved = positional_options("Budget.check", args, ("tools", "tool_choice"))
            tools, tool_choice = moved.get("tools", tools), moved.get("tool_choice", tool_choice)
        return self._report(self._count(messages, tools, tool_choice))

    def fit(self, messages: Sequence[Any], *, tools: Sequence[Any] | None = None,
            strategy: str = "drop_oldest", tool_choice: Any = None) -> FitResult:  # fmt: skip
        """Drop or shorten messages until the request fits.

        System and developer messages and the last user message are always kept; an assistant
        message with tool calls is dropped together with its tool results, never apart.
        """
        check_choice(strategy, "strategy", STRATEGIES)
        messages = list(messages)
        first = self._count(messages, tools, tool_choice)
        if first.tokens <= self.limit:
            return FitResult(tuple(messages), self._report(first))
        units, pinned = _units(messages)
        minimum = [m for i, m in enumerate(messages) if i in pinned]
        needed = self._count(minimum, tools, tool_choice).tokens
        if needed > self.limit:
            raise BudgetExceededError(needed, self.limit, "the system messages and last user message")
        if strategy == "truncate_longest":
            return self._truncate_longest(messages, tools, tool_choice, units, pinned)
        order = list(range(len(units)))
        if strategy == "drop_middle":
            middle = len(units) / 2
            order.sort(key=lambda k: abs(k + 0.5 - middle))
        kept = set(range(len(messages)))
        dropped: list[tuple[int, Any]] = []
        result = first
        for k in order:
            if result.tokens <= self.limit:
                break
            for i in units[k]:
                kept.discard(i)
                dropped.append((i, messages[i]))
            result = self._count([messages[i] for i in sorted(kept)], tools, tool_choice)
        return FitResult(
            tuple(messages[i] for i in sorted(kept)),
            self._report(result),
            tuple(sorted(dropped, key=lambda d: d[0])),
        )

    def _truncate_longest(self, messages: list[Any], tools: Sequence[Any] | None, tool_choice: Any,
                          units: list[list[int]], pinned: set[int]) -> FitResult:  # fmt: skip
        result = self._count(messages, tools, tool_choice)
        truncated: dict[int, Truncation] = {}
        dropped: list[tuple[int, Any]] = []
        current = list(messages)
        alive = set(range(len(messages)))
        candidates = {
            i for i, m in enumerate(messages) if i not in pinned and isinstance(_field(m, "content"), str)
        }
        tok = encoding_for(self.model)
        while result.tokens > self.limit and candidates:
            i = max(candidates, key=lambda k: result.messages[sorted(alive).index(k)])
            content: str = _field(current[i], "content")
            own = tok.count(content)
            target = own - (result.tokens - self.limit)
            if target < 16:  # too little would be left: drop the message's whole unit instead
                unit = next(u for u in units if i in u)
                for k in unit:
                    alive.discard(k)
                    candidates.discard(k)
                    dropped.append((k, messages[k]))
            else:
                cut = truncate(content, target, model=self.model, side="middle")
                truncated[i] = cut
                current[i] = _with_content(current[i], cut.text)
                candidates.discard(i)
            result = self._count([current[k] for k in sorted(alive)], tools, tool_choice)
        if result.tokens > self.limit:
            raise BudgetExceededError(result.tokens, self.limit, "the request after shortening every message")
        return FitResult(tuple(current[k] for k in sorted(alive)), self._report(result), tuple(dropped),
                         tuple(sorted(truncated.items())))  # fmt: skip

    def allocate(self, sections: Sequence[Section | Mapping[str, Any]], *, overhead: int = 0) -> Allocation:
        """Share the budget among named sections, shrinking the lowest priority first.

        ``overhead`` reserves tokens for what surrounds the sections (message framing).

        >>> b = Budget("gpt-3.5-turbo-0613", reserve_output=4000, as_of=date(2023, 10, 1))
        >>> plan = b.allocate([Section("question", "What is BPE?", priority=9),
        ...                    Section("docs", "Byte pair encoding merges pairs. " * 40)])
        >>> b.limit, dict(plan.tokens), plan.truncations["docs"].truncated
        (96, {'question': 5, 'docs': 91}, True)
        """
        if isinstance(overhead, bool) or not isinstance(overhead, int) or not 0 <= overhead <= self.limit:
            raise BudgetError(f"overhead must be a whole number of tokens from 0 to the limit "
                              f"({self.limit}), not {short(overhead)}")
        parts = [s if isinstance(s, Section) else Section(**s) for s in sections]
        for p in parts:
            _check_section(p)
        names = [p.name for p in parts]
        if len(set(names)) != len(names):
            raise InvalidArgumentError("sections", names, "sections with unique names")
        budget = self.limit - overhead
        tok = encoding_for(self.model)
        texts = {p.name: p.text for p in parts}
        tokens = {p.name: tok.count(p.text) for p in parts}
        cuts: dict[str, Truncation] = {}
        for p in parts:
            if p.max_tokens is not None and tokens[p.name] > p.max_tokens:
                cuts[p.name] = truncate(p.text, p.max_tokens, model=self.model)
                texts[p.name], tokens[p.name] = cuts[p.name].text, cuts[p.name].tokens
        for p in sorted(parts, key=lambda s: s.priority):
            over = sum(tokens.values()) - budget
            if over <= 0:
                break
            floor = min(p.min_tokens, tokens[p.name])
            target = max(floor, tokens[p.name] - over)
            if target == 0:  # nothing of it fits: the whole section is dropped, and says so
                cuts[p.name] = nothing_kept(tok, p.text)
                texts[p.name], tokens[p.name] = "", 0
            elif target < tokens[p.name]:
                cuts[p.name] = truncate(p.text, target, model=self.model)
                texts[p.name], tokens[p.name] = cuts[p.name].text, cuts[p.name].tokens
        if sum(tokens.values()) > budget:
            raise BudgetExceededError(sum(tokens.values()), budget, "the sections' minimums")
        return Allocation(tokens, texts, cuts, budget)


def _check_section(section: Section) -> None:
    """A section's fields have usable types: text, whole-number priority and token limits."""
    if not isinstance(section.name, str) or not isinstance(section.text, str):
        raise TypeError(f"a section's name and text must be str, not {type(section.name).__name__} "
                        f"and {type(section.text).__name__}")  # fmt: skip
    if isinstance(section.priority, bool) or not isinstance(section.priority, int):
        raise TypeError(f"section {short(section.name)}: priority must be an int")
    for key, least in (("min_tokens", 0), ("max_tokens", 1)):
        value = getattr(section, key)
        if value is None and key == "max_tokens":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise BudgetError(f"section {short(section.name)}: {key} must be a whole number >= {least}, "
                              f"not {short(value)}")  # fmt: skip


def _with_content(message: Any, content: str) -> Any:
    if isinstance(message, Mapping):
        return {**message, "content": content}
    copy = getattr(message, "model_copy", None)
    if callable(copy):
        return copy(update={"content": content})
    raise InvalidArgumentError("messages", type(message).__name__,
                               "dict messages or pydantic models (truncate_longest rewrites their content)")


def _units(messages: Sequence[Any]) -> tuple[list[list[int]], set[int]]:
    """Droppable units (an assistant tool call and its results stay together) and pinned indices."""
    pinned = {i for i, m in enumerate(messages) if _role(m) in ("system", "developer")}
    users = [i for i, m in enumerate(messages) if _role(m) == "user"]
    if users:
        pinned.add(users[-1])
    units: list[list[int]] = []
    i = 0
    while i < len(messages):
        unit = [i]
        if _field(messages[i], "tool_calls") or _field(messages[i], "function_call"):
            j = i + 1
            while j < len(messages) and _role(messages[j]) in ("tool", "function"):
                unit.append(j)
                j += 1
        if not any(k in pinned for k in unit):
            units.append(unit)
        i = unit[-1] + 1
    return units, pinned
