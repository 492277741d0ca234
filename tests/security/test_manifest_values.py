"""YAML values a Kubernetes object cannot hold, sent to apply_manifest: a tag that builds bytes, a set or a
timestamp, a date as a key, NaN or infinity, an integer longer than Python converts, a kind that is a list. Each
is one sentence naming the document, nothing is applied, and no Python error text reaches the caller."""

from __future__ import annotations

from typing import Any

import pytest
from fastmcp import Client

from devcluster.api import ClusterAPI
from tests.k3s_mcp.conftest import call_error

HEAD = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: odd}\n"
VALUES = {
    "binary": "data:\n  k: !!binary aGVsbG8=\n",
    "set": "data:\n  k: !!set {x, y}\n",
    "timestamp": "data:\n  k: 2001-12-14t21:59:43.10-05:00\n",
    "date key": "metadata: {name: odd, labels: {2001-12-14: a}}\n",
    "nan": "data:\n  k: .nan\n",
    "infinity": "data:\n  k: -.inf\n",
}


@pytest.mark.parametrize("shape", VALUES)
async def test_a_value_json_cannot_carry_is_one_sentence(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str, shape: str
) -> None:
    manifest = (HEAD if shape != "date key" else "apiVersion: v1\nkind: ConfigMap\n") + VALUES[shape]
    error = await call_error(mcp_client, "apply_manifest", {"manifest_yaml": manifest, "namespace": namespace})
    assert error.startswith("Document 1 holds a value JSON cannot carry"), error
    assert error.endswith("Nothing was applied."), error
    status, _ = cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/odd")
    assert status == 404


async def test_an_integer_too_long_to_convert_is_invalid_yaml(mcp_client: Client[Any], namespace: str) -> None:
    manifest = HEAD + "data:\n  k: " + "9" * 5000 + "\n"
    error = await call_error(mcp_client, "apply_manifest", {"manifest_yaml": manifest, "namespace": namespace})
    assert error.startswith("Invalid YAML:") and error.endswith("Nothing was applied."), error


async def test_a_kind_that_is_not_a_string_is_missing(mcp_client: Client[Any], namespace: str) -> None:
    manifest = "apiVersion: v1\nkind: [ConfigMap]\nmetadata: {name: odd}\n"
    error = await call_error(mcp_client, "apply_manifest", {"manifest_yaml": manifest, "namespace": namespace})
    assert error == "Document 1 lacks kind. Nothing was applied.", error
