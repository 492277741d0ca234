"""Benchmark of the Cortex activator: accuracy and latency per tier, memory, learning at scale, cold `cortex route`.

Usage: python -m bench.activator OUTPUT.json [--rounds N] [--no-models] [--models-all] [--classifier-sample N]
       [--reasoning-sample N] [--models-split held_out [train]] [--models-only] [--learned N]

- Accuracy is scored on the held-out part of the labelled set (cortex.activator.evaluation): tiers 1-2 alone, and
  the whole part through all four tiers with tiers 3-4 on the real Qwen2.5-Coder models (0.5B and 1.5B, Q4_K_M,
  llama.cpp, 2 threads), one model server at a time. `--models-split train` scores the train part the same way,
  the one to tune on; `--models-only` runs only that (no memory, learning or cold-start figures); a sample size
  above 0 limits the model tiers to a fixed sample of what tiers 1-2 leave.
- Latency per tier is the tier's own time (the router's tier-latency histogram, read per request).
- Resident memory is read from /proc/self/status after each component is loaded, in the order a replica in the
  deployed shape loads them, so each step's growth is its cost: in a fresh process with a real remote k3s-mcp over
  HTTP and a Qdrant URL (bench/activator_memory.py, "memory"), and in this process with Qdrant local mode and the
  MCP client only imported ("memory_in_process", the figure of earlier runs).
- Learning: routing latency after N (default 10,000) learned queries, with the store's bound, merges and
  evictions.
- Cold `cortex route`: a new process per request, first building the seeded-routes cache, then with it warm.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.activator_memory import Memory, deployed_memory, status_mb

DIAGNOSTIC = "why is my pod web-1 crashlooping in shop"
COLD_REQUESTS = {
    "tier 1 (keyword)": "scale web to 3 in shop",
    "tier 2 (similarity)": "how much memory are the pods eating in shop",
}
TIER_LATENCY = "cortex_activator_tier_latency_seconds_sum"
TIERS = ("keyword", "similarity", "classifier", "reasoning")
MODEL_TIERS = ("classifier", "reasoning")


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


def tier_seconds(activator: Any) -> dict[str, float]:
    registry = activator.metrics.registry
    return {tier: registry.get_sample_value(TIER_LATENCY, {"tier": tier}) or 0.0 for tier in TIERS}


async def route_timed(activator: Any, query: str) -> tuple[Any, dict[str, float]]:
    """The decision and each tier's own time for it, in ms (tiers it did not reach are absent)."""
    from cortex.activator.evaluation import route_or_refuse

    before = tier_seconds(activator)
    decision = await route_or_refuse(activator, query)
    after = tier_seconds(activator)
    spent = {tier: (after[tier] - before[tier]) * 1000 for tier in TIERS if after[tier] > before[tier]}
    return decision, spent


