"""The execution-unifi-ssh layer against a real OpenSSH server playing a UniFi device."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cortex.layers.contract import LayerRequest
from cortex.layers.service import LayerRunner
from cortex.layers.settings import UnifiSshSettings
from cortex.layers.unifi_ssh import ALLOWED_COMMANDS, UnifiSshLayer
from tests.cortex.layers.ssh_device import SshDevice


@pytest.fixture
async def runner(unifi_ssh_settings: UnifiSshSettings) -> AsyncIterator[LayerRunner]:
    layer_runner = LayerRunner(UnifiSshLayer(unifi_ssh_settings))
    yield layer_runner
    await layer_runner.stop()


async def test_list_clients_over_ssh(runner: LayerRunner) -> None:
    response = await runner.execute(LayerRequest(action="list_clients"))
    assert response.ok, response.error
    assert response.result["source"] == "ssh"
    assert response.result["count"] == 3
    by_mac = {row["mac"]: row for row in response.result["rows"]}
    assert by_mac["aa:bb:cc:dd:ee:ff"]["hostname"] == "laptop-anna"
    assert by_mac["aa:bb:cc:dd:ee:ff"]["signal_dbm"] == -52
    assert by_mac["5e:11:22:33:44:55"]["network"] == "guests"


async def test_list_devices_and_info_over_ssh(runner: LayerRunner) -> None:
    devices = await runner.execute(LayerRequest(action="list_devices"))
    assert devices.ok, devices.error
    assert devices.result["rows"] == [
        {
            "mac": "f0:9f:c2:00:00:02",
            "name": "ap-living-room",
            "model": "U6LR",
            "type": "uap",
            "ip": "192.168.1.2",
            "version": "6.6.77.15402",
            "state": "connected",
            "uptime_s": 604800,
        }
    ]
    info = await runner.execute(LayerRequest(action="device_info"))
    assert info.ok, info.error
    assert info.result["mac_address"] == "f0:9f:c2:00:00:02"
    assert info.result["status"].startswith("Connected")


async def test_logs_are_the_newest_lines(runner: LayerRunner) -> None:
    response = await runner.execute(LayerRequest(action="get_logs", params={"lines": 5}))
    assert response.ok, response.error
    lines = response.result["lines"]
    assert len(lines) == 5
    assert lines[-1].endswith("event 299") and lines[0].endswith("event 295")
    too_many = await runner.execute(LayerRequest(action="get_logs", params={"lines": 5000}))
    assert too_many.status == 400 and too_many.error is not None
    assert "lines" in too_many.error.message


async def test_only_allow_listed_actions_exist(runner: LayerRunner) -> None:
    response = await runner.execute(LayerRequest(action="run_command", params={"command": "cat /etc/shadow"}))
    assert response.status == 404
    injected = await runner.execute(LayerRequest(action="get_logs", params={"lines": "5; reboot"}))
    assert injected.status == 400
    blocked = await runner.execute(LayerRequest(action="block_client", params={"mac": "aa:bb:cc:dd:ee:ff"}))
    assert blocked.status == 404
    assert set(ALLOWED_COMMANDS.values()) == {"info", "mca-dump", "tail -n 200 /var/log/messages"}


async def test_the_device_refuses_commands_outside_its_allow_list(runner: LayerRunner) -> None:
    # The device side enforces its own list too; prove the forced command is what answers.
    layer = runner.layer
    assert isinstance(layer, UnifiSshLayer)
    connection = await layer._connected()
    result = await connection.run("id", check=False)
    assert result.exit_status == 127
    assert "not allowed" in str(result.stderr)


async def test_changed_host_key_is_refused(tmp_path: Path) -> None:
    device = SshDevice.create(tmp_path / "device")
    device.start()
    settings = UnifiSshSettings(
        host="127.0.0.1",
        port=device.port,
        username=device.username,
        client_key_path=device.client_key,
        known_hosts_path=device.known_hosts,
    )
    try:
        trusting = LayerRunner(UnifiSshLayer(settings))
        assert (await trusting.execute(LayerRequest(action="device_info"))).ok
        await trusting.stop()
        device.stop()
        device.new_host_key()
        device.start()
        runner = LayerRunner(UnifiSshLayer(settings))
        response = await runner.execute(LayerRequest(action="device_info"))
        ready, reason = await runner.readiness()
        await runner.stop()
    finally:
        device.stop()
    assert response.status == 502
    assert response.error is not None and response.error.code == "host_key_not_verifiable"
    assert "refusing to connect" in response.error.message
    assert not ready and "host key" in reason


async def test_no_known_hosts_means_no_connection(unifi_ssh_settings: UnifiSshSettings) -> None:
    settings = unifi_ssh_settings.model_copy(update={"known_hosts_path": None})
    runner = LayerRunner(UnifiSshLayer(settings))
    response = await runner.execute(LayerRequest(action="device_info"))
    assert response.status == 503
    assert response.error is not None and "host key checking is always on" in response.error.message


async def test_wrong_client_key_is_refused(unifi_ssh_settings: UnifiSshSettings, tmp_path: Path) -> None:
    from tests.cortex.layers.ssh_device import keygen

    other_key = tmp_path / "other_key"
    keygen(other_key)
    runner = LayerRunner(UnifiSshLayer(unifi_ssh_settings.model_copy(update={"client_key_path": other_key})))
    response = await runner.execute(LayerRequest(action="device_info"))
    await runner.stop()
    assert response.error is not None and response.error.code == "ssh_auth_failed"


async def test_reconnects_after_the_link_drops(runner: LayerRunner) -> None:
    assert (await runner.execute(LayerRequest(action="device_info"))).ok
    layer = runner.layer
    assert isinstance(layer, UnifiSshLayer)
    assert layer._connection is not None
    layer._connection.abort()
    response = await runner.execute(LayerRequest(action="device_info"))
    assert response.ok, response.error
