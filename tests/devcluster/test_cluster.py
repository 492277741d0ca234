"""The local cluster does what a K3s cluster does for our tools, proven through kubernetes_asyncio."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.api_client import ApiClient
from kubernetes_asyncio.stream import WsApiClient

from devcluster import cluster
from devcluster.build import KUBE_VERSION
from devcluster.messages import ClusterError
from devcluster.processes import free_port

pytestmark = pytest.mark.cluster


@pytest.fixture
async def api(kubeconfig: str) -> AsyncIterator[ApiClient]:
    configuration = client.Configuration()
    await config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    async with ApiClient(configuration) as api_client:
        yield api_client


async def wait_running(core: client.CoreV1Api, namespace: str, selector: str, count: int) -> list[client.V1Pod]:
    for _ in range(300):
        pods = (await core.list_namespaced_pod(namespace, label_selector=selector)).items
        running = [p for p in pods if p.status.phase == "Running"]
        if len(running) >= count:
            return running
        await asyncio.sleep(0.1)
    raise AssertionError(f"fewer than {count} pods Running: {[(p.metadata.name, p.status.phase) for p in pods]}")


async def test_three_ready_nodes_one_control_plane(api: ApiClient) -> None:
    nodes = (await client.CoreV1Api(api).list_node()).items
    ready = [n for n in nodes if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])]
    assert len(ready) >= 3
    control_planes = [n for n in nodes if "node-role.kubernetes.io/control-plane" in (n.metadata.labels or {})]
    assert len(control_planes) == 1
    assert all(n.metadata.labels.get("node.kubernetes.io/instance-type") == "k3s" for n in nodes)


async def test_server_version_is_the_pinned_release(api: ApiClient) -> None:
    version = await client.VersionApi(api).get_code()
    assert version.git_version == KUBE_VERSION


async def test_deployment_gets_three_running_pods_with_logs_and_exec(
    api: ApiClient, kubeconfig: str, namespace: str
) -> None:
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    labels = {"app": "web"}
    body = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1DeploymentSpec(
            replicas=3,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[client.V1Container(name="web", image="nginx:1.27")]),
            ),
        ),
    )
    await apps.create_namespaced_deployment(namespace, body)
    pods = await wait_running(core, namespace, "app=web", 3)
    assert len({p.spec.node_name for p in pods}) >= 2, "the scheduler spreads replicas over the simulated nodes"

    pod = pods[0].metadata.name
    log = await core.read_namespaced_pod_log(pod, namespace, tail_lines=5)
    lines = log.strip().splitlines()
    assert len(lines) == 5 and "simulated line 300" in lines[-1]

    configuration = client.Configuration()
    await config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    # On a loaded machine an exec right after the pod turns Running can be refused (400) while KWOK catches up.
    for attempt in range(20):
        try:
            async with WsApiClient(configuration) as ws:
                output = await client.CoreV1Api(ws).connect_get_namespaced_pod_exec(
                    pod,
                    namespace,
                    command=["echo", "hi"],  # type: ignore[arg-type]  # argv list; the stub says str
                    stderr=True,
                    stdin=False,
                    stdout=True,
                    tty=False,
                )
            break
        except aiohttp.WSServerHandshakeError:
            if attempt == 19:
                raise
            await asyncio.sleep(0.25)
    assert output.strip() == "hi"


async def test_server_side_apply_then_delete(api: ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "applied", "namespace": namespace},
        "data": {"key": "one"},
    }
    for value in ("one", "two"):
        manifest["data"] = {"key": value}
        await core.patch_namespaced_config_map(
            "applied",
            namespace,
            manifest,
            field_manager="k3s-mcp-test",
            _content_type="application/apply-patch+yaml",  # type: ignore[call-arg]
        )
    stored = await core.read_namespaced_config_map("applied", namespace)
    assert stored.data == {"key": "two"}
    assert any(f.manager == "k3s-mcp-test" and f.operation == "Apply" for f in stored.metadata.managed_fields)
    await core.delete_namespaced_config_map("applied", namespace)
    with pytest.raises(client.ApiException) as missing:
        await core.read_namespaced_config_map("applied", namespace)
    assert missing.value.status == 404


async def test_keda_and_helmchart_crds_validate_objects(api: ApiClient, namespace: str) -> None:
    custom = client.CustomObjectsApi(api)
    good = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "so"},
        "spec": {"scaleTargetRef": {"name": "web"}, "triggers": [{"type": "cpu", "metadata": {"value": "50"}}]},
    }
    await custom.create_namespaced_custom_object("keda.sh", "v1alpha1", namespace, "scaledobjects", good)
    bad = {**good, "metadata": {"name": "bad"}, "spec": {"triggers": "not-a-list"}}
    with pytest.raises(client.ApiException) as rejected:
        await custom.create_namespaced_custom_object("keda.sh", "v1alpha1", namespace, "scaledobjects", bad)
    assert rejected.value.status == 422
    chart = {
        "apiVersion": "helm.cattle.io/v1",
        "kind": "HelmChart",
        "metadata": {"name": "traefik"},
        "spec": {"chart": "traefik", "repo": "https://example.invalid/charts", "targetNamespace": namespace},
    }
    created = await custom.create_namespaced_custom_object("helm.cattle.io", "v1", namespace, "helmcharts", chart)
    assert created["spec"]["chart"] == "traefik"


# -- bad input: each of these runs a second, private cluster so the shared one is never disturbed -------------


@pytest.fixture
def private_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    state = tmp_path / "state"
    monkeypatch.setenv("K3S_MCP_CLUSTER_DIR", str(state))
    monkeypatch.setenv("K3S_MCP_CLUSTER_PORT", str(free_port()))
    yield state
    cluster.down()


def test_port_taken_gives_a_clear_message(private_cluster: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        monkeypatch.setenv("K3S_MCP_CLUSTER_PORT", str(port))
        with pytest.raises(ClusterError, match=rf"port {port} .* already taken.*K3S_MCP_CLUSTER_PORT"):
            cluster.up()
    assert cluster.up().started, "a retry on a free port works"


def test_stale_state_and_killed_apiserver_recover(private_cluster: Path) -> None:
    private_cluster.mkdir(parents=True)
    (private_cluster / "components.json").write_text(json.dumps([{"name": "etcd", "argv": ["x"], "pid": 999999}]))
    (private_cluster / "leftover").write_text("from a crashed run")
    first = cluster.up()
    assert first.started and not (private_cluster / "leftover").exists()

    apiserver = next(c for c in cluster.load_components(private_cluster) if c.name == "kube-apiserver")
    os.killpg(apiserver.pid, signal.SIGKILL)
    for _ in range(100):
        if not apiserver.alive():
            break
        asyncio.run(asyncio.sleep(0.05))
    assert not cluster.status()["ready"]
    repaired = cluster.up()
    assert repaired.started
    assert cluster.status()["ready"]
    assert cluster.status()["components"]["kube-apiserver"]["alive"]
