"""Tools whose API the cluster does not serve are left out of tools/list and named in get_cluster_info.

The shared test cluster serves the KEDA and HelmChart CRDs, and metrics.k8s.io once a test has added the
autoscaling profile (metrics-server), so the metrics tools are checked both ways on the real API server and the
KEDA and helm rules on the real discovery list with those groups taken out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastmcp import Client

from devcluster.api import ClusterAPI
from devcluster.helm import helm_path
from k3s_mcp.availability import helm_requirement, keda_requirement, metrics_requirement
from k3s_mcp.kube import KubeSession, ResourceInfo
from k3s_mcp.server import build_server
from k3s_mcp.settings import Settings
from tests.k3s_mcp.conftest import ClientFactory, call
from tests.k3s_mcp.tools.test_metrics import served_metrics

__all__ = ["served_metrics"]

TOP_TOOLS = {"top_pods", "top_nodes"}


@pytest.fixture
async def served_types(kubeconfig: str) -> AsyncIterator[tuple[KubeSession, list[ResourceInfo]]]:
    session = KubeSession(Settings(kubeconfig=kubeconfig, helm_binary="/nonexistent/helm"))
    await session.open()
    yield session, await session.resource_types(refresh=True)
    await session.close()


def without_group(types: list[ResourceInfo], group: str) -> list[ResourceInfo]:
    return [info for info in types if info.group != group]


async def test_each_rule_follows_what_discovery_lists(
    served_types: tuple[KubeSession, list[ResourceInfo]], kubeconfig: str
) -> None:
    session, types = served_types
    assert keda_requirement(types, session) is None
    assert "keda.sh" in (keda_requirement(without_group(types, "keda.sh"), session) or "")
    # No helm binary (K3S_HELM_BINARY points nowhere): the HelmChart API alone keeps the helm tools.
    assert helm_requirement(types, session) is None
    reason = helm_requirement(without_group(types, "helm.cattle.io"), session)
    assert reason is not None and "/nonexistent/helm" in reason and "helm.cattle.io" in reason
    with_binary = KubeSession(Settings(kubeconfig=kubeconfig, helm_binary=str(helm_path())))
    assert helm_requirement(without_group(types, "helm.cattle.io"), with_binary) is None
    assert "metrics-server" in (metrics_requirement(without_group(types, "metrics.k8s.io"), session) or "")


async def listing_and_reasons(client: Client[Any]) -> tuple[set[str], dict[str, str]]:
    names = {tool.name for tool in await client.list_tools()}
    return names, (await call(client, "get_cluster_info"))["unavailable_tools"]


async def test_metrics_tools_are_hidden_while_the_api_is_not_served(
    make_client: ClientFactory, kubeconfig: str, cluster_api: ClusterAPI
) -> None:
    served = cluster_api.request("GET", "/apis/metrics.k8s.io/v1beta1")[0] == 200
    async with make_client(kubeconfig=kubeconfig, toolsets="all") as client:
        names, reasons = await listing_and_reasons(client)
        if served:  # another run stands the API in right now: then the tools must be listed
            assert names >= TOP_TOOLS and not TOP_TOOLS & set(reasons)
        else:
            assert not names & TOP_TOOLS, names & TOP_TOOLS
            assert set(reasons) == TOP_TOOLS, reasons
            assert all("metrics.k8s.io" in reason and "metrics-server" in reason for reason in reasons.values())
            # Hidden is not refused: the call answers in its own words what is missing.
            result = await client.call_tool("top_nodes", {}, raise_on_error=False)
            assert result.is_error and "metrics.k8s.io" in str(result.content)
        assert {"get_keda_scalers", "list_helm_releases", "get_pods"} <= names


async def test_metrics_tools_are_listed_when_the_api_is_served(
    make_client: ClientFactory, kubeconfig: str, served_metrics: None
) -> None:
    async with make_client(kubeconfig=kubeconfig, toolsets="all") as client:
        names, reasons = await listing_and_reasons(client)
    assert names >= TOP_TOOLS
    assert reasons == {}


async def test_an_unreachable_cluster_hides_nothing() -> None:
    app = build_server(Settings(kubeconfig="/nonexistent/kubeconfig", toolsets="all"))
    async with Client(app) as client:
        names = {tool.name for tool in await client.list_tools()}
    assert names >= TOP_TOOLS | {"get_keda_scalers", "list_helm_releases"}
