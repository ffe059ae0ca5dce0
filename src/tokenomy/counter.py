"""The running count of one request's prompt: :class:`PromptCounter`.

It prices one conversation under one prompt format (``data/chat.toml``: the per-message framing,
the text a tool call or a tool result is rendered as, the tool namespace, structured-output
sections) and records which request features it met. Both request shapes feed it: Chat
Completions ``messages`` (``messages.py``) and Responses API ``input`` items (``requests.py``). A
count is exact only when every feature it met is verified for the model's family on that API;
otherwise the notes say which rule was an estimate.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from tokenomy._content import ImageDimensions, content_tokens, only_files
from tokenomy._data import table
from tokenomy._render import check_schema, render_json_schema_format
from tokenomy._results import get
from tokenomy._shapes import text_value
from tokenomy._tooldefs import render_cached
from tokenomy.errors import MessageFormatError
from tokenomy.registry import ModelInfo
from tokenomy.rules import FormatRules
from tokenomy.tokenizer import Tokenizer


class PromptCounter:
    """Running count of one request's prompt under one format and API."""

    def __init__(self, tok: Tokenizer, info: ModelInfo, rules: FormatRules, api: str,
                 dimensions: ImageDimensions | None) -> None:  # fmt: skip
        self.tok, self.info, self.rules, self.api = tok, info, rules, api
        self.api_rules = rules.apis[api]
        self.dimensions = dimensions
        self.features: set[str] = set()
        self.notes: list[str] = []
        self.per_item: list[int] = []
        self.tools_tokens = self.choice_tokens = self.format_tokens = 0
        self.image_tokens = self.file_tokens = self.audio_tokens = 0
        self.file_parts = 0
        self.first_instruction_role: str | None = None
        self.result_headers: dict[str, str] = {}
        self.first_system_text: str | None = None
        self.framing_counts: dict[str, int] = {}
        self.comment_bonus = 0
        self.assistant_text_messages = 0

    # ---- bookkeeping ---------------------------------------------------------------------------

    def feature(self, name: str) -> None:
        self.features.add(name)

    def framing(self, text: str) -> int:
        """Tokens of a role or a call/result header: few distinct strings, counted once each."""
        found = self.framing_counts.get(text)
        if found is None:
            found = self.framing_counts[text] = self.tok.count(text)
        return found

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def count(self, text: str) -> int:
        return self.tok.count_cached(text)

    # ---- content -------------------------------------------------------------------------------

    def content(self, content: Any, where: str) -> int:
        """Tokens of a message's content: a string, None, or a list of parts (see content.py)."""
        return content_tokens(self, content, where)

    # ---- conversation elements -----------------------------------------------------------------

    def message(self, role: str, content: Any, where: str, *, name: Any = None) -> int:
        """One plain message (any role but a tool result): framing, role, content and name."""
        rules = self.rules
        if role in ("system", "developer"):
            self.feature(f"{role}_role")
            if self.first_instruction_role is None:
                self.first_instruction_role = role
        images_before, files_before = self.image_tokens, self.file_parts
        tokens = rules.tokens_per_message + self.framing(role) + self.content(content, f"{where}.content")
        if self.image_tokens > images_before:
            tokens += self.api_rules.image_message
        if self.file_parts > files_before and only_files(content):
            tokens += self.api_rules.file_only_message
        if name is not None:
            self.feature("name")
            tokens += self.count(text_value(name, f"{where}.name")) + rules.tokens_per_name
        if role == "assistant":
            tokens += rules.assistant_extra
            if content not in (None, "", []):
                self.assistant_text_messages += 1
        if not self.per_item and role == "system" and isinstance(content, str):
            self.first_system_text = content
        self.per_item.append(tokens)
        return tokens

    def tool_calls(self, calls: Sequence[tuple[str, str, str | None]], content: Any, where: str) -> int:
        """An assistant turn that calls tools: ``(name, arguments, call id)`` per call."""
        tokens = 0
        if content not in (None, "", []):
            self.feature("assistant_text_with_tool_calls")
            tokens += self.rules.tokens_per_message + self.count("assistant") + self.content(content, where)
            tokens += self.rules.assistant_extra
        self.feature("tool_calls")
        api = self.api_rules
        if len(calls) > 1 and api.parallel_wrapper:
            self.feature("parallel_tool_calls")
            wrapper = _parallel_wrapper(calls, self)
            tokens += self.rules.tokens_per_message + self.count(api.parallel_wrapper["call_header"])
            tokens += self.count(wrapper) + api.parallel_call
            tokens += api.parallel_empty_arguments * sum(1 for _, arguments,
                _ in calls if _is_empty_object(arguments))
            for _, _, call_id in calls:
                if call_id is not None:
                    self.result_headers[call_id] = api.parallel_wrapper["result_header"]
        else:
            if len(calls) > 1:
                self.feature("parallel_tool_calls")
            for name, arguments, call_id in calls:
                header = self.rules.call_header.format(name=name)
                tokens += self.rules.tokens_per_message + self.framing(header) + self.count(arguments)
                tokens += api.tool_call
                if call_id is not None:
                    self.result_headers[call_id] = self.rules.result_header.format(name=name)
        self.per_item.append(tokens)
        return tokens

    def tool_result(self, call_id: Any, content: Any, where: str) -> int:
        """A tool's output, framed under the name of the call it answers."""
        self.feature("tool_results")
        header = self.result_headers.get(call_id) if isinstance(call_id, str) else None
        if header is None:
            self.feature("orphan_tool_result")
            self.note(f"{where}: no earlier tool call has this id, so the tool's name is unknown")
            header = self.rules.result_header.format(name="")
        tokens = self.rules.tokens_per_message + self.framing(header) + self.content(content,
            f"{where}.content") + self.api_rules.tool_result
        marker = self.api_rules.marked_output
        if marker and isinstance(content, str) and marker["contains"] in content:
            self.feature("tool_output_with_marker")
            tokens += int(marker["tokens"])
        self.per_item.append(tokens)
        return tokens

    def legacy_function_call(self, call: Any, where: str) -> int:
        """The pre-tools ``function_call`` on an assistant message (2023 rules)."""
        self.feature("legacy_functions")
        legacy = table("chat")["legacy_functions"]
        name = text_value(get(call, "name"), f"{where}.name")
        arguments = get(call, "arguments")
        tokens = self.count(name) + int(legacy["assistant_function_call"])
        if arguments is not None:
            tokens += self.count(text_value(arguments, f"{where}.arguments"))
        self.per_item[-1] += tokens
        return tokens

    # ---- request-level parts -------------------------------------------------------------------

    def tools(self, definitions: Sequence[Mapping[str, Any]]) -> int:
        """Function definitions: the rendered namespace plus the format's framing constant."""
        if not definitions:
            return 0
        self.feature("tools")
        style = self.api_rules.style or self.rules.style
        for i, definition in enumerate(definitions):
            check_schema(definition, f"tools[{i}]")
        rendered, seen = render_cached(self.tok, definitions, style)
        for what in seen:
            self.feature(f"schema:{what}")
        api = self.api_rules
        first = self.first_instruction_role or "none"
        tokens = rendered + api.tools.get(first,
            api.tools.get("none", 0)) + api.tools_per_tool * len(definitions)
        adjustment = table("chat")["tools_adjustment"].get(self.info.snapshot)
        if adjustment is not None:
            if self.api not in adjustment:
                self.feature(f"tools on {self.info.snapshot}")
            tokens += adjustment.get(self.api, 0)
        if "property comments" in seen:
            self.feature("schema:property comments")
            tokens += api.property_comments
            self.comment_bonus = api.property_comments
        self.tools_tokens += tokens
        return tokens

    def tool_choice(self, choice: Any, where: str = "tool_choice") -> int:
        if choice is None or (isinstance(choice, str) and choice == "auto"):
            return 0
        costs = self.api_rules.tool_choice
        if choice in ("none", "required"):
            self.feature(f"tool_choice_{choice}")
            tokens = costs.get(choice, 0)
        else:
            kind = get(choice, "type")
            if kind == "allowed_tools":
                self.feature("tool_choice_allowed_tools")
                tokens = costs.get("allowed_tools", 0)
            else:
                target = get(choice, "function") or choice
                name = get(target, "name")
                if not isinstance(name, str):
                    raise MessageFormatError(where, "must be 'none', 'auto', 'required' or name a function")
                self.feature("tool_choice_named")
                tokens = costs.get("named", 0) + (self.count(name) if self.api_rules.bill_choice_name else 0)
        self.choice_tokens += tokens
        return tokens

    def json_schema(self, name: Any, schema: Any, description: Any, where: str) -> int:
        """A json_schema structured output."""
        self.feature("json_schema")
        if not isinstance(name, str) or not name:
            raise MessageFormatError(f"{where}.name", "a json_schema format needs a 'name' string")
        if not isinstance(schema, Mapping):
            raise MessageFormatError(f"{where}.schema", "must be a JSON schema object")
        api = self.api_rules
        text = render_json_schema_format(
            name, schema, api.schema_drop, description=description if isinstance(description, str) else None
        )
        if self.api == "responses":
            tokens = self.count(text) + api.text_json_schema
        else:
            # chat: the section joins the system message the tools live in, or the first system
            # message, or a system message of its own; every assistant turn (the reply and each
            # assistant message with text) carries a tag naming the format
            if self.tools_tokens:
                # the section joins the tools' system message: no reply tag, and the one token
                # that commented parameters add is gone (gt0115, gt0480-0519)
                self.feature("json_schema_with_tools")
                self.tools_tokens -= self.comment_bonus
                tokens = self.count(text) + api.json_schema_with_tools
                self.format_tokens += tokens
                return tokens
            elif self.first_system_text is not None:
                joined = self.first_system_text + api.json_schema_separator + text
                tokens = self.count(joined) - self.count(self.first_system_text)
            else:
                tokens = self.rules.tokens_per_message + self.count("system") + self.count(text)
            tag = api.json_schema_tag + self.count(name)
            tokens += tag * (1 + self.assistant_text_messages)
        self.format_tokens += tokens
        return tokens

    def json_object(self) -> int:
        self.feature("json_object")
        self.format_tokens += self.api_rules.json_object
        return self.api_rules.json_object

    def overhead(self) -> int:
        return self.rules.reply_priming

    def total(self) -> int:
        return (sum(self.per_item) + self.tools_tokens + self.choice_tokens + self.format_tokens
                + self.image_tokens + self.file_tokens + self.audio_tokens + self.overhead())  # fmt: skip

    def unverified(self) -> list[str]:
        """Features met that the format's rules are not verified for on this API (or not for
        this model family), single or in the combinations ``data/chat.toml`` names as unverified."""
        verified, families = self.api_rules.verified_features, self.api_rules.feature_families
        missing = [f"{f} on the {self.info.family} family" if f in verified else f for f in self.features
                   if f not in verified or (f in families and self.info.family not in families[f])]
        for combination in self.api_rules.unverified_combinations:
            if set(combination) <= self.features:
                missing.append(" with ".join(combination))
        return sorted(missing)


