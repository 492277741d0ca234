"""Every tool the activator's data names exists in the live k3s_mcp tool list; the CLI routes offline."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

from cortex.activator.catalog import ToolCatalog
from cortex.activator.evaluation import UNIFI_PREFIX, load_labelled
from cortex.activator.execution import ToolExecutor
from cortex.activator.learning import NO_ROUTE, load_utterances
from cortex.activator.settings import ActivatorSettings
from k3s_mcp.server import build_server
from k3s_mcp.settings import Settings


async def live_catalog() -> ToolCatalog:
    """Every tool the server offers, the disclosed toolsets included, read as the activator reads them.

    tools/list needs no cluster: the app is built for a kubeconfig that does not have to exist."""
    executor = ToolExecutor(None, 30.0, app=build_server(Settings(kubeconfig="/nonexistent/kubeconfig")))
    await executor.start()
    try:
        return await executor.catalog()
    finally:
        await executor.stop()


async def test_rules_utterances_labels_and_snapshot_name_live_tools(labelled_path: Path) -> None:
    live = await live_catalog()
    settings = ActivatorSettings()
    rules = yaml.safe_load(settings.rules_path.read_text())["rules"]
    named = {("rules", rule["tool"]) for rule in rules}
    named |= {("utterances", route) for route in load_utterances(settings.utterances_path) if route != NO_ROUTE}
    named |= {
        ("labelled", item.tool)
        for item in load_labelled(labelled_path)
        if item.tool and not item.tool.startswith(UNIFI_PREFIX)
    }
    snapshot = ToolCatalog.from_snapshot(settings.catalog_snapshot_path)
    named |= {("snapshot", name) for name in snapshot.names()}
    unknown = sorted((source, tool) for source, tool in named if tool not in live)
    assert not unknown, f"not offered by k3s_mcp: {unknown}"
    for name in snapshot.names():
        assert snapshot.tools[name].destructive == live.tools[name].destructive, name
        assert set(snapshot.tools[name].required) == set(live.tools[name].required), name


def test_cli_route_prints_one_json_decision_without_a_cluster() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cortex.cli", "route", "--json", "scale web to 3 in shop"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    assert decision["tier"] == "keyword" and decision["tool"] == "scale_deployment"
    assert decision["arguments"] == {"name": "web", "namespace": "shop", "replicas": 3}
    assert decision["mode"] == "SIMPLE" and decision["confidence"] > 0.5

    chat = subprocess.run(
        [sys.executable, "-m", "cortex.cli", "route", "--json", "--no-similarity", "tell me a joke"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert chat.returncode == 0 and json.loads(chat.stdout)["tool"] is None


def test_cortex_serve_answers_over_http(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "absent-kubeconfig"), "CORTEX_QDRANT_PATH": str(tmp_path / "q")}
    server = subprocess.Popen(
        [sys.executable, "-m", "cortex.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "cortex serve did not become ready"
            time.sleep(0.5)
        ready = httpx.get(f"{base}/ready").json()
        assert ready["tools"] >= 13 and ready["similarity"]
        body = httpx.post(f"{base}/query", json={"query": "list pods in shop", "execute": False}).json()
        assert body["tool"] == "get_pods" and body["status"] == "routed"
    finally:
        server.terminate()
        server.wait(timeout=20)
