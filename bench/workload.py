"""The objects the benchmark works on: namespaces of Deployments whose pods KWOK runs, created and removed here."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.settings import BenchSettings
from devcluster.api import ClusterAPI, deployment
from devcluster.components import node_object

NAMESPACE_LABEL = "k3s-mcp/bench"
# The cluster's own nodes hold 110 pods each, too few for the wide list: the run adds KWOK nodes of its own,
# tainted so that only the bench's pods (which tolerate the taint and select these nodes) land on them.
BENCH_NODE_TAINT = {"key": "k3s-mcp/bench", "value": "true", "effect": "NoSchedule"}
PODS_PER_BENCH_NODE = 400
IMAGE = "registry.k8s.io/pause:3.10"


class WorkloadError(RuntimeError):
    """The cluster did not reach the state the benchmark needs; the message says which objects and why."""


@dataclass(frozen=True)
class Targets:
    """Names every operation refers to."""

    namespace: str
    deployment: str
    log_pod: str
    ops_namespace: str
    pods_in_namespace: int
    pods_total: int

    def scale_target(self, peer_key: str) -> str:
        return f"scale-{peer_key}"[:63]

    def manifest(self, peer_key: str, index: int) -> str:
        """A ConfigMap, a Service and a Deployment; the ConfigMap's data changes with ``index`` so each apply writes."""
        name = f"applied-{peer_key}"[:50]
        return f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
  namespace: {self.ops_namespace}
data:
  revision: "{index}"
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {self.ops_namespace}
spec:
  selector:
    app: {name}
  ports:
    - port: 80
      targetPort: 8080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {self.ops_namespace}
spec:
  replicas: 1
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
        - name: app
          image: {IMAGE}
          ports:
            - containerPort: 8080
