"""YAML from tool arguments stays within K3S_YAML_MAX_*: bombs are refused early, fast and small; real YAML passes.

Every call goes through a real MCP client to the app on the real cluster. Memory is measured in this process
(the in-memory client runs the server here): the peak of Python allocations (tracemalloc) and the growth of the
resident-set peak (getrusage), around the one call.
"""

from __future__ import annotations

import asyncio
import resource
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any

import pytest
from fastmcp import Client

from devcluster.api import ClusterAPI
from k3s_mcp.server import build_server
from k3s_mcp.settings import Settings
from tests.k3s_mcp.conftest import call, call_error

pytestmark = pytest.mark.cluster

MEMORY_BUDGET = 200 * 1024 * 1024
TIME_BUDGET = 3.0
DEFAULTS = Settings()


def alias_bomb(size: int = 565) -> str:
    """A ConfigMap whose nine-fold aliases ("billion laughs") expand to about 9**12 strings, padded to `size` bytes."""
    lines = [
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        "  name: {name}",
        "data:",
        '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    ]
    previous = "a"
    for anchor in "bcdefghijkl":
        lines.append(f"  {anchor}: &{anchor} [" + ",".join([f"*{previous}"] * 9) + "]")
        previous = anchor
    text = "\n".join(lines) + "\n"
    padding = size - len(text.format(name="lol"))
    assert padding >= 0
    return text.format(name="lol" + "l" * padding)


@dataclass
class Measured:
    message: str
    seconds: float
    python_peak: int
    rss_growth: int


async def measured(call_it: Awaitable[str]) -> Measured:
    """Run one call, measuring its wall time, the peak of Python allocations and the growth of the RSS peak."""
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    tracemalloc.reset_peak()
    started = time.monotonic()
    try:
        message = await call_it
        seconds = time.monotonic() - started
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before
    result = Measured(message, seconds, python_peak, rss_growth)
    print(f"\n{seconds:.3f}s, python peak {python_peak / 1e6:.1f} MB, RSS peak growth {rss_growth / 1e6:.1f} MB")
    return result


def assert_bounded(result: Measured) -> None:
    assert result.seconds < TIME_BUDGET, result
    assert result.python_peak < MEMORY_BUDGET, result
    assert result.rss_growth < MEMORY_BUDGET, result


@pytest.fixture
async def client(kubeconfig: str) -> AsyncIterator[Client[Any]]:
    async with Client(build_server(Settings(kubeconfig=kubeconfig))) as connected:
        yield connected


def configmaps(cluster_api: ClusterAPI, namespace: str) -> list[str]:
    status, answer = cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/configmaps")
    assert status == 200, answer
    return sorted(
        item["metadata"]["name"] for item in answer["items"] if item["metadata"]["name"] != "kube-root-ca.crt"
    )


async def refused(client: Client[Any], namespace: str, manifest: str) -> Measured:
    arguments = {"manifest_yaml": manifest, "namespace": namespace}
    return await measured(call_error(client, "apply_manifest", arguments))


async def test_the_565_byte_alias_bomb_is_refused_while_composing(
    client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    bomb = alias_bomb()
    assert len(bomb.encode()) == 565
    result = await refused(client, namespace, bomb)
    assert "The manifest is refused: it expands YAML aliases to" in result.message
    assert f"more than the {DEFAULTS.yaml_max_nodes:,} allowed (K3S_YAML_MAX_NODES)" in result.message
    # The alias that crossed the limit is named with its line: the fifth level (*e) already passes 200,000 nodes.
    assert "by line 11 (alias *e)" in result.message
    assert "remove anchors/aliases or raise the limit" in result.message and "Nothing was applied" in result.message
    assert_bounded(result)
    assert configmaps(cluster_api, namespace) == []


async def test_deep_nesting_is_refused_at_the_depth_limit(client: Client[Any], namespace: str) -> None:
    depth = 900_000
    result = await refused(client, namespace, "[" * depth + "]" * depth)
    assert f"it nests lists and mappings {DEFAULTS.yaml_max_depth + 1} levels deep at line 1, column 101" in (
        result.message
    )
    assert f"more than the {DEFAULTS.yaml_max_depth} allowed (K3S_YAML_MAX_DEPTH)" in result.message
    assert_bounded(result)

    block = "".join(f"{'  ' * level}k:\n" for level in range(150)) + f"{'  ' * 150}leaf\n"
    result = await refused(client, namespace, block)
    assert "levels deep at line 101" in result.message and "(K3S_YAML_MAX_DEPTH)" in result.message


async def test_many_documents_are_refused_at_the_document_limit(client: Client[Any], namespace: str) -> None:
    limit = DEFAULTS.yaml_max_documents
    manifest = "---\na: 1\n" * 200_000
    result = await refused(client, namespace, manifest)
    assert f"it has {limit + 1:,} YAML documents by line {2 * limit + 1:,}" in result.message
    assert f"more than the {limit:,} allowed (K3S_YAML_MAX_DOCUMENTS)" in result.message
    assert_bounded(result)


async def test_a_huge_scalar_is_refused_by_size_before_parsing(client: Client[Any], namespace: str) -> None:
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  blob: " + "x" * 8_000_000 + "\n"
    result = await refused(client, namespace, manifest)
    size = len(manifest.encode())
    assert f"The manifest is refused: it is {size:,} bytes, more than the 2,000,000 allowed (K3S_YAML_MAX_BYTES)" in (
        result.message
    )
    assert_bounded(result)


async def test_a_large_scalar_repeated_by_aliases_is_refused_by_expanded_size(
    client: Client[Any], namespace: str
) -> None:
    blob = "y" * 1_500_000
    manifest = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: twice}}\ndata:\n  a: &blob {blob}\n  b: *blob\n"
    result = await refused(client, namespace, manifest)
    assert "it expands YAML aliases to 3,000,0" in result.message  # the two copies plus the keys and names
    assert "characters of scalar text by line 6 (alias *blob)" in result.message
    assert "more than the 2,000,000 allowed (K3S_YAML_MAX_BYTES)" in result.message
    assert_bounded(result)


