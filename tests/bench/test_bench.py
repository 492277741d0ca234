"""The benchmark harness in its quick mode: our server over stdio and HTTP and the raw-API floor, 3 calls per
operation, against the real cluster."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(180)
def test_quick_run_writes_results_for_every_operation(kubeconfig: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--no-activator", "--out-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (json_path,) = tmp_path.glob("*.json")
    document = json.loads(json_path.read_text())
    peers = {peer["key"]: peer for peer in document["peers"]}
    assert set(peers) == {"k3s-mcp", "k3s-mcp-http", "raw-api"}
    ours = peers["k3s-mcp"]
    assert ours["status"] == "ok", ours["error"]
    assert ours["tools"] and ours["tools"] >= 6
    assert ours["cold_start_ms_median"] > 0
    assert ours["schema_tokens"] and ours["schema_tokens"] > ours["tools"]
    assert set(ours["operations"]) == set(document["operations"])
    for name, operation in ours["operations"].items():
        assert operation["errors"] == 0, f"{name}: {operation['first_error']}"
        assert operation["samples"] == 3, name
        assert 0 < operation["p50_ms"] <= operation["p99_ms"], name
        assert operation["tokens"] and operation["tokens"] > 0, name
    # The namespaced list shows the workload's pods by name.
    assert document["workload"]["pods_in_namespace"] >= 5
    burst = ours["throughput"]["4"]
    assert burst["ok"] == 4 and burst["errors"] == 0
    assert ours["rss_after_mb"] > 10
    assert ours["sequential"]["ok"] == ours["sequential"]["calls"] > 0
    # The raw API requests answered every operation, and each of our calls is compared with its request.
    raw = peers["raw-api"]
    assert raw["status"] == "ok", raw["error"]
    for name, operation in raw["operations"].items():
        assert operation["errors"] == 0, f"raw {name}: {operation['first_error']}"
    overhead = document["overhead"]["k3s-mcp"]
    assert set(overhead) == set(document["operations"])
    for name, row in overhead.items():
        # Every timed call was paired with its raw requests, and the overhead is the median of those differences.
        paired = ours["operations"][name]["paired_overhead_ms"]
        assert len(paired) == 3, name
        assert row["method"] == "paired", name
        assert row["overhead_ms"] == ours["operations"][name]["paired_overhead_p50_ms"], name
        assert row["overhead_ms"] == pytest.approx(sorted(paired)[1], abs=1e-3), name
        assert row["unpaired_overhead_ms"] == row["p50_ms"] - row["raw_p50_ms"], name
    # The HTTP contender: every operation over streamable HTTP, then its sessions at once.
    http = peers["k3s-mcp-http"]
    assert http["status"] == "ok", http["error"]
    for name, operation in http["operations"].items():
        assert operation["errors"] == 0, f"http {name}: {operation['first_error']}"
    assert http["sessions"]["sessions"] == 2
    assert http["sessions"]["ok"] == 6 and http["sessions"]["errors"] == 0
    assert http["sessions"]["calls_per_s"] > 0
    report = (tmp_path / f"{document['date']}.md").read_text()
    assert "| k3s-mcp (ours) |" in report
    assert "get_pods" in report
    assert "## Per-call overhead" in report
    assert "## Streamable HTTP: 2 sessions at once" in report
