"""Entry point of `make bench`: set up the cluster workload and the peers, measure each, write JSON, Markdown and plots.

Usage: ``python -m bench.run [--quick] [--peers k3s-mcp,kubectl] [--calls N] [--out-dir DIR] [--no-install]``.
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

from bench.install import measure_installs
from bench.measure import PeerResult, measure_kubectl, measure_mcp, measure_raw_api
from bench.peers import OPERATIONS, RAW_API, Peer, PeerUnavailable, build_peers, peer_environment
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
    parser.add_argument("--no-wake", action="store_true", help="skip the scale-from-zero wake benchmark")
    parser.add_argument("--no-answers", action="store_true", help="skip the answer-size benchmark")
    parser.add_argument(
        "--no-install", action="store_true", help="skip timing the installs of the server alone and with cortex"
    )
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
            http_sessions=2,
            http_calls_per_session=3,
        )
    if args.calls:
        overrides["calls_per_operation"] = args.calls
    if args.out_dir:
        overrides["results_dir"] = args.out_dir
    return settings.model_copy(update=overrides)


def _run_part(module: str, output: Path, arguments: list[str], timeout: float) -> dict[str, Any]:
    """`python -m bench.<module> ...` as its own process writing JSON to `output`; a failure is reported."""
    command = [sys.executable, "-m", f"bench.{module}", *arguments]
    log(f"running bench.{module}: " + " ".join(command[2:]))
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=Path(__file__).resolve().parent.parent,
        )
    except subprocess.TimeoutExpired:
        return {"status": "failed", "error": f"no result within {timeout:.0f} s"}
    if result.returncode != 0 or not output.exists():
        return {"status": "failed", "error": (result.stderr or result.stdout).strip()[-1500:]}
    try:
        data: Any = json.loads(output.read_text())
    except json.JSONDecodeError as error:
        return {"status": "failed", "error": f"bench.{module} wrote invalid JSON: {error}"}
    return {"status": "ok", "results": data}


def _run_activator(settings: BenchSettings, quick: bool) -> dict[str, Any]:
    """bench/activator.py: accuracy per tier on the held-out part (tiers 3-4 on the real models), latency, memory."""
    if not ACTIVATOR_MODULE.exists():
        return {"status": "absent", "error": "bench/activator.py is not there"}
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "activator.json"
        quick_args = ["--rounds", "1", "--no-models", "--learned", "500"] if quick else []
        return _run_part("activator", output, [str(output), *quick_args], settings.activator_timeout_seconds)


def _run_wake(settings: BenchSettings, quick: bool) -> dict[str, Any]:
    """bench/wake.py: request-to-answer through KEDA and through the activator's direct scale (private cluster)."""
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "wake.json"
        rounds = "1" if quick else "3"
        return _run_part("wake", output, [str(output), "--rounds", rounds], settings.wake_timeout_seconds)


def _run_answers(settings: BenchSettings, quick: bool) -> dict[str, Any]:
    """bench/answers.py: tokens of one deployment, 50 pods and 1,000 pods, ours against kubectl."""
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "answers.json"
        pods = "20" if quick else "1000"
        return _run_part("answers", output, ["--pods", pods, "--json", str(output)], settings.answers_timeout_seconds)


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
    # Every MCP contender's timed calls are paired with these raw requests (when the raw contender is measured).
    raw_builders = next((p.raw for p in peers if p.raw and p.key in commands), None)
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
                if peer.raw:
                    outcome = await measure_raw_api(peer, kubeconfig, targets, settings)
                elif peer.is_mcp:
                    outcome = await measure_mcp(
                        peer,
                        commands[peer.key],
                        {**env, **peer.env},
                        targets,
                        settings,
                        log_dir,
                        throughput=throughput,
                        raw=raw_builders,
                        kubeconfig=kubeconfig,
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
        log("deleting the workload ...")
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
        "first_start_ms": round(result.first_start_ms, 1) if result.first_start_ms is not None else None,
        "first_call_ms": round(result.first_call_ms, 1) if result.first_call_ms is not None else None,
        "tools": result.tools,
        "schema_bytes": len(result.schema_text.encode()) if result.schema_text else None,
        "schema_tokens": tokens.get((result.key, "tools/list")),
        "operations": operations,
        "throughput": result.throughput,
        "sequential": result.sequential,
        "sessions": result.sessions,
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
        args.peers = f"k3s-mcp,k3s-mcp-http,{RAW_API}"
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
    log("counting tokens ...")
    tokens, tokenizer_name = _count_tokens(results, settings)
    activator = {"status": "skipped"} if args.no_activator else _run_activator(settings, args.quick)
    wake = {"status": "skipped"} if args.no_wake or args.quick else _run_wake(settings, args.quick)
    answers = {"status": "skipped"} if args.no_answers or args.quick else _run_answers(settings, args.quick)
    if args.no_install or args.quick:
        installs: dict[str, Any] = {"status": "skipped"}
    else:
        log("timing the installs of the server alone and with the cortex extra (from the registry) ...")
        installs = measure_installs(settings, Path(__file__).resolve().parent.parent)
    peers_json = [_peer_json(r, tokens) for r in results]
    today = dt.date.today().isoformat()
    document: dict[str, Any] = {
        "date": today,
        "quick": args.quick,
        "machine": {"cpus": _cpu_count(), "python": platform.python_version(), "system": platform.platform()},
        "settings": json.loads(settings.model_dump_json(exclude={"cache_dir", "results_dir"})),
        "tokenizer": tokenizer_name,
        "operations": OPERATIONS,
        "workload": workload_info,
        "peers": peers_json,
        "overhead": per_call_overhead(peers_json),
        "installs": installs,
        "activator": activator,
        "wake": wake,
        "answers": answers,
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


def per_call_overhead(peers: list[dict[str, Any]]) -> dict[str, Any]:
    """Per operation, the time each MCP contender adds to the API requests: the median over its calls of the call's
    time minus that of the raw requests sent just before it (paired), or, for a run without pairs, its p50 minus
    the raw contender's p50 (``method`` says which)."""
    raw = next((p for p in peers if p["key"] == RAW_API and p["status"] == "ok"), None)
    if raw is None:
        return {}
    overhead: dict[str, Any] = {}
    for peer in peers:
        if peer["status"] != "ok" or peer["tools"] is None:
            continue
        rows = {}
        for name, operation in peer["operations"].items():
            floor = (raw["operations"].get(name) or {}).get("p50_ms")
            paired = operation.get("paired_overhead_p50_ms")
            if operation.get("p50_ms") is not None and floor is not None:
                rows[name] = {
                    "p50_ms": operation["p50_ms"],
                    "raw_p50_ms": floor,
                    "overhead_ms": paired if paired is not None else operation["p50_ms"] - floor,
                    "unpaired_overhead_ms": operation["p50_ms"] - floor,
                    "method": "paired" if paired is not None else "unpaired",
                }
        overhead[peer["key"]] = rows
    return overhead


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    sys.exit(main())