async def test_alias_count_and_recursive_aliases_are_refused(client: Client[Any], namespace: str) -> None:
    limit = DEFAULTS.yaml_max_aliases
    many = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nitems: [&one 1, " + ", ".join(["*one"] * 1500) + "]\n"
    message = await call_error(client, "apply_manifest", {"manifest_yaml": many, "namespace": namespace})
    assert f"it uses {limit + 1:,} YAML aliases by line 4, more than the {limit:,} allowed (K3S_YAML_MAX_ALIASES)" in (
        message
    )
    recursive = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nloop: &loop [1, *loop]\n"
    message = await call_error(client, "apply_manifest", {"manifest_yaml": recursive, "namespace": namespace})
    assert "the YAML alias *loop at line 4 refers to a node that contains it" in message


async def test_limits_follow_the_settings(kubeconfig: str, cluster_api: ClusterAPI, namespace: str) -> None:
    # 11 nodes up to the data mapping, then 100 keys and their values: 211 nodes; k94 (line 100) makes 201.
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keys\ndata:\n" + "".join(
        f"  k{i}: v\n" for i in range(100)
    )
    strict = Settings(kubeconfig=kubeconfig, yaml_max_nodes=200)
    async with Client(build_server(strict)) as client:
        message = await call_error(client, "apply_manifest", {"manifest_yaml": manifest, "namespace": namespace})
        assert "it has 201 YAML nodes by line 100, more than the 200 allowed (K3S_YAML_MAX_NODES)" in message
        assert "apply it in parts or raise the limit" in message
        assert configmaps(cluster_api, namespace) == []
    async with Client(build_server(Settings(kubeconfig=kubeconfig, yaml_max_nodes=211))) as client:
        applied = await call(client, "apply_manifest", {"manifest_yaml": manifest, "namespace": namespace})
        assert [item["result"] for item in applied["objects"]] == ["created"]


# Anchors live within one document, so the objects sharing them travel in a List.
LEGIT_WITH_ALIASES = """\
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata:
      name: shared-settings
      labels: &labels {app: web, tier: front}
    data: &defaults
      colour: blue
      size: small
  - apiVersion: v1
    kind: ConfigMap
    metadata:
      name: overridden-settings
      labels: *labels
    data:
      <<: *defaults
      size: large
  - apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
      labels: *labels
    spec:
      selector:
        matchLabels: *labels
      template:
        metadata:
          labels: *labels
        spec:
          containers: [{name: main, image: "nginx:1.27"}]
"""


