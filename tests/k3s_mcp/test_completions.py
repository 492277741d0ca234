"""completion/complete through a real MCP client: namespaces, kinds and names from the live cluster, prefix-matched
and bounded, for the k8s:// templates and the prompts; anything wrong is an empty completion, never an error."""

from __future__ import annotations

from typing import Any

import pytest
from fastmcp import Client
from mcp_types import PromptReference, ResourceTemplateReference

from devcluster.api import ClusterAPI
from k3s_mcp.completions import MAX_VALUES
from k3s_mcp.mcp_resources import CLUSTER_OBJECT, NAMESPACED_OBJECT
from k3s_mcp.server import build_server
from k3s_mcp.settings import Settings
from tests.k3s_mcp.conftest import create

NAMESPACED = ResourceTemplateReference(type="ref/resource", uri=NAMESPACED_OBJECT)
CLUSTER = ResourceTemplateReference(type="ref/resource", uri=CLUSTER_OBJECT)


def configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {}}


async def test_the_capability_is_declared() -> None:
    async with Client(build_server(Settings(kubeconfig="/nonexistent/kubeconfig")), mode="legacy") as client:
        assert client.initialize_result is not None
        assert client.initialize_result.capabilities.completions is not None


async def test_namespaces_complete_by_prefix(mcp_client: Client[Any], namespace: str) -> None:
    completion = await mcp_client.complete(NAMESPACED, {"name": "namespace", "value": namespace[:-2]})
    assert completion.values == [namespace]
    everything = await mcp_client.complete(NAMESPACED, {"name": "namespace", "value": ""})
    assert {"default", "kube-system", namespace} <= set(everything.values)
    assert everything.values == sorted(everything.values)


async def test_kinds_complete_per_scope(mcp_client: Client[Any]) -> None:
    namespaced = await mcp_client.complete(NAMESPACED, {"name": "kind", "value": "deploy"})
    assert "deployments.apps" in namespaced.values
    cluster = await mcp_client.complete(CLUSTER, {"name": "kind", "value": "no"})
    assert "nodes" in cluster.values and "deployments.apps" not in cluster.values
    assert "configmaps" not in (await mcp_client.complete(CLUSTER, {"name": "kind", "value": "config"})).values


async def test_names_complete_in_the_chosen_namespace_and_kind(
    mcp_client: Client[Any], namespace: str, cluster_api: ClusterAPI
) -> None:
    for name in ("web-a", "web-b", "db"):
        create(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps", configmap(name))
    completion = await mcp_client.complete(
        NAMESPACED, {"name": "name", "value": "web"}, {"namespace": namespace, "kind": "configmaps"}
    )
    assert completion.values == ["web-a", "web-b"]
    nodes = await mcp_client.complete(CLUSTER, {"name": "name", "value": ""}, {"kind": "nodes"})
    assert nodes.values, "the cluster has nodes"


async def test_completions_are_bounded(mcp_client: Client[Any], namespace: str, cluster_api: ClusterAPI) -> None:
    for index in range(MAX_VALUES + 5):
        create(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps", configmap(f"cm-{index:03d}"))
    completion = await mcp_client.complete(
        NAMESPACED, {"name": "name", "value": "cm-"}, {"namespace": namespace, "kind": "cm"}
    )
    assert len(completion.values) == MAX_VALUES
    assert completion.has_more is True and completion.total == MAX_VALUES + 5


async def test_prompt_arguments_complete(mcp_client: Client[Any], namespace: str, cluster_api: ClusterAPI) -> None:
    create(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps", configmap("x"))
    prompt = PromptReference(type="ref/prompt", name="diagnose_pod")
    assert (await mcp_client.complete(prompt, {"name": "namespace", "value": namespace})).values == [namespace]
    node = PromptReference(type="ref/prompt", name="diagnose_node")
    assert (await mcp_client.complete(node, {"name": "name", "value": ""})).values


@pytest.mark.parametrize(
    ("ref", "argument", "context"),
    [
        (NAMESPACED, {"name": "name", "value": ""}, {"namespace": "default", "kind": "no-such-kind"}),
        (NAMESPACED, {"name": "name", "value": ""}, {"namespace": "../kube-system", "kind": "secrets"}),
        (NAMESPACED, {"name": "name", "value": ""}, {"namespace": "default", "kind": "../secrets"}),
        (NAMESPACED, {"name": "name", "value": ""}, {"kind": "configmaps"}),
        (NAMESPACED, {"name": "namespace", "value": "x" * 5000}, None),
        (NAMESPACED, {"name": "nonsense", "value": ""}, None),
        (ResourceTemplateReference(type="ref/resource", uri="test://template/{id}"), {"name": "id", "value": ""}, None),
        (PromptReference(type="ref/prompt", name="test_prompt_with_arguments"), {"name": "arg1", "value": "t"}, None),
    ],
)
async def test_anything_wrong_is_an_empty_completion(
    ref: Any, argument: dict[str, str], context: dict[str, str] | None, mcp_client: Client[Any]
) -> None:
    completion = await mcp_client.complete(ref, argument, context)
    assert completion.values == []


async def test_an_unreachable_cluster_is_an_empty_completion() -> None:
    async with Client(build_server(Settings(kubeconfig="/nonexistent/kubeconfig"))) as client:
        assert (await client.complete(NAMESPACED, {"name": "namespace", "value": ""})).values == []


async def test_the_allow_list_narrows_namespace_completions(kubeconfig: str, namespace: str) -> None:
    app = build_server(Settings(kubeconfig=kubeconfig, allowed_namespaces=f"{namespace},default"))
    async with Client(app) as client:
        completion = await client.complete(NAMESPACED, {"name": "namespace", "value": ""})
        assert sorted(completion.values) == sorted([namespace, "default"])
