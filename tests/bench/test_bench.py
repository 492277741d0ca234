"""The benchmark harness in its quick mode: our server only, 3 calls per operation, against the real cluster."""

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
    (ours,) = document["peers"]
    assert ours["key"] == "k3s-mcp"
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
    report = (tmp_path / f"{document['date']}.md").read_text()
    assert "| k3s-mcp (ours) |" in report
    assert "get_pods" in report
