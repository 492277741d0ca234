"""K3S_TOOLSETS: only the named toolsets are listed and callable; the others are refused by name. Unset, it is the
preset `default`: a few tools listed, their toolsets loaded at start and the rest on first use
(tests/k3s_mcp/test_disclosure.py)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from k3s_mcp.settings import Settings
from k3s_mcp.toolsets import (
    LISTED_BY_DEFAULT,
    LISTED_BY_DEFAULT_TOOLSETS,
    TOOLSET_MODULES,
    TOOLSET_PRESETS,
    ToolsetError,
    discloses,
    selected_toolsets,
    toolset_server,
)
from tests.k3s_mcp.conftest import ClientFactory, call, call_error

CORE_TOOLS = {
    "get_pods",
    "get_logs",
    "restart_pod",
    "execute_command",
    "get_deployments",
    "get_deployment",
    "scale_deployment",
    "get_nodes",
    "get_namespaces",
    "get_services",
    "get_cluster_info",
    "apply_manifest",
    "delete_resource",
}


def test_presets_and_names_select_toolsets_in_listing_order() -> None:
    assert Settings().toolsets == "default" and discloses(Settings().toolsets)
    assert selected_toolsets("default") == selected_toolsets("all") == tuple(TOOLSET_MODULES)
    assert not discloses("all") and not discloses("core") and not discloses("pods,helm")
    assert set(CORE_TOOLS) <= set(LISTED_BY_DEFAULT)
    assert selected_toolsets("core") == ("pods", "deployments", "cluster", "manifests")
    assert selected_toolsets(" Helm , core,pods ") == ("pods", "deployments", "cluster", "manifests", "helm")
    assert set(TOOLSET_PRESETS["core"]) <= set(TOOLSET_MODULES)


@pytest.mark.parametrize("spec", ["", " , ", "core,bogus", "pod"])
def test_unknown_or_empty_toolsets_are_a_clear_error(spec: str) -> None:
    with pytest.raises(ToolsetError) as raised:
        selected_toolsets(spec)
    message = str(raised.value)
    assert "K3S_TOOLSETS" in message
    assert "core" in message and "helm" in message and "metrics" in message
    if "bogus" in spec:
        assert "bogus" in message


async def test_core_lists_only_core_tools_and_refuses_the_rest_by_toolset(
    kubeconfig: str, make_client: ClientFactory
) -> None:
    async with make_client(kubeconfig=kubeconfig, toolsets="core") as client:
        names = {tool.name for tool in await client.list_tools()}
        namespaces = await call(client, "get_namespaces")
        helm_refusal = await call_error(client, "list_helm_releases")
        keda_refusal = await call_error(client, "get_keda_scalers", {"namespace": "default"})
        unknown = await call_error(client, "no_such_tool")
    core_catalog = {
        tool.name
        for toolset in TOOLSET_PRESETS["core"]
        for tool in await toolset_server(toolset).list_tools(run_middleware=False)
    }
    # Every tool of the core toolsets (the 13 seed tools and whatever those modules add), nothing else.
    assert names == core_catalog and names >= CORE_TOOLS
    assert "kube-system" in {row["name"] for row in namespaces["items"]}
    assert "'helm'" in helm_refusal and "K3S_TOOLSETS" in helm_refusal
    assert "'keda'" in keda_refusal and "K3S_TOOLSETS" in keda_refusal
    assert "K3S_TOOLSETS" not in unknown


async def test_named_toolsets_combine_with_read_only(kubeconfig: str, make_client: ClientFactory) -> None:
    async with make_client(kubeconfig=kubeconfig, toolsets="pods,networking", read_only=True) as client:
        names = {tool.name for tool in await client.list_tools()}
        refused = await call_error(client, "restart_pod", {"name": "x", "namespace": "default"})
    assert names == {"get_pods", "get_logs", "get_ingresses", "get_ingress", "get_ingress_classes"}
    assert "read-only" in refused


async def test_console_script_rejects_an_unknown_toolset_without_a_traceback(kubeconfig: str) -> None:
    server = Path(sys.executable).parent / "k3s-mcp-server"
    env = {"PATH": os.environ.get("PATH", ""), "KUBECONFIG": kubeconfig, "K3S_TOOLSETS": "core,storgae"}
    process = await asyncio.create_subprocess_exec(
        str(server), env=env, stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    text = stderr.decode()
    assert process.returncode == 2
    assert "storgae" in text and "storage" in text and "K3S_TOOLSETS" in text
    assert "Traceback" not in text


def test_the_toolsets_loaded_at_start_hold_every_tool_listed_by_default() -> None:
    async def names(toolset: str) -> set[str]:
        return {tool.name for tool in await toolset_server(toolset).list_tools(run_middleware=False)}

    loaded = set().union(*(asyncio.run(names(toolset)) for toolset in LISTED_BY_DEFAULT_TOOLSETS))
    assert set(LISTED_BY_DEFAULT) <= loaded, set(LISTED_BY_DEFAULT) - loaded