"""


def _deployment(name: str, namespace: str, replicas: int, prefix: str) -> dict[str, Any]:
    """The project's Deployment skeleton, in `namespace`, with its pods kept to the bench's own nodes."""
    obj = deployment(name, replicas, IMAGE, container="app")
    obj["metadata"]["namespace"] = namespace
    pod_spec = obj["spec"]["template"]["spec"]
    pod_spec["nodeSelector"] = {NAMESPACE_LABEL: prefix}
    pod_spec["tolerations"] = [{**BENCH_NODE_TAINT, "operator": "Equal"}]
    return obj


class Workload:
    """Creates the bench namespaces and Deployments, waits until their pods run, and deletes them."""

    def __init__(self, kubeconfig: Path, settings: BenchSettings, peer_keys: list[str]) -> None:
        self.api = ClusterAPI.from_kubeconfig(kubeconfig)
        self.settings = settings
        self.peer_keys = peer_keys
        prefix = settings.namespace_prefix
        self.namespace = f"{prefix}-fifty"
        self.ops_namespace = f"{prefix}-ops"
        self.wide_namespaces = [f"{prefix}-wide-{n}" for n in range(settings.wide_namespaces)]

    def _request(self, method: str, path: str, body: Any = None, timeout: float = 30.0) -> Any:
        status, answer = self.api.request(method, path, body, timeout=timeout)
        if status >= 300:
            raise WorkloadError(f"{method} {path} answered {status}: {answer}")
        return answer

    def _create_namespace(self, name: str) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {NAMESPACE_LABEL: "true"}},
        }
        status, answer = self.api.request("POST", "/api/v1/namespaces", body)
        if status not in (201, 409):
            raise WorkloadError(f"creating namespace {name}: {status} {answer}")
        deadline = time.monotonic() + 30
        # Pods are only admitted once the namespace's default ServiceAccount exists.
        while self.api.request("GET", f"/api/v1/namespaces/{name}/serviceaccounts/default")[0] != 200:
            if time.monotonic() > deadline:
                raise WorkloadError(f"namespace {name} got no default ServiceAccount within 30 s")
            time.sleep(0.1)

    def _node_names(self) -> list[str]:
        s = self.settings
        needed = s.pods_total + s.pods_in_namespace + 4 * len(self.peer_keys)
        return [f"{s.namespace_prefix}-node-{n}" for n in range(-(-needed // PODS_PER_BENCH_NODE))]

    def _create_nodes(self) -> None:
        for index, name in enumerate(self._node_names()):
            node = node_object(name, index + 1)
            node["metadata"]["labels"][NAMESPACE_LABEL] = self.settings.namespace_prefix
            node["spec"] = {"taints": [BENCH_NODE_TAINT]}
            for field in ("allocatable", "capacity"):
                node["status"][field]["pods"] = str(PODS_PER_BENCH_NODE)
            self.api.apply(f"/api/v1/nodes/{name}", node)

    def _apply(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        self.api.apply(f"/apis/apps/v1/namespaces/{meta['namespace']}/deployments/{meta['name']}", obj)

    def _running(self, namespace: str | None) -> int:
        path = f"/api/v1/namespaces/{namespace}/pods" if namespace else "/api/v1/pods"
        answer = self._request("GET", f"{path}?fieldSelector=status.phase%3DRunning&limit=10000", timeout=60)
        return len(answer.get("items") or [])

    def wait_gone(self) -> None:
        """Wait (bounded) until an earlier run's bench namespaces are gone, so their names can be reused."""
        deadline = time.monotonic() + self.settings.workload_timeout_seconds
        while True:
            answer = self._request(
                "GET", f"/api/v1/namespaces?labelSelector={NAMESPACE_LABEL}%3D{self.settings.namespace_prefix}"
            )
            if not answer.get("items"):
                return
            if time.monotonic() > deadline:
                names = [item["metadata"]["name"] for item in answer["items"]]
                raise WorkloadError(f"bench namespaces of an earlier run are still terminating: {names}")
            time.sleep(1)

    def create(self, *, wide: bool) -> Targets:
        """Create everything; with ``wide`` also the ~1,000 pods of the all-namespaces list."""
        self.wait_gone()
        for name in [self.namespace, self.ops_namespace, *(self.wide_namespaces if wide else [])]:
            self._create_namespace(name)
        s = self.settings
        self._create_nodes()
        self._apply(_deployment("fifty", self.namespace, s.pods_in_namespace, s.namespace_prefix))
        for key in self.peer_keys:
            self._apply(_deployment(f"scale-{key}"[:63], self.ops_namespace, 1, s.namespace_prefix))
        expected = s.pods_in_namespace
        if wide:
            remaining = max(s.pods_total - s.pods_in_namespace, 0)
            share, extra = divmod(remaining, len(self.wide_namespaces))
            for index, name in enumerate(self.wide_namespaces):
                replicas = share + (1 if index < extra else 0)
                self._apply(_deployment("wide", name, replicas, s.namespace_prefix))
            expected += remaining
        deadline = time.monotonic() + s.workload_timeout_seconds
        while True:
            running = self._running(self.namespace)
            total = sum(self._running(n) for n in self.wide_namespaces) + running if wide else running
            if running >= s.pods_in_namespace and total >= expected:
                break
            if time.monotonic() > deadline:
                raise WorkloadError(
                    f"only {total} of {expected} bench pods reached Running within {s.workload_timeout_seconds:.0f} s"
                )
            time.sleep(1)
        pods = self._request("GET", f"/api/v1/namespaces/{self.namespace}/pods?limit=1")
        return Targets(
            namespace=self.namespace,
            deployment="fifty",
            log_pod=pods["items"][0]["metadata"]["name"],
            ops_namespace=self.ops_namespace,
            pods_in_namespace=self._running(self.namespace),
            pods_total=self._running(None),
        )

    def delete(self) -> None:
        """Delete the bench namespaces, force-delete their pods, wait (bounded) until they are gone, drop the nodes.

        Graceful pod deletion waits for the node's kubelet (here KWOK) to confirm; a thousand pods would linger
        for minutes and be seen by anyone listing all pods, so they are removed with a zero grace period.
        """
        namespaces = [self.namespace, self.ops_namespace, *self.wide_namespaces]
        for name in namespaces:
            self.api.request("DELETE", f"/api/v1/namespaces/{name}")
        for name in namespaces:
            self.api.request(
                "DELETE",
                f"/api/v1/namespaces/{name}/pods",
                {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0},
                timeout=120,
            )
        try:
            self.wait_gone()
        except WorkloadError as error:
            print(f"[bench] cleanup incomplete: {error}", file=sys.stderr, flush=True)
        finally:
            for name in self._node_names():
                self.api.request("DELETE", f"/api/v1/nodes/{name}")
