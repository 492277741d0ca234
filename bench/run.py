"""Entry point of `make bench`: set up the cluster workload and the peers, measure each, write JSON, Markdown and plots.

Usage: ``python -m bench.run [--quick] [--peers k3s-mcp,kubectl] [--calls N] [--out-dir DIR]``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.measure import PeerResult, measure_kubectl, measure_mcp
from bench.peers import OPERATIONS, Peer, PeerUnavailable, build_peers, peer_environment
from bench.report import write_report
from bench.settings import BenchSettings
from bench.tokens import Tokenizer
from bench.workload import Workload, WorkloadError
from devcluster import cluster
from devcluster.messages import ClusterError

ACTIVATOR_MODULE = Path(__file__).resolve().parent / "activator.py"


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="our server only, 3 calls, small workload, no plots")
    parser.add_argument("--peers", help="comma-separated peer keys (default: all)")
    parser.add_argument("--calls", type=int, help="timed calls per operation")
    parser.add_argument("--out-dir", type=Path, help="where results go (default bench/results)")
    parser.add_argument("--no-activator", action="store_true", help="skip the Cortex activator benchmark")
    return parser.parse_args(argv)


def _settings(args: argparse.Namespace) -> BenchSettings:
    settings = BenchSettings()
    overrides: dict[str, Any] = {}
    if args.quick:
        overrides.update(
            calls_per_operation=3,
            cold_starts=1,
            concurrency_levels=(4,),
            rounds_per_level=1,
            pods_in_namespace=5,
            pods_total=5,
            namespace_prefix="bench-quick",
        )
    if args.calls:
        overrides["calls_per_operation"] = args.calls
    if args.out_dir:
        overrides["results_dir"] = args.out_dir
    return settings.model_copy(update=overrides)


def _run_activator(settings: BenchSettings, quick: bool) -> dict[str, Any]:
    """bench/activator.py, run as its own process writing JSON; absent or failing is reported."""
    if not ACTIVATOR_MODULE.exists():
        return {"status": "absent", "error": "bench/activator.py is not there"}
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "activator.json"
        command = [sys.executable, "-m", "bench.activator", str(output), *(["--rounds", "1"] if quick else [])]
        log("running the activator benchmark: " + " ".join(command[1:]))
        try:
            result = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=settings.activator_timeout_seconds,
                check=False,
                cwd=Path(__file__).resolve().parent.parent,
            )
        except subprocess.TimeoutExpired:
            return {"status": "failed", "error": f"no result within {settings.activator_timeout_seconds:.0f} s"}
        if result.returncode != 0 or not output.exists():
            return {"status": "failed", "error": (result.stderr or result.stdout).strip()[-1500:]}
        try:
            data: dict[str, Any] = json.loads(output.read_text())
        except json.JSONDecodeError as error:
            return {"status": "failed", "error": f"activator wrote invalid JSON: {error}"}
        return {"status": "ok", "results": data}


async def _measure_all(
    peers: list[Peer], kubeconfig: str, settings: BenchSettings, *, wide: bool, throughput: bool
) -> tuple[list[PeerResult], dict[str, Any]]:
    results: list[PeerResult] = []
    commands: dict[str, list[str]] = {}
    for peer in peers:
        log(f"installing {peer.key} {peer.version} ...")
        try:
            commands[peer.key] = peer.install(settings, kubeconfig)
        except PeerUnavailable as error:
            log(f"{peer.key} is unavailable: {error}")
            results.append(PeerResult(peer.key, peer.title, peer.language, peer.version, "unavailable", str(error)))
    env = peer_environment(kubeconfig)
    workload = Workload(Path(kubeconfig), settings, [p.key for p in peers])
    log_dir = settings.cache_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    try:
        log("creating the workload (bench nodes, namespaces, deployments, pods) ...")
        started = time.monotonic()
        targets = workload.create(wide=wide)
        workload_info = {
            "seconds_to_running": round(time.monotonic() - started, 1),
            "pods_in_namespace": targets.pods_in_namespace,
            "pods_total_running": targets.pods_total,
        }
        log(f"workload ready: {workload_info}")
        for peer in peers:
            if peer.key not in commands:
                continue
            log(f"measuring {peer.key} ...")
            t0 = time.monotonic()
            try:
                if peer.is_mcp:
                    outcome = await measure_mcp(
                        peer, commands[peer.key], {**env, **peer.env}, targets, settings, log_dir, throughput=throughput
                    )
                else:
                    outcome = await measure_kubectl(peer, commands[peer.key], env, targets, settings)
            except Exception as error:  # one peer failing must not cost the others their numbers
                log(f"{peer.key} failed: {type(error).__name__}: {error}")
                outcome = PeerResult(
                    peer.key, peer.title, peer.language, peer.version, "failed", f"{type(error).__name__}: {error}"
                )
            log(f"{peer.key} done in {time.monotonic() - t0:.0f} s")
            results.append(outcome)
    finally:
        workload.delete()
    order = {p.key: n for n, p in enumerate(peers)}
    results.sort(key=lambda r: order[r.key])
    return results, workload_info


def _peer_json(result: PeerResult, tokens: dict[tuple[str, str], int]) -> dict[str, Any]:
    operations = {}
    for name, op in result.operations.items():
        summary = op.summary()
        summary["tokens"] = tokens.get((result.key, name))
        operations[name] = summary
    cold = sorted(result.cold_start_ms)
    return {
        "key": result.key,
        "title": result.title,
        "language": result.language,
        "version": result.version,
        "status": result.status,
        "error": result.error,
        "cold_start_ms_median": cold[len(cold) // 2] if cold else None,
        "cold_start_ms": [round(c, 1) for c in result.cold_start_ms],
        "tools": result.tools,
        "schema_bytes": len(result.schema_text.encode()) if result.schema_text else None,
        "schema_tokens": tokens.get((result.key, "tools/list")),
        "operations": operations,
        "throughput": result.throughput,
        "rss_after_mb": result.rss_after_mb,
        "rss_peak_mb": result.rss_peak_mb,
    }


def _count_tokens(results: list[PeerResult], settings: BenchSettings) -> tuple[dict[tuple[str, str], int], str]:
    keys: list[tuple[str, str]] = []
    texts: list[str] = []
    for result in results:
        if result.schema_text:
            keys.append((result.key, "tools/list"))
            texts.append(result.schema_text)
        for name, op in result.operations.items():
            if op.text is not None:
                keys.append((result.key, name))
                texts.append(op.text)
    try:
        tokenizer = Tokenizer(settings)
        return dict(zip(keys, tokenizer.count(texts), strict=True)), tokenizer.name
    except PeerUnavailable as error:
        log(f"token counts skipped: {error}")
        return {}, f"unavailable: {error}"


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    settings = _settings(args)
    peers = build_peers(settings)
    if args.quick and not args.peers:
        args.peers = "k3s-mcp"
    if args.peers:
        wanted = [k.strip() for k in args.peers.split(",") if k.strip()]
        unknown = set(wanted) - {p.key for p in peers}
        if unknown:
            log(f"unknown peers {sorted(unknown)}; known: {[p.key for p in peers]}")
            return 2
        peers = [p for p in peers if p.key in wanted]
    started = time.monotonic()
    try:
        kubeconfig = str(cluster.up().kubeconfig)
    except ClusterError as error:
        log(f"the local cluster did not start: {error}")
        return 1
    try:
        results, workload_info = asyncio.run(
            _measure_all(peers, kubeconfig, settings, wide=not args.quick, throughput=True)
        )
    except WorkloadError as error:
        log(f"the benchmark workload could not be set up: {error}")
        return 1
    tokens, tokenizer_name = _count_tokens(results, settings)
    activator = {"status": "skipped"} if args.no_activator else _run_activator(settings, args.quick)
    today = dt.date.today().isoformat()
    document: dict[str, Any] = {
        "date": today,
        "quick": args.quick,
        "machine": {"cpus": _cpu_count(), "python": platform.python_version(), "system": platform.platform()},
        "settings": json.loads(settings.model_dump_json(exclude={"cache_dir", "results_dir"})),
        "tokenizer": tokenizer_name,
        "operations": OPERATIONS,
        "workload": workload_info,
        "peers": [_peer_json(r, tokens) for r in results],
        "activator": activator,
        "duration_s": round(time.monotonic() - started, 1),
    }
    out = settings.results_dir
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / f"{today}.json"
    json_path.write_text(json.dumps(document, indent=2) + "\n")
    report = write_report(document, out, plots=not args.quick)
    log(f"wrote {json_path} and {report} in {document['duration_s']:.0f} s")
    ok = [r for r in results if r.status == "ok"]
    return 0 if ok else 1


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    sys.exit(main())
