"""The cluster's processes on this machine: free ports, launching a component in its own session, waiting for it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from devcluster.messages import ClusterError


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts connections on 127.0.0.1:`port`."""
    with socket.socket() as probe:
        probe.settimeout(timeout)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def stop_process(process: subprocess.Popen[bytes] | subprocess.Popen[str], within: float = 10.0) -> None:
    """Stop a child: SIGTERM, then SIGKILL if it has not exited after `within` seconds; always reaped."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(within)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def stop_async_process(process: asyncio.subprocess.Process, within: float = 10.0) -> None:
    """`stop_process` for a child started with asyncio."""
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), within)
    except TimeoutError:
        process.kill()
        await process.wait()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); /proc tells the truth.
    with contextlib.suppress(OSError):
        if "State:\tZ" in Path(f"/proc/{pid}/status").read_text():
            return False
    return True


@dataclass
class Component:
    name: str
    argv: list[str]
    pid: int = 0
    # Variables added to the launcher's environment (KEDA reads its watched namespaces from one, not a flag).
    env: dict[str, str] = field(default_factory=dict)

    def alive(self) -> bool:
        return self.pid > 0 and pid_alive(self.pid)


def launch(state: Path, component: Component) -> None:
    log_file = (state / "logs" / f"{component.name}.log").open("ab")
    process = subprocess.Popen(
        component.argv,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        cwd=state,
        env={**os.environ, **component.env} if component.env else None,
        start_new_session=True,
    )
    log_file.close()
    component.pid = process.pid


def tail_log(state: Path, name: str, lines: int = 15) -> str:
    path = state / "logs" / f"{name}.log"
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_for(
    what: str, check: Callable[[], bool], timeout: float, state: Path, component: Component | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if component is not None and not component.alive():
            raise ClusterError(
                f"{component.name} exited while starting; last lines of its log "
                f"({state / 'logs' / (component.name + '.log')}):\n{tail_log(state, component.name)}"
            )
        time.sleep(0.1)
    detail = f"\n{tail_log(state, component.name)}" if component else ""
    raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False
