"""cordon_node, uncordon_node and drain_node through an MCP client against the real cluster.

The test makes two nodes of its own (KWOK runs with --manage-all-nodes, so it simulates any Node object) and taints
them, so no other test's pods land there and the shared nodes are never drained. The controller-manager recreates
the evicted Deployment pods on the second node, as it would on a real cluster.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastmcp import Client

from devcluster.api import ClusterAPI
from devcluster.components import node_object
from tests.k3s_mcp.conftest import ClientFactory, call, call_error, create, wait_until

LABEL = "k3s-mcp-test/drain"


def get(cluster_api: ClusterAPI, path: str) -> dict[str, Any]:
    status, answer = cluster_api.request("GET", path)
    assert status == 200, answer
    assert isinstance(answer, dict)
    return answer


def unschedulable(cluster_api: ClusterAPI, node: str) -> bool:
    return bool(get(cluster_api, f"/api/v1/nodes/{node}").get("spec", {}).get("unschedulable"))


def node_ready(cluster_api: ClusterAPI, node: str) -> bool:
    conditions = get(cluster_api, f"/api/v1/nodes/{node}").get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


@pytest.fixture
def own_nodes(cluster_api: ClusterAPI) -> Iterator[tuple[str, str, str]]:
    """Two Ready nodes of this test (the second cordoned), tainted for this test's pods only; deleted after."""
    mark = uuid.uuid4().hex[:8]
    names = (f"drain-{mark}-a", f"drain-{mark}-b")
    for name in names:
        node = node_object(name, 1)
        node["metadata"]["labels"][LABEL] = mark
        node["spec"] = {"taints": [{"key": LABEL, "value": mark, "effect": "NoSchedule"}]}
        if name.endswith("-b"):
            node["spec"]["unschedulable"] = True
        create(cluster_api, "/api/v1/nodes", node)
    try:
        yield names[0], names[1], mark
    finally:
        for name in names:
            cluster_api.request("DELETE", f"/api/v1/nodes/{name}")


def pinned(spec: dict[str, Any], mark: str) -> dict[str, Any]:
    return {
        **spec,
        "nodeSelector": {LABEL: mark},
        "tolerations": [{"key": LABEL, "operator": "Equal", "value": mark, "effect": "NoSchedule"}],
    }


def pods_of(cluster_api: ClusterAPI, namespace: str, app: str) -> list[dict[str, Any]]:
    answer = get(cluster_api, f"/api/v1/namespaces/{namespace}/pods?labelSelector=app={app}")
    return [p for p in answer["items"] if not p["metadata"].get("deletionTimestamp")]


def running_on(cluster_api: ClusterAPI, namespace: str, app: str, node: str) -> list[dict[str, Any]]:
    return [
        p
        for p in pods_of(cluster_api, namespace, app)
        if p["spec"].get("nodeName") == node and p.get("status", {}).get("phase") == "Running"
    ]


