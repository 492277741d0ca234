"""Invalid arguments are answered as one sentence, for every tool of the live catalog.

The cases are generated when the tests are collected, from `tools/list` of the server itself (every toolset,
the schemas a client sees): for each tool a required parameter left out, a wrong type for each typed parameter,
and a value out of range for each minimum, maximum, length, item count, pattern and choice the schema states,
plus an argument the tool does not take. A tool added tomorrow is covered without editing this file. The server
under test has no kubeconfig: argument errors must come before any cluster access, and a call that got past
validation would answer "No kubeconfig found" and fail the test.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import pytest
from fastmcp import Client
from mcp_types import Tool
from pydantic import Field, TypeAdapter, ValidationError

from k3s_mcp.server import build_server
from k3s_mcp.settings import Settings
from k3s_mcp.views.arguments import MAX_VALUE_CHARS, argument_error_message, shown_value

NO_KUBECONFIG = "/nonexistent/kubeconfig"
FORBIDDEN = ("pydantic", "http", "Traceback", "For further information", "validation error", "input_value")
WRONG_TYPE: dict[str, Any] = {
    "integer": "three",
    "number": "three",
    "boolean": "maybe",
    "array": "not-a-list",
    "object": "not-an-object",
    "string": 12345,
}
TYPE_WORDS = {
    "integer": "must be an integer",
    "number": "must be a number",
    "boolean": "must be true or false",
    "array": "must be a list",
    "object": "must be an object",
    "string": "string",
}


def catalog() -> list[Tool]:
    async def listing() -> list[Tool]:
        async with Client(build_server(Settings(kubeconfig=NO_KUBECONFIG))) as client:
            tools: list[Tool] = await client.list_tools()
            return tools

    return asyncio.run(listing())


def variants(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema of a parameter without its `null` alternative (full listings write optional ones as anyOf)."""
    options = [option for option in schema.get("anyOf") or [] if option.get("type") != "null"]
    return {**options[0], **{k: v for k, v in schema.items() if k != "anyOf"}} if len(options) == 1 else schema


def valid(schema: dict[str, Any]) -> Any:
    """A value the schema accepts, for the parameters a case does not test."""
    schema = variants(schema)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "string":
        value = "x" * max(int(schema.get("minLength", 1)), 1)
        pattern = schema.get("pattern")
        return (
            value
            if pattern is None or re.search(pattern, value)
            else next(candidate for candidate in ("a", "a1", "web", "1") if re.search(pattern, candidate))
        )
    if kind in {"integer", "number"}:
        low = schema.get("minimum", 1)
        return min(max(low, 1), schema.get("maximum", low if low > 1 else 1))
    if kind == "boolean":
        return False
    if kind == "array":
        return [valid(schema.get("items") or {"type": "string"})] * max(int(schema.get("minItems", 1)), 1)
    if kind == "object":
        properties = schema.get("properties") or {}
        return {name: valid(properties[name]) for name in schema.get("required") or [] if name in properties}
    return "x"


@dataclass(frozen=True)
class Case:
    tool: str
    parameter: str
    kind: str
    arguments: dict[str, Any]
    rule: str | None = None
    words: tuple[str, ...] = field(default=())

    @property
    def id(self) -> str:
        return f"{self.tool}-{self.parameter}-{self.kind}"


def cases_of(tool: Tool) -> list[Case]:
    properties: dict[str, Any] = tool.input_schema.get("properties") or {}
    required: list[str] = list(tool.input_schema.get("required") or [])
    baseline = {name: valid(properties[name]) for name in required}
    cases = [Case(tool.name, name, "missing", {k: v for k, v in baseline.items() if k != name}) for name in required]
    cases.append(Case(tool.name, "not_a_parameter", "unknown", {**baseline, "not_a_parameter": 1}))
    for name, raw in properties.items():
        schema = variants(raw)
        kind = schema.get("type")
        if kind in WRONG_TYPE:
            words = tuple(f"'{choice}'" for choice in schema["enum"]) if "enum" in schema else (TYPE_WORDS[kind],)
            cases.append(Case(tool.name, name, f"type-{kind}", {**baseline, name: WRONG_TYPE[kind]}, words=words))
        bounds: list[tuple[str, Any, str]] = []
        if kind in {"integer", "number"}:
            if "maximum" in schema:
                bounds.append(("maximum", schema["maximum"] + 1, f"must be at most {fmt(schema['maximum'])}"))
            if "minimum" in schema:
                bounds.append(("minimum", schema["minimum"] - 1, f"must be at least {fmt(schema['minimum'])}"))
        if kind == "string":
            if "maxLength" in schema:
                length = schema["maxLength"]
                bounds.append(("maxLength", "x" * (length + 1), f"must be at most {length} characters long"))
            if schema.get("minLength", 0) >= 1:
                rule = "must not be empty" if schema["minLength"] == 1 else f"at least {schema['minLength']}"
                bounds.append(("minLength", "", rule))
            if "pattern" in schema and not re.search(schema["pattern"], "Not_Valid!"):
                bounds.append(("pattern", "Not_Valid!", f"must match the pattern `{schema['pattern']}`"))
            if "enum" in schema:
                bounds.append(("enum", "not-a-choice", "must be"))
        if kind == "array":
            if schema.get("minItems", 0) >= 1:
                bounds.append(("minItems", [], "must not be empty" if schema["minItems"] == 1 else "at least"))
            if "maxItems" in schema:
                item = valid(schema.get("items") or {"type": "string"})
                bounds.append(("maxItems", [item] * (schema["maxItems"] + 1), f"at most {schema['maxItems']}"))
        for bound, value, rule in bounds:
            choices = tuple(f"'{choice}'" for choice in schema.get("enum") or [])
            cases.append(Case(tool.name, name, bound, {**baseline, name: value}, rule=rule, words=choices))
    return cases


def fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


TOOLS = catalog()
CASES = [case for tool in TOOLS for case in cases_of(tool)]


@pytest.fixture(scope="module")
async def client() -> AsyncIterator[Client[Any]]:
    async with Client(build_server(Settings(kubeconfig=NO_KUBECONFIG))) as connected:
        yield connected


def test_the_catalog_yields_every_kind_of_case() -> None:
    kinds = {case.kind for case in CASES}
    assert len(TOOLS) >= 13 and {case.tool for case in CASES} == {tool.name for tool in TOOLS}
    assert {"missing", "unknown", "type-integer", "type-boolean", "type-array", "type-object", "type-string"} <= kinds
    assert {"maximum", "minimum", "maxLength", "minLength", "minItems", "enum"} <= kinds
    assert any(case.id == "get_pods-limit-maximum" for case in CASES)


async def error_of(client: Client[Any], case: Case) -> str:
    result = await client.call_tool(case.tool, case.arguments, raise_on_error=False)
    message = "\n".join(str(getattr(block, "text", "")) for block in result.content)
    assert result.is_error, f"{case.id}: accepted {case.arguments}"
    assert "\n" not in message and message.endswith("."), f"{case.id}: not one line: {message!r}"
    for word in FORBIDDEN:
        assert word not in message, f"{case.id}: {word!r} in {message!r}"
    assert "No kubeconfig" not in message, f"{case.id}: got past argument validation: {message}"
    return message


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_invalid_argument_is_one_sentence_naming_parameter_rule_and_value(
    client: Client[Any], case: Case
) -> None:
    message = await error_of(client, case)
    if case.kind == "missing":
        assert message == f"Missing required argument `{case.parameter}`.", message
        return
    value = shown_value(case.arguments[case.parameter])
    if case.kind == "unknown":
        assert message.startswith(f"Unknown argument `{case.parameter}` (got {value})"), message
        return
    assert message.startswith(f"Invalid argument `{case.parameter}`: "), message
    assert message.endswith(f", got {value}."), message
    assert len(value) <= MAX_VALUE_CHARS
    if case.rule is not None:
        assert case.rule in message, message
    for word in case.words:
        assert word in message, message


def test_long_values_are_cut_and_secret_shaped_values_redacted_before_the_cut() -> None:
    assert shown_value("x" * 300) == "'" + "x" * (MAX_VALUE_CHARS - 2) + "…"
    assert shown_value("a\nb") == "'a\\nb'" and shown_value([1, "two"]) == '[1, "two"]' and shown_value(None) == "null"
    pem_start = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAx4Tb9pQ2" + "A" * 80
    assert shown_value(pem_start) == "'[redacted: RSA private key]'"
    assert shown_value(pem_start, redact_values=False).startswith("'-----BEGIN RSA PRIVATE KEY-----\\nMIIE")


def errors_for(function: Any, arguments: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as raised:
        TypeAdapter(function).validate_python(arguments)
    return raised.value


def example(
    name: Annotated[str, Field(min_length=1)],
    command: str | list[str],
    replicas: Annotated[int, Field(ge=0, le=10)] = 1,
    labels: dict[str, str] | None = None,
) -> None:
    """A tool signature with a union, a bound and a nested mapping, validated by pydantic itself."""


def test_several_errors_and_union_members_read_as_one_sentence() -> None:
    arguments: dict[str, Any] = {"command": 5, "replicas": 11, "labels": {"app": 1}, "extra": True}
    message = argument_error_message(errors_for(example, arguments), arguments, parameters=["name", "command"])
    assert message == (
        "Invalid arguments: `name` is missing; `command` must be a string or a list, got 5; "
        "`replicas` must be at most 10, got 11; `labels.app` must be a string, got 1; "
        "`extra` is not a parameter (got true); the parameters are `name` and `command`."
    )
    union = {"name": "x", "command": {"a": 1}}
    assert argument_error_message(errors_for(example, union), union) == (
        'Invalid argument `command`: must be a string or a list, got {"a": 1}.'
    )
