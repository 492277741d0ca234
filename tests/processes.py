"""Run one of the project's HTTP servers as a real process on 127.0.0.1 for a test, and stop it afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

# free_port is re-exported: the tests import both from here.
from devcluster.processes import free_port as free_port
from devcluster.processes import listening as listening
from devcluster.processes import stop_async_process

PROJECT = Path(__file__).resolve().parents[1]


@contextlib.asynccontextmanager
async def serve_program(
    command: Sequence[str], env: Mapping[str, str], port: int, *, within: float = 60.0
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Start `command` (which must listen on 127.0.0.1:`port`) and yield it once the port accepts connections.

    uvicorn opens its port only after the app's start-up, so an open port means the server is serving. When the
    process exits before that, the assertion carries the end of its stderr.
    """
    with tempfile.TemporaryFile() as stderr:
        process = await asyncio.create_subprocess_exec(
            *command, env=dict(env), cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=stderr
        )
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + within
            while not listening(port):
                if process.returncode is not None:
                    stderr.seek(0)
                    tail = stderr.read().decode(errors="replace")[-2000:]
                    raise AssertionError(f"{command[0]} exited with {process.returncode} during start-up: {tail}")
                assert loop.time() < deadline, f"{command[0]} did not listen on port {port} within {within} s"
                await asyncio.sleep(0.1)
            yield process
        finally:
            await stop_async_process(process)
