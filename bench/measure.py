"""Timing one contender: cold start, per-operation latency, concurrent throughput, response sizes and memory."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastmcp import Client
from fastmcp.client.transports import StdioTransport
from mcp import types as mcp_types

from bench.peers import OPERATIONS, CallBuilder, KubectlRun, Peer, RunBuilder, ToolCall, split_documents
from bench.settings import BenchSettings
from bench.workload import Targets

THROUGHPUT_OPERATION = "list_pods_namespace"
# (text of the answer, error message, bytes on the wire): exactly one of text and error is set.
CallOutcome = tuple[str | None, str | None, int | None]


@dataclass
class OperationResult:
    """Samples of one operation on one contender, plus the first answer's text for the size columns."""

    call: str
    samples_ms: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None
    text: str | None = None
    wire_bytes: int | None = None
    stopped_early: bool = False

    def summary(self) -> dict[str, Any]:
        return {
            "call": self.call,
            "samples": len(self.samples_ms),
            "p50_ms": percentile(self.samples_ms, 50),
            "p99_ms": percentile(self.samples_ms, 99),
            "mean_ms": statistics.fmean(self.samples_ms) if self.samples_ms else None,
            "errors": self.errors,
            "first_error": self.first_error,
            "stopped_early": self.stopped_early,
            "text_bytes": len(self.text.encode()) if self.text is not None else None,
            "wire_bytes": self.wire_bytes,
            "samples_ms": [round(s, 3) for s in self.samples_ms],
        }


@dataclass
class PeerResult:
    """Everything measured for one contender; ``status`` is ok, unavailable (not installed) or failed."""

    key: str
    title: str
    language: str
    version: str
    status: str = "ok"
    error: str | None = None
    cold_start_ms: list[float] = field(default_factory=list)
    tools: int | None = None
    schema_text: str | None = None
    operations: dict[str, OperationResult] = field(default_factory=dict)
    throughput: dict[str, dict[str, Any]] = field(default_factory=dict)
    rss_after_mb: float | None = None
    rss_peak_mb: float | None = None


def percentile(samples: list[float], q: float) -> float | None:
    """Nearest-rank percentile; with 20 samples p99 is the slowest one, as it should be for so few."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields after the last ')' are fixed.
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def child_tree_rss_mb() -> float:
    """Resident memory of every process descended from this one: the contender's server and its children."""
    tree = _children()
    pending = list(tree.get(os.getpid(), []))
    total = 0
    while pending:
        pid = pending.pop()
        total += _rss_kb(pid)
        pending.extend(tree.get(pid, []))
    return total / 1024


class RssSampler:
    """Samples the child tree's RSS in the background to keep the peak."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.peak = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        while True:
            self.peak = max(self.peak, await asyncio.to_thread(child_tree_rss_mb))
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def result_text(result: mcp_types.CallToolResult) -> str:
    """What a model reads of an answer: its text blocks, joined."""
    return "\n".join(block.text for block in result.content if isinstance(block, mcp_types.TextContent))


def _describe(call: ToolCall) -> str:
    shown = {k: ("<manifest>" if isinstance(v, str) and "\n" in v else v) for k, v in call.arguments.items()}
    return f"{call.tool} {json.dumps(shown)}"


async def _timed_calls(
    settings: BenchSettings,
    count: int,
    run_one: Callable[[int], Awaitable[CallOutcome]],
    result: OperationResult,
) -> None:
    """Run ``count`` sequential calls (within the operation budget); keep successes' times and the first answer."""
    started = time.monotonic()
    for index in range(count):
        if time.monotonic() - started > settings.operation_budget_seconds:
            result.stopped_early = True
            break
        t0 = time.perf_counter()
        try:
            text, error, wire = await asyncio.wait_for(run_one(index), settings.call_timeout_seconds)
        except TimeoutError:
            text, error, wire = None, f"no answer within {settings.call_timeout_seconds:.0f} s", None
        except Exception as exc:  # a peer's crash must not end the run: it is recorded as that peer's error
            text, error, wire = None, f"{type(exc).__name__}: {exc}", None
        elapsed = (time.perf_counter() - t0) * 1000
        if error is None:
            result.samples_ms.append(elapsed)
            if result.text is None:
                result.text, result.wire_bytes = text, wire
        else:
            result.errors += 1
            result.first_error = result.first_error or error[:500]


def _transport(command: list[str], env: dict[str, str], log_dir: Path, key: str) -> StdioTransport:
    return StdioTransport(command[0], command[1:], env=env, log_file=log_dir / f"{key}.stderr.log", keep_alive=False)


