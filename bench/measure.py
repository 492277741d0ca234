"""Timing one contender: cold start, per-operation latency, concurrent throughput, response sizes and memory."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import ssl
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from fastmcp import Client
from fastmcp.client.transports import ClientTransport, StdioTransport, StreamableHttpTransport
from kubernetes_asyncio.client import Configuration
from kubernetes_asyncio.config.kube_config import load_kube_config
from mcp import types as mcp_types

from bench.peers import (
    OPERATIONS,
    CallBuilder,
    KubectlRun,
    Peer,
    RawBuilder,
    RawRequest,
    RunBuilder,
    ToolCall,
    split_documents,
)
from bench.settings import BenchSettings
from bench.workload import Targets
from devcluster.processes import free_port, stop_async_process

THROUGHPUT_OPERATION = "list_pods_namespace"
# (text of the answer, error message, bytes on the wire when asked): exactly one of text and error is set.
CallOutcome = tuple[str | None, str | None, Callable[[], int] | None]


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
    # Per timed call: its time minus the raw API requests' time, sent just before it (``measure_mcp`` with raw).
    paired_overhead_ms: list[float] = field(default_factory=list)

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
            "paired_overhead_p50_ms": percentile(self.paired_overhead_ms, 50),
            "paired_overhead_ms": [round(s, 3) for s in self.paired_overhead_ms],
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
    first_start_ms: float | None = None
    first_call_ms: float | None = None
    tools: int | None = None
    schema_text: str | None = None
    operations: dict[str, OperationResult] = field(default_factory=dict)
    throughput: dict[str, dict[str, Any]] = field(default_factory=dict)
    rss_after_mb: float | None = None
    rss_peak_mb: float | None = None
    # `http_calls_per_session` sequential calls on one session (MCP contenders), and the HTTP contender's
    # `http_sessions` sessions each making as many sequential calls at once.
    sequential: dict[str, Any] = field(default_factory=dict)
    sessions: dict[str, Any] = field(default_factory=dict)


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
    paired: Callable[[int], Awaitable[float | None]] | None = None,
) -> None:
    """Run one untimed warm-up call, then ``count`` sequential calls (within the operation budget); keep the
    successes' times and the first answer. With ``paired``, the raw API requests of the same call are sent (and
    timed) just before each timed call, and the difference is kept too: the API server's own drift between the
    contenders, measured minutes apart, cancels out of it."""
    with contextlib.suppress(Exception):  # a failing warm-up shows again, and is counted, in the timed calls
        if paired is not None:
            await asyncio.wait_for(paired(count + 1), settings.call_timeout_seconds)
        await asyncio.wait_for(run_one(count + 1), settings.call_timeout_seconds)
    started = time.monotonic()
    for index in range(count):
        if time.monotonic() - started > settings.operation_budget_seconds:
            result.stopped_early = True
            break
        raw_ms = await paired(index) if paired is not None else None
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
            if raw_ms is not None:
                result.paired_overhead_ms.append(elapsed - raw_ms)
            if result.text is None:
                # Sized after the clock stopped: re-serializing an answer is the harness's work, not the server's.
                result.text, result.wire_bytes = text, wire() if wire is not None else None
        else:
            result.errors += 1
            result.first_error = result.first_error or error[:500]


def _transport(command: list[str], env: dict[str, str], log_dir: Path, key: str) -> StdioTransport:
    return StdioTransport(command[0], command[1:], env=env, log_file=log_dir / f"{key}.stderr.log", keep_alive=False)


@contextlib.asynccontextmanager
async def http_server(
    command: list[str], env: dict[str, str], log_dir: Path, key: str, settings: BenchSettings
) -> AsyncIterator[str]:
    """Our server on streamable HTTP on a free loopback port (started now, stopped on exit); yields the MCP URL."""
    port = free_port()
    with (log_dir / f"{key}.stderr.log").open("ab") as log_file:
        process = await asyncio.create_subprocess_exec(
            *command, "--port", str(port), env=env, stdout=log_file, stderr=log_file, stdin=asyncio.subprocess.DEVNULL
        )
    try:
        deadline = time.monotonic() + settings.start_timeout_seconds
        async with httpx.AsyncClient() as probe:
            while True:
                if process.returncode is not None:
                    raise RuntimeError(f"{key} exited with {process.returncode} (see {key}.stderr.log)")
                with contextlib.suppress(httpx.TransportError):
                    if (await probe.get(f"http://127.0.0.1:{port}/health", timeout=1)).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{key} did not answer /health within {settings.start_timeout_seconds:.0f} s")
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        await stop_async_process(process)


@contextlib.asynccontextmanager
async def mcp_endpoint(
    peer: Peer, command: list[str], env: dict[str, str], log_dir: Path, settings: BenchSettings
) -> AsyncIterator[Callable[[], ClientTransport]]:
    """A factory of client transports to one running server: a new stdio process per transport, or one HTTP
    server (started here) for every transport."""
    if peer.transport == "http":
        async with http_server(command, env, log_dir, peer.key, settings) as url:
            yield lambda: StreamableHttpTransport(url)
    else:
        yield lambda: _transport(command, env, log_dir, peer.key)


async def measure_mcp(
    peer: Peer,
    command: list[str],
    env: dict[str, str],
    targets: Targets,
    settings: BenchSettings,
    log_dir: Path,
    *,
    throughput: bool = True,
    raw: dict[str, RawBuilder] | None = None,
    kubeconfig: str | None = None,
) -> PeerResult:
    """Start the server ``cold_starts`` times, then drive every operation and the throughput bursts on one session
    (the HTTP contender also with ``http_sessions`` sessions at once). With ``raw`` (the raw-API contender's
    builders) and ``kubeconfig``, each timed call is paired with its raw API requests sent just before it."""
    outcome = PeerResult(peer.key, peer.title, peer.language, peer.version)
    timeout = settings.call_timeout_seconds
    # A user cache of the contender's own, empty at its first start: our stdio server keeps a snapshot of its
    # handshake there (k3s_mcp.stdio_start), so the first start is timed apart from the later ones.
    cache = tempfile.TemporaryDirectory(prefix="bench-cache-")
    env = {**env, "XDG_CACHE_HOME": cache.name}
    for start in range(settings.cold_starts + 1):
        t0 = time.perf_counter()
        # Process start to the first tools/list answer, for HTTP as for stdio (the server's start included).
        async with (
            mcp_endpoint(peer, command, env, log_dir, settings) as transports,
            Client(transports(), timeout=settings.start_timeout_seconds) as c,
        ):
            listing = await c.list_tools_mcp()
            elapsed = (time.perf_counter() - t0) * 1000
            if start == 0:
                outcome.first_start_ms = elapsed
            else:
                outcome.cold_start_ms.append(elapsed)
    outcome.tools = len(listing.tools)
    outcome.schema_text = listing.model_dump_json(by_alias=True, exclude_none=True)
    # Process start to the answer of a first call (after tools/list): what a start defers shows here.
    first = peer.operations[THROUGHPUT_OPERATION](targets, 0)
    t0 = time.perf_counter()
    async with (
        mcp_endpoint(peer, command, env, log_dir, settings) as transports,
        Client(transports(), timeout=settings.start_timeout_seconds) as c,
    ):
        await c.list_tools_mcp()
        await c.call_tool_mcp(first.tool, first.arguments, timeout=timeout)
        outcome.first_call_ms = (time.perf_counter() - t0) * 1000

    sampler = RssSampler()
    async with contextlib.AsyncExitStack() as stack:
        transports = await stack.enter_async_context(mcp_endpoint(peer, command, env, log_dir, settings))
        client = await stack.enter_async_context(Client(transports(), timeout=timeout))
        send = None
        if raw is not None and kubeconfig is not None:
            send = raw_sender(*await stack.enter_async_context(raw_api_session(kubeconfig)))
        sampler.start()

        async def call(tool_call: ToolCall, on: Client[Any] = client) -> CallOutcome:
            answer = await on.call_tool_mcp(tool_call.tool, tool_call.arguments, timeout=timeout)
            text = result_text(answer)
            if answer.is_error:
                return None, text or "isError without text", None
            return text, None, lambda: len(answer.model_dump_json(by_alias=True, exclude_none=True).encode())

        for operation, build in peer.operations.items():
            first = build(targets, 0)
            op_result = OperationResult(call=_describe(first))
            raw_build = (raw or {}).get(operation)
            paired = paired_raw(send, raw_build, targets) if send is not None and raw_build is not None else None
            if operation == "apply_manifest_3" and peer.apply_per_object:
                op_result.call += " x3 (one object per call)"

                async def apply_each(index: int, build: Any = build) -> CallOutcome:
                    whole = build(targets, index)
                    texts, sizes = [], []
                    for document in split_documents(next(iter(whole.arguments.values()))):
                        text, error, size = await call(ToolCall(whole.tool, {**whole.arguments, "resource": document}))
                        if error is not None:
                            return None, error, None
                        texts.append(text or "")
                        sizes.extend([size] if size is not None else [])
                    return "\n".join(texts), None, lambda: sum(size() for size in sizes)

                await _timed_calls(settings, settings.calls_per_operation, apply_each, op_result, paired)
            else:

                async def call_once(index: int, build: CallBuilder = build) -> CallOutcome:
                    return await call(build(targets, index))

                await _timed_calls(settings, settings.calls_per_operation, call_once, op_result, paired)
            outcome.operations[operation] = op_result

        if throughput:
            build = peer.operations[THROUGHPUT_OPERATION]
            for level in settings.concurrency_levels:
                outcome.throughput[str(level)] = await _burst(settings, level, lambda i: call(build(targets, i)))
            # One session's sequential calls, timed like each of the HTTP contender's sessions.
            outcome.sequential = await _sequential(settings, lambda i: call(build(targets, i)))
            if peer.transport == "http":
                outcome.sessions = await _sessions(settings, transports, lambda c, i: call(build(targets, i), c))
        outcome.rss_after_mb = child_tree_rss_mb()
        await sampler.stop()
        outcome.rss_peak_mb = max(sampler.peak, outcome.rss_after_mb)
    cache.cleanup()
    return outcome


async def _sequential(settings: BenchSettings, run_one: Callable[[int], Awaitable[CallOutcome]]) -> dict[str, Any]:
    """``http_calls_per_session`` sequential calls on one session: calls/s over their wall time."""
    latencies: list[float] = []
    errors = 0
    started = time.perf_counter()
    for index in range(settings.http_calls_per_session):
        t0 = time.perf_counter()
        _, error, _ = await asyncio.wait_for(run_one(index), settings.call_timeout_seconds)
        if error is None:
            latencies.append((time.perf_counter() - t0) * 1000)
        else:
            errors += 1
    seconds = time.perf_counter() - started
    return {
        "operation": THROUGHPUT_OPERATION,
        "sessions": 1,
        "calls": len(latencies) + errors,
        "ok": len(latencies),
        "errors": errors,
        "seconds": round(seconds, 3),
        "calls_per_s": len(latencies) / seconds if seconds > 0 else None,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
    }


async def _sessions(
    settings: BenchSettings,
    transports: Callable[[], ClientTransport],
    run_one: Callable[[Client[Any], int], Awaitable[CallOutcome]],
) -> dict[str, Any]:
    """``http_sessions`` sessions open at once, each making ``http_calls_per_session`` sequential calls; calls/s
    over the wall time from the moment every session is open (and has made one untimed call)."""
    count, calls = settings.http_sessions, settings.http_calls_per_session
    latencies: list[float] = []
    errors = 0
    first_error: str | None = None
    ready = asyncio.Barrier(count + 1)
    timed = asyncio.Event()
    finished = asyncio.Event()
    remaining = count

    async def session() -> None:
        nonlocal errors, first_error, remaining
        async with Client(transports(), timeout=settings.call_timeout_seconds) as client:
            await run_one(client, 0)
            await ready.wait()
            for index in range(calls):
                t0 = time.perf_counter()
                try:
                    _, error, _ = await asyncio.wait_for(run_one(client, index), settings.call_timeout_seconds)
                except TimeoutError:
                    error = "timeout"
                except Exception as exc:  # a failing call is a result, not the end of the run
                    error = f"{type(exc).__name__}: {exc}"
                if error is None:
                    latencies.append((time.perf_counter() - t0) * 1000)
                else:
                    errors += 1
                    first_error = first_error or error[:300]
            remaining -= 1
            if remaining == 0:
                timed.set()
            await finished.wait()  # sessions close together, after the clock stopped

    tasks = [asyncio.create_task(session()) for _ in range(count)]
    try:
        await asyncio.wait_for(ready.wait(), settings.start_timeout_seconds)
        started = time.perf_counter()
        await asyncio.wait_for(timed.wait(), settings.call_timeout_seconds * calls)
        seconds = time.perf_counter() - started
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    finished.set()
    await asyncio.gather(*tasks)
    return {
        "operation": THROUGHPUT_OPERATION,
        "sessions": count,
        "calls": len(latencies) + errors,
        "ok": len(latencies),
        "errors": errors,
        "first_error": first_error,
        "seconds": round(seconds, 3),
        "calls_per_s": len(latencies) / seconds if seconds > 0 else None,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
    }


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
        return out.decode(errors="replace"), None, lambda: len(out)

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


@contextlib.asynccontextmanager
async def raw_api_session(kubeconfig: str) -> AsyncIterator[tuple[aiohttp.ClientSession, str, dict[str, str]]]:
    """One keep-alive aiohttp session with the kubeconfig's credentials (client certificate or bearer token):
    the session, the server URL and the headers of every request."""
    configuration = Configuration()
    await load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    context = ssl.create_default_context(cafile=configuration.ssl_ca_cert)
    if configuration.cert_file:
        context.load_cert_chain(configuration.cert_file, configuration.key_file)
    if not configuration.verify_ssl:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    headers = {"Accept": "application/json", "User-Agent": "bench-raw-api"}
    token = (configuration.api_key or {}).get("authorization") or (configuration.api_key or {}).get("BearerToken")
    if token:
        headers["Authorization"] = token if token.lower().startswith("bearer ") else f"Bearer {token}"
    connector = aiohttp.TCPConnector(ssl=context, limit=100, keepalive_timeout=60)
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session, str(configuration.host), headers


RawSend = Callable[[list[RawRequest]], Awaitable[CallOutcome]]


def raw_sender(session: aiohttp.ClientSession, host: str, headers: dict[str, str]) -> RawSend:
    """Sends one call's API requests in order on the keep-alive session; the first refusal is the call's error."""

    async def send(requests: list[RawRequest]) -> CallOutcome:
        texts, wire = [], 0
        for request in requests:
            async with session.request(
                request.method,
                host + request.path,
                params=request.query,
                data=request.body,
                headers={**headers, "Content-Type": request.content_type, "Accept": request.accept},
            ) as response:
                body = await response.read()
            if response.status >= 400 and not (request.missing_ok and response.status == 404):
                return None, f"{response.status}: {body[:300].decode(errors='replace')}", None
            texts.append(body.decode(errors="replace"))
            wire += len(body)
        return "\n".join(texts), None, lambda: wire

    return send


def paired_raw(send: RawSend, build: RawBuilder, targets: Targets) -> Callable[[int], Awaitable[float | None]]:
    """Times the raw API requests of call ``index``; None when they failed (the pair is then not kept)."""

    async def timed(index: int) -> float | None:
        t0 = time.perf_counter()
        _, error, _ = await send(build(targets, index))
        return (time.perf_counter() - t0) * 1000 if error is None else None

    return timed


async def measure_raw_api(peer: Peer, kubeconfig: str, targets: Targets, settings: BenchSettings) -> PeerResult:
    """The API requests our tools send, on one keep-alive connection pool: the floor under every contender."""
    outcome = PeerResult(peer.key, peer.title, peer.language, peer.version)
    async with raw_api_session(kubeconfig) as (session, host, headers):
        send = raw_sender(session, host, headers)
        for operation, build in peer.raw.items():
            first = build(targets, 0)
            described = " + ".join(f"{r.method} {r.path}" + (f"?{_query(r)}" if r.query else "") for r in first)
            op_result = OperationResult(call=described)

            async def send_once(index: int, build: RawBuilder = build) -> CallOutcome:
                return await send(build(targets, index))

            await _timed_calls(settings, settings.calls_per_operation, send_once, op_result)
            outcome.operations[operation] = op_result
        build = peer.raw[THROUGHPUT_OPERATION]
        for level in settings.concurrency_levels:
            outcome.throughput[str(level)] = await _burst(settings, level, lambda i: send(build(targets, i)))
    outcome.rss_after_mb = 0.0
    return outcome


def _query(request: RawRequest) -> str:
    return "&".join(f"{key}={value}" for key, value in request.query)


def operation_names() -> list[str]:
    return list(OPERATIONS)
