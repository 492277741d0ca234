"""The default surface: a tools/list within 5,000 tokens from which every tool is reached, through a real client.

list_toolsets names the catalog, enable_toolset lists toolsets (with notifications/tools/list_changed) and returns
their schemas, call_tool runs any tool by name. The hostile tests check that call_tool is no way around the
read-only and destructive switches, confirmation, the access policy, hidden tools or the audit log.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.messages import MessageHandler
from fastmcp.tools.base import Tool as FastMCPTool

from bench.settings import BenchSettings
from bench.tokens import Tokenizer
from devcluster.api import ClusterAPI
from k3s_mcp.server import build_server
from k3s_mcp.settings import Settings
from k3s_mcp.surface import DISCLOSURE_TOOLS
from k3s_mcp.toolsets import LISTED_BY_DEFAULT, TOOLSET_MODULES, toolset_server
from tests.k3s_mcp.conftest import SERVER_PROGRAM, ClientFactory, call, call_error, create, server_env
from tests.k3s_mcp.test_server import CORE_TOOLS
from tests.processes import free_port, serve_program

TOKEN_BUDGET = 5_000


class ListChanges(MessageHandler):
    """Counts the notifications/tools/list_changed a client receives."""

    def __init__(self) -> None:
        super().__init__()
        self.tool_list_changes = 0

    async def on_tool_list_changed(self, message: Any) -> None:
        self.tool_list_changes += 1


def listing_json(listing: Any) -> str:
    """A tools/list answer serialised as the bench serialises every listing (bench/listing.py)."""
    text: str = listing.model_dump_json(by_alias=True, exclude_none=True)
    return text


async def full_catalog() -> dict[str, FastMCPTool]:
    """Every tool of every toolset, read from the toolset modules themselves."""
    tools: dict[str, FastMCPTool] = {}
    for toolset in TOOLSET_MODULES:
        tools.update({tool.name: tool for tool in await toolset_server(toolset).list_tools(run_middleware=False)})
    return tools


async def served_listing(kubeconfig: str) -> set[str]:
    """What K3S_TOOLSETS=all lists: the catalog but the tools whose API the cluster lacks (metrics.k8s.io)."""
    async with Client(build_server(Settings(kubeconfig=kubeconfig, toolsets="all"))) as client:
        return {tool.name for tool in await client.list_tools()}


def configmap(cluster_api: ClusterAPI, namespace: str, name: str) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}
    create(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps", body)


def exists(cluster_api: ClusterAPI, path: str) -> bool:
    status, _ = cluster_api.request("GET", path)
    return status == 200


async def test_default_listing_fits_the_budget_and_keeps_the_seed_tools(kubeconfig: str) -> None:
    async with Client(build_server(Settings(kubeconfig=kubeconfig))) as client:
        listing = await client.list_tools_mcp()
        instructions = client.instructions or ""
    tools = {tool.name: tool for tool in listing.tools}
    assert "list_toolsets" in instructions and "call_tool" in instructions
    assert set(tools) == set(LISTED_BY_DEFAULT) | set(DISCLOSURE_TOOLS)
    for name, (_, parameters) in CORE_TOOLS.items():
        assert parameters <= set(tools[name].input_schema["properties"]), name
    [tokens] = Tokenizer(BenchSettings()).count([listing_json(listing)])
    assert tokens <= TOKEN_BUDGET, f"the default tools/list is {tokens} tokens"
    # The same counter sees the whole catalog far above the budget, so the bound above says something.
    async with Client(build_server(Settings(kubeconfig=kubeconfig, toolsets="all"))) as client:
        everything = await client.list_tools_mcp()
    [all_tokens] = Tokenizer(BenchSettings()).count([listing_json(everything)])
    assert all_tokens > 2 * TOKEN_BUDGET and len(everything.tools) > 3 * len(listing.tools)


async def test_every_tool_is_named_enabled_with_a_notification_and_reached(kubeconfig: str) -> None:
    catalog = await full_catalog()
    served = await served_listing(kubeconfig)
    assert served <= set(catalog) and len(served) >= len(catalog) - 2
    changes = ListChanges()
    async with Client(build_server(Settings(kubeconfig=kubeconfig)), message_handler=changes) as client:
        named = await call(client, "list_toolsets")
        assert {tool for row in named["items"] for tool in row["tools"]} == set(catalog)
        assert all(row["listed"] in ("all", "some") for row in named["items"] if row["toolset"] == "pods")
        # Not listed yet, but callable by name.
        assert "get_configmaps" not in {tool.name for tool in await client.list_tools()}
        assert "items" in await call(client, "get_configmaps", {"namespace": "kube-system"})

        enabled = await client.call_tool("enable_toolset", {"toolsets": ["config"]})
        assert enabled.structured_content is not None and enabled.structured_content["enabled"] == ["config"]
        text = "\n".join(getattr(block, "text", "") for block in enabled.content)
        assert "### get_configmaps" in text and "`namespace`" in text
        listed = {tool.name for tool in await client.list_tools()}
        assert {"get_configmaps", "apply_secret"} <= listed and "list_helm_releases" not in listed

        everything = await client.call_tool("enable_toolset", {"toolsets": ["all"]})
        assert everything.structured_content is not None
        assert {tool["name"] for tool in everything.structured_content["tools"]} == set(catalog)
        for _ in range(50):
            if changes.tool_list_changes >= 2:
                break
            await asyncio.sleep(0.05)
        assert changes.tool_list_changes >= 2
        listed = {tool.name for tool in await client.list_tools()}
        assert listed == served | set(DISCLOSURE_TOOLS)

        # Every tool answers through call_tool: its own argument check, or (for the tools with no required
        # parameter, all of them reads) its own answer.
        for name, tool in catalog.items():
            required = tool.parameters.get("required") or []
            if not required:
                assert tool.annotations is not None and tool.annotations.read_only_hint, name
            result = await client.call_tool("call_tool", {"name": name, "arguments": {}}, raise_on_error=False)
            answer = "\n".join(getattr(block, "text", "") for block in result.content)
            assert "Unknown tool" not in answer and "Traceback" not in answer, (name, answer)
            if required:
                assert result.is_error and any(parameter in answer for parameter in required), (name, answer)


async def test_enable_toolset_refuses_unknown_names_and_meta_tools_cannot_be_dispatched(
    make_client: ClientFactory, kubeconfig: str
) -> None:
    async with make_client(kubeconfig=kubeconfig) as client:
        unknown = await call_error(client, "enable_toolset", {"toolsets": ["helm", "../pods"]})
        assert "Unknown toolset '../pods'" in unknown and "helm" in unknown
        assert "list_helm_releases" not in {tool.name for tool in await client.list_tools()}
        empty = await call_error(client, "enable_toolset", {"toolsets": []})
        assert "toolsets" in empty
        for meta in DISCLOSURE_TOOLS:
            refused = await call_error(client, "call_tool", {"name": meta, "arguments": {"name": "get_pods"}})
            assert "call_tool runs catalog tools" in refused
        missing = await call_error(client, "call_tool", {"name": "no_such_tool"})
        assert "Unknown tool 'no_such_tool'" in missing
        for arguments in ("get_pods", ["x"], 7):
            bad = await call_error(client, "call_tool", {"name": "get_pods", "arguments": arguments})
            assert "arguments" in bad
        bad_inner = await call_error(client, "call_tool", {"name": "get_pods", "arguments": {"limit": "lots"}})
        assert "limit" in bad_inner


async def test_call_tool_cannot_get_around_read_only_mode(
    make_client: ClientFactory, kubeconfig: str, cluster_api: ClusterAPI, namespace: str
) -> None:
    configmap(cluster_api, namespace, "keep")
    manifest = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: sneaky, namespace: {namespace}}}\n"
    async with make_client(kubeconfig=kubeconfig, read_only=True) as client:
        listed = {tool.name for tool in await client.list_tools()}
        assert "call_tool" in listed and "apply_manifest" not in listed
        named = await call(client, "list_toolsets")
        shown = {tool for row in named["items"] for tool in row["tools"]}
        assert "get_configmaps" in shown and not shown & {"apply_manifest", "delete_resource", "apply_secret"}
        enabled = await call(client, "enable_toolset", {"toolsets": ["all"]})
        assert not {tool["name"] for tool in enabled["tools"]} & {"apply_manifest", "delete_configmap"}
        assert "apply_manifest" not in {tool.name for tool in await client.list_tools()}
        for name, arguments in (
            ("apply_manifest", {"manifest_yaml": manifest}),
            ("delete_resource", {"kind": "ConfigMap", "name": "keep", "namespace": namespace}),
            ("delete_configmap", {"name": "keep", "namespace": namespace, "confirm": True}),
        ):
            refused = await call_error(client, "call_tool", {"name": name, "arguments": arguments})
            assert "read-only" in refused and "K3S_READ_ONLY" in refused, refused
        rows = await call(client, "call_tool", {"name": "get_configmaps", "arguments": {"namespace": namespace}})
        assert "keep" in {row["name"] for row in rows["items"]}
    assert not exists(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps/sneaky")
    assert exists(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps/keep")


async def test_call_tool_cannot_get_around_the_destructive_switch(
    make_client: ClientFactory, kubeconfig: str, cluster_api: ClusterAPI, namespace: str
) -> None:
    configmap(cluster_api, namespace, "keep")
    async with make_client(kubeconfig=kubeconfig, allow_destructive=False) as client:
        for name, arguments in (
            ("delete_resource", {"kind": "ConfigMap", "name": "keep", "namespace": namespace}),
            ("delete_configmap", {"name": "keep", "namespace": namespace}),
        ):
            refused = await call_error(client, "call_tool", {"name": name, "arguments": arguments})
            assert "K3S_ALLOW_DESTRUCTIVE" in refused, refused
    assert exists(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps/keep")


async def test_call_tool_cannot_skip_confirmation(
    make_client: ClientFactory, kubeconfig: str, cluster_api: ClusterAPI, namespace: str
) -> None:
    configmap(cluster_api, namespace, "keep")
    path = f"/api/v1/namespaces/{namespace}/configmaps/keep"
    target = {"kind": "ConfigMap", "name": "keep", "namespace": namespace}
    async with make_client(kubeconfig=kubeconfig, confirm_kinds="ConfigMap") as client:
        held = await call_error(client, "call_tool", {"name": "delete_resource", "arguments": target})
        assert "Needs confirmation" in held and "NOT run" in held, held
        # A confirm on call_tool itself is not a confirm of the call it runs.
        held = await call_error(client, "call_tool", {"name": "delete_resource", "arguments": target, "confirm": True})
        assert "Needs confirmation" in held, held
        assert exists(cluster_api, path)
        done = await call(client, "call_tool", {"name": "delete_resource", "arguments": {**target, "confirm": True}})
        assert "keep" in json.dumps(done)
    status, answer = cluster_api.request("GET", path)
    assert status == 404 or (answer or {}).get("metadata", {}).get("deletionTimestamp"), answer


async def test_call_tool_obeys_the_access_policy(
    make_client: ClientFactory, kubeconfig: str, cluster_api: ClusterAPI, namespace: str
) -> None:
    async with make_client(kubeconfig=kubeconfig, denied_kinds="Secret", allowed_namespaces=namespace) as client:
        denied = await call_error(
            client,
            "call_tool",
            {"name": "get_resource", "arguments": {"kind": "Secret", "name": "x", "namespace": namespace}},
        )
        assert denied.startswith("Refused"), denied
        outside = await call_error(
            client, "call_tool", {"name": "get_configmaps", "arguments": {"namespace": "kube-system"}}
        )
        assert outside.startswith("Refused: namespace 'kube-system' is not allowed"), outside
        inside = await call(client, "call_tool", {"name": "get_configmaps", "arguments": {"namespace": namespace}})
        assert inside["count"] >= 1  # kube-root-ca.crt


async def test_call_tool_leaves_the_inner_call_in_the_audit_log(
    kubeconfig: str, namespace: str, tmp_path: Path
) -> None:
    log = tmp_path / "audit.log"
    app = build_server(Settings(kubeconfig=kubeconfig, audit_log=str(log), read_only=True))
    async with Client(app) as client:
        await call_error(
            client, "call_tool", {"name": "delete_configmap", "arguments": {"name": "x", "namespace": namespace}}
        )
    for _ in range(100):
        lines = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        if len(lines) >= 2:
            break
        await asyncio.sleep(0.1)
    by_tool = {line["tool"]: line for line in lines}
    assert by_tool["delete_configmap"]["outcome"] == "refused"
    assert by_tool["delete_configmap"]["target"] == {"namespace": namespace, "name": "x"} or namespace in json.dumps(
        by_tool["delete_configmap"]
    )
    assert "call_tool" in by_tool


@pytest.mark.parametrize("toolsets", ["all", "core", "pods,config"])
async def test_explicit_toolsets_list_every_tool_they_name_and_no_disclosure_tools(
    kubeconfig: str, toolsets: str
) -> None:
    async with Client(build_server(Settings(kubeconfig=kubeconfig, toolsets=toolsets))) as client:
        names = {tool.name for tool in await client.list_tools()}
        # No dispatcher either: a toolset left out stays out.
        missing = await call_error(client, "call_tool", {"name": "get_pods", "arguments": {}})
    assert not names & set(DISCLOSURE_TOOLS)
    assert "Unknown tool" in missing and "call_tool" in missing
    if toolsets == "all":
        assert names >= set(LISTED_BY_DEFAULT) | {"get_configmaps", "list_helm_releases", "get_events"}
    if toolsets == "pods,config":
        assert {"get_pods", "get_logs", "get_configmaps", "apply_secret"} <= names and "get_nodes" not in names


async def test_a_client_whose_listing_cannot_change_still_reaches_every_tool(kubeconfig: str) -> None:
    """Over stateless HTTP without a token nothing identifies the client between requests: enable_toolset says
    so and returns the schemas, and call_tool runs the tools (the real server process and transport)."""
    port = free_port()
    command = [SERVER_PROGRAM, "--transport", "http", "--host", "127.0.0.1", "--port", str(port)]
    env = server_env(kubeconfig, K3S_MCP_HTTP_STATELESS="true")
    async with serve_program(command, env, port, within=30), Client(f"http://127.0.0.1:{port}/mcp") as client:
        before = {tool.name for tool in await client.list_tools()}
        enabled = await call(client, "enable_toolset", {"toolsets": ["config"]})
        after = {tool.name for tool in await client.list_tools()}
        rows = await call(client, "call_tool", {"name": "get_configmaps", "arguments": {"namespace": "kube-system"}})
    assert before == after == set(LISTED_BY_DEFAULT) | set(DISCLOSURE_TOOLS)
    assert enabled["listed"] is False and "get_configmaps" in {tool["name"] for tool in enabled["tools"]}
    assert "kube-root-ca.crt" in {row["name"] for row in rows["items"]}


def _loaded(app: Any) -> set[str]:
    return {c.name for c in app.local_provider._components.values() if isinstance(c, FastMCPTool)}


@pytest.mark.parametrize(
    "first_call",
    [
        ("get_configmaps", {}),
        ("call_tool", {"name": "get_configmaps", "arguments": {}}),
        ("list_toolsets", {}),
        ("enable_toolset", {"toolsets": ["config"]}),
    ],
)
async def test_toolsets_not_listed_by_default_load_on_the_first_call_that_needs_them(
    kubeconfig: str, first_call: tuple[str, dict[str, Any]]
) -> None:
    app = build_server(Settings(kubeconfig=kubeconfig))
    assert "get_pods" in _loaded(app) and "get_configmaps" not in _loaded(app), "config waits for its first use"
    async with Client(app) as client:
        listed = {tool.name for tool in await client.list_tools()}
        await client.call_tool("get_pods", {"namespace": "default"})
        assert "get_configmaps" not in _loaded(app), "a loaded tool's call loads nothing"
        tool, arguments = first_call
        answer = await client.call_tool_mcp(tool, arguments)
        assert not answer.is_error, answer
        assert {"get_configmaps", "list_helm_releases", "get_events"} <= _loaded(app)
        # The listing is the default one still, unless the client enabled a toolset.
        after = {tool.name for tool in await client.list_tools()}
        assert after == listed if tool != "enable_toolset" else after > listed


async def test_with_toolsets_named_everything_loads_at_start(kubeconfig: str) -> None:
    assert "get_configmaps" in _loaded(build_server(Settings(kubeconfig=kubeconfig, toolsets="all")))
