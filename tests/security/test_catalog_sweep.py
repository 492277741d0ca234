"""Every tool of the live catalog, called with crafted names and namespaces: nothing outside its place is touched.

The catalog is read from the server itself when the tests are collected, so a tool added tomorrow is swept
without anyone editing this file. For each tool, every string parameter that names an object or a namespace
(and the `context` parameter every cluster tool takes) gets each hostile value in turn, the other required
parameters get harmless values, and after the tool's calls the test checks with its own REST client that the
victim objects (a Secret, a ConfigMap and the namespace itself) are still there, unchanged, and that no answer
carried the Secret's value in any encoding.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from fastmcp import Client
from mcp_types import Tool

from devcluster.api import ClusterAPI
from k3s_mcp.server import build_server
from k3s_mcp.settings import Settings

SECRET_VALUE = "sweep-" + uuid.uuid4().hex
VICTIM_CM = "victim-cm"
VICTIM_SECRET = "victim-secret"

# Values that try to leave a path segment, smuggle a query, or pass a policy pattern while meaning another object.
PATH_BREAKERS = [
    ".",
    "..",
    f"../secrets/{VICTIM_SECRET}",
    f"{VICTIM_CM}/../../secrets/{VICTIM_SECRET}",
    f"{VICTIM_CM}?dryRun=All",
    f"{VICTIM_CM}#fragment",
    "%2e%2e",
    f"..%2fsecrets%2f{VICTIM_SECRET}",
    f"{VICTIM_CM}/",
    "/",
    f"{VICTIM_CM}\\..\\x",
]
# Not path breakers, but no valid name or namespace either: refused or not found, never another object.
OTHER_HOSTILE = [
    f"{VICTIM_CM}\n",
    f"{VICTIM_CM}\x00",
    f" {VICTIM_CM}",
    VICTIM_CM.upper(),
    "x" * 300,
    "--help",
    "-n=kube-system",
    "*",
]


def _catalog() -> list[Tool]:
    """The whole tool surface with every toolset, exactly as a client lists it (no cluster needed): the default
    listing, then every toolset enabled through it, so the tools behind disclosure are swept too."""

    async def listing() -> list[Tool]:
        app = build_server(Settings(kubeconfig="/nonexistent/kubeconfig", compact_tool_schemas=False))
        async with Client(app) as client:
            enabled = await client.call_tool("enable_toolset", {"toolsets": ["all"]})
            assert enabled.structured_content is not None, enabled
            tools: list[Tool] = await client.list_tools()
            assert {tool["name"] for tool in enabled.structured_content["tools"]} <= {tool.name for tool in tools}
            return tools

    return asyncio.run(listing())


CATALOG = _catalog()


_NAMED = {"namespace", "context", "release", "deployment", "statefulset", "cronjob", "pod", "node"}


def targeted_parameters(tool: Tool) -> list[str]:
    """The string parameters that name an object, a namespace or a context."""
    names = []
    for parameter, schema in (tool.input_schema.get("properties") or {}).items():
        types = {schema.get("type")} | {option.get("type") for option in schema.get("anyOf") or []}
        if "string" not in types:
            continue
        if parameter in _NAMED or parameter.endswith("name"):
            names.append(parameter)
    return names


def harmless(parameter: str, schema: dict[str, Any]) -> Any:
    """A value for a parameter the sweep does not target: valid where it can be, never an action on the victims."""
    by_name: dict[str, Any] = {
        "kind": "ConfigMap",
        "command": ["true"],
        "manifest_yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sweep-applied\n",
        "chart": "./no-such-chart",
        "replicas": 1,
        "data": {"k": "v"},
        "string_data": {"k": "v"},
        "image": "nginx:1.27",
        "container": "main",
        "size": "1Gi",
        "min_replicas": 1,
        "max_replicas": 2,
    }
    if parameter in by_name:
        return by_name[parameter]
    options = [schema, *(schema.get("anyOf") or [])]
    for option in options:
        kind = option.get("type")
        if option.get("enum"):
            return option["enum"][0]
        if kind == "string":
            return "sweep-x"
        if kind == "integer":
            return int(option.get("minimum", 1))
        if kind == "number":
            return float(option.get("minimum", 1))
        if kind == "boolean":
            return False
        if kind == "array":
            return ["sweep-x"]
        if kind == "object":
            return {}
    return "sweep-x"


def base_arguments(tool: Tool, victim_namespace: str) -> dict[str, Any]:
    properties = tool.input_schema.get("properties") or {}
    arguments = {p: harmless(p, properties[p]) for p in tool.input_schema.get("required") or []}
    if "namespace" in properties:
        arguments["namespace"] = victim_namespace
    if "dry_run" in properties:
        # A real run, so a delete that escaped its segment would show in the cluster, not hide behind a dry run.
        arguments["dry_run"] = False
    return arguments


@contextlib.contextmanager
def victim_namespace(cluster_api: ClusterAPI, prefix: str, secret_value: str) -> Iterator[str]:
    """A namespace holding a Secret (whose value is `secret_value`) and a ConfigMap that a sweep must never read,
    change or delete; removed afterwards."""
    namespace = f"{prefix}-{uuid.uuid4().hex[:6]}"
    status, answer = cluster_api.request(
        "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    )
    assert status == 201, answer
    for path, body in (
        (
            f"/api/v1/namespaces/{namespace}/secrets",
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": VICTIM_SECRET},
                "stringData": {"v": secret_value},
            },
        ),
        (
            f"/api/v1/namespaces/{namespace}/configmaps",
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": VICTIM_CM}, "data": {"k": "v"}},
        ),
    ):
        status, answer = cluster_api.request("POST", path, body)
        assert status == 201, answer
    try:
        yield namespace
    finally:
        cluster_api.request("DELETE", f"/api/v1/namespaces/{namespace}")


@pytest.fixture(scope="module")
def victims(cluster_api: ClusterAPI) -> Iterator[str]:
    """A namespace holding a Secret and a ConfigMap the sweep must never read, change or delete."""
    with victim_namespace(cluster_api, "t-sweep", SECRET_VALUE) as namespace:
        yield namespace


@pytest.fixture(scope="module")
async def sweep_client(kubeconfig: str) -> AsyncIterator[Client[Any]]:
    app = build_server(Settings(kubeconfig=kubeconfig, scale_wait_seconds=0, helm_timeout_seconds=20))
    async with Client(app) as client:
        yield client


def snapshot(cluster_api: ClusterAPI, namespace: str) -> dict[str, str]:
    """resourceVersions of the victims (a missing one shows as its HTTP status)."""
    versions = {}
    for path in (
        f"/api/v1/namespaces/{namespace}",
        f"/api/v1/namespaces/{namespace}/secrets/{VICTIM_SECRET}",
        f"/api/v1/namespaces/{namespace}/configmaps/{VICTIM_CM}",
    ):
        status, answer = cluster_api.request("GET", path)
        versions[path] = answer["metadata"]["resourceVersion"] if status == 200 else f"HTTP {status}"
    return versions


def leaked(text: str) -> bool:
    encoded = base64.b64encode(SECRET_VALUE.encode()).decode()
    return SECRET_VALUE in text or encoded in text


@pytest.mark.parametrize("tool", [t for t in CATALOG if targeted_parameters(t)], ids=lambda t: t.name)
async def test_crafted_names_stay_in_their_place(
    tool: Tool, sweep_client: Client[Any], victims: str, cluster_api: ClusterAPI
) -> None:
    before = snapshot(cluster_api, victims)
    assert all(not v.startswith("HTTP") for v in before.values()), before
    problems = []
    for parameter in targeted_parameters(tool):
        for value in PATH_BREAKERS + OTHER_HOSTILE:
            arguments = {**base_arguments(tool, victims), parameter: value}
            result = await sweep_client.call_tool(tool.name, arguments, raise_on_error=False)
            text = json.dumps([getattr(block, "text", "") for block in result.content]) + json.dumps(
                result.structured_content
            )
            if leaked(text):
                problems.append(f"{parameter}={value!r}: the answer carries the Secret's value")
            if "Traceback" in text:
                problems.append(f"{parameter}={value!r}: a traceback reached the client")
            if value in PATH_BREAKERS and not result.is_error:
                problems.append(f"{parameter}={value!r}: accepted, answered {text[:200]}")
    after = snapshot(cluster_api, victims)
    assert after == before, f"{tool.name} changed objects it was not asked about: {before} -> {after}"
    assert not problems, f"{tool.name}:\n" + "\n".join(problems)


def test_the_sweep_covers_the_catalog() -> None:
    """The generated sweep reaches every tool that names an object, so it cannot silently shrink."""
    swept = {t.name for t in CATALOG if targeted_parameters(t)}
    assert len(CATALOG) >= 70
    for must in ("get_secret", "get_resource", "describe_object", "delete_configmap", "delete_resource", "get_logs"):
        assert must in swept
    assert len(swept) >= len(CATALOG) * 3 // 4, sorted({t.name for t in CATALOG} - swept)
