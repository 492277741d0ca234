"""Rollout tools through an MCP client: status, history, undo and restart on real controllers."""

from __future__ import annotations

from typing import Any

from fastmcp import Client

from devcluster.api import ClusterAPI, deployment
from tests.k3s_mcp.conftest import call, call_error, create, wait_until
from tests.k3s_mcp.tools.test_workloads import workload

MERGE = "application/merge-patch+json"


def _set_image(cluster_api: ClusterAPI, path: str, image: str) -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": image}]}}}}
    status, answer = cluster_api.request("PATCH", path, patch, content_type=MERGE)
    assert status == 200, answer


async def _rolled_out(client: Client[Any], kind: str, name: str, namespace: str) -> dict[str, Any]:
    status = await call(
        client, "get_rollout_status", {"kind": kind, "name": name, "namespace": namespace, "wait_seconds": 60}
    )
    assert status["done"] is True, status
    return status


async def test_deployment_history_undo_and_restart(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    create(cluster_api, path, deployment("web", 2, image="nginx:1.27"))
    first = await _rolled_out(mcp_client, "Deployment", "web", namespace)
    assert "successfully rolled out" in first["message"]
    _set_image(cluster_api, f"{path}/web", "nginx:1.28")
    await _rolled_out(mcp_client, "Deployment", "web", namespace)

    history = await call(
        mcp_client, "get_rollout_history", {"kind": "Deployment", "name": "web", "namespace": namespace}
    )
    revisions = [(r["revision"], r["images"], r["current"]) for r in history["revisions"]]
    assert revisions == [(1, ["nginx:1.27"], False), (2, ["nginx:1.28"], True)]

    dry = await call(
        mcp_client, "undo_rollout", {"kind": "Deployment", "name": "web", "namespace": namespace, "dry_run": True}
    )
    assert dry["to_revision"] == 1 and dry["change"]["dry_run"] is True
    _, live = cluster_api.request("GET", f"{path}/web")
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"

    undone = await call(mcp_client, "undo_rollout", {"kind": "Deployment", "name": "web", "namespace": namespace})
    assert undone["from_revision"] == 2 and undone["to_revision"] == 1 and undone["images"] == ["nginx:1.27"]
    _, live = cluster_api.request("GET", f"{path}/web")
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert "pod-template-hash" not in live["spec"]["template"]["metadata"]["labels"]
    await _rolled_out(mcp_client, "Deployment", "web", namespace)
    history = await call(
        mcp_client, "get_rollout_history", {"kind": "Deployment", "name": "web", "namespace": namespace}
    )
    current = [r for r in history["revisions"] if r["current"]]
    assert [(r["revision"], r["images"]) for r in current] == [(3, ["nginx:1.27"])]

    missing = await call_error(
        mcp_client, "undo_rollout", {"kind": "Deployment", "name": "web", "namespace": namespace, "to_revision": 9}
    )
    assert "has no revision 9" in missing

    restarted = await call(mcp_client, "restart_rollout", {"kind": "Deployment", "name": "web", "namespace": namespace})
    assert restarted["result"] == "configured"
    _, live = cluster_api.request("GET", f"{path}/web")
    assert "kubectl.kubernetes.io/restartedAt" in live["spec"]["template"]["metadata"]["annotations"]
    await _rolled_out(mcp_client, "Deployment", "web", namespace)


async def test_statefulset_and_daemonset_rollouts(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    sts_path = f"/apis/apps/v1/namespaces/{namespace}/statefulsets"
    ds_path = f"/apis/apps/v1/namespaces/{namespace}/daemonsets"
    create(cluster_api, sts_path, workload("StatefulSet", "db", 2))
    create(cluster_api, ds_path, workload("DaemonSet", "agent"))
    for kind, name, path in (("StatefulSet", "db", sts_path), ("DaemonSet", "agent", ds_path)):
        await _rolled_out(mcp_client, kind, name, namespace)
        _set_image(cluster_api, f"{path}/{name}", "nginx:1.28")
        await _rolled_out(mcp_client, kind, name, namespace)
        history = await call(mcp_client, "get_rollout_history", {"kind": kind, "name": name, "namespace": namespace})
        assert [(r["revision"], r["images"]) for r in history["revisions"]] == [
            (1, ["nginx:1.27"]),
            (2, ["nginx:1.28"]),
        ], kind
        assert history["revisions"][-1]["current"] is True
        undone = await call(mcp_client, "undo_rollout", {"kind": kind, "name": name, "namespace": namespace})
        assert undone["to_revision"] == 1
        _, live = cluster_api.request("GET", f"{path}/{name}")
        assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27", kind
        await _rolled_out(mcp_client, kind, name, namespace)
        await call(mcp_client, "restart_rollout", {"kind": kind, "name": name, "namespace": namespace})
        await _rolled_out(mcp_client, kind, name, namespace)


async def test_rollout_status_reports_waiting_and_bad_kind(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    pending = deployment("stuck", 1)
    # No node matches the selector, so the new pod never becomes available.
    pending["spec"]["template"]["spec"]["nodeSelector"] = {"no-such-label": "x"}
    create(cluster_api, f"/apis/apps/v1/namespaces/{namespace}/deployments", pending)

    async def waiting() -> dict[str, Any] | None:
        status = await call(
            mcp_client, "get_rollout_status", {"kind": "Deployment", "name": "stuck", "namespace": namespace}
        )
        return status if "available" in status["message"] else None

    status = await wait_until(waiting, what="a waiting rollout status")
    assert status["done"] is False and "0 of 1 updated replicas are available" in status["message"]
    message = await call_error(mcp_client, "get_rollout_status", {"kind": "Pod", "name": "x", "namespace": namespace})
    assert message == "Invalid argument `kind`: must be one of 'Deployment', 'StatefulSet' or 'DaemonSet', got 'Pod'."
