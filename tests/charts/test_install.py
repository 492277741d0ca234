"""helm install, upgrade and uninstall of both charts on the real test cluster (KWOK nodes run the pods)."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from devcluster.helm import kubectl_path
from tests.charts.helm_cli import Helm

pytestmark = [pytest.mark.helm, pytest.mark.cluster]

STATIC_CLASS = "cortex-test-static"
SCALED_DEPLOYMENTS = ("reasoning-classifier", "reasoning-slm", "unifi-api", "unifi-ssh", "telemetry")


class Kubectl:
    """The kubectl that ships with the pinned helm, pointed at the test cluster."""

    def __init__(self, kubeconfig: str) -> None:
        self.kubeconfig = kubeconfig

    def run(self, *arguments: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(kubectl_path()), "--kubeconfig", self.kubeconfig, *arguments],
            capture_output=True,
            text=True,
            input=stdin,
            timeout=60,
            check=False,
        )

    def json(self, *arguments: str) -> Any:
        result = self.run(*arguments, "-o", "json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def can_i(self, namespace: str, service_account: str, verb: str, resource: str) -> bool:
        result = self.run(
            "auth",
            "can-i",
            verb,
            resource,
            "-n",
            namespace,
            f"--as=system:serviceaccount:{namespace}:{service_account}",
        )
        return result.stdout.strip() == "yes"


@pytest.fixture
def kubectl(kubeconfig: str) -> Kubectl:
    return Kubectl(kubeconfig)


def helm_on_cluster(helm: Helm, kubeconfig: str, namespace: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return helm.run(*arguments, "--namespace", namespace, "--kubeconfig", kubeconfig, timeout=240)


def wait_until(what: str, check: Callable[[], bool], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def running_pods(kubectl: Kubectl, namespace: str, selector: str) -> list[dict[str, Any]]:
    pods = kubectl.json("get", "pods", "-n", namespace, "-l", selector)["items"]
    return [p for p in pods if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]


@pytest.fixture
def released(helm: Helm, kubeconfig: str, namespace: str) -> Iterator[list[str]]:
    """Names of releases a test installed; each is uninstalled afterwards even when the test failed."""
    releases: list[str] = []
    yield releases
    for release in releases:
        helm_on_cluster(helm, kubeconfig, namespace, "uninstall", release, "--ignore-not-found")


def test_k3s_mcp_installs_runs_and_switches_rbac_preset(
    helm: Helm,
    charts: dict[str, Path],
    kubeconfig: str,
    namespace: str,
    kubectl: Kubectl,
    released: list[str],
) -> None:
    released.append("mcp")
    install = helm_on_cluster(helm, kubeconfig, namespace, "install", "mcp", str(charts["k3s-mcp"]))
    assert install.returncode == 0, install.stderr
    assert "MCP endpoint" in install.stdout  # NOTES.txt rendered

    selector = "app.kubernetes.io/instance=mcp"
    wait_until("the MCP server pod to run", lambda: len(running_pods(kubectl, namespace, selector)) == 1)
    secret = kubectl.json("get", "secret", "mcp-k3s-mcp", "-n", namespace)
    token = base64.b64decode(secret["data"]["token"]).decode()
    assert len(token) == 48
    policy = kubectl.json("get", "networkpolicy", "mcp-k3s-mcp", "-n", namespace)["spec"]
    assert policy["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == "mcp"
    assert policy["ingress"][0]["ports"] == [{"port": 8000, "protocol": "TCP"}]

    # The API server itself decides what the ServiceAccount may do under each preset.
    assert kubectl.can_i(namespace, "mcp-k3s-mcp", "list", "pods")
    assert kubectl.can_i(namespace, "mcp-k3s-mcp", "get", "nodes")
    assert not kubectl.can_i(namespace, "mcp-k3s-mcp", "create", "deployments")
    assert not kubectl.can_i(namespace, "mcp-k3s-mcp", "get", "secrets")

    upgrade = helm_on_cluster(
        helm, kubeconfig, namespace, "upgrade", "mcp", str(charts["k3s-mcp"]), "--set", "rbac.preset=operator"
    )
    assert upgrade.returncode == 0, upgrade.stderr
    assert kubectl.can_i(namespace, "mcp-k3s-mcp", "create", "deployments")
    assert kubectl.can_i(namespace, "mcp-k3s-mcp", "patch", "deployments/scale")
    assert kubectl.can_i(namespace, "mcp-k3s-mcp", "create", "pods/exec")
    again = kubectl.json("get", "secret", "mcp-k3s-mcp", "-n", namespace)
    assert again["data"]["token"] == secret["data"]["token"], "an upgrade must keep the clients' token"

    uninstall = helm_on_cluster(helm, kubeconfig, namespace, "uninstall", "mcp")
    assert uninstall.returncode == 0, uninstall.stderr
    gone = kubectl.run("get", "deployment", "mcp-k3s-mcp", "-n", namespace)
    assert "NotFound" in gone.stderr
    assert "NotFound" in kubectl.run("get", "clusterrole", f"{namespace}-mcp-k3s-mcp-operator").stderr


@pytest.fixture
def qdrant_volume(kubectl: Kubectl, namespace: str) -> Iterator[str]:
    """A static PersistentVolume reserved for the release's Qdrant claim, as an operator without a
    provisioner would create one; the chart's real claim then binds to it."""
    name = f"{namespace}-qdrant"
    volume = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "labels": {"k3s-mcp/test": "true"}},
        "spec": {
            "capacity": {"storage": "5Gi"},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": STATIC_CLASS,
            "hostPath": {"path": f"/var/lib/cortex-test/{name}", "type": "DirectoryOrCreate"},
            "claimRef": {"namespace": namespace, "name": "storage-cx-cortex-qdrant-0"},
        },
    }
    created = kubectl.run("apply", "-f", "-", stdin=json.dumps(volume))
    assert created.returncode == 0, created.stderr
    yield name
    kubectl.run("delete", "pv", name, "--wait=false", "--ignore-not-found")


