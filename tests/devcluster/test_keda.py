"""The KEDA operator and metrics server of devcluster.keda in the test cluster's autoscaling profile: built from the
pins, registered as v1beta1.external.metrics.k8s.io, and scaling a Deployment on a trigger the test controls."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from devcluster import build, keda
from devcluster.api import ClusterAPI, deployment
from devcluster.pki import write_pki
from devcluster.state import state_dir

pytestmark = pytest.mark.cluster


@pytest.fixture
def state(autoscaling_kubeconfig: str) -> Path:
    """The state directory of the test cluster, which runs the autoscaling profile."""
    return state_dir()


class Value:
    """A JSON document {"value": N} on 127.0.0.1 that KEDA's metrics-api trigger reads; the test sets N."""

    def __init__(self) -> None:
        self.value = 0
        self.reads = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.reads += 1
                body = json.dumps({"value": owner.value}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/value"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def value() -> Iterator[Value]:
    served = Value()
    yield served
    served.close()


def wait(check: Callable[[], Any], within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out after {within:.0f} s waiting for {what}"
        time.sleep(0.2)


def get(api: ClusterAPI, path: str) -> Any:
    status, answer = api.request("GET", path)
    return answer if status == 200 else None


def replicas(api: ClusterAPI, namespace: str, name: str) -> int:
    return int(get(api, f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")["spec"]["replicas"])


def test_binaries_are_a_group_of_their_own() -> None:
    # Adding KEDA left the control plane's digest (and its cached binaries) alone; both are named by their pins.
    assert keda.bin_dir() != build.bin_dir() and keda.bin_dir().parent == build.bin_dir().parent
    assert {b.module_dir for b in keda.KEDA_BINARIES} == {"keda"}
    pins = (build.PINS / "keda" / "go.mod").read_text()
    crds = (build.PINS / "crds" / "go.mod").read_text()
    # The operator runs the version whose CRDs the cluster installs.
    assert f"github.com/kedacore/keda/v2 {keda.KEDA_VERSION}" in pins
    assert f"github.com/kedacore/keda/v2 {keda.KEDA_VERSION}" in crds


def test_components_bind_loopback_and_name_the_watched_namespaces(tmp_path: Path) -> None:
    write_pki(tmp_path / "pki")  # the cluster's CA signs the metrics server's serving certificate
    items = keda.components(tmp_path, Path("/bins"), tmp_path / "kubeconfig", watch_namespaces="a,b")
    operator, adapter = items
    assert [c.name for c in items] == [keda.OPERATOR, keda.ADAPTER]
    for component in items:
        assert component.env["WATCH_NAMESPACE"] == "a,b"
        assert component.env["KEDA_CLUSTER_OBJECT_NAMESPACE"] == keda.NAMESPACE
    ports = keda.ports(tmp_path)
    for flag in ("metrics-bind-address", "health-probe-bind-address", "metrics-service-bind-address"):
        assert any(arg.startswith(f"--{flag}=127.0.0.1:") for arg in operator.argv), flag
    assert "--bind-address=127.0.0.1" in adapter.argv
    assert f"--metrics-service-address=127.0.0.1:{ports['grpc']}" in adapter.argv
    assert {"ca.crt", "tls.crt", "tls.key"} <= {p.name for p in (tmp_path / "keda" / "certs").iterdir()}


def test_external_metrics_api_is_served_by_the_metrics_server(state: Path, cluster_api: ClusterAPI) -> None:
    api = cluster_api
    service = get(api, f"/apis/apiregistration.k8s.io/v1/apiservices/{keda.API_SERVICE}")
    available = {c["type"]: c["status"] for c in service["status"]["conditions"]}
    assert available["Available"] == "True"
    assert service["spec"]["service"] == {
        "namespace": keda.NAMESPACE,
        "name": keda.SERVICE,
        "port": keda.ports(state)["adapter"],
    }
    discovery = get(api, keda.EXTERNAL_METRICS)
    assert discovery["groupVersion"] == "external.metrics.k8s.io/v1beta1"
    assert keda.operator_healthy(state) and keda.adapter_ready(state)


def test_operator_scales_from_zero_and_the_hpa_reads_the_metrics_server(
    state: Path, cluster_api: ClusterAPI, namespace: str, value: Value
) -> None:
    api, ns = cluster_api, namespace
    worker = deployment("worker", replicas=0, image="w:1", container="w")
    assert api.request("POST", f"/apis/apps/v1/namespaces/{ns}/deployments", worker)[0] == 201
    scaled_object = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "worker"},
        "spec": {
            "scaleTargetRef": {"name": "worker"},
            "pollingInterval": 1,
            "cooldownPeriod": 3,
            "minReplicaCount": 0,
            "maxReplicaCount": 3,
            "triggers": [
                {
                    "type": "metrics-api",
                    "metadata": {
                        "url": value.url,
                        "valueLocation": "value",
                        "format": "json",
                        "targetValue": "1",
                        "activationTargetValue": "0",
                    },
                }
            ],
        },
    }
    path = f"/apis/keda.sh/v1alpha1/namespaces/{ns}/scaledobjects"
    assert api.request("POST", path, scaled_object)[0] == 201

    # The operator, not the test, makes the HPA, owned by the ScaledObject.
    hpa = wait(
        lambda: get(api, f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/keda-hpa-worker"),
        60,
        "the operator's HPA",
    )
    assert [(o["kind"], o["name"]) for o in hpa["metadata"]["ownerReferences"]] == [("ScaledObject", "worker")]
    assert hpa["spec"]["maxReplicas"] == 3
    metric = hpa["spec"]["metrics"][0]["external"]["metric"]
    ready = wait(lambda: get(api, f"{path}/worker"), 30, "the ScaledObject")
    wait(
        lambda: (
            {
                c["type"]: c["status"] for c in (get(api, f"{path}/worker").get("status") or {}).get("conditions", [])
            }.get("Ready")
            == "True"
        ),
        60,
        "the ScaledObject Ready",
    )
    assert ready["metadata"]["name"] == "worker"
    assert replicas(api, ns, "worker") == 0

    # Above the activation value: the operator wakes the Deployment, then the HPA, reading the value through the
    # aggregated external metrics API the metrics server serves, sizes it (3 / target 1 = 3 replicas).
    value.value = 3
    wait(lambda: replicas(api, ns, "worker") >= 1, 30, "the Deployment woken from zero")
    selector = "scaledobject.keda.sh%2Fname%3Dworker"
    served = wait(
        lambda: get(api, f"{keda.EXTERNAL_METRICS}/namespaces/{ns}/{metric['name']}?labelSelector={selector}"),
        30,
        "the external metric",
    )
    assert [item["value"] for item in served["items"]] == ["3"]
    wait(lambda: replicas(api, ns, "worker") == 3, 90, "the HPA to scale to 3")

    # Back to zero after the cooldown once the value drops.
    value.value = 0
    wait(lambda: replicas(api, ns, "worker") == 0, 120, "the Deployment back at zero")
    assert value.reads > 0
