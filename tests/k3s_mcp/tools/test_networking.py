"""Ingress tools through an MCP client: rows with the serving class, rules, the Traefik IngressClass."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastmcp import Client

from devcluster.api import ClusterAPI
from tests.k3s_mcp.conftest import call, call_error, create


@pytest.fixture
def traefik_class(cluster_api: ClusterAPI, namespace: str) -> Iterator[str]:
    """An IngressClass for Traefik, as K3s ships one (named per test: classes are cluster-wide)."""
    name = f"traefik-{namespace}"[:63]
    create(
        cluster_api,
        "/apis/networking.k8s.io/v1/ingressclasses",
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {"name": name},
            "spec": {"controller": "traefik.io/ingress-controller"},
        },
    )
    yield name
    cluster_api.request("DELETE", f"/apis/networking.k8s.io/v1/ingressclasses/{name}")


def _ingress(name: str, class_name: str | None, tls: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "rules": [
            {
                "host": f"{name}.example.test",
                "http": {
                    "paths": [
                        {
                            "path": "/api",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "api", "port": {"number": 8080}}},
                        }
                    ]
                },
            }
        ]
    }
    if class_name:
        spec["ingressClassName"] = class_name
    if tls:
        spec["tls"] = [{"hosts": [f"{name}.example.test"], "secretName": "cert"}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name}, "spec": spec}


async def test_ingresses_show_class_hosts_and_rules(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str, traefik_class: str
) -> None:
    path = f"/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses"
    create(cluster_api, path, _ingress("web", traefik_class, tls=True))
    create(cluster_api, path, _ingress("orphan", "no-such-class"))

    rows = {r["name"]: r for r in (await call(mcp_client, "get_ingresses", {"namespace": namespace}))["items"]}
    assert rows["web"]["ingress_class"] == traefik_class and rows["web"]["class_source"] == "spec"
    assert rows["web"]["hosts"] == ["web.example.test"] and rows["web"]["ports"] == "80, 443"

    shown = await call(mcp_client, "get_ingress", {"name": "web", "namespace": namespace})
    assert shown["rules"] == [
        {"host": "web.example.test", "path": "/api", "path_type": "Prefix", "backend": "api:8080"}
    ]
    assert shown["ingress_class"]["controller"] == "traefik.io/ingress-controller" and shown["note"] is None

    orphan = await call(mcp_client, "get_ingress", {"name": "orphan", "namespace": namespace})
    assert orphan["ingress_class"] is None and "does not exist" in orphan["note"]

    classes = {r["name"]: r for r in (await call(mcp_client, "get_ingress_classes", {"limit": 500}))["items"]}
    assert classes[traefik_class]["controller"] == "traefik.io/ingress-controller"

    missing = await call_error(mcp_client, "get_ingress", {"name": "nope", "namespace": namespace})
    assert "Ingress 'nope' not found" in missing