def test_cortex_rendered_manifests_pass_the_api_server_strictly(
    helm: Helm, charts: dict[str, Path], kubeconfig: str, namespace: str, kubectl: Kubectl
) -> None:
    rendered = helm.check("template", "cx", str(charts["cortex"]), "--namespace", namespace)
    kinds = {d["kind"] for d in yaml.safe_load_all(rendered) if d}
    assert "ScaledObject" in kinds
    dry_run = kubectl.run("apply", "--dry-run=server", "--validate=strict", "-n", namespace, "-f", "-", stdin=rendered)
    assert dry_run.returncode == 0, dry_run.stderr
    assert dry_run.stdout.count("scaledobject.keda.sh/") == 5, dry_run.stdout

    broken = rendered.replace("cooldownPeriod: 300", "cooldownPeriod: 300\n  cooldownSeconds: 300", 1)
    refused = kubectl.run("apply", "--dry-run=server", "--validate=strict", "-n", namespace, "-f", "-", stdin=broken)
    assert refused.returncode != 0
    assert "cooldownSeconds" in refused.stderr


def test_cortex_installs_always_on_layers_and_keeps_scaled_layers_at_zero(
    helm: Helm,
    charts: dict[str, Path],
    kubeconfig: str,
    namespace: str,
    kubectl: Kubectl,
    released: list[str],
    qdrant_volume: str,
) -> None:
    released.append("cx")
    install = helm_on_cluster(
        helm,
        kubeconfig,
        namespace,
        "install",
        "cx",
        str(charts["cortex"]),
        "--set",
        f"qdrant.persistence.storageClassName={STATIC_CLASS}",
    )
    assert install.returncode == 0, install.stderr

    def layer_pods(component: str) -> int:
        return len(
            running_pods(kubectl, namespace, f"app.kubernetes.io/instance=cx,app.kubernetes.io/component={component}")
        )

    wait_until("two activator pods to run", lambda: layer_pods("cortex-activator") == 2)
    wait_until("the qdrant pod to run", lambda: layer_pods("qdrant") == 1)
    wait_until("the MCP server pod to run", lambda: layer_pods("mcp-server") == 1)
    claim = kubectl.json("get", "pvc", "storage-cx-cortex-qdrant-0", "-n", namespace)
    assert claim["status"]["phase"] == "Bound"
    assert claim["spec"]["volumeName"] == qdrant_volume

    policies = kubectl.json("get", "networkpolicies", "-n", namespace)["items"]
    assert sorted(p["metadata"]["name"] for p in policies) == sorted(
        ["cx-mcp", "cx-cortex-activator", "cx-cortex-qdrant"] + [f"cx-cortex-{name}" for name in SCALED_DEPLOYMENTS]
    )
    token = kubectl.json("get", "secret", "cx-cortex-activator-api-token", "-n", namespace)["data"]["token"]
    assert len(base64.b64decode(token)) == 48

    scaled_objects = kubectl.json("get", "scaledobjects.keda.sh", "-n", namespace)["items"]
    assert sorted(o["metadata"]["name"] for o in scaled_objects) == sorted(
        f"cx-cortex-{name}" for name in SCALED_DEPLOYMENTS
    )
    for name in SCALED_DEPLOYMENTS:
        deployment = kubectl.json("get", "deployment", f"cx-cortex-{name}", "-n", namespace)
        assert deployment["spec"]["replicas"] == 0, name
        assert layer_pods(deployment["metadata"]["labels"]["app.kubernetes.io/component"]) == 0, name

    # KEDA wakes a layer through the scale subresource; an upgrade must leave that count alone.
    woken = kubectl.run("scale", "deployment", "cx-cortex-unifi-api", "--replicas=2", "-n", namespace)
    assert woken.returncode == 0, woken.stderr
    upgrade = helm_on_cluster(
        helm,
        kubeconfig,
        namespace,
        "upgrade",
        "cx",
        str(charts["cortex"]),
        "--reuse-values",
        "--set",
        "keda.pollingInterval=11",
    )
    assert upgrade.returncode == 0, upgrade.stderr
    counts = {
        name: kubectl.json("get", "deployment", f"cx-cortex-{name}", "-n", namespace)["spec"]["replicas"]
        for name in SCALED_DEPLOYMENTS
    }
    assert counts == {
        "reasoning-classifier": 0,
        "reasoning-slm": 0,
        "unifi-api": 2,
        "unifi-ssh": 0,
        "telemetry": 0,
    }
    scaled = kubectl.json("get", "scaledobject.keda.sh", "cx-cortex-unifi-api", "-n", namespace)
    assert scaled["spec"]["pollingInterval"] == 11
    activator = kubectl.json("get", "deployment", "cx-cortex-activator", "-n", namespace)["spec"]
    assert activator["replicas"] == 2
    env = {e["name"]: e for e in activator["template"]["spec"]["containers"][0]["env"]}
    assert env["CORTEX_API_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "cx-cortex-activator-api-token",
        "key": "token",
    }
    again = kubectl.json("get", "secret", "cx-cortex-activator-api-token", "-n", namespace)["data"]["token"]
    assert again == token, "an upgrade must keep the activator's API token"

    uninstall = helm_on_cluster(helm, kubeconfig, namespace, "uninstall", "cx")
    assert uninstall.returncode == 0, uninstall.stderr
    left = kubectl.json("get", "deployments,statefulsets,scaledobjects.keda.sh", "-n", namespace)["items"]
    assert left == []


