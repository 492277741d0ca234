"""Deployment tools through an MCP client against the real cluster: list, show, scale with readiness."""

from __future__ import annotations

from typing import Any

from fastmcp import Client

from devcluster.api import ClusterAPI, deployment
from tests.k3s_mcp.conftest import call, call_error, create, running_pods, wait_until


async def test_get_deployments_and_get_deployment(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    create(cluster_api, f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment("api", 2))
    rows = await call(mcp_client, "get_deployments", {"namespace": namespace})
    assert [r["name"] for r in rows["items"]] == ["api"]
    assert rows["items"][0]["images"] == ["nginx:1.27"] and rows["items"][0]["selector"] == "app=api"

    summary = await wait_until(lambda: _ready_summary(mcp_client, namespace, "api", 2), what="api to report 2 ready")
    assert (summary["name"], summary["namespace"], summary["replicas"]) == ("api", namespace, 2)
    assert summary["images"] == ["main=nginx:1.27"] and summary["selector"] == "app=api"
    # Settled conditions (Available=True) are left out of the summary; the full answer has them all.
    assert not any(c.startswith("Available=True") for c in summary.get("conditions", []))
    assert "strategy" not in summary and "labels" not in summary, "defaults and labels equal to the selector"
    assert "spec" not in summary and "metadata" not in summary

    detail = await call(mcp_client, "get_deployment", {"name": "api", "namespace": namespace, "detail": "full"})
    assert "managedFields" not in detail["object"]["metadata"] and detail["object"]["spec"]["replicas"] == 2
    assert detail["summary"]["ready"] == "2/2"
    assert any(c["type"] == "Available" and c["status"] == "True" for c in detail["conditions"])
    wrong = await call_error(mcp_client, "get_deployment", {"name": "api", "namespace": namespace, "detail": "all"})
    assert "detail" in wrong and "summary" in wrong


async def _ready_summary(client: Client[Any], namespace: str, name: str, ready: int) -> dict[str, Any] | None:
    summary = await call(client, "get_deployment", {"name": name, "namespace": namespace})
    return summary if summary["ready"] == ready else None


async def test_get_deployment_missing_is_a_clear_error(mcp_client: Client[Any], namespace: str) -> None:
    message = await call_error(mcp_client, "get_deployment", {"name": "nope", "namespace": namespace})
    assert "Deployment 'nope' not found" in message and namespace in message


async def test_scale_deployment_waits_for_the_controller(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    create(cluster_api, f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment("elastic", 1))
    reports: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append((progress, total, message))

    result = await mcp_client.call_tool(
        "scale_deployment",
        {"name": "elastic", "namespace": namespace, "replicas": 3},
        progress_handler=on_progress,
    )
    scaled = result.structured_content
    assert scaled is not None
    assert scaled["settled"] is True and scaled["ready_replicas"] == 3 and scaled["replicas"] == 3
    assert reports and reports[-1][0] == 3
    # The controller really did it: three running pods and readyReplicas 3 on the object.
    assert len(running_pods(cluster_api, namespace, "app=elastic")) == 3
    _, live = cluster_api.request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/elastic")
    assert live["status"]["readyReplicas"] == 3

    down = await call(mcp_client, "scale_deployment", {"name": "elastic", "namespace": namespace, "replicas": 1})
    assert down["settled"] is True and down["previous_replicas"] == 3
    _, live = cluster_api.request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/elastic")
    assert live["spec"]["replicas"] == 1


async def test_scale_deployment_rejects_negative_replicas(mcp_client: Client[Any], namespace: str) -> None:
    message = await call_error(mcp_client, "scale_deployment", {"name": "x", "namespace": namespace, "replicas": -1})
    assert message == "Invalid argument `replicas`: must be at least 0, got -1."


async def test_scale_deployment_dry_run_changes_nothing(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    create(cluster_api, f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment("steady", 1))
    answer = await call(
        mcp_client, "scale_deployment", {"name": "steady", "namespace": namespace, "replicas": 4, "dry_run": True}
    )
    assert answer["dry_run"] is True and answer["settled"] is False
    assert answer["message"] == f"Dry run: would scale steady in {namespace} from 1 to 4. Nothing was changed."
    status, live = cluster_api.request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/steady")
    assert status == 200 and live["spec"]["replicas"] == 1
