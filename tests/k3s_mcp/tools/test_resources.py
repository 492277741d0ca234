"""Generic tools through an MCP client: discovery, rows of any kind with selectors and pages, one object."""

from __future__ import annotations

from typing import Any

from fastmcp import Client

from devcluster.api import ClusterAPI
from tests.k3s_mcp.conftest import call, call_error, create


async def test_api_resources_include_crds(mcp_client: Client[Any]) -> None:
    everything = await call(mcp_client, "get_api_resources", {})
    kinds = {(r["kind"], r["api_version"]) for r in everything["resources"]}
    assert ("Deployment", "apps/v1") in kinds and ("Pod", "v1") in kinds
    assert ("ScaledObject", "keda.sh/v1alpha1") in kinds and ("HelmChart", "helm.cattle.io/v1") in kinds
    keda = await call(mcp_client, "get_api_resources", {"group": "keda.sh", "namespaced": True})
    assert {r["kind"] for r in keda["resources"]} == {"ScaledObject", "ScaledJob", "TriggerAuthentication"}
    core_cluster = await call(mcp_client, "get_api_resources", {"group": "", "namespaced": False})
    assert "Node" in {r["kind"] for r in core_cluster["resources"]}


async def test_get_resources_with_selectors_and_pages(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    for index in range(5):
        create(
            cluster_api,
            f"/api/v1/namespaces/{namespace}/configmaps",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"cm{index}", "labels": {"tier": "odd" if index % 2 else "even"}},
                "data": {"k": "v"},
            },
        )
    even = await call(mcp_client, "get_resources", {"kind": "cm", "namespace": namespace, "labels": "tier=even"})
    assert [r["name"] for r in even["items"]] == ["cm0", "cm2", "cm4"]
    assert even["items"][0]["columns"]["Data"] == 1 and "Age" in even["items"][0]["columns"]
    by_field = await call(
        mcp_client, "get_resources", {"kind": "configmaps", "namespace": namespace, "fields": "metadata.name=cm3"}
    )
    assert [r["name"] for r in by_field["items"]] == ["cm3"]

    first = await call(
        mcp_client, "get_resources", {"kind": "ConfigMap", "namespace": namespace, "labels": "tier", "limit": 2}
    )
    assert first["count"] == 2 and first["continue_token"]
    seen = [r["name"] for r in first["items"]]
    token = first["continue_token"]
    while token:
        more = await call(
            mcp_client,
            "get_resources",
            {"kind": "ConfigMap", "namespace": namespace, "labels": "tier", "limit": 2, "continue_token": token},
        )
        seen += [r["name"] for r in more["items"]]
        token = more["continue_token"]
    assert sorted(seen) == [f"cm{i}" for i in range(5)]

    objects = await call(
        mcp_client, "get_resource_objects", {"kind": "cm", "namespace": namespace, "labels": "tier=odd"}
    )
    assert [o["metadata"]["name"] for o in objects["items"]] == ["cm1", "cm3"]
    assert objects["items"][0]["kind"] == "ConfigMap" and "managedFields" not in objects["items"][0]["metadata"]

    nodes = await call(mcp_client, "get_resources", {"kind": "nodes", "wide": True})
    assert nodes["count"] >= 1 and "Internal-IP" in nodes["items"][0]["columns"]


async def test_get_resource_for_custom_resources_and_bad_input(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    create(
        cluster_api,
        f"/apis/helm.cattle.io/v1/namespaces/{namespace}/helmcharts",
        {
            "apiVersion": "helm.cattle.io/v1",
            "kind": "HelmChart",
            "metadata": {"name": "traefik"},
            "spec": {"chart": "traefik", "repo": "https://traefik.github.io/charts"},
        },
    )
    chart = await call(mcp_client, "get_resource", {"kind": "helmchart", "name": "traefik", "namespace": namespace})
    assert chart["kind"] == "HelmChart" and chart["spec"]["chart"] == "traefik"
    rows = await call(mcp_client, "get_resources", {"kind": "helmcharts.helm.cattle.io", "namespace": namespace})
    assert [r["name"] for r in rows["items"]] == ["traefik"]

    unknown = await call_error(mcp_client, "get_resources", {"kind": "frobnicators"})
    assert "Unknown kind 'frobnicators'" in unknown
    bad_selector = await call_error(
        mcp_client, "get_resources", {"kind": "pods", "namespace": namespace, "fields": "spec.bogus=1"}
    )
    assert "field label not supported" in bad_selector or "spec.bogus" in bad_selector
    missing = await call_error(mcp_client, "get_resource", {"kind": "svc", "name": "ghost", "namespace": namespace})
    assert "Service 'ghost' not found" in missing
