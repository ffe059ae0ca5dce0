"""The text the API renders from tool schemas and structured-output formats (tokenomy._render),
per the render styles of data/chat.toml."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenomy._data import table
from tokenomy._render import (
    MAX_SCHEMA_DEPTH,
    RenderNotes,
    RenderStyle,
    comment_lines,
    render_functions,
    render_json_schema_format,
    stripped_schema,
)
from tokenomy.errors import MessageFormatError

STYLES = {name: RenderStyle(**spec) for name, spec in table("chat")["render_styles"].items()}
TYPESCRIPT, RESPONSES, LEGACY = (
    STYLES["typescript"],
    STYLES["typescript-responses"],
    STYLES["legacy-functions"],
)


def render(parameters: dict[str, Any], style: RenderStyle, notes: RenderNotes | None = None) -> str:
    return render_functions([{"name": "f", "description": "Do f.", "parameters": parameters}], style, notes)


def body(*lines: str) -> str:
    """The whole namespace for one function ``f`` whose parameter lines are ``lines``."""
    return "\n".join(["namespace functions {", "", "// Do f.", "type f = (_: {", *lines,
                      "}) => any;", "", "} // namespace functions"])  # fmt: skip


def obj(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, **extra}


LOCATION = obj({"loc": obj({"city": {"type": "string"}, "zip": {"type": "integer"}}, required=["city"])})


def test_nested_objects_are_not_indented_in_the_typescript_style() -> None:
    """Nested object properties start at column 0 in the typescript style."""
    assert render(LOCATION, TYPESCRIPT) == body("loc?: {", "city: string,", "zip?: number,", "},")


def test_nested_objects_are_indented_two_spaces_in_the_legacy_style() -> None:
    """Nested object properties are indented two spaces per level in the legacy-functions style."""
    deeper = obj({"a": obj({"b": obj({"c": {"type": "string"}})})})
    assert render(LOCATION, LEGACY) == body("loc?: {", "  city: string,", "  zip?: number,", "},")
    assert "\n    c?: string,\n" in render(deeper, LEGACY)


def test_string_and_integer_enums() -> None:
    """String enums and integer enums render as unions of their JSON values (or number, by style)."""
    params = obj({"unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                  "level": {"type": "integer", "enum": [1, 2, 3]}})  # fmt: skip
    notes = RenderNotes(set())
    assert render(params, TYPESCRIPT, notes) == body('unit?: "celsius" | "fahrenheit",', "level?: 1 | 2 | 3,")
    assert "numeric enums" in notes.seen
    as_number = RenderStyle(integer_enums="number")
    assert render(params, as_number) == body('unit?: "celsius" | "fahrenheit",', "level?: number,")


def test_multi_line_descriptions_are_one_stripped_comment_per_line() -> None:
    """Each non-empty line of a description becomes its own stripped `//` line."""
    text = "  First line.  \n\n    Second line\n\t\n"
    params = obj({"q": {"type": "string", "description": text}})
    assert render(params, TYPESCRIPT) == body("// First line.", "// Second line", "q?: string,")
    assert comment_lines(text, TYPESCRIPT) == ["// First line.", "// Second line"]
    assert comment_lines(text, RenderStyle(multiline="verbatim")) == [f"// {text}"]
    assert comment_lines("a\n\nb", RenderStyle(multiline="prefixed")) == ["// a", "// ", "// b"]


def test_ref_into_defs_is_inlined() -> None:
    """A `$ref` into `$defs` renders exactly as the referenced schema written in place."""
    point = obj({"x": {"type": "number"}, "y": {"type": "number"}})
    with_ref = obj({"at": {"$ref": "#/$defs/Point"}, "path": {"type": "array", "items": {"$ref": "#/$defs/Point"}}},
                   **{"$defs": {"Point": point}})  # fmt: skip
    inlined = obj({"at": point, "path": {"type": "array", "items": point}})
    assert render(with_ref, TYPESCRIPT) == render(inlined, TYPESCRIPT)
    assert "at?: {\nx?: number,\ny?: number,\n}," in render(with_ref, TYPESCRIPT)


def test_recursive_ref_renders_and_is_noted() -> None:
    """A `$ref` back into a definition being expanded renders as `any`, without RecursionError, with a note."""
    node = obj({"value": {"type": "string"}, "child": {"$ref": "#/$defs/Node"}})
    notes = RenderNotes(set())
    text = render(obj({"tree": {"$ref": "#/$defs/Node"}}, **{"$defs": {"Node": node}}), TYPESCRIPT, notes)
    assert text == body("tree?: {", "value?: string,", "child?: any,", "},")
    assert any("recursive" in note for note in notes.seen)


def test_mutually_recursive_refs_and_repeated_refs() -> None:
    """A cycle through two definitions stops where it closes; a definition used twice side by side expands twice."""
    defs = {"A": obj({"b": {"$ref": "#/$defs/B"}}), "B": obj({"a": {"$ref": "#/$defs/A"}})}
    cycle = render(obj({"start": {"$ref": "#/$defs/A"}}, **{"$defs": defs}), TYPESCRIPT)
    assert cycle == body("start?: {", "b?: {", "a?: any,", "},", "},")
    twice = obj(
        {"x": {"$ref": "#/$defs/P"}, "y": {"$ref": "#/$defs/P"}},
        **{"$defs": {"P": obj({"v": {"type": "number"}})}},
    )
    assert render(twice, TYPESCRIPT).count("v?: number,") == 2


def _nested(kind: str, levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"array": {"type": "array", "items": schema}, "anyOf": {"anyOf": [schema, {"type": "null"}]},
                  "object": obj({"a": schema})}[kind]  # fmt: skip
    return obj({"p": schema})


@pytest.mark.parametrize("kind", ["object", "array", "anyOf"])
def test_nesting_within_the_limit_renders(kind: str) -> None:
    """Objects, arrays or unions nested a few levels below the limit render every level."""
    levels = MAX_SCHEMA_DEPTH - 4
    text = render(_nested(kind, levels), TYPESCRIPT)
    marker = {"object": "?: {", "array": "[]", "anyOf": " | null"}[kind]
    assert text.count(marker) == levels


@pytest.mark.parametrize("kind", ["object", "array", "anyOf"])
@pytest.mark.parametrize("levels", [MAX_SCHEMA_DEPTH + 2, 5_000])
def test_schema_deeper_than_the_limit_raises(kind: str, levels: int) -> None:
    """A schema nested deeper than MAX_SCHEMA_DEPTH raises MessageFormatError, never RecursionError."""
    with pytest.raises(MessageFormatError, match="deeper"):
        render(_nested(kind, levels), TYPESCRIPT)


def test_property_titles_as_comments() -> None:
    """A property's title is a `// title` line above it when the style renders titles."""
    params = obj({"loc": {"type": "string", "title": "Location", "description": "Where."}})
    assert render(params, TYPESCRIPT) == body("// Location", "// Where.", "loc?: string,")
    assert render(params, LEGACY) == body("// Where.", "loc?: string,")


