"""Stopping a child process: SIGTERM first, SIGKILL for one that ignores it, and always reaped."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time

from devcluster.processes import stop_async_process, stop_process

# A child that says it is ready, then ignores SIGTERM (or not) and sleeps.
CHILD = """
import signal, sys, time
if sys.argv[1] == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
time.sleep(60)
"""


def started(mode: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-c", CHILD, mode], stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    return process


def test_a_child_that_obeys_sigterm_ends_by_it() -> None:
    process = started("polite")
    stop_process(process, within=30)
    assert process.returncode == -signal.SIGTERM


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace_time() -> None:
    process = started("stubborn")
    began = time.monotonic()
    stop_process(process, within=0.5)
    assert process.returncode == -signal.SIGKILL
    assert 0.5 <= time.monotonic() - began < 30


def test_an_exited_child_is_left_as_it_ended() -> None:
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    process.wait()
    stop_process(process)
    assert process.returncode == 3


async def test_the_asyncio_variant_kills_a_stubborn_child_too() -> None:
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", CHILD, "stubborn", stdout=subprocess.PIPE)
    assert process.stdout is not None and await process.stdout.readline() == b"ready\n"
    await stop_async_process(process, within=0.5)
    assert process.returncode == -signal.SIGKILL
    await stop_async_process(process)  # already ended: nothing to do
    assert process.returncode == -signal.SIGKILL