async def measure_mcp(
    peer: Peer,
    command: list[str],
    env: dict[str, str],
    targets: Targets,
    settings: BenchSettings,
    log_dir: Path,
    *,
    throughput: bool = True,
) -> PeerResult:
    """Start the server ``cold_starts`` times, then drive every operation and the throughput bursts on one session."""
    outcome = PeerResult(peer.key, peer.title, peer.language, peer.version)
    timeout = settings.call_timeout_seconds
    for _ in range(settings.cold_starts):
        t0 = time.perf_counter()
        async with Client(_transport(command, env, log_dir, peer.key), timeout=settings.start_timeout_seconds) as c:
            listing = await c.list_tools_mcp()
            outcome.cold_start_ms.append((time.perf_counter() - t0) * 1000)
    outcome.tools = len(listing.tools)
    outcome.schema_text = listing.model_dump_json(by_alias=True, exclude_none=True)

    sampler = RssSampler()
    async with Client(_transport(command, env, log_dir, peer.key), timeout=timeout) as client:
        sampler.start()

        async def call(tool_call: ToolCall) -> CallOutcome:
            answer = await client.call_tool_mcp(tool_call.tool, tool_call.arguments, timeout=timeout)
            text = result_text(answer)
            if answer.is_error:
                return None, text or "isError without text", None
            return text, None, len(answer.model_dump_json(by_alias=True, exclude_none=True).encode())

        for operation, build in peer.operations.items():
            first = build(targets, 0)
            op_result = OperationResult(call=_describe(first))
            if operation == "apply_manifest_3" and peer.apply_per_object:
                op_result.call += " x3 (one object per call)"

                async def apply_each(index: int, build: Any = build) -> CallOutcome:
                    whole = build(targets, index)
                    texts, wire = [], 0
                    for document in split_documents(next(iter(whole.arguments.values()))):
                        text, error, size = await call(ToolCall(whole.tool, {**whole.arguments, "resource": document}))
                        if error is not None:
                            return None, error, None
                        texts.append(text or "")
                        wire += size or 0
                    return "\n".join(texts), None, wire

                await _timed_calls(settings, settings.calls_per_operation, apply_each, op_result)
            else:

                async def call_once(index: int, build: CallBuilder = build) -> CallOutcome:
                    return await call(build(targets, index))

                await _timed_calls(settings, settings.calls_per_operation, call_once, op_result)
            outcome.operations[operation] = op_result

        if throughput:
            build = peer.operations[THROUGHPUT_OPERATION]
            for level in settings.concurrency_levels:
                outcome.throughput[str(level)] = await _burst(settings, level, lambda i: call(build(targets, i)))
        outcome.rss_after_mb = child_tree_rss_mb()
        await sampler.stop()
        outcome.rss_peak_mb = max(sampler.peak, outcome.rss_after_mb)
    return outcome


async def _burst(
    settings: BenchSettings,
    level: int,
    run_one: Callable[[int], Awaitable[CallOutcome]],
) -> dict[str, Any]:
    """``rounds_per_level`` bursts of ``level`` calls started together; calls per second over the wall time."""
    done = errors = 0
    first_error: str | None = None
    latencies: list[float] = []
    started = time.perf_counter()

    async def one(index: int) -> None:
        nonlocal done, errors, first_error
        t0 = time.perf_counter()
        try:
            _, error, _ = await asyncio.wait_for(run_one(index), settings.call_timeout_seconds)
        except TimeoutError:
            error = "timeout"
        except Exception as exc:  # recorded, not fatal: a peer failing under load is a result
            error = f"{type(exc).__name__}: {exc}"
        if error is None:
            done += 1
            latencies.append((time.perf_counter() - t0) * 1000)
        else:
            errors += 1
            first_error = first_error or error[:300]

    rounds = 0
    for _ in range(settings.rounds_per_level):
        if time.perf_counter() - started > settings.operation_budget_seconds:
            break
        await asyncio.gather(*(one(i) for i in range(level)))
        rounds += 1
    seconds = time.perf_counter() - started
    return {
        "operation": THROUGHPUT_OPERATION,
        "rounds": rounds,
        "calls": done + errors,
        "ok": done,
        "errors": errors,
        "first_error": first_error,
        "seconds": round(seconds, 3),
        "calls_per_s": done / seconds if seconds > 0 else None,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
    }


async def measure_kubectl(
    peer: Peer, command: list[str], env: dict[str, str], targets: Targets, settings: BenchSettings
) -> PeerResult:
    """kubectl as a user runs it: one process per operation; its start-up is inside every sample."""
    outcome = PeerResult(peer.key, peer.title, peer.language, peer.version)
    sampler = RssSampler(interval=0.05)
    sampler.start()

    async def run(spec: KubectlRun) -> CallOutcome:
        process = await asyncio.create_subprocess_exec(
            *command,
            *spec.argv,
            stdin=asyncio.subprocess.PIPE if spec.stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        try:
            out, err = await process.communicate(spec.stdin.encode() if spec.stdin is not None else None)
        except asyncio.CancelledError:
            process.kill()
            await process.wait()
            raise
        if process.returncode != 0:
            return None, err.decode(errors="replace").strip() or f"exit {process.returncode}", None
        return out.decode(errors="replace"), None, len(out)

    for operation, build in peer.runs.items():
        first = build(targets, 0)
        op_result = OperationResult(call="kubectl " + " ".join(first.argv) + (" < manifest" if first.stdin else ""))

        async def run_once(index: int, build: RunBuilder = build) -> CallOutcome:
            return await run(build(targets, index))

        await _timed_calls(settings, settings.calls_per_operation, run_once, op_result)
        outcome.operations[operation] = op_result
    # Sampled over the sequential calls only: during the bursts many kubectl processes live at once.
    await sampler.stop()
    outcome.rss_peak_mb = sampler.peak
    build = peer.runs[THROUGHPUT_OPERATION]
    for level in settings.concurrency_levels:
        outcome.throughput[str(level)] = await _burst(settings, level, lambda i: run(build(targets, i)))
    outcome.rss_after_mb = 0.0
    return outcome


def operation_names() -> list[str]:
    return list(OPERATIONS)
