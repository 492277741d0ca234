"""kubeconfig contexts: listing, `context=` on every tool, and a switch that checks the cluster first."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml

from devcluster.api import ClusterAPI
from tests.k3s_mcp.conftest import ClientFactory, call, call_error, read_yaml

pytestmark = pytest.mark.cluster


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def two_contexts(kubeconfig: str, tmp_path: Path) -> str:
    """A kubeconfig with the live cluster ('live', current) and a dead 127.0.0.1 port ('dead')."""
    config = read_yaml(kubeconfig)
    current = next(c for c in config["contexts"] if c["name"] == config["current-context"])["context"]
    live_cluster = next(c for c in config["clusters"] if c["name"] == current["cluster"])["cluster"]
    user = next(u for u in config["users"] if u["name"] == current["user"])["user"]
    dead_cluster = {**live_cluster, "server": f"https://127.0.0.1:{closed_port()}"}
    path = tmp_path / "two.kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "live", "cluster": live_cluster}, {"name": "dead", "cluster": dead_cluster}],
                "users": [{"name": "admin", "user": user}],
                "contexts": [
                    {"name": "live", "context": {"cluster": "live", "user": "admin"}},
                    {"name": "dead", "context": {"cluster": "dead", "user": "admin", "namespace": "apps"}},
                ],
                "current-context": "live",
            }
        )
    )
    return str(path)


async def test_every_tool_takes_an_optional_context(make_client: ClientFactory, two_contexts: str) -> None:
    async with make_client(kubeconfig=two_contexts, toolsets="all") as client:
        tools = await client.list_tools()
        for tool in tools:
            if tool.name in {"list_contexts", "switch_context"}:
                continue
            properties = tool.input_schema["properties"]
            assert "context" in properties, tool.name
            assert "context" not in tool.input_schema.get("required", []), tool.name


async def test_list_contexts_marks_the_active_one(make_client: ClientFactory, two_contexts: str) -> None:
    async with make_client(kubeconfig=two_contexts) as client:
        listed = await call(client, "list_contexts")
        assert listed["active"] == "live"
        rows = {row["name"]: row for row in listed["items"]}
        assert set(rows) == {"live", "dead"}
        assert rows["live"]["current"] is True and rows["dead"]["current"] is False
        assert rows["dead"]["namespace"] == "apps" and rows["dead"]["server"].startswith("https://127.0.0.1:")


async def test_context_argument_routes_one_call(make_client: ClientFactory, two_contexts: str, namespace: str) -> None:
    async with make_client(kubeconfig=two_contexts) as client:
        live = await call(client, "get_namespaces", {"context": "live"})
        assert namespace in {row["name"] for row in live["items"]}
        message = await call_error(client, "get_namespaces", {"context": "dead"})
        assert "Cannot reach the Kubernetes API server" in message and "127.0.0.1" in message
        message = await call_error(client, "get_pods", {"namespace": namespace, "context": "nowhere"})
        assert "Unknown context 'nowhere'" in message and "live" in message and "dead" in message
        # The failed calls left the active context alone.
        assert (await call(client, "list_contexts"))["active"] == "live"
        assert (await call(client, "get_pods", {"namespace": namespace}))["count"] == 0


async def test_switch_checks_the_cluster_before_it_takes_effect(
    make_client: ClientFactory, two_contexts: str, cluster_api: ClusterAPI, namespace: str
) -> None:
    async with make_client(kubeconfig=two_contexts, context_probe_timeout_seconds=3) as client:
        message = await call_error(client, "switch_context", {"name": "dead"})
        assert message.startswith("Not switched:") and "stays 'live'" in message
        message = await call_error(client, "switch_context", {"name": "ghost"})
        assert "Unknown context 'ghost'" in message
        assert (await call(client, "list_contexts"))["active"] == "live"
        rows = await call(client, "get_namespaces")
        assert namespace in {row["name"] for row in rows["items"]}


async def test_switch_to_a_live_context_moves_later_calls(
    make_client: ClientFactory, two_contexts: str, tmp_path: Path, namespace: str
) -> None:
    # Start on the dead context: every call fails until the switch to the live one.
    config = read_yaml(two_contexts)
    config["current-context"] = "dead"
    starts_dead = tmp_path / "starts-dead.kubeconfig"
    starts_dead.write_text(yaml.safe_dump(config))
    async with make_client(kubeconfig=str(starts_dead)) as client:
        assert "Cannot reach" in await call_error(client, "get_namespaces")
        switched = await call(client, "switch_context", {"name": "live"})
        assert switched["active"] == "live" and switched["previous"] == "dead"
        assert switched["server_version"].startswith("v1.")
        rows = await call(client, "get_namespaces")
        assert namespace in {row["name"] for row in rows["items"]}
        listed = await call(client, "list_contexts")
        assert listed["active"] == "live"
        assert [row["name"] for row in listed["items"] if row["current"]] == ["live"]
        # The old context is still reachable by name for one call, and still dead.
        assert "Cannot reach" in await call_error(client, "get_namespaces", {"context": "dead"})


async def test_contexts_without_a_kubeconfig_say_so(make_client: ClientFactory, tmp_path: Path) -> None:
    async with make_client(kubeconfig=str(tmp_path / "absent.kubeconfig")) as client:
        message = await call_error(client, "list_contexts")
        assert "No kubeconfig found" in message and "KUBECONFIG" in message
        message = await call_error(client, "get_pods", {"context": 42})
        assert message == "Invalid argument `context`: must be a context name (a string; see list_contexts), got 42."
