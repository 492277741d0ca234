"""metrics-server answers NodeMetrics and PodMetrics of KWOK pods through the API server; the profile is additive."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from devcluster import cluster
from devcluster.aggregation import api_service_condition, register_api_service
from devcluster.api import ClusterAPI
from devcluster.messages import ClusterError
from devcluster.metrics_server import GROUP, NAMESPACE, SERVICE, VERSION
from devcluster.profiles import PROFILES, launched, profile_name, recorded_parts
from k3s_mcp.quantities import parse_quantity
from tests.conftest import AUTOSCALING

pytestmark = pytest.mark.cluster

METRICS = f"/apis/{GROUP}/{VERSION}"


def wait_for(check: Any, within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {within}s waiting for {what}")


def test_the_api_server_routes_metrics_k8s_io_to_metrics_server(
    autoscaling_kubeconfig: str, cluster_api: ClusterAPI
) -> None:
    status, api_service = cluster_api.request("GET", f"/apis/apiregistration.k8s.io/v1/apiservices/{VERSION}.{GROUP}")
    assert status == 200, api_service
    assert api_service["spec"]["service"]["name"] == SERVICE and api_service["spec"].get("caBundle")
    assert not api_service["spec"].get("insecureSkipTLSVerify")
    assert api_service_condition(cluster_api, GROUP, VERSION)["status"] == "True"
    status, service = cluster_api.request("GET", f"/api/v1/namespaces/{NAMESPACE}/services/{SERVICE}")
    assert status == 200 and service["spec"]["type"] == "ExternalName"
    assert service["spec"]["externalName"] == "127.0.0.1"
    status, discovery = cluster_api.request("GET", METRICS)
    assert status == 200 and {r["name"] for r in discovery["resources"]} >= {"nodes", "pods"}


def test_node_and_pod_metrics_of_kwok_pods(
    autoscaling_kubeconfig: str, cluster_api: ClusterAPI, namespace: str
) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "busy",
            "annotations": {"kwok.x-k8s.io/usage-cpu": "300m", "kwok.x-k8s.io/usage-memory": "40Mi"},
        },
        "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]},
    }
    status, answer = cluster_api.request("POST", f"/api/v1/namespaces/{namespace}/pods", pod)
    assert status == 201, answer

    def pod_metrics() -> dict[str, Any] | None:
        status, answer = cluster_api.request("GET", f"{METRICS}/namespaces/{namespace}/pods/busy")
        return answer if status == 200 else None

    metrics = wait_for(pod_metrics, 90, "PodMetrics of the KWOK pod")
    assert metrics["kind"] == "PodMetrics" and metrics["window"]
    [container] = metrics["containers"]
    assert container["name"] == "main"
    assert container["usage"]["memory"] == "40Mi"
    cpu = container["usage"]["cpu"]
    assert 0.25 <= parse_quantity(cpu) <= 0.35, cpu

    status, nodes = cluster_api.request("GET", f"{METRICS}/nodes")
    assert status == 200, nodes
    _, listed = cluster_api.request("GET", "/api/v1/nodes")
    assert {n["metadata"]["name"] for n in nodes["items"]} == {n["metadata"]["name"] for n in listed["items"]}
    assert nodes["kind"] == "NodeMetricsList"
    # A node's usage is its own (256Mi, see devcluster.components) plus its pods': at least the busy pod's 40Mi.
    _, placed = cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/pods/busy")
    usage = next(n["usage"] for n in nodes["items"] if n["metadata"]["name"] == placed["spec"]["nodeName"])
    assert parse_quantity(usage["memory"]) >= (256 + 40) * 2**20, usage
    assert all(parse_quantity(n["usage"]["cpu"]) > 0 for n in nodes["items"])


def test_profile_up_is_idempotent(autoscaling_kubeconfig: str) -> None:
    state = cluster.state_dir()
    before = {c.name: c.pid for c in cluster.load_components(state)}
    assert {"metrics-server", "prometheus"} <= set(before)
    again = cluster.up(profile=AUTOSCALING)
    assert not again.started
    assert {c.name: c.pid for c in cluster.load_components(state)} == before
    assert AUTOSCALING in cluster.status()["profiles"]
    assert set(recorded_parts(state)) >= {"devcluster.metrics_server", "devcluster.prometheus"}
    assert launched(state, "metrics-server").alive()
    # The plain profile on the same cluster changes nothing either.
    assert not cluster.up().started
    assert {c.name: c.pid for c in cluster.load_components(state)} == before


def test_unknown_profile_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("K3S_MCP_CLUSTER_PROFILE", "turbo")
    with pytest.raises(ClusterError, match="unknown cluster profile 'turbo'; the profiles are: autoscaling, plain"):
        profile_name()
    assert profile_name("autoscaling") == "autoscaling"
    assert PROFILES["plain"] == ()


def test_register_api_service_refuses_a_port_out_of_range(tmp_path: Path) -> None:
    api = ClusterAPI.__new__(ClusterAPI)  # never contacted: the port is refused first
    with pytest.raises(ClusterError, match="port 70000 is not a TCP port"):
        register_api_service(api, "example.k3s-mcp.dev", "v1", 70000, b"", service="x")
