"""HPA tools through an MCP client: create/update with server-side apply, rows, details, clear refusals."""

from __future__ import annotations

from typing import Any

from fastmcp import Client

from devcluster.api import ClusterAPI, deployment
from tests.k3s_mcp.conftest import call, call_error, create

HPA_PATH = "/apis/autoscaling/v2/namespaces/{}/horizontalpodautoscalers"


async def test_apply_hpa_creates_updates_and_shows(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    create(cluster_api, f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment("web", 1))
    arguments = {"name": "web", "namespace": namespace, "target_name": "web", "max_replicas": 5, "cpu_utilization": 70}
    dry = await call(mcp_client, "apply_hpa", {**arguments, "dry_run": True})
    assert dry["result"] == "created" and dry["dry_run"] is True
    status, _ = cluster_api.request("GET", f"{HPA_PATH.format(namespace)}/web")
    assert status == 404

    assert (await call(mcp_client, "apply_hpa", arguments))["result"] == "created"
    assert (await call(mcp_client, "apply_hpa", arguments))["result"] == "unchanged"
    updated = await call(
        mcp_client, "apply_hpa", {**arguments, "min_replicas": 2, "max_replicas": 8, "memory_utilization": 60}
    )
    assert updated["result"] == "configured"
    _, live = cluster_api.request("GET", f"{HPA_PATH.format(namespace)}/web")
    assert live["spec"]["minReplicas"] == 2 and live["spec"]["maxReplicas"] == 8
    assert [m["resource"]["name"] for m in live["spec"]["metrics"]] == ["cpu", "memory"]
    assert live["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}

    rows = await call(mcp_client, "get_hpas", {"namespace": namespace})
    row = rows["items"][0]
    assert row["reference"] == "Deployment/web" and (row["min_replicas"], row["max_replicas"]) == (2, 8)
    assert row["targets"] == ["cpu: <unknown>/70%", "memory: <unknown>/60%"]
    shown = await call(mcp_client, "get_hpa", {"name": "web", "namespace": namespace})
    assert shown["summary"]["name"] == "web" and "managedFields" not in shown["object"]["metadata"]


async def test_apply_hpa_refuses_bad_input_before_the_api(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    base = {"name": "h", "namespace": namespace, "target_name": "ghost", "max_replicas": 3, "cpu_utilization": 50}
    missing = await call_error(mcp_client, "apply_hpa", base)
    assert "Deployment 'ghost' not found" in missing and "Nothing was changed" in missing
    bounds = await call_error(mcp_client, "apply_hpa", {**base, "min_replicas": 5})
    assert "min_replicas (5) is larger than max_replicas (3)" in bounds
    no_target = await call_error(mcp_client, "apply_hpa", {**base, "cpu_utilization": None})
    assert "at least one target" in no_target
    status, listing = cluster_api.request("GET", HPA_PATH.format(namespace))
    assert status == 200 and listing["items"] == []
