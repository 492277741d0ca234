"""Events and describe through an MCP client: filters by object and type, owner chains, clear errors."""

from __future__ import annotations

from typing import Any

from fastmcp import Client

from devcluster.api import ClusterAPI, deployment
from tests.k3s_mcp.conftest import call, call_error, create, running_pods, wait_until


def _event(name: str, involved: dict[str, Any], event_type: str, reason: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name},
        "involvedObject": involved,
        "type": event_type,
        "reason": reason,
        "message": f"{reason} happened",
        "source": {"component": "test"},
        "count": 2,
        "firstTimestamp": "2026-01-01T00:00:00Z",
        "lastTimestamp": "2026-01-01T00:00:01Z",
    }


async def test_events_filtered_by_object_and_type(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    configmap = create(
        cluster_api,
        f"/api/v1/namespaces/{namespace}/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "watched"}},
    )
    involved = {"kind": "ConfigMap", "name": "watched", "namespace": namespace, "uid": configmap["metadata"]["uid"]}
    other = {"kind": "ConfigMap", "name": "other", "namespace": namespace}
    path = f"/api/v1/namespaces/{namespace}/events"
    create(cluster_api, path, _event("e1", involved, "Warning", "BadThing"))
    create(cluster_api, path, _event("e2", involved, "Normal", "GoodThing"))
    create(cluster_api, path, _event("e3", other, "Warning", "ElseWhere"))

    everything = await call(mcp_client, "get_events", {"namespace": namespace})
    assert {r["reason"] for r in everything["items"]} >= {"BadThing", "GoodThing", "ElseWhere"}
    warnings = await call(mcp_client, "get_events", {"namespace": namespace, "event_type": "Warning"})
    assert {r["reason"] for r in warnings["items"]} == {"BadThing", "ElseWhere"}
    about = await call(mcp_client, "get_events", {"namespace": namespace, "kind": "cm", "name": "watched"})
    assert {r["reason"] for r in about["items"]} == {"BadThing", "GoodThing"}
    row = next(r for r in about["items"] if r["reason"] == "BadThing")
    assert row["object"] == "ConfigMap/watched" and row["count"] == 2 and row["source"] == "test"

    described = await call(
        mcp_client, "describe_object", {"kind": "configmap", "name": "watched", "namespace": namespace}
    )
    assert {e["reason"] for e in described["events"]} == {"BadThing", "GoodThing"}
    assert described["owner_chain"] == [] and described["kind"] == "ConfigMap"


async def test_describe_pod_shows_owner_chain_and_controller_events(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    create(cluster_api, f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment("web", 1))
    pods = await wait_until(lambda: running_pods(cluster_api, namespace, "app=web"), what="a running web pod")
    pod = pods[0]["metadata"]["name"]

    async def described_with_events() -> dict[str, Any] | None:
        view = await call(mcp_client, "describe_object", {"kind": "po", "name": pod, "namespace": namespace})
        return view if view["events"] else None

    view = await wait_until(described_with_events, what="scheduler events on the pod")
    chain = [(o["kind"], o["found"]) for o in view["owner_chain"]]
    assert chain == [("ReplicaSet", True), ("Deployment", True)]
    assert view["owner_chain"][1]["name"] == "web"
    assert any(e["reason"] == "Scheduled" for e in view["events"])
    assert "managedFields" not in view["object"]["metadata"] and view["api_version"] == "v1"

    node = view["object"]["spec"]["nodeName"]
    node_view = await call(mcp_client, "describe_object", {"kind": "node", "name": node})
    assert node_view["namespace"] is None and node_view["kind"] == "Node"


async def test_describe_bad_paths(mcp_client: Client[Any], namespace: str) -> None:
    unknown = await call_error(
        mcp_client, "describe_object", {"kind": "frobnicator", "name": "x", "namespace": namespace}
    )
    assert "Unknown kind 'frobnicator'" in unknown
    missing = await call_error(
        mcp_client, "describe_object", {"kind": "deploy", "name": "ghost", "namespace": namespace}
    )
    assert "Deployment 'ghost' not found" in missing
    bad_kind = await call_error(mcp_client, "get_events", {"namespace": namespace, "kind": "frobnicator"})
    assert "Unknown kind" in bad_kind