async def test_a_legitimate_manifest_with_anchors_and_aliases_applies(
    client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    applied = await call(client, "apply_manifest", {"manifest_yaml": LEGIT_WITH_ALIASES, "namespace": namespace})
    assert [(item["name"], item["result"]) for item in applied["objects"]] == [
        ("shared-settings", "created"),
        ("overridden-settings", "created"),
        ("web", "created"),
    ]
    _, overridden = cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/overridden-settings")
    assert overridden["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert overridden["data"] == {"colour": "blue", "size": "large"}
    _, web = cluster_api.request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/web")
    assert (
        web["spec"]["selector"]["matchLabels"]
        == web["spec"]["template"]["metadata"]["labels"]
        == {
            "app": "web",
            "tier": "front",
        }
    )


def big_crd(group: str, levels: int = 14, fields: int = 300) -> str:
    """A CustomResourceDefinition of about 1 MB: a schema `levels` objects deep (36 YAML levels), `fields` string
    fields with descriptions on each level, as generated CRDs of large operators look."""

    def schema(level: int, indent: int) -> list[str]:
        pad = " " * indent
        lines = [f"{pad}type: object", f"{pad}description: Level {level} of the configuration.", f"{pad}properties:"]
        for field in range(fields):
            lines += [
                f"{pad}  field{field}:",
                f"{pad}    type: string",
                f"{pad}    description: Field {field} of level {level}; the operator reads it on every reconcile.",
            ]
        if level < levels - 1:
            lines.append(f"{pad}  nested:")
            lines += schema(level + 1, indent + 4)
        return lines

    header = f"""\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.{group}
spec:
  group: {group}
  scope: Namespaced
  names: {{plural: widgets, singular: widget, kind: Widget}}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
"""
    return header + "\n".join(schema(0, 14)) + "\n"


async def test_a_big_crd_passes_the_default_limits(client: Client[Any], namespace: str) -> None:
    crd = big_crd(f"{namespace}.example.com")
    assert 900_000 < len(crd) < DEFAULTS.yaml_max_bytes
    result = await call(client, "apply_manifest", {"manifest_yaml": crd, "dry_run": True})
    assert [(item["kind"], item["result"]) for item in result["objects"]] == [("CustomResourceDefinition", "created")]


def big_but_legal(documents: int = 190, keys: int = 1_000) -> str:
    """About 382,000 nodes in under 2 MB, then a document without apiVersion, so apply_manifest fails right after
    parsing, before any request."""
    body = "".join(f"  k{key}: v\n" for key in range(keys))
    parts = [
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{index}\ndata:\n{body}" for index in range(documents)
    ]
    parts.append("kind: ConfigMap\nmetadata:\n  name: last\n")
    return "---\n".join(parts)


async def test_a_slow_parse_runs_off_the_event_loop(kubeconfig: str, namespace: str) -> None:
    manifest = big_but_legal()
    # Legal under a raised node limit, so the parse takes long enough (seconds) on any machine to be watched.
    app = build_server(Settings(kubeconfig=kubeconfig, yaml_max_nodes=400_000))
    async with Client(app) as first, Client(app) as second:
        await call(second, "get_namespaces", {"limit": 1})  # both sessions warm: discovery done
        gaps: list[float] = []

        async def ticker() -> None:
            last = time.monotonic()
            while True:
                await asyncio.sleep(0.01)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        ticking = asyncio.create_task(ticker())
        started = time.monotonic()
        finished: dict[str, float] = {}

        async def big() -> str:
            message = await call_error(first, "apply_manifest", {"manifest_yaml": manifest, "namespace": namespace})
            finished["big"] = time.monotonic() - started
            return message

        async def cheap() -> dict[str, Any]:
            await asyncio.sleep(0.3)  # the big parse is under way by now
            answer = await call(second, "get_namespaces", {"limit": 1})
            finished["cheap"] = time.monotonic() - started
            return answer

        message, answer = await asyncio.gather(big(), cheap())
        ticking.cancel()
    print(
        f"\nbig parse answered after {finished['big']:.2f}s, cheap call after {finished['cheap']:.2f}s, "
        f"longest event-loop stall {max(gaps) * 1000:.0f} ms"
    )
    assert "Document 191 lacks apiVersion" in message  # the whole manifest was parsed, then refused
    assert answer["items"], answer
    assert finished["big"] > 0.6, finished  # the parse is slow enough for the comparison to mean something
    assert finished["cheap"] < finished["big"], finished
    # Had the parse run on the event loop, the loop would have stalled for nearly all of it; in a thread it only
    # shares the interpreter (garbage collections of the new objects pause it for a fraction of the parse). The
    # bound is relative, so a loaded machine, which slows the parse and the pauses alike, does not fail it.
    assert max(gaps) < finished["big"] / 3, (max(gaps), finished)


async def test_helm_values_are_bounded_too(client: Client[Any], cluster_api: ClusterAPI, namespace: str) -> None:
    deep: dict[str, Any] = {"leaf": 1}
    for _ in range(150):
        deep = {"k": deep}
    message = await call_error(
        client, "configure_helm_chart", {"name": "traefik", "namespace": namespace, "values": deep}
    )
    assert f"The values are refused: they nest lists and mappings {DEFAULTS.yaml_max_depth + 1} levels deep" in message
    assert f"more than the {DEFAULTS.yaml_max_depth} allowed (K3S_YAML_MAX_DEPTH)" in message
    wide = {f"key{index}": list(range(100)) for index in range(2_500)}
    message = await call_error(
        client,
        "install_helm_chart",
        {
            "release": "wide",
            "chart": "nginx",
            "repo_url": "https://charts.example.invalid",
            "namespace": namespace,
            "route": "helmchart",
            "values": wide,
        },
    )
    limit = DEFAULTS.yaml_max_nodes
    assert f"The values are refused: they hold at least {limit + 1:,} YAML nodes, more than the {limit:,}" in message
    assert "allowed (K3S_YAML_MAX_NODES)" in message
    for resource_path in ("helmchartconfigs", "helmcharts"):
        status, answer = cluster_api.request("GET", f"/apis/helm.cattle.io/v1/namespaces/{namespace}/{resource_path}")
        assert status == 200 and answer["items"] == [], answer

    # A values file of 5,000 lines is an ordinary size and passes.
    values = {
        f"service{index}": {"enabled": True, "port": 8000 + index, "image": f"registry.example/s{index}:1.0"}
        for index in range(1_250)
    }
    result = await call(client, "configure_helm_chart", {"name": "traefik", "namespace": namespace, "values": values})
    assert result["values"] == values
    _, stored = cluster_api.request("GET", f"/apis/helm.cattle.io/v1/namespaces/{namespace}/helmchartconfigs/traefik")
    assert stored["spec"]["valuesContent"].count("\n") == 5_000