def learned_queries(count: int) -> list[tuple[str, str]]:
    """`count` distinct requests with their tool, phrased the way operators write them."""
    templates = [
        ("show the pods of {app} please", "get_pods"),
        ("tail the logs of {app}-0", "get_logs"),
        ("bump {app} up to {n} copies", "scale_deployment"),
        ("what happened to {app} lately, events", "get_events"),
        ("is the {app} rollout done", "get_rollout_status"),
        ("bounce the {app}-{n} pod", "restart_pod"),
        ("details of deployment {app}", "get_deployment"),
        ("which config does {app}-settings hold", "get_configmap"),
    ]
    apps = [
        f"{word}{i}" for word in ("shop", "cart", "auth", "feed", "mail", "blog", "chat", "edge") for i in range(200)
    ]
    out: list[tuple[str, str]] = []
    for index in range(count):
        template, tool = templates[index % len(templates)]
        app = apps[(index // len(templates)) % len(apps)]
        out.append((template.format(app=app, n=2 + index % 7), tool))
    return out


async def learning_at_scale(catalog: Any, settings: Any, held_out: list[Any], count: int) -> dict[str, Any]:
    """Routing latency of tiers 1-2 over the held-out set before and after `count` learned queries."""
    from cortex.activator.arguments import without_namespace
    from cortex.activator.service import Activator

    activator = Activator(settings, execute=False)
    await activator.start(catalog)
    try:

        async def latency() -> dict[str, Any]:
            samples = [(await route_timed(activator, item.query))[1] for item in held_out]
            return {
                "similarity": percentiles([s["similarity"] for s in samples if "similarity" in s]),
                "cascade_tiers_1_2": percentiles([sum(s.values()) for s in samples]),
            }

        before = await latency()
        started = time.perf_counter()
        queries = learned_queries(count)
        for index, (query, tool) in enumerate(queries):
            vector = await asyncio.to_thread(activator.embedder.embed_one, without_namespace(query))
            await asyncio.to_thread(activator.memory.record, query, vector, tool, index % 10 != 0, "classifier")
        learn_seconds = time.perf_counter() - started
        after = await latency()
        memory = activator.memory
        return {
            "learned_queries": count,
            "seconds_to_learn": round(learn_seconds, 1),
            "stored_learned_routes": memory.learned_count(),
            "max_learned_routes": memory.max_learned,
            "merged_near_duplicates": memory.merged,
            "evicted": memory.evicted,
            "latency_before_ms": before,
            "latency_after_ms": after,
            "rss_mb_after": round(status_mb("VmRSS"), 1),
        }
    finally:
        await activator.stop()


def cold_route(cache_dir: Path, query: str) -> dict[str, Any]:
    """One `cortex route --json` in a new process (python -m cortex.cli, without uv's own start-up)."""
    env = {**os.environ, "CORTEX_MODEL_CACHE_DIR": str(cache_dir)}
    for key in ("CORTEX_CLASSIFIER_URL", "CORTEX_REASONING_URL", "CORTEX_QDRANT_URL", "CORTEX_QDRANT_PATH"):
        env.pop(key, None)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "cortex.cli", "route", "--json", query],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    seconds = time.perf_counter() - started
    tier = json.loads(done.stdout)["tier"] if done.returncode == 0 else f"error: {done.stderr[-300:]}"
    return {"seconds": round(seconds, 3), "tier": tier}


def cold_routes() -> dict[str, Any]:
    """Each request twice from a cold process: the first builds the seeded-routes cache, the second reads it."""
    from cortex.activator.embedding import compact_model_path, weights_path

    source_cache = Path("~/.cache/k3s-mcp/models").expanduser()
    compact = compact_model_path(source_cache)
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        cache = Path(scratch)
        if compact is not None:
            # The compact embedding model (and its weights file) is copied in, so only the seeded routes are cold.
            shutil.copy(compact, cache / compact.name)
            shutil.copy(weights_path(compact), cache / weights_path(compact).name)
        for label, query in COLD_REQUESTS.items():
            result[label] = {"query": query, "first": cold_route(cache, query), "second": cold_route(cache, query)}
    result["note"] = "python -m cortex.cli route --json; `uv run --frozen cortex route` adds uv's own start-up"
    return result


def sample_of(items: list[Any], size: int) -> list[Any]:
    """A fixed sample: the `size` items whose text hashes lowest (the same on every run and machine); 0 = all."""
    ordered = sorted(items, key=lambda item: hashlib.sha256(item.query.encode()).hexdigest())
    return ordered if size <= 0 else ordered[:size]


async def model_pass(
    catalog: Any, settings: Any, model: Any, url_setting: str, items: list[Any]
) -> tuple[dict[str, Any], dict[str, list[float]], float]:
    """Each item routed by an activator whose only model tier is `model` (one llama.cpp server at a time, since
    the two share the same two cores): the decisions, each tier's own time (and tier 4's prompt tokens, in the
    model's own tokenizer, as "reasoning_prompt_tokens"), and the server's start-up seconds."""
    from bench.llama import chat_prompt_tokens, serve
    from cortex.activator.service import Activator
    from cortex.activator.tiers.model_layer import ModelLayerTier
    from cortex.activator.tiers.reasoning import ReasoningTier

    decisions: dict[str, Any] = {}
    per_tier: dict[str, list[float]] = {}
    if not items:
        return decisions, per_tier, 0.0
    with contextlib.ExitStack() as stack:
        started = time.perf_counter()
        url = stack.enter_context(serve(model))
        start_seconds = time.perf_counter() - started
        others = {"classifier_url": None, "reasoning_url": None, url_setting: url}
        activator = Activator(settings.model_copy(update=others), execute=False)
        await activator.start(catalog)
        try:
            # One unscored request first, so the figures are warm (the model's prompt cache filled).
            await route_timed(activator, "which TLS hosts are on the storefront ingress in shop")
            assert activator.router is not None
            reasoning = next(
                (
                    t.model
                    for t in activator.router.tiers
                    if isinstance(t, ModelLayerTier) and isinstance(t.model, ReasoningTier)
                ),
                None,
            )
            for item in items:
                decision, spent = await route_timed(activator, item.query)
                for tier, ms in spent.items():
                    if tier in ("classifier", "reasoning"):
                        per_tier.setdefault(tier, []).append(ms)
                decisions[item.query] = decision
                took = {tier: round(ms) for tier, ms in spent.items() if tier in MODEL_TIERS}
                print(f"[{model.name}] {item.query!r} -> {decision.tier.value} {decision.tool} {took}", file=sys.stderr)
                if reasoning is not None and "reasoning" in spent:
                    messages = reasoning.prompt(reasoning.offered(item.query), item.query)
                    tokens = await asyncio.to_thread(chat_prompt_tokens, url, messages)
                    per_tier.setdefault("reasoning_prompt_tokens", []).append(float(tokens))
        finally:
            await activator.stop()
    return decisions, per_tier, start_seconds


async def model_cascade(
    catalog: Any,
    settings: Any,
    items: list[Any],
    offline: dict[str, Any],
    sizes: tuple[int, int],
    split: str,
    reasoning: bool = True,
) -> dict[str, Any]:
    """The whole cascade on a part of the labelled set, tiers 3-4 on the real Qwen models.

    Tiers 1-2 answered `offline`; what they leave goes to tier 3 (all of it, or a fixed sample), then what tier 3
    leaves, and the COMPLEX requests, which skip tier 3, go to tier 4. The two tiers run one after the other, each
    with its own server, which gives the decisions the full cascade gives: both models answer at temperature 0 and
    tier 4 only ever sees what tier 3 passed on.
    """
    from cortex.activator.complexity import score_request
    from cortex.activator.decision import Mode, Tier
    from cortex.activator.evaluation import score
    from devcluster import models

    left = [item for item in items if offline[item.query].tier is Tier.NONE]
    complex_ = sample_of([item for item in left if score_request(item.query).mode is Mode.COMPLEX], sizes[1])
    simple = sample_of([item for item in left if score_request(item.query).mode is not Mode.COMPLEX], sizes[0])
    classified, tier3, start3 = await model_pass(catalog, settings, models.CLASSIFIER, "classifier_url", simple)
    passed = [item for item in simple if classified[item.query].tier is Tier.NONE] + complex_
    reasoned, tier4, start4 = (
        await model_pass(catalog, settings, models.REASONING, "reasoning_url", passed) if reasoning else ({}, {}, 0.0)
    )
    final = {**offline, **classified, **reasoned}
    whole = sizes == (0, 0)
    scored = items if whole else simple + complex_
    report = score([(item, final[item.query]) for item in scored], catalog)
    return {
        "split": split,
        "requests": len(scored),
        "whole_part": whole,
        "left_by_tiers_1_2": len(left),
        "to_classifier": len(simple),
        "to_reasoning": {"left_by_classifier": len(passed) - len(complex_), "complex": len(complex_)},
        "servers_started_seconds": {"classifier": round(start3, 1), "reasoning": round(start4, 1)},
        "accuracy_with_models": report.to_json(),
        "accuracy_without_models": score([(item, offline[item.query]) for item in scored], catalog).to_json(),
        "tier_latency_ms": {tier: percentiles(tier3.get(tier, []) + tier4.get(tier, [])) for tier in MODEL_TIERS},
        "reasoning_timeout_seconds": settings.reasoning_timeout_seconds,
        "reasoning_prompt_tokens": percentiles(tier4.get("reasoning_prompt_tokens", [])),
        "misses": report.misses,
        "model_decisions": [
            {
                "query": item.query,
                "expected": item.tool,
                "tier": final[item.query].tier.value,
                "tool": final[item.query].tool,
                "arguments": final[item.query].arguments,
                "plan": [step.tool for step in final[item.query].plan],
            }
            for item in simple + complex_
        ],
    }


async def offline_decisions(catalog: Any, settings: Any, items: list[Any]) -> dict[str, Any]:
    """Tiers 1-2's decision for each item."""
    from cortex.activator.service import Activator

    activator = Activator(settings, execute=False)
    await activator.start(catalog)
    try:
        return {item.query: (await route_timed(activator, item.query))[0] for item in items}
    finally:
        await activator.stop()


def model_sizes(args: argparse.Namespace) -> tuple[int, int]:
    return (0, 0) if args.models_all else (args.classifier_sample, args.reasoning_sample)


async def run_models_only(args: argparse.Namespace) -> dict[str, Any]:
    """Only the cascade with the real models, on the parts asked for (for tuning on train)."""
    from cortex.activator.catalog import ToolCatalog
    from cortex.activator.evaluation import load_labelled
    from cortex.activator.settings import ActivatorSettings

    settings = ActivatorSettings(
        classifier_url=None, reasoning_url=None, qdrant_url=None, qdrant_path=None, mcp_url=None
    )
    catalog = ToolCatalog.from_snapshot(settings.catalog_snapshot_path)
    result: dict[str, Any] = {"benchmark": "cortex-activator-models"}
    for split in args.models_split:
        items = load_labelled(split=split)
        offline = await offline_decisions(catalog, settings, items)
        key = "model_tiers" if split == "held_out" else f"model_tiers_{split}"
        result[key] = await model_cascade(
            catalog, settings, items, offline, model_sizes(args), split, reasoning=not args.no_reasoning
        )
    return result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.models_only:
        return await run_models_only(args)
    memory = Memory()
    memory.step("python + bench imports")
    from cortex.activator.catalog import ToolCatalog
    from cortex.activator.evaluation import load_labelled, score
    from cortex.activator.service import Activator
    from cortex.activator.settings import ActivatorSettings

    memory.step("activator modules (pydantic, httpx, prometheus-client, yaml)")
    settings = ActivatorSettings(
        classifier_url=None, reasoning_url=None, qdrant_url=None, qdrant_path=None, mcp_url=None
    )
    catalog = ToolCatalog.from_snapshot(settings.catalog_snapshot_path)
    keyword_only = Activator(settings.model_copy(update={"similarity_enabled": False}), execute=False)
    await keyword_only.start(catalog)
    memory.step(f"tier 1 ready (rules compiled, catalog of {len(catalog)} tools)")
    from cortex.activator.execution import ToolExecutor

    # The deployed shape: k3s-mcp is remote, reached over streamable HTTP by the MCP client.
    ToolExecutor("http://127.0.0.1:9/mcp", 5.0)
    import fastmcp  # noqa: F401

    memory.step("fastmcp imported (no session; see the deployed shape)")
    import numpy  # noqa: F401
    import onnxruntime  # noqa: F401

    memory.step("numpy + onnxruntime imported")
    activator = Activator(settings, execute=False)
    activator.embedder.embed(["warm up"])
    memory.step(
        f"MiniLM session loaded ({activator.embedder.model_file.name if activator.embedder.model_file else '?'})"
    )
    import qdrant_client  # noqa: F401

    memory.step("qdrant-client imported")
    await activator.start(catalog)
    memory.step(f"Qdrant local mode, {activator.memory.count('routing_queries')} utterances seeded")

    held_out = load_labelled(split="held_out")
    per_tier: dict[str, list[float]] = {}
    offline: dict[str, Any] = {}
    started = time.perf_counter()
    for _ in range(args.rounds):
        for item in held_out:
            decision, spent = await route_timed(activator, item.query)
            for tier, ms in spent.items():
                per_tier.setdefault(tier, []).append(ms)
            offline[item.query] = decision
    elapsed = time.perf_counter() - started
    memory.step(f"after routing the held-out set {args.rounds} time(s)")
    report = score([(item, offline[item.query]) for item in held_out], catalog)

    result: dict[str, Any] = {
        "benchmark": "cortex-activator",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "labelled_requests": len(held_out),
        "split": "held_out",
        "rounds": args.rounds,
        "tier_latency_ms": {tier: percentiles(samples) for tier, samples in sorted(per_tier.items())},
        "offline_cascade_queries_per_second": round(args.rounds * len(held_out) / elapsed, 1),
        "accuracy": report.to_json(),
    }
    await activator.stop()
    await keyword_only.stop()
    result["memory_in_process"] = memory.report()
    result["memory"] = await asyncio.to_thread(deployed_memory, [item.query for item in held_out])
    result["learning"] = await learning_at_scale(catalog, settings, held_out, args.learned)
    result["cold_cortex_route"] = await asyncio.to_thread(cold_routes)
    if not args.no_models:
        for split in args.models_split:
            items = held_out if split == "held_out" else load_labelled(split=split)
            decisions = offline if split == "held_out" else await offline_decisions(catalog, settings, items)
            key = "model_tiers" if split == "held_out" else f"model_tiers_{split}"
            result[key] = await model_cascade(catalog, settings, items, decisions, model_sizes(args), split)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("output", type=Path, help="where to write the JSON report")
    parser.add_argument("--rounds", type=int, default=3, help="passes of tiers 1-2 over the held-out requests")
    parser.add_argument("--no-models", action="store_true", help="skip tiers 3-4 (the real Qwen models)")
    parser.add_argument(
        "--models-all", action="store_true", help="the whole part through tiers 3-4, not a sample (the default)"
    )
    parser.add_argument(
        "--classifier-sample", type=int, default=0, help="requests tiers 1-2 leave for tiers 3-4 (0: all of them)"
    )
    parser.add_argument("--reasoning-sample", type=int, default=0, help="COMPLEX requests for tier 4 (0: all)")
    parser.add_argument(
        "--models-split",
        nargs="+",
        choices=["held_out", "train"],
        default=["held_out"],
        help="parts of the labelled set run through the models (train is for tuning; held_out is reported)",
    )
    parser.add_argument("--models-only", action="store_true", help="only the cascade with the models")
    parser.add_argument("--no-reasoning", action="store_true", help="with --models-only: tier 3 without tier 4")
    parser.add_argument("--learned", type=int, default=10_000, help="learned queries before the second latency run")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for key in sorted(k for k in result if k.startswith("model_tiers")):
        summary = result[key]["accuracy_with_models"]
        print(key, json.dumps({k: summary[k] for k in ("total", "accuracy", "act_accuracy", "unsafe_changes")}))
    if "memory" in result:
        print(json.dumps({k: result[k] for k in ("tier_latency_ms", "offline_cascade_queries_per_second")}))
        print(json.dumps(result["memory"]["steps"], indent=1))


if __name__ == "__main__":
    main()
