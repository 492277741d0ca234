"""Serves ASGI apps (one app, or the UniFi layers and telemetry) with uvicorn on free 127.0.0.1 ports."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from cortex.layers.client import HttpLayerClient, HttpTelemetryClient, LayerDispatcher
from cortex.layers.service import LayerRunner, build_layer_app
from cortex.layers.settings import TelemetrySettings, UnifiApiSettings, UnifiSshSettings
from cortex.layers.telemetry import TelemetryStore, build_telemetry_app
from cortex.layers.unifi_api import UnifiApiLayer
from cortex.layers.unifi_ssh import UnifiSshLayer


@contextlib.asynccontextmanager
async def serve_app(app: ASGIApp) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on a free 127.0.0.1 port for the duration; yields its base URL."""
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets whose proto says TCP, and without it
    # every response waits ~40 ms on delayed ACKs.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@dataclass
class ServedLayers:
    """Base URLs of the unifi-api and unifi-ssh layer services and of telemetry, each served on its own port."""

    api_url: str
    ssh_url: str
    telemetry_url: str

    def dispatcher(self, api_timeout: float) -> LayerDispatcher:
        """A dispatcher over HTTP to both layers (unifi-api first) that reports to telemetry."""
        return LayerDispatcher(
            {
                "unifi-api": HttpLayerClient("unifi-api", self.api_url, timeout=api_timeout),
                "unifi-ssh": HttpLayerClient("unifi-ssh", self.ssh_url, timeout=5.0),
            },
            telemetry=HttpTelemetryClient(self.telemetry_url),
        )


@contextlib.asynccontextmanager
async def serve_layers(
    api_settings: UnifiApiSettings, ssh_settings: UnifiSshSettings, audit_log: Path
) -> AsyncIterator[ServedLayers]:
    """Serve the unifi-api and unifi-ssh layers and telemetry (auditing to `audit_log`) for the duration."""
    api_app = build_layer_app(LayerRunner(UnifiApiLayer(api_settings)))
    ssh_app = build_layer_app(LayerRunner(UnifiSshLayer(ssh_settings)))
    telemetry_app = build_telemetry_app(TelemetryStore(TelemetrySettings(audit_log_path=audit_log)))
    async with (
        serve_app(api_app) as api_url,
        serve_app(ssh_app) as ssh_url,
        serve_app(telemetry_app) as telemetry_url,
    ):
        yield ServedLayers(api_url, ssh_url, telemetry_url)
