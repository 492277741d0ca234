"""The input schema the app gives the SDK for checking a call's Mcp-Param-* headers is the one tools/list shows,
found without a listing per call."""

from __future__ import annotations

from fastmcp import Client

from k3s_mcp.server import build_server
from k3s_mcp.settings import Settings


async def test_every_listed_tool_of_the_app_has_its_listed_input_schema(kubeconfig: str) -> None:
    app = build_server(Settings(kubeconfig=kubeconfig, toolsets="all"))
    lookup = app._mcp_server.get_tool_input_schema
    assert lookup is not None
    async with Client(app) as client:
        listed = {tool.name: tool.input_schema for tool in await client.list_tools()}
    found = {name: lookup(name) for name in listed}
    # The toolsets' tools (all but the app's own few) come with the schema exactly as listed.
    matching = [name for name, schema in found.items() if schema is not None]
    assert len(matching) >= 60, matching
    for name in matching:
        assert found[name] == listed[name], name
    assert "context" in (found["get_pods"] or {}).get("properties", {})
    assert lookup("no_such_tool") is None


async def test_a_tool_the_settings_hide_has_no_schema(kubeconfig: str) -> None:
    app = build_server(Settings(kubeconfig=kubeconfig, toolsets="all", read_only=True))
    lookup = app._mcp_server.get_tool_input_schema
    assert lookup is not None
    assert lookup("get_pods") is not None
    assert lookup("delete_resource") is None
