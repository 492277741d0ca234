"""Fixtures for the activator tests: real Qwen2.5-Coder models behind llama.cpp's server, and activators to test."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cortex.activator.catalog import ToolCatalog
from cortex.activator.evaluation import LABELLED_PATH
from cortex.activator.service import Activator
from cortex.activator.settings import ActivatorSettings
from devcluster import models
from devcluster.processes import free_port, stop_process

HERE = Path(__file__).parent
LABELLED = LABELLED_PATH
START_TIMEOUT_SECONDS = 180


@contextlib.contextmanager
def serve_model(model: models.ModelFile, n_ctx: int, log: Path) -> Iterator[str]:
    """Base URL of a real llama.cpp server (2 threads, 127.0.0.1) for the model, fetched and verified first."""
    try:
        path = models.fetch(model)
    except models.ModelFetchError as error:
        pytest.fail(f"the {model.name} model could not be fetched: {error}", pytrace=False)
    port = free_port()
    started = time.monotonic()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-c", models.SERVER_SCRIPT, str(path), str(port), str(n_ctx)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if process.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:]
                pytest.fail(f"the {model.name} model server exited with code {process.returncode}:\n{tail}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() - started > START_TIMEOUT_SECONDS:
                pytest.fail(f"the {model.name} model server was not healthy in {START_TIMEOUT_SECONDS} s (log: {log})")
            time.sleep(0.25)
        print(f"\n{model.file} served at {url} after {time.monotonic() - started:.1f} s", file=sys.stderr)
        yield url
    finally:
        stop_process(process)


@pytest.fixture(scope="session")
def classifier_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Tier 3's model: Qwen2.5-Coder-0.5B-Instruct Q4_K_M."""
    with serve_model(models.CLASSIFIER, 2048, tmp_path_factory.mktemp("models") / "classifier.log") as url:
        yield url


@pytest.fixture(scope="session")
def reasoning_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Tier 4's model: Qwen2.5-Coder-1.5B-Instruct Q4_K_M."""
    with serve_model(models.REASONING, 2048, tmp_path_factory.mktemp("models") / "reasoning.log") as url:
        yield url


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


@contextlib.asynccontextmanager
async def running(settings: ActivatorSettings, catalog: ToolCatalog, **options: Any) -> AsyncIterator[Activator]:
    """A started activator that executes nothing (`options` go to Activator), stopped on the way out."""
    activator = Activator(settings, execute=False, **options)
    await activator.start(catalog)
    try:
        yield activator
    finally:
        await activator.stop()


@pytest.fixture(scope="session")
async def offline_activator(snapshot_catalog: ToolCatalog) -> AsyncIterator[Activator]:
    """Tiers 1 and 2 only, with in-memory Qdrant and no execution: what `cortex route` runs."""
    async with running(offline_settings(), snapshot_catalog) as activator:
        yield activator