def test_defaults_only_where_the_style_renders_them() -> None:
    """A default is appended as `// default:` in the Responses style; elsewhere it is left out and noted."""
    params = obj({"unit": {"type": "string", "default": "celsius"}})
    notes = RenderNotes(set())
    assert render(params, RESPONSES) == body('unit?: string, // default: "celsius"')
    assert render(params, TYPESCRIPT, notes) == body("unit?: string,")
    assert "default values" in notes.seen


def test_parameters_level_title() -> None:
    """The parameters object's title is written inline before its brace (Responses), above it, or not at all."""
    params = obj({"q": {"type": "string"}}, title="SearchArgs")
    inline = render(params, RESPONSES)
    assert "type f = (_: // SearchArgs\n{\nq?: string,\n}) => any;" in inline
    assert "// SearchArgs\ntype f = (_: {\n" in render(params, RenderStyle(root_title="above"))
    assert "SearchArgs" not in render(params, TYPESCRIPT)


def test_arrays() -> None:
    """Arrays render as `T[]`: of objects as a braced type, of unions in parentheses, without items as any[]."""
    params = obj({"points": {"type": "array", "items": obj({"x": {"type": "number"}})},
                  "ids": {"type": "array", "items": {"type": ["string", "integer"]}},
                  "blobs": {"type": "array"}})  # fmt: skip
    assert render(params, TYPESCRIPT) == body(
        "points?: {", "x?: number,", "}[],", "ids?: (string | number)[],", "blobs?: any[],"
    )


