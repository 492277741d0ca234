"""The audit log names the OAuth caller: the verified access token's client id and subject, and a scope refusal
counted as `refused` in the log and in /metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport
from prometheus_client.parser import text_string_to_metric_families

from devcluster.hydra import Hydra
from k3s_mcp.middleware.scopes import SCOPE_READ
from tests.k3s_mcp.auth.conftest import client_for, serve_with_oauth
from tests.k3s_mcp.conftest import call, call_error, wait_until


def audit_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def test_oauth_calls_name_the_client_and_subject(
    kubeconfig: str, hydra: Hydra, namespace: str, tmp_path: Path
) -> None:
    log = tmp_path / "audit.log"
    async with serve_with_oauth(kubeconfig, hydra.issuer, K3S_AUDIT_LOG=str(log)) as server:
        oauth_client = client_for(hydra, server, SCOPE_READ)
        token = hydra.fetch_token(oauth_client)
        transport = StreamableHttpTransport(server.url, headers={"Authorization": f"Bearer {token}"})
        async with Client(transport) as client:
            await call(client, "get_configmaps", {"namespace": namespace})
            await call_error(client, "delete_configmap", {"name": "web", "namespace": namespace})
        lines = await wait_until(lambda: len(audit_lines(log)) >= 2 and audit_lines(log), within=10, what="2 lines")
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            exposition = (await http.get("/metrics")).text
    listed, refused = lines
    for line in lines:
        # Hydra's client-credentials tokens name the client as their subject.
        assert line["caller"] == {
            "client_id": oauth_client.client_id,
            "subject": oauth_client.client_id,
            "transport": "http",
            "address": "127.0.0.1",
        }
    assert (listed["tool"], listed["outcome"]) == ("get_configmaps", "ok")
    assert (refused["tool"], refused["outcome"], refused["error"]) == ("delete_configmap", "refused", None)
    assert token not in log.read_text()
    refusals = [
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == "k3s_mcp_tool_calls_total"
        and sample.labels == {"tool": "delete_configmap", "outcome": "refused", "error": ""}
    ]
    assert refusals == [1.0]
