"""Each cluster component's command line and configuration, and KWOK's simulated nodes, pod logs and exec."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from devcluster.build import KUBE_VERSION, KWOK_MODULE, module_dir
from devcluster.processes import Component, free_port

NODE_NAMES = ("k3s-server-0", "k3s-agent-1", "k3s-agent-2")
SERVICE_CIDR = "10.43.0.0/16"  # K3s's default service range
POD_CIDR = "10.42.0.0/16"  # K3s's default cluster CIDR


SECRET_LOGGER = "secret-logger"
SECRET_LOG_LINES = (
    'level=info msg="calling the billing API"',
    'level=debug msg="request headers" authorization="Authorization: Bearer kwokFake3b1f0c9e7d2a4f68b5c1e0d9"',
    'level=info msg="billing API answered" status=200',
)
"""What a container named SECRET_LOGGER logs: one line carries a (fake) bearer token."""

RESOURCE_METRICS_ANNOTATION = "metrics.k8s.io/resource-metrics-path"
"""The node annotation metrics-server reads instead of its default ``/metrics/resource``."""
KWOK_METRICS_FILE = "kustomize/metrics/resource/metrics-resource.yaml"
KWOK_USAGE_FILE = "kustomize/metrics/usage/usage-from-annotation.yaml"
"""KWOK's resource-metrics simulation: each node's kubelet ``/metrics/resource`` at :func:`resource_metrics_path`,
computed from every container's usage, which a pod sets with the annotations ``kwok.x-k8s.io/usage-cpu`` and
``kwok.x-k8s.io/usage-memory`` (1m and 1Mi without them)."""
NODE_SYSTEM_CPU, NODE_SYSTEM_MEMORY = 0.1, 256 * 2**20
"""What a node uses besides its pods (a K3s node's own processes): 100m CPU and 256 MiB. Without it a node with
no pods would report zero, and metrics-server drops a node whose usage is zero."""


def kwok_metrics(kwok_src: Path) -> list[dict[str, Any]]:
    """KWOK's upstream Metric and ClusterResourceUsage, the node series raised by the node's own usage."""
    metric = yaml.safe_load((kwok_src / KWOK_METRICS_FILE).read_text())
    for series in metric["spec"]["metrics"]:
        if series["name"] == "node_cpu_usage_seconds_total":
            series["value"] = f'node.CumulativeUsage("cpu") + {NODE_SYSTEM_CPU} * node.SinceSecond()'
        elif series["name"] == "node_memory_working_set_bytes":
            series["value"] = f'node.Usage("memory") + {float(NODE_SYSTEM_MEMORY)}'
    return [metric, yaml.safe_load((kwok_src / KWOK_USAGE_FILE).read_text())]


def resource_metrics_path(node: str) -> str:
    """Where KWOK's server answers `node`'s resource metrics (the path of its ``metrics-resource`` Metric)."""
    return f"/metrics/nodes/{node}/metrics/resource"


def kwok_config(state: Path) -> str:
    """KWOK's configuration: its stages and resource-metrics simulation (from the pinned module), plus logs and exec
    for every pod."""
    kwok_src = module_dir("kwok", KWOK_MODULE)
    stage_files = [
        kwok_src / "kustomize/stage/node/fast/node-initialize.yaml",
        kwok_src / "kustomize/stage/node/heartbeat/node-heartbeat.yaml",
        *(
            kwok_src / "kustomize/stage/pod/fast" / name
            for name in ("pod-ready.yaml", "pod-complete.yaml", "pod-delete.yaml")
        ),
    ]
    # Outside the state directory: its parents are private to the owner, and exec runs as nobody.
    sandbox = Path(tempfile.gettempdir()) / f"k3s-mcp-exec-{os.getuid()}"
    sandbox.mkdir(exist_ok=True)
    logs_file = state / "pod.log"
    logs_file.write_text(
        "".join(
            # The CRI log format a kubelet reads: timestamp, stream, tag, message.
            f'2026-01-01T00:{i // 60:02d}:{i % 60:02d}.000000000Z stdout F level=info msg="simulated line {i}" n={i}\n'
            for i in range(1, 301)
        )
    )
    # A container named SECRET_LOGGER (in any pod) logs credential-shaped lines instead, for the redaction tests.
    secret_logs_file = state / "secret-pod.log"
    secret_logs_file.write_text(
        "".join(f"2026-01-01T00:00:0{i}.000000000Z stdout F {line}\n" for i, line in enumerate(SECRET_LOG_LINES))
    )
    local: dict[str, Any] = {"workDir": str(sandbox), "envs": [{"name": "KWOK_SIMULATED", "value": "true"}]}
    if os.geteuid() == 0:
        # Exec runs real commands on this machine: as an unprivileged user, inside a throwaway directory.
        local["securityContext"] = {"runAsUser": 65534, "runAsGroup": 65534}
        sandbox.chmod(0o777)
    documents: list[dict[str, Any]] = [
        {
            "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
            "kind": "KwokConfiguration",
            "options": {
                "enableCRDs": [],
                "cidr": POD_CIDR.replace("/16", "/24"),
                "nodeLeaseDurationSeconds": 40,
                "nodeLeaseParallelism": 4,
                "podPlayStageParallelism": 4,
                "nodePlayStageParallelism": 4,
                "enablePodsOnNodeSyncStreamWatch": True,
                "enableDebuggingHandlers": True,
            },
        },
        {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "ClusterLogs",
            "metadata": {"name": "all-pods"},
            "spec": {
                "logs": [
                    {"containers": [SECRET_LOGGER], "logsFile": str(secret_logs_file), "follow": False},
                    {"logsFile": str(logs_file), "previousLogsFile": str(logs_file), "follow": False},
                ]
            },
        },
        {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "ClusterExec",
            "metadata": {"name": "all-pods"},
            "spec": {"execs": [{"local": local}]},
        },
    ]
    documents += kwok_metrics(kwok_src)
    text = "\n---\n".join(yaml.safe_dump(doc, sort_keys=False) for doc in documents)
    for path in stage_files:
        text += "\n---\n" + path.read_text()
    return text


def node_object(name: str, index: int) -> dict[str, Any]:
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": "amd64",
        # What a K3s node carries; the simulated nodes mirror a K3s server plus two agents.
        "node.kubernetes.io/instance-type": "k3s",
        "type": "kwok",
    }
    if index == 0:
        labels["node-role.kubernetes.io/control-plane"] = "true"
        labels["node-role.kubernetes.io/master"] = "true"
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {
                "kwok.x-k8s.io/node": "fake",
                "node.alpha.kubernetes.io/ttl": "0",
                RESOURCE_METRICS_ANNOTATION: resource_metrics_path(name),
            },
        },
        "spec": {},
        "status": {
            "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"},
            "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"},
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "kubeletVersion": f"{KUBE_VERSION}+k3s1",
                "kubeProxyVersion": f"{KUBE_VERSION}+k3s1",
                "containerRuntimeVersion": "containerd://2.0.0-k3s1 (simulated by kwok)",
                "osImage": "K3s simulated node",
                "kernelVersion": "6.1.0",
            },
        },
    }


def components(state: Path, bins: Path, port: int) -> list[Component]:
    pki = state / "pki"
    etcd_client, etcd_peer = free_port(), free_port()
    kwok_port, kcm_port, sched_port = free_port(), free_port(), free_port()
    kubeconfig = str(state / "admin-files.kubeconfig")
    (state / "kwok.yaml").write_text(kwok_config(state))
    return [
        Component(
            "etcd",
            [
                str(bins / "etcd"),
                "--name=local",
                f"--data-dir={state / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{etcd_client}",
                f"--advertise-client-urls=http://127.0.0.1:{etcd_client}",
                f"--listen-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-cluster=local=http://127.0.0.1:{etcd_peer}",
                "--listen-metrics-urls=",
                "--unsafe-no-fsync=true",
                "--quota-backend-bytes=4294967296",
                "--log-level=warn",
            ],
        ),
        Component(
            "kube-apiserver",
            [
                str(bins / "kube-apiserver"),
                f"--etcd-servers=http://127.0.0.1:{etcd_client}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                # The lease reconciler refuses a loopback address; nothing in-cluster needs the endpoints.
                "--endpoint-reconciler-type=none",
                f"--secure-port={port}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=RBAC",
                "--allow-privileged=true",
                f"--kubelet-client-certificate={pki / 'admin.crt'}",
                f"--kubelet-client-key={pki / 'admin.key'}",
                "--kubelet-preferred-address-types=InternalIP",
                f"--proxy-client-cert-file={pki / 'admin.crt'}",
                f"--proxy-client-key-file={pki / 'admin.key'}",
                "--enable-priority-and-fairness=false",
                "--profiling=false",
                "--event-ttl=30m",
                "--v=0",
            ],
        ),
        Component(
            "kube-controller-manager",
            [
                str(bins / "kube-controller-manager"),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--bind-address=127.0.0.1",
                f"--secure-port={kcm_port}",
                "--leader-elect=false",
                f"--service-account-private-key-file={pki / 'sa.key'}",
                f"--root-ca-file={pki / 'ca.crt'}",
                f"--cluster-signing-cert-file={pki / 'ca.crt'}",
                f"--cluster-signing-key-file={pki / 'ca.key'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--cluster-cidr={POD_CIDR}",
                "--allocate-node-cidrs=false",
                "--controllers=*,-node-ipam-controller",
                "--node-monitor-grace-period=60s",
                "--profiling=false",
                "--v=0",
            ],
        ),
        Component(
            "kube-scheduler",
            [
                str(bins / "kube-scheduler"),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--bind-address=127.0.0.1",
                f"--secure-port={sched_port}",
                "--leader-elect=false",
                "--profiling=false",
                "--v=0",
            ],
        ),
        Component(
            "kwok",
            [
                str(bins / "kwok"),
                f"--kubeconfig={kubeconfig}",
                f"--config={state / 'kwok.yaml'}",
                "--manage-all-nodes=true",
                "--node-ip=127.0.0.1",
                f"--node-port={kwok_port}",
                f"--server-address=127.0.0.1:{kwok_port}",
                f"--tls-cert-file={pki / 'admin.crt'}",
                f"--tls-private-key-file={pki / 'admin.key'}",
                "--node-lease-duration-seconds=40",
            ],
        ),
    ]
