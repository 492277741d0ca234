"""kubeconfig: the context's own namespace is the default of calls that omit one, unless K3S_DEFAULT_NAMESPACE says."""

from __future__ import annotations

from pathlib import Path

import yaml

from devcluster.api import ClusterAPI
from k3s_mcp.kube.config import read_contexts
from k3s_mcp.settings import Settings
from tests.k3s_mcp.conftest import ClientFactory, call, call_error, create


def with_namespace(kubeconfig: str, namespace: str, target: Path) -> str:
    """A copy of the kubeconfig whose current context names `namespace`."""
    config = yaml.safe_load(Path(kubeconfig).read_text())
    current = next(c for c in config["contexts"] if c["name"] == config["current-context"])
    current["context"]["namespace"] = namespace
    target.write_text(yaml.safe_dump(config))
    return str(target)


async def test_the_context_namespace_is_the_default(
    make_client: ClientFactory, kubeconfig: str, cluster_api: ClusterAPI, namespace: str, tmp_path: Path
) -> None:
    create(
        cluster_api,
        f"/api/v1/namespaces/{namespace}/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "here"}, "data": {"k": "v"}},
    )
    scoped = with_namespace(kubeconfig, namespace, tmp_path / "kubeconfig")
    assert read_contexts(Settings(kubeconfig=scoped)).get(None).namespace == namespace  # type: ignore[union-attr]
    async with make_client(kubeconfig=scoped) as client:
        found = await call(client, "get_configmap", {"name": "here"})
        assert found["summary"]["namespace"] == namespace
    # An explicit K3S_DEFAULT_NAMESPACE wins over the context's.
    async with make_client(kubeconfig=scoped, default_namespace="default") as client:
        message = await call_error(client, "get_configmap", {"name": "here"})
        assert "not found in namespace 'default'" in message
