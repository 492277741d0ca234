"""Benchmark of the Cortex activator: latency per tier, queries/s, and resident memory by component.

Usage: python -m bench.activator OUTPUT.json [--model-url URL] [--rounds N]

Tiers 1 and 2 run on the labelled requests with in-memory Qdrant; tiers 3 and 4 run only when a
llama.cpp-compatible server is given. Resident memory is read from /proc/self/status after each component
is loaded, in the order a replica loads them, so each step's growth is what that component costs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

LABELLED = Path(__file__).resolve().parent.parent / "tests" / "cortex" / "activator" / "labelled_requests.yaml"
UNSEEN = [
    "could the checkout thing get beefier please, 4 replicas in shop",
    "show me what is running in payments",
    "make the reporting workers go away for the night in etl",
]
DIAGNOSTIC = ["why is my pod web-1 crashlooping in shop", "restart web-1 in shop and then show me its logs"]


def status_mb(key: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS: now, VmHWM: peak), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def rss_mb() -> float:
    return status_mb("VmRSS")


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    if not samples_ms:
        return {"count": 0}
    ordered = sorted(samples_ms)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return {
        "count": len(ordered),
        "p50_ms": round(at(0.50), 3),
        "p99_ms": round(at(0.99), 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
        "max_ms": round(ordered[-1], 3),
    }


async def run(output: Path, model_url: str | None, rounds: int) -> dict[str, Any]:
    memory: list[dict[str, Any]] = []

    def step(name: str) -> None:
        now = rss_mb()
        previous = memory[-1]["rss_mb"] if memory else now
        memory.append(
            {
                "step": name,
                "rss_mb": round(now, 1),
                "added_mb": round(now - previous, 1),
                "peak_mb": round(status_mb("VmHWM"), 1),
            }
        )

    step("python + bench imports")
    from cortex.activator.catalog import ToolCatalog
    from cortex.activator.evaluation import load_labelled, score
    from cortex.activator.service import Activator
    from cortex.activator.settings import ActivatorSettings

    step("activator modules (pydantic, httpx, prometheus-client, yaml)")
    settings = ActivatorSettings(classifier_url=None, reasoning_url=None, qdrant_url=None, qdrant_path=None)
    catalog = ToolCatalog.from_snapshot(settings.catalog_snapshot_path)
    keyword_only = Activator(settings.model_copy(update={"similarity_enabled": False}), execute=False)
    await keyword_only.start(catalog)
    step(f"tier 1 ready (rules compiled, catalog of {len(catalog)} tools)")
    import numpy  # noqa: F401
    import onnxruntime  # noqa: F401

    step("numpy + onnxruntime imported")
    activator = Activator(settings, execute=False)
    activator.embedder.embed(["warm up"])
    step(f"MiniLM session loaded ({activator.embedder.model_file.name if activator.embedder.model_file else '?'})")
    await activator.start(catalog)
    step("qdrant-client local mode + seeded utterances")

    items = load_labelled(LABELLED)
    per_tier: dict[str, list[float]] = {}
    pairs: list[Any] = []
    started = time.perf_counter()
    for _ in range(rounds):
        pairs = []
        for item in items:
            tick = time.perf_counter()
            decision = await activator.route(item.query)
            per_tier.setdefault(decision.tier.value, []).append((time.perf_counter() - tick) * 1000)
            pairs.append((item, decision))
    elapsed = time.perf_counter() - started
    report = score(pairs)
    assert keyword_only.router is not None
    rules = keyword_only.router.keyword
    tier1_only: list[float] = []
    for item in items:
        tick = time.perf_counter()
        rules.answer(item.query)
        tier1_only.append((time.perf_counter() - tick) * 1000)

    result: dict[str, Any] = {
        "benchmark": "cortex-activator",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "labelled_requests": len(items),
        "rounds": rounds,
        "latency_by_answering_tier": {tier: percentiles(samples) for tier, samples in sorted(per_tier.items())},
        "tier1_rules_alone": percentiles(tier1_only),
        "offline_cascade_queries_per_second": round(rounds * len(items) / elapsed, 1),
        "accuracy": report.to_json(),
    }

    from fastmcp import Client

    step("fastmcp imported")
    from k3s_mcp.server import build_server
    from k3s_mcp.settings import Settings

    app = build_server(Settings(kubeconfig="/nonexistent/kubeconfig"))
    async with Client(app) as client:
        tools = await client.list_tools()
    step(f"k3s_mcp in-process app built and listed ({len(tools)} tools)")

    if model_url:
        model_settings = settings.model_copy(
            update={"classifier_url": model_url, "reasoning_url": model_url, "similarity_enabled": True}
        )
        with_models = Activator(model_settings, execute=False)
        await with_models.start(catalog)
        assert with_models.router is not None
        classifier_ms: list[float] = []
        reasoning_ms: list[float] = []
        outcomes: list[dict[str, Any]] = []
        for query in UNSEEN:
            tick = time.perf_counter()
            decision = await with_models.route(query)
            classifier_ms.append((time.perf_counter() - tick) * 1000)
            outcomes.append({"query": query, "tier": decision.tier.value, "tool": decision.tool})
        for query in DIAGNOSTIC:
            tick = time.perf_counter()
            decision = await with_models.route(query)
            reasoning_ms.append((time.perf_counter() - tick) * 1000)
            outcomes.append({"query": query, "tier": decision.tier.value, "tool": decision.tool})
        result["model_tiers"] = {
            "model_url": model_url,
            "cascade_reaching_classifier": percentiles(classifier_ms),
            "cascade_reaching_reasoning": percentiles(reasoning_ms),
            "decisions": outcomes,
            "note": "through the whole cascade; measured after the memory steps, whose figures exclude it",
        }
        await with_models.stop()

    result["memory"] = {
        "steps": memory,
        "resident_mb": memory[-1]["rss_mb"],
        "peak_mb": memory[-1]["peak_mb"],
        "budget_mb": 128,
        "largest_steps": sorted(memory, key=lambda s: s["added_mb"], reverse=True)[:3],
    }
    await activator.stop()
    await keyword_only.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("output", type=Path, help="where to write the JSON report")
    parser.add_argument("--model-url", help="llama.cpp-compatible server for tiers 3 and 4 (optional)")
    parser.add_argument("--rounds", type=int, default=5, help="passes over the labelled requests")
    args = parser.parse_args()
    result = asyncio.run(run(args.output, args.model_url, args.rounds))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("latency_by_answering_tier", "offline_cascade_queries_per_second")}))
    print(json.dumps(result["memory"]["steps"], indent=1))


if __name__ == "__main__":
    main()
