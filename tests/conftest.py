"""Session-wide fixtures: the real local cluster (started once, or reused) and a fresh namespace per test."""

from __future__ import annotations

import contextlib
import os
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devcluster import cluster
from devcluster.api import ClusterAPI
from devcluster.messages import ClusterError
from devcluster.processes import free_port

AUTOSCALING = "autoscaling"


@pytest.fixture(scope="session")
def kubeconfig() -> Iterator[str]:
    """A kubeconfig for the real cluster: K3S_MCP_TEST_KUBECONFIG if set, else the bundled local cluster."""
    given = os.environ.get("K3S_MCP_TEST_KUBECONFIG")
    if given:
        yield given
        return
    try:
        result = cluster.up()
    except ClusterError as error:
        pytest.fail(f"the local test cluster did not start: {error}", pytrace=False)
    yield str(result.kubeconfig)
    if result.started and not os.environ.get("K3S_MCP_KEEP_CLUSTER"):
        cluster.down()


@pytest.fixture(scope="session")
def autoscaling_kubeconfig(kubeconfig: str) -> str:
    """The test cluster with the autoscaling profile added (metrics-server behind metrics.k8s.io, Prometheus, KEDA).

    Adding is idempotent: a cluster that has the profile is reused as it is. With K3S_MCP_TEST_KUBECONFIG the given
    cluster must serve those APIs itself.
    """
    if os.environ.get("K3S_MCP_TEST_KUBECONFIG"):
        return kubeconfig
    try:
        cluster.up(profile=AUTOSCALING)
    except ClusterError as error:
        pytest.fail(f"the autoscaling profile did not start on the test cluster: {error}", pytrace=False)
    return kubeconfig


@contextlib.contextmanager
def cluster_environment(state: Path, port: int) -> Iterator[None]:
    """Point the launcher (devcluster.cluster reads the environment) at the cluster in `state` for a while."""
    saved = {key: os.environ.get(key) for key in ("K3S_MCP_CLUSTER_DIR", "K3S_MCP_CLUSTER_PORT")}
    os.environ["K3S_MCP_CLUSTER_DIR"], os.environ["K3S_MCP_CLUSTER_PORT"] = str(state), str(port)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass(frozen=True)
class PrivateCluster:
    """A cluster of the session's own (not the shared one), which a test may break: its state, port and client."""

    state: Path
    port: int
    kubeconfig: str
    api: ClusterAPI

    def environment(self) -> contextlib.AbstractContextManager[None]:
        return cluster_environment(self.state, self.port)


@pytest.fixture(scope="session")
def private_autoscaling_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateCluster]:
    """A private cluster with the autoscaling profile, for tests that stop its parts; stopped after the session."""
    state, port = tmp_path_factory.mktemp("private-cluster") / "cluster", free_port()
    with cluster_environment(state, port):
        try:
            result = cluster.up(profile=AUTOSCALING)
        except ClusterError as error:
            cluster.down()
            pytest.fail(f"the private autoscaling cluster did not start: {error}", pytrace=False)
        try:
            yield PrivateCluster(state, port, str(result.kubeconfig), ClusterAPI(state, port))
        finally:
            cluster.down()


@pytest.fixture(scope="session")
def cluster_api(kubeconfig: str) -> ClusterAPI:
    """A minimal REST client of the test cluster, independent of the code under test."""
    return ClusterAPI.from_kubeconfig(Path(kubeconfig))


@pytest.fixture
def namespace(request: pytest.FixtureRequest, cluster_api: ClusterAPI) -> Iterator[str]:
    """A namespace of the test's own, deleted afterwards (deletion is not awaited)."""
    stem = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"t-{stem}-{uuid.uuid4().hex[:6]}"
    status, answer = cluster_api.request(
        "POST",
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"k3s-mcp/test": "true"}}},
    )
    assert status == 201, f"creating namespace {name}: {status} {answer}"
    # Pods are only admitted once the namespace's default ServiceAccount exists.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, _ = cluster_api.request("GET", f"/api/v1/namespaces/{name}/serviceaccounts/default")
        if status == 200:
            break
        time.sleep(0.05)
    yield name
    cluster_api.request("DELETE", f"/api/v1/namespaces/{name}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that reaches the cluster carries the `cluster` mark, so `-m "not cluster"` selects the rest."""
    for item in items:
        if {"kubeconfig", "private_autoscaling_cluster"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.cluster)
