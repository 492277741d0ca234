"""Cluster tools through an MCP client against the real cluster: nodes, namespaces, services, info."""

from __future__ import annotations

from typing import Any

from fastmcp import Client

from devcluster.api import ClusterAPI, deployment
from tests.k3s_mcp.conftest import call, create, running_pods, wait_until


async def test_get_nodes_shows_status_roles_and_resources(mcp_client: Client[Any]) -> None:
    result = await call(mcp_client, "get_nodes")
    assert result["count"] >= 3
    node = next(r for r in result["items"] if "control-plane" in r["roles"])
    assert node["status"] == "Ready"
    assert node["capacity"]["cpu"] == "4" and "memory" in node["allocatable"]
    assert any(c["type"] == "Ready" and c["status"] == "True" for c in node["conditions"])
    paged = await call(mcp_client, "get_nodes", {"limit": 1})
    assert paged["count"] == 1 and paged["continue_token"]


async def test_get_namespaces_includes_the_test_namespace(mcp_client: Client[Any], namespace: str) -> None:
    result = await call(mcp_client, "get_namespaces", {"limit": 5000})
    row = next(r for r in result["items"] if r["name"] == namespace)
    assert row["status"] == "Active" and row["labels"]["k3s-mcp/test"] == "true"


async def test_get_services_counts_ready_endpoints(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    create(cluster_api, f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment("backend", 2))
    create(
        cluster_api,
        f"/api/v1/namespaces/{namespace}/services",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "backend"},
            "spec": {"selector": {"app": "backend"}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
    )
    await wait_until(lambda: len(running_pods(cluster_api, namespace, "app=backend")) == 2, what="backend pods")

    async def two_endpoints() -> dict[str, Any] | None:
        result = await call(mcp_client, "get_services", {"namespace": namespace})
        row = result["items"][0]
        return row if row["endpoints"] == 2 else None

    row = await wait_until(two_endpoints, what="2 ready endpoints behind the service")
    assert row["name"] == "backend" and row["type"] == "ClusterIP"
    assert row["ports"] == ["80/TCP"] and row["selector"] == "app=backend" and row["cluster_ip"]


async def test_get_cluster_info_detects_k3s_and_counts(mcp_client: Client[Any], namespace: str) -> None:
    info = await call(mcp_client, "get_cluster_info")
    assert info["version"].startswith("v1.")
    assert info["server"].startswith("https://127.0.0.1:")
    assert info["distribution"] == "k3s" and info["k3s_evidence"]
    assert info["nodes"] >= 3 and info["ready_nodes"] >= 3
    assert info["namespaces"] >= 4
    assert info["pods"] == sum(info["pods_by_phase"].values())