async def test_drain_respects_a_pod_disruption_budget(
    mcp_client: Client[Any],
    make_client: ClientFactory,
    kubeconfig: str,
    cluster_api: ClusterAPI,
    namespace: str,
    own_nodes: tuple[str, str, str],
) -> None:
    node, spare, mark = own_nodes
    await wait_until(lambda: node_ready(cluster_api, node) and node_ready(cluster_api, spare), what="own nodes Ready")
    labels = {"app": "guarded"}
    container = {"containers": [{"name": "main", "image": "nginx:1.27"}]}
    web = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "guarded"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pinned(container, mark)},
        },
    }
    create(cluster_api, f"/apis/apps/v1/namespaces/{namespace}/deployments", web)
    agent = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent"},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {"metadata": {"labels": {"app": "agent"}}, "spec": pinned(container, mark)},
        },
    }
    create(cluster_api, f"/apis/apps/v1/namespaces/{namespace}/daemonsets", agent)
    budget = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "guarded"},
        "spec": {"minAvailable": 2, "selector": {"matchLabels": labels}},
    }
    create(cluster_api, f"/apis/policy/v1/namespaces/{namespace}/poddisruptionbudgets", budget)
    pdb_path = f"/apis/policy/v1/namespaces/{namespace}/poddisruptionbudgets/guarded"
    await wait_until(lambda: len(running_on(cluster_api, namespace, "guarded", node)) == 2, what="2 pods on the node")
    await wait_until(lambda: running_on(cluster_api, namespace, "agent", node), what="the DaemonSet pod")
    await wait_until(lambda: get(cluster_api, pdb_path).get("status", {}).get("currentHealthy") == 2, what="PDB")

    # A bare pod with emptyDir data: drain refuses and changes nothing, not even the cordon.
    loner = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "loner"},
        "spec": {**pinned(container, mark), "nodeName": node, "volumes": [{"name": "scratch", "emptyDir": {}}]},
    }
    create(cluster_api, f"/api/v1/namespaces/{namespace}/pods", loner)
    refused = await call_error(mcp_client, "drain_node", {"name": node})
    assert f"{namespace}/loner" in refused and "delete_emptydir_data=true" in refused and "force=true" in refused
    assert not unschedulable(cluster_api, node)
    cluster_api.request("DELETE", f"/api/v1/namespaces/{namespace}/pods/loner?gracePeriodSeconds=0")
    await wait_until(
        lambda: cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/pods/loner")[0] == 404, what="loner gone"
    )

    # Drain is destructive: under a confirmation rule the first call changes nothing.
    async with make_client(kubeconfig=kubeconfig, confirm_verbs="drain") as held:
        message = await call_error(held, "drain_node", {"name": node})
        assert message.startswith("Needs confirmation:") and "confirm=true" in message
    assert not unschedulable(cluster_api, node)

    opened = await call(mcp_client, "uncordon_node", {"name": spare})
    assert opened["changed"] is True and opened["unschedulable"] is False
    assert not unschedulable(cluster_api, spare)

    blocked = await call(mcp_client, "drain_node", {"name": node, "timeout_seconds": 5})
    assert blocked["cordoned"] is True and unschedulable(cluster_api, node)
    assert blocked["evicted"] == []
    assert len(blocked["blocked"]) == 2
    assert all(note["pod"].startswith(f"{namespace}/guarded-") for note in blocked["blocked"])
    assert all("disruption budget" in note["reason"] for note in blocked["blocked"]), blocked["blocked"]
    assert [note["pod"].split("/")[1].split("-")[0] for note in blocked["skipped"]] == ["agent"]
    assert "DaemonSet" in blocked["skipped"][0]["reason"]
    assert len(running_on(cluster_api, namespace, "guarded", node)) == 2

    status, answer = cluster_api.request(
        "PATCH", pdb_path, {"spec": {"minAvailable": 1}}, content_type="application/merge-patch+json"
    )
    assert status == 200, answer
    await wait_until(lambda: get(cluster_api, pdb_path).get("status", {}).get("disruptionsAllowed") == 1, what="PDB")

    reports: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append(progress)

    # While the drain runs, count the guarded pods that are running and not terminating: the budget keeps one.
    healthy: list[int] = []
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            pods = await asyncio.to_thread(pods_of, cluster_api, namespace, "guarded")
            healthy.append(sum(1 for p in pods if p.get("status", {}).get("phase") == "Running"))
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    try:
        result = await mcp_client.call_tool(
            "drain_node", {"name": node, "timeout_seconds": 120}, progress_handler=on_progress, raise_on_error=False
        )
    finally:
        done.set()
        await sampler
    assert not result.is_error, result.content
    drained = result.structured_content
    assert drained is not None
    assert healthy and min(healthy) >= 1, healthy
    assert reports and reports[-1] == 2, reports
    assert len(drained["evicted"]) == 2 and drained["blocked"] == [] and drained["failed"] == []
    assert drained["terminating"] == []
    assert unschedulable(cluster_api, node)
    # No evictable pod is left on the node; the Deployment runs both replicas on the spare node.
    assert running_on(cluster_api, namespace, "guarded", node) == []
    await wait_until(
        lambda: len(running_on(cluster_api, namespace, "guarded", spare)) == 2, what="replacements on the spare"
    )
    assert running_on(cluster_api, namespace, "agent", node), "the DaemonSet pod stays"

    again = await call(mcp_client, "cordon_node", {"name": node})
    assert again["changed"] is False and "already cordoned" in again["message"]
    restored = await call(mcp_client, "uncordon_node", {"name": node})
    assert restored["changed"] is True and not unschedulable(cluster_api, node)
    cordoned = await call(mcp_client, "cordon_node", {"name": node})
    assert cordoned["changed"] is True and unschedulable(cluster_api, node)


async def test_node_tools_name_missing_nodes_and_are_writes(
    mcp_client: Client[Any], make_client: ClientFactory, kubeconfig: str
) -> None:
    for tool in ("cordon_node", "uncordon_node", "drain_node"):
        message = await call_error(mcp_client, tool, {"name": "no-such-node-x1"})
        assert "no-such-node-x1" in message and "not found" in message
    bad = await call_error(mcp_client, "cordon_node", {"name": "../nodes"})
    assert "Invalid Node name" in bad
    async with make_client(kubeconfig=kubeconfig, read_only=True) as client:
        for tool in ("cordon_node", "uncordon_node", "drain_node"):
            assert "read-only" in await call_error(client, tool, {"name": "k3s-agent-1"})
