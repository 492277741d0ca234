"""Session-wide fixtures: the real local cluster (started once, or reused) and a fresh namespace per test."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devcluster import cluster
from devcluster.api import ClusterAPI
from devcluster.messages import ClusterError


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
        if "kubeconfig" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.cluster)
