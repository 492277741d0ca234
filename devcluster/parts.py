"""Fetch, build and cache every part the tests use besides the control plane, printing how long each one took.

`make test` runs this first, so a cold machine spends its time in named phases (and CI prints them) rather than
inside the first test that needs a part: helm, Ory Hydra, the parts of the cluster's ``autoscaling`` profile the
tests start (metrics-server, Prometheus, KEDA: ``devcluster.profiles``), the two models of the activator's tiers
3-4, and the official MCP conformance suite. Each part is cached, so a warm run takes seconds.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from devcluster.build import build_hydra
from devcluster.helm import helm_path
from devcluster.messages import ClusterError, log
from devcluster.models import MODELS, ModelFetchError, fetch
from devcluster.profiles import build_part, part_name, parts

PROJECT = Path(__file__).resolve().parents[1]


def conformance_suite() -> str:
    """Install the pinned conformance suite (the tests' own installer, run as a program: devcluster imports no test)."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.conformance.suite"], cwd=PROJECT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise ClusterError(f"the MCP conformance suite did not install: {done.stderr.strip()[-2000:]}")
    return done.stdout.strip()


def main() -> int:
    steps: list[tuple[str, Callable[[], object]]] = [
        ("helm", helm_path),
        ("hydra", build_hydra),
        *((part_name(part), lambda part=part: build_part(part)) for part in parts("autoscaling")),
        *((f"model {name}", lambda model=model: fetch(model)) for name, model in MODELS.items()),
        ("conformance suite", conformance_suite),
    ]
    total = time.monotonic()
    for name, step in steps:
        started = time.monotonic()
        try:
            where = step()
        except (ClusterError, ModelFetchError, OSError, subprocess.SubprocessError) as error:
            log(f"{name}: failed: {error}")
            return 1
        log(f"{name} ready in {time.monotonic() - started:.1f}s: {where}")
    log(f"all parts ready in {time.monotonic() - total:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
