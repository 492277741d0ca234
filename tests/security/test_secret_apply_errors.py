"""A Secret whose values have the wrong shape: server-side apply refuses it with a schema error that prints the
refused value the way Go does (`expected string, got &value.valueUnstructured{Value:[...]}`, `got &{...}`). The
answer of apply_manifest must still never quote the value, whatever shape it had."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastmcp import Client

from tests.k3s_mcp.conftest import call_error

# Put together at run time, so no scanner takes this file for a leak.
VALUE = "Pl4inV4lue" + "Qz7Xw9Lm"

SHAPES = {
    "string in a list": "stringData:\n  k: [{v}]\n",
    "string in a map": "stringData:\n  k: {{nested: {v}}}\n",
    "two bad values": "stringData:\n  a: [{v}]\n  b: {{x: {v}}}\n",
    "data as a list": "data:\n  k: [{v}]\n",
    "data as a string": "data: {v}\n",
    "stringData as a list": "stringData: [{v}]\n",
}


@pytest.mark.parametrize("shape", SHAPES)
async def test_a_secret_value_of_the_wrong_shape_is_not_quoted(
    mcp_client: Client[Any], namespace: str, shape: str
) -> None:
    manifest = "apiVersion: v1\nkind: Secret\nmetadata: {name: wrong-shape}\n" + SHAPES[shape].format(v=VALUE)
    error = await call_error(mcp_client, "apply_manifest", {"manifest_yaml": manifest, "namespace": namespace})
    assert "wrong-shape" in error, error
    assert VALUE not in error, error
    assert base64.b64encode(VALUE.encode()).decode()[:16] not in error, error
    assert "(hidden)" in error, error


async def test_the_causes_of_a_refused_secret_are_hidden_as_its_message_is(
    mcp_client: Client[Any], namespace: str
) -> None:
    """A 422's `details.causes` repeat each `Invalid value: "..."`; they are hidden like the message."""
    manifest = f"apiVersion: v1\nkind: Secret\nmetadata: {{name: bad-key}}\nstringData: {{'{VALUE}/x': v}}\n"
    error = await call_error(mcp_client, "apply_manifest", {"manifest_yaml": manifest, "namespace": namespace})
    assert "Invalid fields:" in error, error
    assert f'"{VALUE}/x"' not in error, error
