"""The cluster's processes on this machine: free ports, launching a component in its own session, waiting for it."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
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
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
