"""`top` tools through an MCP client against real metrics-server (KWOK simulating the kubelets' resource metrics):
sums and order of real PodMetrics and NodeMetrics, and a clear message while the metrics API is not available."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import pytest

from devcluster import cluster
from devcluster.aggregation import served
from devcluster.api import ClusterAPI
from devcluster.metrics_server import GROUP, VERSION
from devcluster.profiles import launched
from k3s_mcp.quantities import parse_quantity
from tests.conftest import AUTOSCALING, PrivateCluster
from tests.k3s_mcp.conftest import ClientFactory, call, call_error, create, wait_until

CPU, MEMORY = "kwok.x-k8s.io/usage-cpu", "kwok.x-k8s.io/usage-memory"


@pytest.fixture
def served_metrics(autoscaling_kubeconfig: str) -> None:
    """The test cluster serves metrics.k8s.io from metrics-server (the autoscaling profile)."""


def usage_pod(name: str, cpu: str, memory: str) -> dict[str, Any]:
    """A pod of two containers whose simulated usage is `cpu` and `memory` each (KWOK reads the annotations)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}, "annotations": {CPU: cpu, MEMORY: memory}},
        "spec": {
            "containers": [{"name": "main", "image": "nginx:1.27"}, {"name": "side", "image": "nginx:1.27"}],
        },
    }


async def pod_metrics(cluster_api: ClusterAPI, namespace: str, names: set[str]) -> dict[str, Any]:
    """Wait until metrics-server reports every pod of `names` (it needs two scrapes for a CPU rate)."""

    def reported() -> dict[str, Any] | None:
        status, answer = cluster_api.request("GET", f"/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods")
        if status != 200:
            return None
        items = {item["metadata"]["name"]: item for item in answer.get("items") or []}
        return items if names <= set(items) else None

    found: dict[str, Any] = await wait_until(reported, within=90, what=f"PodMetrics of {sorted(names)}")
    return found


async def test_top_sums_and_sorts_real_usage(
    make_client: ClientFactory, autoscaling_kubeconfig: str, cluster_api: ClusterAPI, namespace: str
) -> None:
    for name, cpu, memory in (("small", "10m", "64Mi"), ("big", "250m", "16Mi")):
        create(cluster_api, f"/api/v1/namespaces/{namespace}/pods", usage_pod(name, cpu, memory))
    await pod_metrics(cluster_api, namespace, {"small", "big"})
    async with make_client(kubeconfig=autoscaling_kubeconfig) as client:
        by_cpu = await call(client, "top_pods", {"namespace": namespace})
        rows = {p["name"]: p for p in by_cpu["items"]}
        assert [p["name"] for p in by_cpu["items"]] == ["big", "small"]
        # Memory is a gauge, exact; CPU is a rate metrics-server computes from two cumulative samples.
        assert rows["big"]["memory_mib"] == 32.0 and rows["small"]["memory_mib"] == 128.0
        assert 450 <= rows["big"]["cpu_millicores"] <= 550, rows["big"]
        assert 10 <= rows["small"]["cpu_millicores"] <= 30, rows["small"]
        assert set(rows["big"]["containers"]) == {"main", "side"}
        assert rows["big"]["containers"]["main"].endswith(", 16.0Mi")
        assert by_cpu["window"]
        by_memory = await call(client, "top_pods", {"namespace": namespace, "sort_by": "memory", "limit": 1})
        assert [p["name"] for p in by_memory["items"]] == ["small"]

        _, pods = cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/pods")
        on_node = {p["metadata"]["name"]: p["spec"]["nodeName"] for p in pods["items"]}
        _, nodes = cluster_api.request("GET", "/api/v1/nodes")
        top = await call(client, "top_nodes", {})
        names = {n["metadata"]["name"] for n in nodes["items"]}
        assert {n["name"] for n in top["items"]} == names
        for node in nodes["items"]:
            name = node["metadata"]["name"]
            row = next(n for n in top["items"] if n["name"] == name)
            # A node's usage sums its pods' (other tests' pods too): at least ours.
            ours = sum(128.0 if pod == "small" else 32.0 for pod, where in on_node.items() if where == name)
            assert row["memory_mib"] >= ours, (row, on_node)
            allocatable = float(parse_quantity(node["status"]["allocatable"]["memory"])) / 2**20
            assert row["memory_percent"] == round(100 * row["memory_mib"] / allocatable, 1)


async def test_top_says_clearly_while_metrics_server_is_down(
    make_client: ClientFactory, private_autoscaling_cluster: PrivateCluster
) -> None:
    private = private_autoscaling_cluster
    with private.environment():
        server = launched(private.state, "metrics-server")
        os.killpg(server.pid, signal.SIGKILL)
        await wait_until(lambda: not server.alive(), within=10, what="metrics-server to exit")
        await wait_until(
            lambda: not served(private.api, GROUP, VERSION), within=60, what="the APIService to turn unavailable"
        )
        try:
            async with make_client(kubeconfig=private.kubeconfig) as client:
                for tool, arguments in (("top_pods", {"namespace": "default"}), ("top_nodes", {})):
                    message = await call_error(client, tool, arguments)
                    assert "does not serve the metrics API (metrics.k8s.io)" in message, message
                    assert "metrics-server" in message
        finally:
            # up --profile relaunches the dead part on its recorded port, and waits until it serves again.
            result = await asyncio.to_thread(cluster.up, AUTOSCALING)
        assert result.started
        assert served(private.api, GROUP, VERSION)
        assert launched(private.state, "metrics-server").alive()
