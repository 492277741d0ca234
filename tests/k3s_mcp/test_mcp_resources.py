"""The k8s:// resources through a real MCP client on the test cluster: listing, reads of each kind of resource,
Secret masking and redaction as the get tools do them, the access policy, the audit log, and hostile URIs."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastmcp import Client
from mcp.shared.exceptions import MCPError

from devcluster.api import ClusterAPI
from k3s_mcp.mcp_resources import CLUSTER_OBJECT, MAX_TEXT_BYTES, NAMESPACED_OBJECT, YAML
from k3s_mcp.server import build_server
from k3s_mcp.settings import Settings
from tests.k3s_mcp.conftest import create, wait_until

SECRET_VALUE = "s3cr3t-" + uuid.uuid4().hex
PRIVATE_KEY = (
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----"
)


async def read_text(client: Client[Any], uri: str) -> str:
    """The text of a read that must succeed (raw request: the URI is sent exactly as written)."""
    result = await client.session.read_resource(uri)
    [content] = result.contents
    assert content.mime_type == YAML
    text = getattr(content, "text", None)
    assert isinstance(text, str)
    return text


async def read_error(client: Client[Any], uri: str) -> str:
    """The error of a read that must fail: one sentence, no traceback."""
    with pytest.raises(MCPError) as raised:
        await client.session.read_resource(uri)
    message = str(raised.value)
    assert "Traceback" not in message and 'File "' not in message, message
    return message


def configmap(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


async def test_the_static_resources_and_templates_are_listed(mcp_client: Client[Any]) -> None:
    uris = {str(resource.uri) for resource in await mcp_client.list_resources()}
    assert {"k8s://cluster/namespaces", "k8s://cluster/nodes", "k8s://cluster/api-resources"} <= uris
    templates = {template.uri_template for template in await mcp_client.list_resource_templates()}
    assert {CLUSTER_OBJECT, NAMESPACED_OBJECT} <= templates


async def test_the_listing_resources_read_the_live_cluster(mcp_client: Client[Any], namespace: str) -> None:
    namespaces = yaml.safe_load(await read_text(mcp_client, "k8s://cluster/namespaces"))
    assert namespace in {row["name"] for row in namespaces["items"]}
    assert namespaces["count"] == len(namespaces["items"])
    nodes = yaml.safe_load(await read_text(mcp_client, "k8s://cluster/nodes"))
    assert nodes["count"] >= 1 and all(row["name"] for row in nodes["items"])
    kinds = yaml.safe_load(await read_text(mcp_client, "k8s://cluster/api-resources"))
    by_resource = {entry["resource"]: entry for entry in kinds["kinds"]}
    assert by_resource["deployments.apps"]["namespaced"] is True
    assert by_resource["nodes"]["namespaced"] is False


async def test_a_namespaced_object_reads_as_trimmed_yaml(
    mcp_client: Client[Any], namespace: str, cluster_api: ClusterAPI
) -> None:
    create(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps", configmap("app", {"mode": "blue"}))
    for kind in ("configmaps", "ConfigMap", "cm"):
        obj = yaml.safe_load(await read_text(mcp_client, f"k8s://namespaces/{namespace}/{kind}/app"))
        assert (obj["kind"], obj["metadata"]["name"], obj["data"]) == ("ConfigMap", "app", {"mode": "blue"})
        assert "managedFields" not in obj["metadata"]


async def test_a_cluster_scoped_object_reads_and_scopes_are_not_mixed(mcp_client: Client[Any], namespace: str) -> None:
    obj = yaml.safe_load(await read_text(mcp_client, f"k8s://cluster/namespaces/{namespace}"))
    assert (obj["kind"], obj["metadata"]["name"]) == ("Namespace", namespace)
    message = await read_error(mcp_client, f"k8s://cluster/configmaps/{namespace}")
    assert f"use k8s://namespaces/<namespace>/configmaps/{namespace}" in message
    message = await read_error(mcp_client, f"k8s://namespaces/{namespace}/nodes/n1")
    assert "cluster-scoped: use k8s://cluster/nodes/n1" in message


async def test_a_secret_is_masked_exactly_as_get_secret_masks_it(
    mcp_client: Client[Any], namespace: str, cluster_api: ClusterAPI
) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "stringData": {"password": SECRET_VALUE},
    }
    create(cluster_api, f"/api/v1/namespaces/{namespace}/secrets", secret)
    text = await read_text(mcp_client, f"k8s://namespaces/{namespace}/secrets/db")
    assert SECRET_VALUE not in text and base64.b64encode(SECRET_VALUE.encode()).decode() not in text
    obj = yaml.safe_load(text.split("\n", 1)[1] if text.startswith("#") else text)
    assert obj["data"] == {"password": f"(hidden, {len(SECRET_VALUE)} bytes)"}
    tool = await mcp_client.call_tool("get_resource", {"kind": "Secret", "name": "db", "namespace": namespace})
    assert tool.structured_content is not None
    assert tool.structured_content["data"] == obj["data"]


async def test_secret_shaped_text_in_a_configmap_is_redacted(
    mcp_client: Client[Any], namespace: str, cluster_api: ClusterAPI
) -> None:
    create(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps", configmap("keys", {"tls.key": PRIVATE_KEY}))
    text = await read_text(mcp_client, f"k8s://namespaces/{namespace}/configmaps/keys")
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7" not in text
    assert "[redacted: " in text and text.startswith("# 1 secret-shaped value was redacted")


async def test_an_object_over_the_size_bound_is_answered_with_its_metadata(
    mcp_client: Client[Any], namespace: str, cluster_api: ClusterAPI
) -> None:
    big = {f"k{index}": "v" * 1000 for index in range(MAX_TEXT_BYTES // 1000 + 10)}
    create(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps", configmap("big", big))
    text = await read_text(mcp_client, f"k8s://namespaces/{namespace}/configmaps/big")
    assert len(text.encode()) < 4096
    obj = yaml.safe_load(text)
    assert obj["metadata"]["name"] == "big" and "get_resource" in obj["note"] and "data" not in obj


async def test_denied_kinds_and_namespaces_are_refused(
    kubeconfig: str, namespace: str, cluster_api: ClusterAPI
) -> None:
    create(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps", configmap("app", {"k": "v"}))
    app = build_server(Settings(kubeconfig=kubeconfig, denied_kinds="Secret,ConfigMap"))
    async with Client(app, mode="legacy") as client:
        message = await read_error(client, f"k8s://namespaces/{namespace}/configmaps/app")
        assert message.startswith("Refused: ConfigMaps are denied"), message
        kinds = yaml.safe_load(await read_text(client, "k8s://cluster/api-resources"))
        assert not {"secrets", "configmaps"} & {entry["resource"] for entry in kinds["kinds"]}
    app = build_server(Settings(kubeconfig=kubeconfig, allowed_namespaces="only-this-one"))
    async with Client(app, mode="legacy") as client:
        message = await read_error(client, f"k8s://namespaces/{namespace}/configmaps/app")
        assert message.startswith(f"Refused: namespace '{namespace}' is not allowed"), message


async def test_reads_are_audited_like_tool_calls(kubeconfig: str, namespace: str, tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    app = build_server(Settings(kubeconfig=kubeconfig, audit_log=str(log)))
    async with Client(app, mode="legacy") as client:
        await read_text(client, f"k8s://cluster/namespaces/{namespace}")
        await read_error(client, f"k8s://namespaces/{namespace}/configmaps/absent")
        await client.get_prompt("diagnose_namespace", {"namespace": namespace})

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    found = await wait_until(lambda: len(lines()) >= 3 and lines(), within=10, what="3 audit lines")
    reads = [(line["tool"], line["arguments"].get("uri"), line["outcome"], line["error"]) for line in found]
    assert ("resources/read", f"k8s://cluster/namespaces/{namespace}", "ok", None) in reads
    assert ("resources/read", f"k8s://namespaces/{namespace}/configmaps/absent", "error", "not_found") in reads
    prompt = [line for line in found if line["tool"] == "prompts/get"]
    assert prompt and prompt[0]["arguments"] == {"prompt": "diagnose_namespace", "namespace": namespace}


@pytest.mark.parametrize(
    ("uri", "said"),
    [
        ("k8s://namespaces/{ns}/../kube-system/secrets/x", "Resource not found"),
        ("k8s://namespaces/{ns}/configmaps/..", "Resource not found"),
        ("k8s://namespaces/{ns}/configmaps/%2e%2e", "Resource not found"),
        ("k8s://namespaces/{ns}/secrets/a%2Fb", "Invalid name 'a/b'"),
        ("k8s://namespaces/{ns}/secrets/a%252Fb", "Invalid name 'a%2Fb'"),
        ("k8s://namespaces/%2E%2E/secrets/x", "Resource not found"),
        ("k8s://namespaces/{ns}/configmaps/" + "a" * 2000, "at most 1024 characters"),
        ("k8s://namespaces/{ns}/configmaps/" + "a" * 300, "Invalid name"),
        ("k8s://namespaces/{ns}/configmaps/x?dryRun=All", "takes no query or fragment"),
        ("k8s://namespaces/{ns}/configmaps/x#status", "takes no query or fragment"),
        ("k8s://namespaces/{ns}/configmaps/a\u202eb", "Invalid name 'a\\u202eb'"),
        ("k8s://namespaces/de\u200bfault/configmaps/x", "Invalid namespace 'de\\u200bfault'"),
        ("k8s://namespaces/{ns}/no-such-kind/x", "Unknown kind 'no-such-kind'"),
        ("k8s://namespaces/{ns}/%2e%2e%2fsecrets/x", "Resource not found"),
        ("k8s://namespaces/{ns}/a%2fsecrets/x", "Invalid kind 'a/secrets'"),
        ("k8s://cluster/nodes/a/b", "Resource not found"),
        ("file:///etc/passwd", "Resource not found"),
    ],
)
async def test_hostile_uris_are_refused_in_one_sentence(
    uri: str, said: str, mcp_client: Client[Any], namespace: str
) -> None:
    message = await read_error(mcp_client, uri.replace("{ns}", namespace))
    assert said in message, message
