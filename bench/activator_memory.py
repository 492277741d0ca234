"""Resident memory of one activator replica in the deployed shape, component by component, in a fresh process.

The deployed replica is `cortex serve` with k3s-mcp remote and Qdrant at a URL. Here k3s-mcp is a real
`k3s-mcp-server --transport http` on 127.0.0.1 (the shared dev cluster's kubeconfig), reached by the activator's
MCP client (initialize, tools/list), and the replica holds qdrant-client's REST client for a Qdrant URL: the
seeded and learned routes live in the Qdrant server's memory, not the replica's. No Qdrant server runs on this
machine, so the URL is a closed 127.0.0.1 port: the utterances are embedded at start-up (their vectors would go to
the server), every held-out request is embedded by tier 2 and its lookup is refused by the closed port, which is
what that memory is made of except the few hits a server would send back.

Each step is the growth of VmRSS after loading one component, in the order a replica loads them; a fresh process
keeps the bench's own imports and the labelled set out of the figures. As a cross-check, `cortex serve` itself runs
in the same shape and is sent every request as POST /query; its VmRSS is read from /proc ("cortex_serve"). Run as
`python -m bench.activator_memory` (prints the JSON); bench.activator calls `deployed_memory()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from devcluster.processes import free_port, listening, stop_process

BUDGET_MB = 128
CHILD = "--replica"


def status_mb(key: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS: now, VmHWM: peak), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


class Memory:
    """Resident-memory steps of this process: after each named step, VmRSS now, what it added, and the peak."""

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []

    def step(self, name: str) -> None:
        now = status_mb("VmRSS")
        previous = self.steps[-1]["rss_mb"] if self.steps else now
        self.steps.append(
            {
                "step": name,
                "rss_mb": round(now, 1),
                "added_mb": round(now - previous, 1),
                "peak_mb": round(status_mb("VmHWM"), 1),
                # Anonymous memory (heap, arenas) is the process's own; file-backed pages (shared libraries, the
                # mapped model weights) are shared with other processes on the node and reclaimable.
                "anon_mb": round(status_mb("RssAnon"), 1),
                "file_mb": round(status_mb("RssFile"), 1),
            }
        )

    def largest(self, count: int) -> list[dict[str, Any]]:
        return sorted(self.steps, key=lambda s: s["added_mb"], reverse=True)[:count]

    def report(self, budget_mb: int = BUDGET_MB) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "resident_mb": self.steps[-1]["rss_mb"],
            "peak_mb": self.steps[-1]["peak_mb"],
            "budget_mb": budget_mb,
            "largest_steps": self.largest(3),
        }


@contextlib.contextmanager
def listening_process(
    name: str, argv: list[str], env: dict[str, str], port: int, within: float
) -> Iterator[subprocess.Popen[bytes]]:
    """Start `argv` and wait until it listens on 127.0.0.1:`port`; stopped on the way out. A process that exits
    or does not listen within `within` seconds is a RuntimeError naming `name` and the end of its stderr."""
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            deadline = time.monotonic() + within
            while not listening(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    stderr.seek(0)
                    tail = stderr.read().decode(errors="replace")[-1000:]
                    state = f"exited with {process.returncode}" if process.poll() is not None else "did not listen"
                    raise RuntimeError(f"{name} {state} on port {port} within {within:g} s: {tail}")
                time.sleep(0.1)
            yield process
        finally:
            stop_process(process)


@contextlib.contextmanager
def remote_k3s_mcp(kubeconfig: Path, within: float = 60.0) -> Iterator[str]:
    """A real `k3s-mcp-server --transport http` on 127.0.0.1; yields its MCP URL."""
    server = Path(sys.executable).parent / "k3s-mcp-server"
    port = free_port()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(Path.home()), "KUBECONFIG": str(kubeconfig)}
    argv = [str(server), "--transport", "http", "--host", "127.0.0.1", "--port", str(port)]
    with listening_process("k3s-mcp-server", argv, env, port, within):
        yield f"http://127.0.0.1:{port}/mcp"


async def replica(mcp_url: str, qdrant_url: str, queries: list[str]) -> dict[str, Any]:
    """The replica's components, loaded one by one in this process (the child)."""
    steps = Memory()
    steps.step("python")
    from cortex.activator.service import Activator
    from cortex.activator.settings import ActivatorSettings

    steps.step("activator modules (pydantic, pydantic-settings, prometheus-client, yaml)")
    import uvicorn  # noqa: F401

    from cortex.activator import http_app  # noqa: F401

    steps.step("HTTP service (starlette, uvicorn)")
    settings = ActivatorSettings(
        mcp_url=mcp_url, qdrant_url=qdrant_url, qdrant_path=None, classifier_url=None, reasoning_url=None
    )
    from cortex.activator.execution import ToolExecutor

    executor = ToolExecutor(settings.mcp_url, settings.tool_timeout_seconds)
    await executor.start()
    catalog = await executor.catalog()
    steps.step(f"MCP session to the remote k3s-mcp over HTTP (fastmcp, mcp; catalog of {len(catalog)} tools)")
    import numpy  # noqa: F401
    import onnxruntime  # noqa: F401
    import tokenizers  # noqa: F401

    steps.step("numpy + onnxruntime + tokenizers imported")
    activator = Activator(settings, execute=False)
    activator.embedder.embed(["warm up"])
    model = activator.embedder.model_file.name if activator.embedder.model_file else "?"
    steps.step(f"MiniLM session and tokenizer loaded ({model})")
    import qdrant_client  # noqa: F401

    steps.step("qdrant-client imported (its REST client for the Qdrant URL)")
    await activator.start(catalog)
    steps.step("tiers 1-2 started (rules compiled, utterances embedded; their vectors go to the Qdrant server)")
    assert activator.router is not None
    for query in queries:
        await activator.route(query)
    steps.step(f"{len(queries)} held-out requests routed (tier 2 embeds each; its lookup goes to the server)")
    problems = list(activator.problems)
    await activator.stop()
    await executor.stop()
    return {**steps.report(), "largest_steps": steps.largest(4), "qdrant_problems": problems}


