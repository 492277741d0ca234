"""metrics-server (``pins/metrics-server``) behind the real ``v1beta1.metrics.k8s.io`` APIService, scraping KWOK.

KWOK simulates each node's kubelet resource-metrics endpoint (``devcluster.components.kwok_config`` loads its
``Metric`` and ``ClusterResourceUsage`` from the pinned module): container CPU and memory come from a pod's
``kwok.x-k8s.io/usage-cpu`` / ``kwok.x-k8s.io/usage-memory`` annotations. metrics-server finds a node's endpoint as
kwokctl wires it: the node's InternalIP (127.0.0.1), the port of ``status.daemonEndpoints.kubeletEndpoint``
(KWOK's server) and the path of the node annotation ``metrics.k8s.io/resource-metrics-path``. The API server
reaches metrics-server through :func:`devcluster.aggregation.register_api_service`.

A part of the ``autoscaling`` profile (``devcluster.profiles``): :func:`build`, :func:`components`, :func:`install`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from devcluster.aggregation import LOOPBACK, ca_bundle, register_api_service, serving_certificate
from devcluster.api import ClusterAPI
from devcluster.build import Binary, binaries_digest, build_binaries
from devcluster.cache import cache_root
from devcluster.components import RESOURCE_METRICS_ANNOTATION, kwok_config, resource_metrics_path
from devcluster.messages import ClusterError, log
from devcluster.processes import Component, free_port, launch, listening, wait_for
from devcluster.profiles import launched, record

METRICS_SERVER_VERSION = "v0.8.0"
METRICS_SERVER_BINARIES = (
    Binary(
        "metrics-server",
        "metrics-server",
        "sigs.k8s.io/metrics-server/cmd/metrics-server",
        f"-s -w -X k8s.io/client-go/pkg/version.gitVersion={METRICS_SERVER_VERSION}",
    ),
)
GROUP, VERSION = "metrics.k8s.io", "v1beta1"
SERVICE, NAMESPACE = "metrics-server", "kube-system"


def bin_dir() -> Path:
    return cache_root() / "bin" / binaries_digest(METRICS_SERVER_BINARIES)


def build() -> Path:
    """Build metrics-server into the cache if it is missing; return the directory holding it."""
    return build_binaries(METRICS_SERVER_BINARIES, bin_dir())


def components(state: Path, bins: Path, kubeconfig: Path) -> list[Component]:
    """metrics-server on a free port of 127.0.0.1, scraping the KWOK nodes every 10 s (its shortest resolution, which
    must exceed the 5 s request timeout).

    KWOK's certificate is checked against the cluster CA (kwokctl uses --kubelet-insecure-tls instead).
    """
    pki = state / "pki"
    cert, key = serving_certificate(state, SERVICE, NAMESPACE)
    return [
        Component(
            "metrics-server",
            [
                str(bins / "metrics-server"),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                f"--bind-address={LOOPBACK}",
                f"--secure-port={free_port()}",
                f"--tls-cert-file={cert}",
                f"--tls-private-key-file={key}",
                "--kubelet-preferred-address-types=InternalIP",
                "--kubelet-use-node-status-port",
                f"--kubelet-certificate-authority={pki / 'ca.crt'}",
                f"--kubelet-client-certificate={pki / 'admin.crt'}",
                f"--kubelet-client-key={pki / 'admin.key'}",
                "--metric-resolution=10s",
                "--kubelet-request-timeout=5s",
                "--profiling=false",
                "--v=1",
            ],
        )
    ]


def port_of(component: Component) -> int:
    """The port a metrics-server component listens on (from its command line)."""
    flag = next(a for a in component.argv if a.startswith("--secure-port="))
    return int(flag.split("=", 1)[1])


def _kwok_simulates_metrics(state: Path) -> None:
    """Make KWOK serve resource metrics on a cluster started before its configuration had them: a KWOK whose
    configuration differs from the current one is given the current one and restarted (its nodes stay Ready)."""
    config = state / "kwok.yaml"
    wanted = kwok_config(state)
    if config.read_text() == wanted:
        return
    log("KWOK runs an older configuration (without the resource metrics); rewriting it and restarting KWOK")
    config.write_text(wanted)
    kwok = launched(state, "kwok")
    if kwok.alive():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(kwok.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while kwok.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
    launch(state, kwok)
    record(state, kwok)


def install(api: ClusterAPI, state: Path) -> None:
    """Annotate the nodes with KWOK's metrics path, register ``v1beta1.metrics.k8s.io`` and wait until served."""
    _kwok_simulates_metrics(state)
    status, nodes = api.request("GET", "/api/v1/nodes", timeout=10)
    if status != 200 or not isinstance(nodes, dict):
        raise ClusterError(f"listing the nodes answered {status}: {nodes}")
    for node in nodes.get("items") or []:
        name = node["metadata"]["name"]
        patch = {"metadata": {"annotations": {RESOURCE_METRICS_ANNOTATION: resource_metrics_path(name)}}}
        status, answer = api.request(
            "PATCH", f"/api/v1/nodes/{name}", patch, content_type="application/merge-patch+json"
        )
        if status != 200:
            raise ClusterError(f"annotating node {name} answered {status}: {answer}")
    server = launched(state, "metrics-server")
    port = port_of(server)
    wait_for(f"metrics-server to listen on 127.0.0.1:{port}", lambda: listening(port), 60, state, server)
    register_api_service(api, GROUP, VERSION, port, ca_bundle(state), service=SERVICE, namespace=NAMESPACE)
