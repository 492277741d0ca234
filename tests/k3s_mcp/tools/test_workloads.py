"""StatefulSet and DaemonSet tools through an MCP client: rows, details, scaling a StatefulSet for real."""

from __future__ import annotations

from typing import Any

from fastmcp import Client

from devcluster.api import ClusterAPI
from tests.k3s_mcp.conftest import call, call_error, create, running_pods, wait_until


def workload(kind: str, name: str, replicas: int | None = None) -> dict[str, Any]:
    labels = {"app": name}
    spec: dict[str, Any] = {
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]},
        },
    }
    if replicas is not None:
        spec["replicas"] = replicas
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "labels": labels}, "spec": spec}


async def test_statefulset_list_show_and_scale(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    create(cluster_api, f"/apis/apps/v1/namespaces/{namespace}/statefulsets", workload("StatefulSet", "db", 1))
    rows = await call(mcp_client, "get_statefulsets", {"namespace": namespace})
    assert [(r["name"], r["service"], r["images"]) for r in rows["items"]] == [("db", "db", ["nginx:1.27"])]

    dry = await call(
        mcp_client, "scale_statefulset", {"name": "db", "namespace": namespace, "replicas": 3, "dry_run": True}
    )
    assert dry["dry_run"] is True and dry["settled"] is False
    _, live = cluster_api.request("GET", f"/apis/apps/v1/namespaces/{namespace}/statefulsets/db")
    assert live["spec"]["replicas"] == 1

    scaled = await call(mcp_client, "scale_statefulset", {"name": "db", "namespace": namespace, "replicas": 3})
    assert scaled["settled"] is True and scaled["ready_replicas"] == 3 and scaled["previous_replicas"] == 1
    names = sorted(p["metadata"]["name"] for p in running_pods(cluster_api, namespace, "app=db"))
    assert names == ["db-0", "db-1", "db-2"]

    detail = await call(mcp_client, "get_statefulset", {"name": "db", "namespace": namespace})
    assert detail["summary"]["ready"] == "3/3" and detail["update_revision"]
    assert "managedFields" not in detail["object"]["metadata"]

    message = await call_error(mcp_client, "scale_statefulset", {"name": "nope", "namespace": namespace, "replicas": 1})
    assert "StatefulSet 'nope' not found" in message


async def test_daemonset_runs_one_pod_per_node(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    create(cluster_api, f"/apis/apps/v1/namespaces/{namespace}/daemonsets", workload("DaemonSet", "agent"))

    def eligible_nodes() -> int:
        # Other users of the cluster may add tainted nodes; the DaemonSet (no tolerations) skips those.
        _, nodes = cluster_api.request("GET", "/api/v1/nodes")
        return sum(
            1
            for node in nodes["items"]
            if not node["spec"].get("unschedulable")
            and not any(t.get("effect") in ("NoSchedule", "NoExecute") for t in node["spec"].get("taints") or [])
        )

    async def all_ready() -> dict[str, Any] | None:
        shown = await call(mcp_client, "get_daemonset", {"name": "agent", "namespace": namespace})
        summary = shown["summary"]
        count = eligible_nodes()
        return shown if count and summary["desired"] == count and summary["ready"] == count else None

    shown = await wait_until(all_ready, what="one ready agent pod per node")
    assert shown["summary"]["node_selector"] == "<none>"
    rows = await call(mcp_client, "get_daemonsets", {"namespace": namespace})
    assert [(r["name"], r["desired"]) for r in rows["items"]] == [("agent", shown["summary"]["desired"])]
