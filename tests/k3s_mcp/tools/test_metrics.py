"""`top` tools through an MCP client: a clear message without metrics.k8s.io, sums and order when it is served."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastmcp import Client

from devcluster.api import ClusterAPI
from k3s_mcp.quantities import parse_quantity
from tests.k3s_mcp.conftest import ClientFactory, call, call_error, create


async def test_top_says_clearly_when_metrics_are_not_served(mcp_client: Client[Any], namespace: str) -> None:
    for tool, arguments in (("top_pods", {"namespace": namespace}), ("top_nodes", {})):
        message = await call_error(mcp_client, tool, arguments)
        assert "does not serve the metrics API (metrics.k8s.io)" in message, message
        assert "metrics-server" in message


def _metrics_crd(plural: str, kind: str) -> dict[str, Any]:
    """A CRD serving `<plural>.metrics.k8s.io`, so the real API server answers as metrics-server's API would."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.metrics.k8s.io",
            # *.k8s.io groups need this annotation; the value says the group is not an approved API.
            "annotations": {"api-approved.kubernetes.io": "unapproved, test stand-in for metrics-server"},
        },
        "spec": {
            "group": "metrics.k8s.io",
            "scope": "Namespaced" if plural == "pods" else "Cluster",
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": f"{kind}List"},
            "versions": [
                {
                    "name": "v1beta1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }


@pytest.fixture
def served_metrics(cluster_api: ClusterAPI) -> Iterator[None]:
    for plural, kind in (("pods", "PodMetrics"), ("nodes", "NodeMetrics")):
        create(cluster_api, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", _metrics_crd(plural, kind))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if cluster_api.request("GET", "/apis/metrics.k8s.io/v1beta1/nodes")[0] == 200:
            break
        time.sleep(0.2)
    try:
        yield
    finally:
        for plural in ("pods", "nodes"):
            cluster_api.request(
                "DELETE", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{plural}.metrics.k8s.io"
            )


async def test_top_sums_and_sorts_usage(
    make_client: ClientFactory, kubeconfig: str, cluster_api: ClusterAPI, namespace: str, served_metrics: None
) -> None:
    _, nodes = cluster_api.request("GET", "/api/v1/nodes")
    node = nodes["items"][0]
    node_name = node["metadata"]["name"]
    create(
        cluster_api,
        "/apis/metrics.k8s.io/v1beta1/nodes",
        {
            "apiVersion": "metrics.k8s.io/v1beta1",
            "kind": "NodeMetrics",
            "metadata": {"name": node_name},
            "window": "15s",
            "usage": {"cpu": "500m", "memory": "1Gi"},
        },
    )
    for name, cpu, memory in (("small", "10m", "64Mi"), ("big", "250m", "32Mi")):
        create(
            cluster_api,
            f"/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods",
            {
                "apiVersion": "metrics.k8s.io/v1beta1",
                "kind": "PodMetrics",
                "metadata": {"name": name},
                "window": "15s",
                "containers": [
                    {"name": "main", "usage": {"cpu": cpu, "memory": memory}},
                    {"name": "side", "usage": {"cpu": "5m", "memory": "16Mi"}},
                ],
            },
        )
    async with make_client(kubeconfig=kubeconfig) as client:
        by_cpu = await call(client, "top_pods", {"namespace": namespace})
        assert [(p["name"], p["cpu_millicores"], p["memory_mib"]) for p in by_cpu["items"]] == [
            ("big", 255, 48.0),
            ("small", 15, 80.0),
        ]
        assert by_cpu["items"][0]["containers"] == {"main": "250m, 32.0Mi", "side": "5m, 16.0Mi"}
        by_memory = await call(client, "top_pods", {"namespace": namespace, "sort_by": "memory", "limit": 1})
        assert [p["name"] for p in by_memory["items"]] == ["small"]

        top = await call(client, "top_nodes", {})
        row = next(n for n in top["items"] if n["name"] == node_name)
        allocatable_cpu = float(parse_quantity(node["status"]["allocatable"]["cpu"])) * 1000
        assert row["cpu_millicores"] == 500 and row["memory_mib"] == 1024.0
        assert row["cpu_percent"] == round(100 * 500 / allocatable_cpu, 1)
