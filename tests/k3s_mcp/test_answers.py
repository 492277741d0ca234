"""List answers read as tables for a model and keep their typed rows for programs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.client import CallToolResult
from mcp_types import TextContent

from devcluster.api import ClusterAPI
from k3s_mcp.views.table import cell, row_table
from tests.k3s_mcp.conftest import ClientFactory, call, create

pytestmark = pytest.mark.cluster


def text_of(result: CallToolResult) -> str:
    (block,) = result.content
    assert isinstance(block, TextContent)
    return block.text


def test_cells_never_break_the_table() -> None:
    assert cell("a\tb\nc") == "a b c" and cell("\t") == " " and cell("\n\n") == "  "
    assert cell(None) == "-" and cell("") == "-" and cell([]) == "-"
    assert cell(True) == "true" and cell(False) == "false" and cell(0) == "0" and cell(-3) == "-3"
    assert cell(1.5) == "1.5"
    assert cell(["a", "b"]) == "a,b"
    assert cell({"cpu": "4", "memory": "16Gi"}) == "cpu=4,memory=16Gi"
    assert cell([{"type": "Ready", "status": "True"}]) == "type=Ready,status=True"
    assert cell({"nested": {"deep": 1}}) == '{"nested":{"deep":1}}'
    assert row_table({"name": "x"}) is None, "only list answers become tables"
    assert row_table({"items": [], "count": 0}) == "(no rows)\ncount: 0"


def test_tables_write_repeated_values_once() -> None:
    rows = [
        {"name": "a", "namespace": "shop", "status": "Running", "age": "3d"},
        {"name": "b", "namespace": "shop", "status": "Running", "age": "4d"},
        {"name": "c", "namespace": "web", "status": "Pending", "age": "4d"},
        {"name": "d", "namespace": "web", "status": "Running", "age": "5m"},
    ]
    assert row_table({"items": rows, "count": 4}) == (
        "NAME STATUS AGE\nnamespace: shop\na Running 3d\nb Running 4d\n"
        "namespace: web\nc Pending 4d\nd Running 5m\ncount: 4"
    )
    same = [{**row, "namespace": "shop", "status": "Running"} for row in rows]
    assert row_table({"items": same}) == (
        "same in every row: namespace=shop, status=Running\nNAME AGE\na 3d\nb 4d\nc 4d\nd 5m"
    )
    # Namespaces that do not come grouped keep their column; a single row keeps every column.
    mixed = [rows[0], rows[2], rows[1]]
    assert row_table({"items": mixed}).splitlines()[0] == "NAME NAMESPACE STATUS AGE"  # type: ignore[union-attr]
    assert row_table({"items": rows[:1]}) == "NAME NAMESPACE STATUS AGE\na shop Running 3d"
    # A cell with a space in it: the whole table is tab-separated, so every row still splits into its cells.
    spaced = [rows[0], {**rows[1], "status": "Init 0/1"}]
    assert row_table({"items": spaced}) == (
        "same in every row: namespace=shop\nNAME\tSTATUS\tAGE\na\tRunning\t3d\nb\tInit 0/1\t4d"
    )
    # A pod's IP is a wide column: in the structured rows, not in the text.
    assert row_table({"items": [{**rows[0], "ip": "10.42.0.7"}]}) == row_table({"items": rows[:1]})
    # Rows with different keys: every key is a column, in the order first seen; a missing cell is "-".
    ragged = [{"name": "a", "age": "3d"}, {"name": "b", "ready": "1/1", "age": "4d"}]
    assert row_table({"items": ragged}) == "NAME AGE READY\na 3d -\nb 4d 1/1"
    assert row_table({"items": [{}, {}]}) == "\n"


async def test_list_text_is_a_table_and_structured_rows_stay(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    for name in ("one", "two"):
        create(
            cluster_api,
            f"/api/v1/namespaces/{namespace}/configmaps",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "labels": {"table": "yes"}},
                "data": {"k": "v"},
            },
        )
    result = await mcp_client.call_tool(
        "get_configmaps", {"namespace": namespace, "labels": "table=yes"}, raise_on_error=False
    )
    assert not result.is_error
    lines = text_of(result).splitlines()
    # A one-namespace list names its namespace once, above the header, not in every row.
    assert lines[0].startswith("same in every row: ") and f"namespace={namespace}" in lines[0]
    header = lines[1].split(" ")
    assert header[0] == "NAME" and "NAMESPACE" not in header
    rows = [line.split(" ") for line in lines[2:4]]
    assert sorted(row[0] for row in rows) == ["one", "two"] and all(len(row) == len(header) for row in rows)
    assert "count: 2" in lines
    assert result.structured_content is not None
    assert sorted(row["name"] for row in result.structured_content["items"]) == ["one", "two"]


async def test_secret_values_stay_hidden_in_the_table(mcp_client: Client[Any], namespace: str) -> None:
    await call(mcp_client, "apply_secret", {"name": "db", "namespace": namespace, "string_data": {"pw": "s3cr3t!"}})
    result = await mcp_client.call_tool("get_secrets", {"namespace": namespace}, raise_on_error=False)
    text = text_of(result)
    assert text.startswith("NAME ") and "db" in text
    assert "s3cr3t!" not in text and "czNjcjN0IQ" not in text


async def test_json_text_on_request_and_single_objects_untouched(kubeconfig: str, make_client: ClientFactory) -> None:
    async with make_client(kubeconfig=kubeconfig, list_text="json") as client:
        listed = await client.call_tool("get_namespaces", {}, raise_on_error=False)
    assert json.loads(text_of(listed))["count"] == listed.structured_content["count"]
    async with make_client(kubeconfig=kubeconfig) as client:
        info = await client.call_tool("get_cluster_info", {}, raise_on_error=False)
    assert json.loads(text_of(info))["version"].startswith("v1.")
