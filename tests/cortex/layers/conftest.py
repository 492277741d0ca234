"""Fixtures of the layer tests: a local UniFi controller over HTTP, a real sshd device, served layers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from cortex.layers.settings import UnifiApiSettings, UnifiSshSettings
from tests.cortex.layers.local_server import ServedLayers, serve_app, serve_layers
from tests.cortex.layers.ssh_device import SshDevice
from tests.cortex.layers.unifi_controller_emulator import UnifiControllerEmulator


@pytest.fixture(scope="session")
async def unifi_controller_server() -> AsyncIterator[tuple[UnifiControllerEmulator, str]]:
    controller = UnifiControllerEmulator()
    async with serve_app(controller.app) as url:
        yield controller, url


@pytest.fixture
async def unifi_controller(
    unifi_controller_server: tuple[UnifiControllerEmulator, str],
) -> AsyncIterator[UnifiControllerEmulator]:
    """The local controller, reset to its initial clients and devices for each test."""
    controller, _ = unifi_controller_server
    controller.reset()
    yield controller
    controller.reset()


@pytest.fixture
def unifi_api_settings(unifi_controller_server: tuple[UnifiControllerEmulator, str]) -> UnifiApiSettings:
    controller, url = unifi_controller_server
    return UnifiApiSettings(
        controller_url=url,
        username=controller.username,
        password=SecretStr(controller.password),
        site=controller.site,
        request_timeout_seconds=2.0,
    )


@pytest.fixture(scope="session")
def ssh_device(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshDevice]:
    device = SshDevice.create(tmp_path_factory.mktemp("ssh-device"))
    device.start()
    yield device
    device.stop()


@pytest.fixture
def unifi_ssh_settings(ssh_device: SshDevice) -> UnifiSshSettings:
    return UnifiSshSettings(
        host="127.0.0.1",
        port=ssh_device.port,
        username=ssh_device.username,
        client_key_path=ssh_device.client_key,
        known_hosts_path=ssh_device.known_hosts,
        connect_timeout_seconds=5.0,
        command_timeout_seconds=5.0,
    )


@pytest.fixture
def audit_log(tmp_path: Path) -> Path:
    return tmp_path / "audit" / "audit.jsonl"


@pytest.fixture
async def served_layers(
    unifi_api_settings: UnifiApiSettings, unifi_ssh_settings: UnifiSshSettings, audit_log: Path
) -> AsyncIterator[ServedLayers]:
    """The unifi-api and unifi-ssh layers and telemetry, each as its own HTTP service, as in the cluster."""
    async with serve_layers(unifi_api_settings, unifi_ssh_settings, audit_log) as layers:
        yield layers