def test_wrong_value_type_fails_install_and_creates_nothing(
    helm: Helm, charts: dict[str, Path], kubeconfig: str, namespace: str, kubectl: Kubectl
) -> None:
    result = helm_on_cluster(
        helm,
        kubeconfig,
        namespace,
        "install",
        "bad",
        str(charts["cortex"]),
        "--set",
        "activator.replicas=two",
    )
    assert result.returncode != 0
    assert "/activator/replicas" in result.stderr
    releases = helm_on_cluster(helm, kubeconfig, namespace, "list", "--all", "-q")
    assert releases.stdout.strip() == ""
    assert kubectl.json("get", "deployments,secrets,services", "-n", namespace)["items"] == []


def test_ha_values_spread_replicas_across_nodes(
    helm: Helm, charts: dict[str, Path], kubeconfig: str, namespace: str, kubectl: Kubectl, released: list[str]
) -> None:
    released.append("ha")
    install = helm_on_cluster(
        helm,
        kubeconfig,
        namespace,
        "install",
        "ha",
        str(charts["cortex"]),
        "--values",
        str(charts["cortex"] / "values-ha-7-nodes.yaml"),
        # The spreading is under test here, not storage: Qdrant keeps its data in an emptyDir.
        "--set",
        "qdrant.persistence.enabled=false",
    )
    assert install.returncode == 0, install.stderr

    def nodes_of(component: str) -> list[str]:
        selector = f"app.kubernetes.io/instance=ha,app.kubernetes.io/component={component}"
        return [p["spec"]["nodeName"] for p in running_pods(kubectl, namespace, selector)]

    # Three activators with required anti-affinity need three distinct nodes; the test cluster has three.
    wait_until("three activators to run", lambda: len(nodes_of("cortex-activator")) == 3)
    assert len(set(nodes_of("cortex-activator"))) == 3
    wait_until("two MCP servers to run", lambda: len(nodes_of("mcp-server")) == 2)
    assert len(set(nodes_of("mcp-server"))) == 2
    budget = kubectl.json("get", "pdb", "ha-cortex-activator", "-n", namespace)
    assert budget["spec"]["minAvailable"] == 2
    wait_until(
        "the activator budget to allow one disruption",
        lambda: (
            kubectl.json("get", "pdb", "ha-cortex-activator", "-n", namespace)["status"].get("disruptionsAllowed") == 1
        ),
    )
