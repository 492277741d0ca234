"""The activator's memory benchmark in the deployed shape: a fresh replica process, a real k3s-mcp-server over
streamable HTTP reached by the MCP client, qdrant-client's REST client for a Qdrant URL and no Qdrant in the
process. Real parts only; the figures themselves are the benchmark's, not asserted here."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.activator_memory import deployed_memory


@pytest.mark.timeout(300)
def test_the_replica_is_measured_in_the_deployed_shape(kubeconfig: str) -> None:
    queries = ["scale web to 3 in shop", "raise the checkout replica count", "tell me a joke"]
    result = deployed_memory(queries, Path(kubeconfig))
    steps = [step["step"] for step in result["steps"]]
    assert steps[0] == "python" and steps[-1].startswith("3 held-out requests routed"), steps
    session = next(step for step in steps if step.startswith("MCP session to the remote k3s-mcp over HTTP"))
    # The catalog came over the real session: k3s-mcp's tools, read with tools/list.
    assert int(session.split("catalog of ")[1].split()[0]) > 50, session
    assert any("MiniLM session" in step and "mapped" in step for step in steps), steps
    # The routes are the Qdrant server's: the replica's client was pointed at a URL, never at local mode.
    assert result["qdrant_problems"] and all("Connection refused" in p for p in result["qdrant_problems"])
    assert result["resident_mb"] == result["steps"][-1]["rss_mb"] > result["steps"][0]["rss_mb"]
    for step in result["steps"]:
        assert step["anon_mb"] + step["file_mb"] == pytest.approx(step["rss_mb"], abs=1.0), step
    assert result["budget_mb"] == 128 and len(result["largest_steps"]) == 4
    # `cortex serve` itself, in the same shape, answered every request.
    served = result["cortex_serve"]
    assert served["http_statuses"] == {"200": len(queries)}, served
    assert served["after_requests"]["VmRSS"] > served["after_requests"]["RssFile"] > 0