def process_status(pid: int) -> dict[str, float]:
    """VmRSS, VmHWM, RssAnon and RssFile of process `pid`, in MiB."""
    figures: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            figures[key] = round(int(value.split()[0]) / 1024, 1)
    return figures


def served_replica(mcp_url: str, qdrant_url: str, queries: list[str], within: float = 120.0) -> dict[str, Any]:
    """`cortex serve` itself on 127.0.0.1 in the same shape, sent each query as POST /query (execute=false); its
    resident memory read from /proc after the last answer: the cross-check of the step-by-step figure."""
    import httpx

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORTEX_")}
    env.update({"CORTEX_MCP_URL": mcp_url, "CORTEX_QDRANT_URL": qdrant_url})
    argv = [sys.executable, "-m", "cortex.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with listening_process("cortex serve", argv, env, port, within) as process:
        pid = process.pid
        started = process_status(pid)
        statuses: dict[str, int] = {}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            for query in queries:
                answer = client.post("/query", json={"query": query, "execute": False})
                statuses[str(answer.status_code)] = statuses.get(str(answer.status_code), 0) + 1
        return {"after_start": started, "after_requests": process_status(pid), "http_statuses": statuses}


def deployed_memory(
    queries: list[str], kubeconfig: Path | None = None, extra_env: dict[str, str] | None = None
) -> dict[str, Any]:
    """The replica's memory steps, measured in a new process against a real remote k3s-mcp."""
    from devcluster.state import kubeconfig_path

    config = kubeconfig or kubeconfig_path()
    qdrant_url = f"http://127.0.0.1:{free_port()}"  # nothing listens there (no Qdrant server on this machine)
    with remote_k3s_mcp(config) as mcp_url, tempfile.NamedTemporaryFile("w", suffix=".json") as listed:
        json.dump(queries, listed)
        listed.flush()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CORTEX_")}
        env.update(extra_env or {})
        done = subprocess.run(
            [sys.executable, "-m", "bench.activator_memory", CHILD, mcp_url, qdrant_url, listed.name],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the replica process failed: {done.stderr[-2000:]}")
        served = served_replica(mcp_url, qdrant_url, queries)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result.update(
        {
            "shape": "cortex serve: k3s-mcp remote over streamable HTTP, Qdrant at a URL (routes held by the server)",
            "cortex_serve": served,
        }
    )
    return result


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == CHILD:
        queries = json.loads(Path(sys.argv[4]).read_text(encoding="utf-8"))
        print(json.dumps(asyncio.run(replica(sys.argv[2], sys.argv[3], queries))))
        return 0
    from cortex.activator.evaluation import load_labelled

    print(json.dumps(deployed_memory([item.query for item in load_labelled(split="held_out")]), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
