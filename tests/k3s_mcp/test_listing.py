"""The default compact tools/list: no output schemas, plain optional parameters, answers still structured."""

from __future__ import annotations

from typing import Any

from k3s_mcp.surface import compact_schema
from tests.k3s_mcp.conftest import ClientFactory


def test_compact_schema_writes_optional_parameters_plainly() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "namespace": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None, "description": "ns"},
            "limit": {"anyOf": [{"type": "integer", "maximum": 5000}, {"type": "null"}], "default": 10},
            "choice": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        },
    }
    compacted: dict[str, Any] = compact_schema(schema)
    assert compacted["properties"]["namespace"] == {"type": "string", "description": "ns"}
    assert compacted["properties"]["limit"] == {"type": "integer", "maximum": 5000, "default": 10}
    assert compacted["properties"]["choice"] == schema["properties"]["choice"]


async def test_compact_listing_halves_the_schema_and_keeps_structured_answers(
    kubeconfig: str, make_client: ClientFactory
) -> None:
    async with make_client(kubeconfig=kubeconfig, compact_tool_schemas=False, toolsets="all") as client:
        full = await client.list_tools_mcp()
        typed = await client.call_tool("get_namespaces", {})
    async with make_client(kubeconfig=kubeconfig, toolsets="all") as client:
        compact = await client.list_tools_mcp()
        answer = await client.call_tool_mcp("get_namespaces", {})
        explicit_null = await client.call_tool_mcp("get_pods", {"namespace": None, "limit": 1})
        instructions = client.instructions
    assert [t.name for t in compact.tools] == [t.name for t in full.tools]
    # The opt-out still lists every output schema, from which FastMCP clients build a typed `.data`.
    assert all(t.output_schema for t in full.tools)
    assert any(row.name == "default" for row in typed.data.items)
    assert all(t.output_schema is None for t in compact.tools)
    listed = compact.model_dump_json(by_alias=True, exclude_none=True)
    assert '{"type":"null"}' not in listed.replace(" ", "")
    assert len(listed) < 0.65 * len(full.model_dump_json(by_alias=True, exclude_none=True))
    assert not answer.is_error
    assert answer.structured_content is not None
    assert any(row["name"] == "default" for row in answer.structured_content["items"])
    assert f"count: {answer.structured_content['count']}" in answer.content[0].text
    # `context` is explained once in the instructions rather than on every tool.
    full_context = {t.name: t.input_schema["properties"].get("context") for t in full.tools}
    assert full_context["get_pods"] and full_context["get_pods"].get("description")
    assert {t.input_schema["properties"].get("context", {"type": "string"})["type"] for t in compact.tools} == {
        "string"
    }
    assert all(set(t.input_schema["properties"].get("context", {})) <= {"type"} for t in compact.tools)
    assert instructions is not None and "`context`" in instructions and "list_contexts" in instructions
    # The parameter is listed as a plain string, yet null is still accepted, as before.
    assert not explicit_null.is_error
