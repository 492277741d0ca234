"""bench.ab: two stdio servers (the working tree and a git revision from a temporary worktree) on the real
cluster, calls interleaved."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(300)
def test_the_working_tree_and_a_revision_answer_the_same_calls(kubeconfig: str, tmp_path: Path) -> None:
    out = tmp_path / "ab.json"
    operations = "get_deployment,scale_deployment"
    result = subprocess.run(
        [sys.executable, "-m", "bench.ab", "HEAD", "--rounds", "3", "--operations", operations, "--json", str(out)],
        cwd=ROOT,
        env={**os.environ, "BENCH_PODS_IN_NAMESPACE": "3"},
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["revision"] == "HEAD" and figures["rounds"] == 3
    for operation in ("get_deployment", "scale_deployment"):
        row = figures[operation]
        for side in ("tree", "rev"):
            assert 0 < row[side]["p50_ms"] <= row[side]["max_ms"], row
        assert operation in result.stdout
    # The temporary worktrees are gone.
    worktrees = subprocess.run(["git", "worktree", "list"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "bench-ab-" not in worktrees.stdout


def test_an_unknown_operation_is_refused() -> None:
    unknown = subprocess.run(
        [sys.executable, "-m", "bench.ab", "HEAD", "--operations", "fly"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert unknown.returncode == 2 and "unknown operations ['fly']" in unknown.stderr
