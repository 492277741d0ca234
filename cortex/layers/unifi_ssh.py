"""The execution-unifi-ssh layer: read-only failover and diagnostics on a UniFi device over SSH."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from typing import Any

import asyncssh
from pydantic import BaseModel

from cortex.layers import names
from cortex.layers.contract import ActionSpec, ExecutionLayer, LayerError, NoParams
from cortex.layers.settings import UnifiSshSettings
from cortex.layers.unifi_model import ClientRow, DeviceRow, LogParams

logger = logging.getLogger(__name__)

# The only command lines this layer ever sends. They are constants: no part of a request is ever
# placed into a command, so a request cannot make the device run anything else.
ALLOWED_COMMANDS: Mapping[str, str] = {
    "info": "info",
    "mca_dump": "mca-dump",
    "messages": "tail -n 200 /var/log/messages",
}

MAX_OUTPUT_CHARS = 1_000_000


class UnifiSshLayer(ExecutionLayer):
    """Reads clients, the device itself, its summary and its log over SSH, with host key checking on."""

    name = names.UNIFI_SSH

    def __init__(self, settings: UnifiSshSettings | None = None) -> None:
        self.settings = settings or UnifiSshSettings()
        self._connection: asyncssh.SSHClientConnection | None = None
        self._connect_lock = asyncio.Lock()
        self._specs: dict[str, ActionSpec] = {
            spec.name: spec
            for spec in (
                ActionSpec("list_clients", "Wireless clients the device sees now (from mca-dump).", NoParams),
                ActionSpec("list_devices", "The device this layer is connected to (from mca-dump).", NoParams),
                ActionSpec("device_info", "The device's own summary (the `info` command).", NoParams),
                ActionSpec("get_logs", "The newest lines of the device's system log.", LogParams),
            )
        }

    async def action_specs(self) -> Mapping[str, ActionSpec]:
        return self._specs

    async def stop(self) -> None:
        async with self._connect_lock:
            await self._drop_connection()

    async def readiness(self) -> tuple[bool, str]:
        try:
            await self._connected()
        except LayerError as exc:
            return False, exc.message
        return True, f"connected to {self.settings.host}:{self.settings.port}"

    async def run(self, action: str, params: BaseModel | dict[str, Any]) -> Any:
        if action == "list_clients":
            rows = [row.model_dump() for row in clients_from_mca_dump(await self._mca_dump())]
            return {"rows": rows, "count": len(rows), "source": "ssh"}
        if action == "list_devices":
            rows = [device_from_mca_dump(await self._mca_dump()).model_dump()]
            return {"rows": rows, "count": len(rows), "source": "ssh"}
        if action == "device_info":
            return parse_info(await self.run_allowed("info"))
        if action == "get_logs":
            lines = params.lines if isinstance(params, LogParams) else LogParams().lines
            text = await self.run_allowed("messages")
            return {"lines": text.splitlines()[-lines:]}
        raise LayerError("unknown_action", f"{self.name} has no action {action!r}", 404)

    async def _mca_dump(self) -> dict[str, Any]:
        output = await self.run_allowed("mca_dump")
        try:
            dump = json.loads(output)
        except ValueError:
            raise LayerError("bad_upstream_response", "mca-dump on the device did not print JSON", 502) from None
        if not isinstance(dump, dict):
            raise LayerError("bad_upstream_response", "mca-dump on the device did not print a JSON object", 502)
        return dump

    async def run_allowed(self, command_key: str) -> str:
        """Stdout of the allow-listed command named `command_key`; reconnects once if the link dropped."""
        command = ALLOWED_COMMANDS[command_key]
        for attempt in (1, 2):
            connection = await self._connected()
            try:
                result = await connection.run(command, check=False, timeout=self.settings.command_timeout_seconds)
            except asyncssh.TimeoutError:
                raise LayerError.timeout(
                    f"{command!r} on {self.settings.host} did not finish within "
                    f"{self.settings.command_timeout_seconds:g} s"
                ) from None
            except (asyncssh.Error, OSError) as exc:
                async with self._connect_lock:
                    await self._drop_connection()
                if attempt == 2:
                    raise LayerError.unavailable(
                        f"the SSH link to {self.settings.host} failed while running {command!r}: {exc}"
                    ) from None
                continue
            stdout = _text(result.stdout)
            if result.exit_status != 0:
                reason = _text(result.stderr).strip().splitlines()[:1] or ["no error output"]
                raise LayerError(
                    "command_failed",
                    f"{command!r} on {self.settings.host} exited with {result.exit_status}: {reason[0]}",
                    502,
                )
            return stdout[:MAX_OUTPUT_CHARS]
        raise AssertionError("unreachable")

    async def _connected(self) -> asyncssh.SSHClientConnection:
        async with self._connect_lock:
            if self._connection is not None and not self._connection.is_closed():
                return self._connection
            self._connection = await self._connect()
            return self._connection

    async def _drop_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            with contextlib.suppress(asyncssh.Error, OSError):
                await self._connection.wait_closed()
            self._connection = None

    async def _connect(self) -> asyncssh.SSHClientConnection:
        settings = self.settings
        where = f"{settings.username}@{settings.host}:{settings.port}"
        if settings.known_hosts_path is None or not settings.known_hosts_path.is_file():
            raise LayerError(
                "not_configured",
                "no known_hosts file for the UniFi device (CORTEX_UNIFI_SSH_KNOWN_HOSTS_PATH): "
                "host key checking is always on, so the layer will not connect",
                503,
            )
        if settings.client_key_path is None or not settings.client_key_path.is_file():
            raise LayerError(
                "not_configured",
                "no SSH client key for the UniFi device (CORTEX_UNIFI_SSH_CLIENT_KEY_PATH)",
                503,
            )
        try:
            return await asyncssh.connect(
                settings.host,
                settings.port,
                username=settings.username,
                client_keys=[str(settings.client_key_path)],
                known_hosts=str(settings.known_hosts_path),
                connect_timeout=settings.connect_timeout_seconds,
                agent_path=None,
                password=None,
                kbdint_auth=False,
                config=None,
            )
        except asyncssh.HostKeyNotVerifiable as exc:
            raise LayerError(
                "host_key_not_verifiable",
                f"the host key of {where} does not match the known_hosts file ({exc.reason}); "
                "refusing to connect. If the device was replaced, put its new key in known_hosts",
                502,
            ) from None
        except asyncssh.PermissionDenied:
            raise LayerError(
                "ssh_auth_failed", f"{where} refused the layer's SSH key; check the account and its key", 502
            ) from None
        except TimeoutError:
            raise LayerError.timeout(
                f"SSH handshake with {where} took over {settings.connect_timeout_seconds:g} s"
            ) from None
        except (asyncssh.Error, OSError) as exc:
            raise LayerError.unavailable(f"cannot open SSH to {where}: {exc}") from None


def _text(output: str | bytes | None) -> str:
    if output is None:
        return ""
    return output.decode("utf-8", "replace") if isinstance(output, bytes) else output


def parse_info(text: str) -> dict[str, str]:
    """The `Key: value` lines printed by the device's `info` command, as a dict with snake_case keys."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            fields[key.strip().lower().replace(" ", "_")] = value.strip()
    return fields


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def clients_from_mca_dump(dump: Mapping[str, Any]) -> list[ClientRow]:
    """Client rows from the `vap_table[].sta_table[]` of an mca-dump."""
    rows = []
    for vap in dump.get("vap_table") or []:
        if not isinstance(vap, dict):
            continue
        for station in vap.get("sta_table") or []:
            if not isinstance(station, dict) or not station.get("mac"):
                continue
            rows.append(
                ClientRow(
                    mac=str(station["mac"]),
                    hostname=station.get("hostname"),
                    ip=station.get("ip"),
                    network=vap.get("essid"),
                    wired=False,
                    signal_dbm=_int_or_none(station.get("signal")),
                    uptime_s=_int_or_none(station.get("uptime")),
                )
            )
    return rows


def device_from_mca_dump(dump: Mapping[str, Any]) -> DeviceRow:
    """The device row of an mca-dump; a device that answers over SSH is connected."""
    return DeviceRow(
        mac=str(dump.get("mac", "")),
        name=dump.get("hostname"),
        model=dump.get("model"),
        type=dump.get("type"),
        ip=dump.get("ip"),
        version=dump.get("version"),
        state="connected",
        uptime_s=_int_or_none(dump.get("uptime")),
    )