def _is_empty_object(arguments: str) -> bool:
    return arguments.strip() in ("{}", "")
def _parallel_wrapper(calls: Sequence[tuple[str, str, str | None]], counter: PromptCounter) -> str:
    """The ``multi_tool_use.parallel`` call that several tool calls in one message are billed as:
    each call's arguments parsed and written back compactly (kept as text if that fails)."""
    uses = []
    for name, arguments, _ in calls:
        try:
            parameters: Any = json.loads(arguments) if arguments.strip() else {}
        except (ValueError, RecursionError):  # RecursionError: nested past the parser's limit
            _unknown_arguments(counter)
            parameters = arguments
        uses.append({"recipient_name": f"functions.{name}", "parameters": parameters})
    try:
        return json.dumps({"tool_uses": uses}, ensure_ascii=False, separators=(",", ":"))
    except RecursionError:  # parsed, but three levels more are too deep to write back
        _unknown_arguments(counter)
        uses = [{**use, "parameters": arguments} for use, (_, arguments, _) in zip(uses, calls, strict=True)]
        return json.dumps({"tool_uses": uses}, ensure_ascii=False, separators=(",", ":"))
def _unknown_arguments(counter: PromptCounter) -> None:
    counter.feature("parallel_tool_calls_with_invalid_json")
    counter.note("parallel tool call arguments that are not JSON, or nest too deep to rewrite: "
                 "billed text unknown")  # fmt: skip
