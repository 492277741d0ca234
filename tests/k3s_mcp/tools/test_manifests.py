"""apply_manifest and delete_resource through an MCP client against the real cluster."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastmcp import Client

from devcluster.api import ClusterAPI
from k3s_mcp.tools import manifests
from tests.k3s_mcp.conftest import call, call_error, wait_until

TWO_DOCUMENTS = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  colour: {colour}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  replicas: 1
  selector:
    matchLabels: {{app: shop}}
  template:
    metadata:
      labels: {{app: shop}}
    spec:
      containers:
        - name: main
          image: nginx:1.27
"""


def results(applied: dict[str, Any]) -> list[tuple[str, str]]:
    return [(item["kind"], item["result"]) for item in applied["objects"]]


async def test_apply_two_documents_then_unchanged_then_configured(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    manifest = TWO_DOCUMENTS.format(colour="blue")
    first = await call(mcp_client, "apply_manifest", {"manifest_yaml": manifest, "namespace": namespace})
    assert results(first) == [("ConfigMap", "created"), ("Deployment", "created")]
    status, live = cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/settings")
    assert status == 200 and live["data"] == {"colour": "blue"}
    assert any(m["manager"] == "k3s-mcp" and m["operation"] == "Apply" for m in live["metadata"]["managedFields"])

    again = await call(mcp_client, "apply_manifest", {"manifest_yaml": manifest, "namespace": namespace})
    assert results(again) == [("ConfigMap", "unchanged"), ("Deployment", "unchanged")]

    changed = await call(
        mcp_client,
        "apply_manifest",
        {"manifest_yaml": TWO_DOCUMENTS.format(colour="red"), "namespace": namespace},
    )
    assert results(changed) == [("ConfigMap", "configured"), ("Deployment", "unchanged")]
    _, live = cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/settings")
    assert live["data"] == {"colour": "red"}


async def test_progress_is_reported_per_object_only_for_a_long_apply(
    mcp_client: Client[Any], namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append((progress, total, message))

    arguments = {"manifest_yaml": TWO_DOCUMENTS.format(colour="blue"), "namespace": namespace}
    # An apply that ends within PROGRESS_AFTER_SECONDS (this one takes milliseconds) sends no notification.
    quick = await mcp_client.call_tool("apply_manifest", arguments, progress_handler=on_progress)
    assert results(quick.structured_content or {}) == [("ConfigMap", "created"), ("Deployment", "created")]
    assert reports == []
    # One that has run longer reports each object it starts, then the end.
    monkeypatch.setattr(manifests, "PROGRESS_AFTER_SECONDS", 0.0)
    await mcp_client.call_tool("apply_manifest", arguments, progress_handler=on_progress)
    assert reports == [(0, 2, "applying ConfigMap/settings"), (1, 2, "applying Deployment/shop"), (2, 2, "done")]


async def test_dry_run_changes_nothing(mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str) -> None:
    manifest = TWO_DOCUMENTS.format(colour="green")
    dry = await call(mcp_client, "apply_manifest", {"manifest_yaml": manifest, "namespace": namespace, "dry_run": True})
    assert dry["dry_run"] is True and results(dry) == [("ConfigMap", "created"), ("Deployment", "created")]
    status, _ = cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/settings")
    assert status == 404

    await call(mcp_client, "apply_manifest", {"manifest_yaml": manifest, "namespace": namespace})
    dry_change = await call(
        mcp_client,
        "apply_manifest",
        {"manifest_yaml": TWO_DOCUMENTS.format(colour="pink"), "namespace": namespace, "dry_run": True},
    )
    assert results(dry_change) == [("ConfigMap", "configured"), ("Deployment", "unchanged")]
    _, live = cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/settings")
    assert live["data"] == {"colour": "green"}

    dry_delete = await call(
        mcp_client,
        "delete_resource",
        {"kind": "cm", "name": "settings", "namespace": namespace, "dry_run": True},
    )
    assert dry_delete["dry_run"] is True
    status, _ = cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/settings")
    assert status == 200


async def test_malformed_yaml_names_line_and_column(mcp_client: Client[Any], namespace: str) -> None:
    broken = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n data: [unclosed\n"
    message = await call_error(mcp_client, "apply_manifest", {"manifest_yaml": broken, "namespace": namespace})
    assert "Invalid YAML at line 5, column 2" in message and "Nothing was applied" in message


async def test_invalid_documents_are_refused_before_anything_is_applied(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    manifest = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first}\n---\nkind: ConfigMap\nmetadata: {name: second}\n"
    )
    message = await call_error(mcp_client, "apply_manifest", {"manifest_yaml": manifest, "namespace": namespace})
    assert "Document 2 lacks apiVersion" in message
    status, _ = cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/first")
    assert status == 404


async def test_unknown_kind_and_server_validation_are_reported_per_object(
    mcp_client: Client[Any], namespace: str
) -> None:
    manifest = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n---\n"
        "apiVersion: example.com/v1\nkind: Gizmo\nmetadata: {name: g}\n---\n"
        "apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec: {ports: [{port: 99999}]}\n"
    )
    message = await call_error(mcp_client, "apply_manifest", {"manifest_yaml": manifest, "namespace": namespace})
    assert "2 of 3 objects failed" in message
    assert "ConfigMap/fine: created" in message
    assert "Unknown kind 'Gizmo'" in message
    assert "Service/bad: failed" in message and "Invalid" in message


async def test_crd_backed_object_apply_and_delete(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    suffix = uuid.uuid4().hex[:8]
    kind, plural, group = f"Widget{suffix}", f"widget{suffix}s", "test.k3s-mcp.io"
    crd = f"""\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {plural}.{group}
spec:
  group: {group}
  scope: Namespaced
  names: {{kind: {kind}, plural: {plural}, singular: widget{suffix}, shortNames: [wg{suffix}]}}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {{type: object, properties: {{size: {{type: integer}}}}}}
---
apiVersion: {group}/v1
kind: {kind}
metadata:
  name: sprocket
spec:
  size: 3
"""
    try:
        applied = await call(mcp_client, "apply_manifest", {"manifest_yaml": crd, "namespace": namespace})
        assert results(applied) == [("CustomResourceDefinition", "created"), (kind, "created")]
        path = f"/apis/{group}/v1/namespaces/{namespace}/{plural}/sprocket"
        status, live = cluster_api.request("GET", path)
        assert status == 200 and live["spec"]["size"] == 3

        deleted = await call(
            mcp_client, "delete_resource", {"kind": f"wg{suffix}", "name": "sprocket", "namespace": namespace}
        )
        assert deleted["kind"] == kind and "Deleted" in deleted["message"]
        await wait_until(lambda: cluster_api.request("GET", path)[0] == 404, what="the widget to be gone")

        again = await call_error(
            mcp_client, "delete_resource", {"kind": kind, "name": "sprocket", "namespace": namespace}
        )
        assert "not found" in again and namespace in again
    finally:
        cluster_api.request("DELETE", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{plural}.{group}")


async def test_delete_unknown_kind_is_a_clear_error(mcp_client: Client[Any], namespace: str) -> None:
    message = await call_error(
        mcp_client, "delete_resource", {"kind": "flibbertigibbet", "name": "x", "namespace": namespace}
    )
    assert "Unknown kind 'flibbertigibbet'" in message


async def test_delete_held_by_a_finalizer_says_so(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    for name, tool, arguments in [
        ("held", "delete_resource", {"kind": "ConfigMap", "name": "held", "namespace": namespace}),
        ("held-too", "delete_configmap", {"name": "held-too", "namespace": namespace}),
    ]:
        body = {"metadata": {"name": name, "finalizers": ["example.com/hold"]}, "data": {"k": "v"}}
        assert cluster_api.request("POST", path, body)[0] == 201
        answer = await call(mcp_client, tool, arguments)
        assert "Deletion has started" in answer["message"] and "finalizer example.com/hold" in answer["message"]
        status, still = cluster_api.request("GET", f"{path}/{name}")
        assert status == 200 and still["metadata"]["deletionTimestamp"]
        # Once the finalizer is removed the object goes.
        patch = {"metadata": {"finalizers": None}}
        assert (
            cluster_api.request("PATCH", f"{path}/{name}", patch, content_type="application/merge-patch+json")[0] == 200
        )

        def gone(at: str = f"{path}/{name}") -> bool:
            return cluster_api.request("GET", at)[0] == 404

        await wait_until(gone, 10, "the ConfigMap to go")
    assert cluster_api.request("POST", path, {"metadata": {"name": "free"}})[0] == 201
    free = await call(mcp_client, "delete_resource", {"kind": "ConfigMap", "name": "free", "namespace": namespace})
    assert free["message"] == f"Deleted ConfigMap/free in namespace {namespace}."