def test_any_of_and_type_lists_are_unions() -> None:
    """anyOf options and a list of types render as `A | B`, each noted."""
    params = obj({"u": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                  "t": {"type": ["string", "integer", "boolean"]}})  # fmt: skip
    notes = RenderNotes(set())
    assert render(params, TYPESCRIPT, notes) == body("u?: string | null,", "t?: string | number | boolean,")
    assert {"anyOf / oneOf", "type lists"} <= notes.seen


def test_function_without_parameters() -> None:
    """A function without properties renders as `() => any` and one without a description is noted."""
    notes = RenderNotes(set())
    text = render_functions([{"name": "ping"}], TYPESCRIPT, notes)
    assert text == "namespace functions {\n\ntype ping = () => any;\n\n} // namespace functions"
    assert "functions without a description" in notes.seen


# ---- structured-output formats -----------------------------------------------------------------

DROP = ("required", "additionalProperties")


def test_stripped_schema_keeps_a_property_named_required() -> None:
    """Dropped keywords go at every level, but a property literally named "required" stays."""
    schema = obj({"required": {"type": "boolean"},
                  "inner": obj({"x": {"type": "string"}}, required=["x"], additionalProperties=False)},
                 required=["required"], additionalProperties=False)  # fmt: skip
    assert stripped_schema(schema, DROP) == obj({"required": {"type": "boolean"},
                                                 "inner": obj({"x": {"type": "string"}})})  # fmt: skip


def test_json_schema_format_shape() -> None:
    """The section is a heading, the name, the description as comments, then the stripped schema as compact JSON."""
    schema = obj({"réponse": {"type": "string"}}, required=["réponse"], additionalProperties=False)
    text = render_json_schema_format("answer", schema, DROP, description="Give the answer.\n  Briefly.")
    head = "# Response Formats\n\n## answer\n\n// Give the answer.\n// Briefly.\n"
    assert text.startswith(head)
    assert text[len(head) :] == json.dumps(
        stripped_schema(schema, DROP), ensure_ascii=False, separators=(",", ":")
    )
    assert "réponse" in text
    bare = render_json_schema_format("answer", schema, DROP, description=None)
    assert bare == "# Response Formats\n\n## answer\n\n" + text[len(head) :]


# ---- properties --------------------------------------------------------------------------------

NAMES = st.sampled_from(["a", "b", "required", "type", "properties", "$defs"])
SCHEMA = st.recursive(
    st.fixed_dictionaries({"type": st.sampled_from(["string", "integer", "number", "boolean", "null", "object"])},
                          optional={"enum": st.lists(st.integers() | st.text(max_size=3), max_size=3),
                                    "description": st.text(max_size=10), "default": st.integers()}),
    lambda children: st.fixed_dictionaries(
        {"type": st.sampled_from(["object", "array"]) | st.lists(st.sampled_from(["string", "null"]), max_size=2)},
        optional={"properties": st.dictionaries(NAMES, children, max_size=3), "items": children,
                  "anyOf": st.lists(children, max_size=2), "required": st.lists(NAMES, max_size=2),
                  "title": st.text(max_size=5), "$ref": st.sampled_from(["#/$defs/a", "#", "#/$defs/zz"]),
                  "additionalProperties": st.booleans()}),
    max_leaves=12,
)  # fmt: skip


@given(schema=SCHEMA, style=st.sampled_from(sorted(STYLES)))
@settings(max_examples=300, deadline=None)
def test_any_schema_renders_or_is_refused(schema: dict[str, Any], style: str) -> None:
    """Any JSON-schema-shaped parameters render to a namespace or raise MessageFormatError."""
    parameters = {**schema, "$defs": {"a": schema}}
    with contextlib.suppress(MessageFormatError):
        text = render(parameters, STYLES[style])
        assert text.startswith("namespace functions {") and text.endswith("} // namespace functions")


@given(schema=SCHEMA)
@settings(max_examples=200, deadline=None)
def test_stripping_removes_the_keywords_and_is_idempotent(schema: dict[str, Any]) -> None:
    """After stripping, no schema object holds a dropped keyword, and stripping again changes nothing."""
    stripped = stripped_schema(schema, DROP)
    assert stripped_schema(stripped, DROP) == stripped
    assert all(not set(DROP) & set(node) for node in _schema_objects(stripped))


def _schema_objects(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """``schema`` and every schema below it (property maps are names, not schemas)."""
    found = [schema]
    children = [*schema.get("properties", {}).values(), *schema.get("anyOf", [])]
    children += [schema["items"]] if "items" in schema else []
    for child in children:
        found += _schema_objects(child)
    return found
