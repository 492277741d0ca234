"""A/B of two k3s-mcp stdio servers on one cluster: the working tree against a git revision, calls interleaved.

Usage: ``python -m bench.ab REV [--rounds N] [--operations list_pods_namespace,get_deployment] [--json PATH]``.

Both servers run at once on the same interpreter and dependencies; the revision's code runs from a temporary git
worktree. Each round makes every operation's call (the same calls as ``make bench``) on both servers, in an order
that alternates from round to round: a call made right after a write pays for the API server's work on it, so a
fixed order would favour one side. Per server and operation it reports the median, the p99, the slowest call and
how many took over 30 ms, and the median of the paired differences (tree minus revision). A machine's drift over
the minutes of a run falls on both sides alike, which is what a comparison of two separate bench runs lacks.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastmcp import Client
from fastmcp.client.transports import StdioTransport

from bench.measure import percentile
from bench.peers import OPERATIONS, build_peers, renamed
from bench.settings import BenchSettings
from bench.workload import Workload
from devcluster import cluster

ROOT = Path(__file__).resolve().parent.parent
SERVER = Path(sys.executable).with_name("k3s-mcp-server")
SIDES = ("tree", "rev")
SLOW_MS = 30.0
# The 1,000-pod list needs the wide workload; every other operation of `make bench` is compared by default.
DEFAULT_OPERATIONS = tuple(name for name in OPERATIONS if name != "list_pods_all")


def log(message: str) -> None:
    print(f"[ab] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def worktree(revision: str) -> Iterator[Path]:
    """A temporary git worktree of `revision`, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as scratch:
        path = Path(scratch) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(path), revision], cwd=ROOT, check=True)
        try:
            yield path
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, check=False)


def summary(samples: list[float]) -> dict[str, Any]:
    return {
        "p50_ms": statistics.median(samples),
        "p99_ms": percentile(samples, 99),
        "max_ms": max(samples),
        "over_30_ms": sum(sample > SLOW_MS for sample in samples),
    }


async def compare(kubeconfig: str, revision_tree: Path, rounds: int, operations: list[str]) -> dict[str, Any]:
    settings = BenchSettings(namespace_prefix="bench-ab")
    ours = build_peers(settings)[0]
    workload = Workload(Path(kubeconfig), settings, list(SIDES))
    targets = workload.create(wide=False)
    env = {**os.environ, "KUBECONFIG": kubeconfig}
    extra = {"tree": {}, "rev": {"PYTHONPATH": str(revision_tree)}}
    samples: dict[tuple[str, str], list[float]] = {(side, op): [] for side in SIDES for op in operations}
    try:
        async with contextlib.AsyncExitStack() as stack:
            clients = {}
            for side in SIDES:
                transport = StdioTransport(str(SERVER), [], env={**env, **extra[side]}, keep_alive=False)
                clients[side] = await stack.enter_async_context(Client(transport, timeout=60))
            builds = {(side, op): renamed(ours.operations[op], "k3s-mcp", side) for side in SIDES for op in operations}
            for side, client in clients.items():  # warm-up, and a check that both sides can make every call
                for op in operations:
                    made = builds[(side, op)](targets, rounds + 1)
                    answer = await client.call_tool_mcp(made.tool, made.arguments)
                    if answer.is_error:
                        raise RuntimeError(f"{side} {op}: {answer.content}")
            for index in range(rounds):
                for op in operations:
                    order = SIDES if index % 2 == 0 else SIDES[::-1]
                    for side in order:
                        made = builds[(side, op)](targets, index)
                        started = time.perf_counter()
                        await clients[side].call_tool_mcp(made.tool, made.arguments)
                        samples[(side, op)].append((time.perf_counter() - started) * 1000)
    finally:
        workload.delete()
    result: dict[str, Any] = {}
    for op in operations:
        tree, rev = samples[("tree", op)], samples[("rev", op)]
        result[op] = {
            "tree": summary(tree),
            "rev": summary(rev),
            "paired_difference_p50_ms": statistics.median(a - b for a, b in zip(tree, rev, strict=True)),
        }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("revision", help="the git revision to compare the working tree with (e.g. HEAD~3)")
    parser.add_argument("--rounds", type=int, default=200, help="calls per operation and server")
    parser.add_argument("--operations", default=",".join(DEFAULT_OPERATIONS), help="comma-separated, of make bench")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    operations = [op.strip() for op in args.operations.split(",") if op.strip()]
    unknown = set(operations) - set(OPERATIONS)
    if unknown or args.rounds < 1:
        parser.error(f"unknown operations {sorted(unknown)}; known: {list(OPERATIONS)}" if unknown else "rounds >= 1")
    kubeconfig = str(cluster.up().kubeconfig)
    with worktree(args.revision) as tree:
        log(f"comparing the working tree with {args.revision}, {args.rounds} rounds ...")
        result = asyncio.run(compare(kubeconfig, tree, args.rounds, operations))
    print(f"{'operation':20s} {'tree p50':>9s} {'rev p50':>9s} {'tree−rev':>9s}  tree p99/max/>30ms  rev p99/max/>30ms")
    for op, row in result.items():
        t, r = row["tree"], row["rev"]
        print(
            f"{op:20s} {t['p50_ms']:9.2f} {r['p50_ms']:9.2f} {row['paired_difference_p50_ms']:+9.2f}  "
            f"{t['p99_ms']:.1f}/{t['max_ms']:.1f}/{t['over_30_ms']}  "
            f"{r['p99_ms']:.1f}/{r['max_ms']:.1f}/{r['over_30_ms']}"
        )
    if args.json is not None:
        args.json.write_text(json.dumps({"revision": args.revision, "rounds": args.rounds, **result}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
