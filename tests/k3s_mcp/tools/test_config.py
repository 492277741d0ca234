"""ConfigMap and Secret tools through an MCP client; Secret values stay masked in every view that can show them."""

from __future__ import annotations

import base64
import json
from typing import Any

from fastmcp import Client

from devcluster.api import ClusterAPI
from tests.k3s_mcp.conftest import ClientFactory, call, call_error, create

SECRET_VALUE = "hunter2-very-secret-value"
ENCODED = base64.b64encode(SECRET_VALUE.encode()).decode()


def _secret(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "annotations": {"note": "plain"}},
        "type": "Opaque",
        "data": {"password": ENCODED, "user": base64.b64encode(b"admin").decode()},
    }


def _assert_no_value(answer: Any) -> None:
    text = json.dumps(answer)
    assert SECRET_VALUE not in text and ENCODED not in text, text[:2000]


async def test_configmap_create_update_list_get_delete(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    dry = await call(
        mcp_client,
        "apply_configmap",
        {"name": "settings", "namespace": namespace, "data": {"a": "1"}, "dry_run": True},
    )
    assert dry["result"] == "created" and dry["dry_run"] is True
    status, _ = cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/settings")
    assert status == 404

    created = await call(
        mcp_client,
        "apply_configmap",
        {"name": "settings", "namespace": namespace, "data": {"a": "1", "b": "2"}, "labels": {"app": "x"}},
    )
    assert created["result"] == "created"
    again = await call(
        mcp_client,
        "apply_configmap",
        {"name": "settings", "namespace": namespace, "data": {"a": "1", "b": "2"}, "labels": {"app": "x"}},
    )
    assert again["result"] == "unchanged"
    changed = await call(
        mcp_client,
        "apply_configmap",
        {"name": "settings", "namespace": namespace, "data": {"a": "9"}, "labels": {"app": "x"}},
    )
    assert changed["result"] == "configured"
    _, live = cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/settings")
    # Server-side apply drops the key this field manager no longer sets.
    assert live["data"] == {"a": "9"}

    rows = await call(mcp_client, "get_configmaps", {"namespace": namespace, "labels": "app=x"})
    assert [(r["name"], r["keys"]) for r in rows["items"]] == [("settings", ["a"])]
    shown = await call(mcp_client, "get_configmap", {"name": "settings", "namespace": namespace})
    assert shown["object"]["data"] == {"a": "9"} and "managedFields" not in shown["object"]["metadata"]

    deleted = await call(mcp_client, "delete_configmap", {"name": "settings", "namespace": namespace})
    assert "Deleted" in deleted["message"]
    status, _ = cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/settings")
    assert status == 404
    message = await call_error(mcp_client, "get_configmap", {"name": "settings", "namespace": namespace})
    assert "ConfigMap 'settings' not found" in message


async def test_configmap_list_pages_with_continue_token(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    for index in range(3):
        create(
            cluster_api,
            f"/api/v1/namespaces/{namespace}/configmaps",
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{index}", "labels": {"p": "y"}}},
        )
    first = await call(mcp_client, "get_configmaps", {"namespace": namespace, "labels": "p=y", "limit": 2})
    assert first["count"] == 2 and first["continue_token"] and "remain" in first["note"]
    second = await call(
        mcp_client,
        "get_configmaps",
        {"namespace": namespace, "labels": "p=y", "limit": 2, "continue_token": first["continue_token"]},
    )
    assert second["continue_token"] is None
    assert sorted(r["name"] for r in first["items"] + second["items"]) == ["c0", "c1", "c2"]


async def test_secret_values_are_masked_in_every_view(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    create(cluster_api, f"/api/v1/namespaces/{namespace}/secrets", _secret("db"))
    # A pod that uses the Secret, so describe and events have something to show.
    create(
        cluster_api,
        f"/api/v1/namespaces/{namespace}/pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "user"},
            "spec": {
                "containers": [
                    {
                        "name": "main",
                        "image": "nginx",
                        "env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
                    }
                ]
            },
        },
    )
    views = {
        "get_secrets": await call(mcp_client, "get_secrets", {"namespace": namespace}),
        "get_secret": await call(mcp_client, "get_secret", {"name": "db", "namespace": namespace}),
        "get_resource": await call(
            mcp_client, "get_resource", {"kind": "secret", "name": "db", "namespace": namespace}
        ),
        "get_resources": await call(mcp_client, "get_resources", {"kind": "secrets", "namespace": namespace}),
        "get_resource_objects": await call(
            mcp_client, "get_resource_objects", {"kind": "Secret", "namespace": namespace}
        ),
        "describe_object": await call(
            mcp_client, "describe_object", {"kind": "secret", "name": "db", "namespace": namespace}
        ),
        "describe_pod": await call(
            mcp_client, "describe_object", {"kind": "pod", "name": "user", "namespace": namespace}
        ),
        "get_events": await call(mcp_client, "get_events", {"namespace": namespace}),
    }
    for view, answer in views.items():
        _assert_no_value(answer)
        assert answer, view
    row = views["get_secrets"]["items"][0]
    assert row["key_sizes"] == {"password": len(SECRET_VALUE), "user": 5} and row["type"] == "Opaque"
    assert views["get_secret"]["revealed"] is False
    assert views["get_secret"]["object"]["data"]["password"] == f"(hidden, {len(SECRET_VALUE)} bytes)"
    assert views["get_resource"]["data"]["password"].startswith("(hidden")
    assert views["get_resource_objects"]["items"][0]["data"]["user"] == "(hidden, 5 bytes)"
    assert views["describe_object"]["object"]["data"]["password"].startswith("(hidden")
    assert views["get_resources"]["items"][0]["columns"]["Data"] == 2


async def test_apply_paths_never_echo_secret_values(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    applied = await call(
        mcp_client,
        "apply_secret",
        {"name": "api", "namespace": namespace, "string_data": {"token": SECRET_VALUE}},
    )
    assert applied["result"] == "created" and "token" in applied["message"]
    _assert_no_value(applied)
    _, live = cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/secrets/api")
    assert base64.b64decode(live["data"]["token"]).decode() == SECRET_VALUE

    manifest = f"apiVersion: v1\nkind: Secret\nmetadata: {{name: via-manifest}}\nstringData: {{key: {SECRET_VALUE}}}\n"
    through_manifest = await call(mcp_client, "apply_manifest", {"manifest_yaml": manifest, "namespace": namespace})
    _assert_no_value(through_manifest)
    # A failing apply (namespace that does not exist) must not echo the value in its error either.
    result = await mcp_client.call_tool(
        "apply_manifest", {"manifest_yaml": manifest, "namespace": "no-such-ns-k3s"}, raise_on_error=False
    )
    assert result.is_error
    _assert_no_value([getattr(block, "text", "") for block in result.content])
    failing_secret = await mcp_client.call_tool(
        "apply_secret",
        {"name": "x", "namespace": "no-such-ns-k3s", "string_data": {"token": SECRET_VALUE}},
        raise_on_error=False,
    )
    assert failing_secret.is_error
    _assert_no_value([getattr(block, "text", "") for block in failing_secret.content])

    removed = await call(mcp_client, "delete_secret", {"name": "api", "namespace": namespace, "dry_run": True})
    assert removed["dry_run"] is True
    status, _ = cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/secrets/api")
    assert status == 200


async def test_reveal_needs_the_explicit_setting(
    make_client: ClientFactory, kubeconfig: str, cluster_api: ClusterAPI, namespace: str
) -> None:
    create(cluster_api, f"/api/v1/namespaces/{namespace}/secrets", _secret("open"))
    async with make_client(kubeconfig=kubeconfig, reveal_secrets=True) as client:
        shown = await call(client, "get_secret", {"name": "open", "namespace": namespace})
        assert shown["revealed"] is True and shown["object"]["data"]["password"] == ENCODED
        generic = await call(client, "get_resource", {"kind": "Secret", "name": "open", "namespace": namespace})
        assert generic["data"]["password"] == ENCODED


async def test_oversized_configmap_is_refused_before_the_api(mcp_client: Client[Any], namespace: str) -> None:
    message = await call_error(
        mcp_client, "apply_configmap", {"name": "big", "namespace": namespace, "data": {"k": "x" * 1_100_000}}
    )
    assert "limit" in message and "Nothing was changed" in message
