"""The stdio start's handshake snapshot, through real stdio processes: a real MCP client and the raw wire.

What must hold: a start with a snapshot answers exactly what FastMCP answered when it was recorded, then hands
every later message to FastMCP in order (no answer twice, none lost); a changed setting or a broken snapshot
never gives a stale or wrong answer.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from fastmcp import Client
from fastmcp.client.transports import StdioTransport

from k3s_mcp.stdio_start import answer_key
from tests.k3s_mcp.conftest import SERVER_PROGRAM, server_env

REVISION_2025 = "2025-06-18"


def snapshots(cache: Path) -> list[Path]:
    return sorted((cache / "k3s-mcp" / "start").glob("*.json"))


async def listing(kubeconfig: str, cache: Path, **settings: str) -> tuple[list[dict[str, Any]], Client[Any]]:
    """Start a server, list its tools and return them (the client is closed)."""
    env = server_env(kubeconfig, XDG_CACHE_HOME=str(cache), **settings)
    async with Client(StdioTransport(SERVER_PROGRAM, [], env=env)) as client:
        tools = (await client.list_tools_mcp()).model_dump(mode="json", by_alias=True, exclude_none=True)["tools"]
    return tools, client


class Wire:
    """A server process spoken to line by line, as a client's stdio transport does."""

    def __init__(self, kubeconfig: str, cache: Path) -> None:
        env = server_env(kubeconfig, XDG_CACHE_HOME=str(cache))
        self.process = subprocess.Popen(
            [SERVER_PROGRAM], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
        )

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps({"jsonrpc": "2.0", **message}) + "\n").encode())
        self.process.stdin.flush()

    def receive(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, "the server closed its output"
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> bytes:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        rest = self.process.stdout.read()
        assert self.process.wait(timeout=30) == 0
        return rest

    def session(self, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """initialize (2025-06-18), initialized, tools/list, then `calls` one by one; every answer in order."""
        self.send(
            {
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": REVISION_2025,
                    "capabilities": {},
                    "clientInfo": {"name": "w", "version": "1"},
                },
            }
        )
        answers = [self.receive()]
        self.send({"method": "notifications/initialized"})
        self.send({"id": 2, "method": "tools/list"})
        answers.append(self.receive())
        for number, call in enumerate(calls, start=3):
            self.send({"id": number, **call})
            answers.append(self.receive())
        return answers


async def test_a_start_with_a_snapshot_answers_what_fastmcp_answered_and_hands_over(
    kubeconfig: str, tmp_path: Path
) -> None:
    recorded, _ = await listing(kubeconfig, tmp_path)
    (snapshot,) = snapshots(tmp_path)
    answers = json.loads(snapshot.read_text())["answers"]
    assert {key.split("|")[0] for key in answers} == {"server/discover", "tools/list"}, answers.keys()

    # Mark the snapshot's listing: a start that answers from it shows the mark, so this start did.
    key = next(key for key in answers if key.startswith("tools/list|"))
    marked = json.loads(snapshot.read_text())
    marked["answers"][key]["tools"][0]["description"] = "answered from the snapshot"
    snapshot.write_text(json.dumps(marked))
    shown, _ = await listing(kubeconfig, tmp_path)
    assert shown[0]["description"] == "answered from the snapshot"

    # Unmarked, it answers exactly what FastMCP answered; then FastMCP serves the calls and keeps the session's
    # state: enable_toolset lists helm's tools in the next tools/list, which FastMCP (not the snapshot) answers.
    snapshot.write_text(json.dumps({**marked, "answers": answers}))
    env = server_env(kubeconfig, XDG_CACHE_HOME=str(tmp_path))
    async with Client(StdioTransport(SERVER_PROGRAM, [], env=env)) as client:
        first = (await client.list_tools_mcp()).model_dump(mode="json", by_alias=True, exclude_none=True)["tools"]
        assert first == recorded
        namespaces = await client.call_tool_mcp("get_namespaces", {})
        assert not namespaces.is_error and "default" in namespaces.content[0].text  # type: ignore[union-attr]
        assert "configure_helm_chart" not in {tool["name"] for tool in first}
        await client.call_tool_mcp("enable_toolset", {"toolsets": ["helm"]})
        after = {tool.name for tool in (await client.list_tools_mcp()).tools}
        assert "configure_helm_chart" in after and len(after) > len(first)


def test_the_wire_carries_each_answer_once_and_in_order(kubeconfig: str, tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = [
        {"method": "tools/call", "params": {"name": "get_namespaces", "arguments": {}}},
        {"method": "ping"},
        {"method": "tools/list"},
    ]
    recording = Wire(kubeconfig, tmp_path)
    recorded = recording.session(calls)
    assert recording.close() == b""
    assert answer_key("initialize", REVISION_2025) in json.loads(snapshots(tmp_path)[0].read_text())["answers"]

    answered = Wire(kubeconfig, tmp_path)
    replies = answered.session(calls)
    # Nothing more: FastMCP's own answer to the replayed initialize never reaches the client.
    assert answered.close() == b""
    assert [reply["id"] for reply in replies] == [1, 2, 3, 4, 5]
    assert replies[0] == recorded[0] and replies[1] == recorded[1] and replies[4] == recorded[4]
    assert replies[0]["result"]["protocolVersion"] == REVISION_2025
    assert replies[0]["result"]["serverInfo"]["name"] == "k3s-mcp"
    assert not replies[2]["result"]["isError"] and replies[3]["result"] == {}


async def test_a_changed_setting_or_a_broken_snapshot_is_never_answered_from(kubeconfig: str, tmp_path: Path) -> None:
    default, _ = await listing(kubeconfig, tmp_path)
    # K3S_READ_ONLY changes the key: FastMCP answers, with the write tools hidden, and records a second snapshot.
    read_only, _ = await listing(kubeconfig, tmp_path, K3S_READ_ONLY="true")
    names = {tool["name"] for tool in default}
    assert "scale_deployment" in names and "scale_deployment" not in {tool["name"] for tool in read_only}
    assert len(snapshots(tmp_path)) == 2

    for broken in ("{not json", json.dumps({"format": 1, "key": "other", "answers": {}}), json.dumps([1, 2])):
        for path in snapshots(tmp_path):
            path.write_text(broken)
        again, _ = await listing(kubeconfig, tmp_path)
        assert again == default
    # The start that found a broken snapshot recorded a good one again.
    assert any("answers" in json.loads(path.read_text()) for path in snapshots(tmp_path) if path.read_text()[0] == "{")


async def test_off_or_another_preset_means_no_snapshot(kubeconfig: str, tmp_path: Path) -> None:
    await listing(kubeconfig, tmp_path, K3S_MCP_FAST_START="false")
    tools, _ = await listing(kubeconfig, tmp_path, K3S_TOOLSETS="core")
    assert snapshots(tmp_path) == [] and "get_pods" in {tool["name"] for tool in tools}
