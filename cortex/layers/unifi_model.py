"""What the UniFi layers share: MAC address validation, action parameters and the rows they return."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

_MAC_SEPARATED = re.compile(r"^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$")
_MAC_DOTTED = re.compile(r"^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$")
_MAC_BARE = re.compile(r"^[0-9a-f]{12}$")


def normalize_mac(text: str) -> str:
    """`text` as a lower-case colon-separated unicast MAC address, or ValueError saying what is wrong.

    Accepts aa:bb:cc:dd:ee:ff, AA-BB-CC-DD-EE-FF, aabb.ccdd.eeff and aabbccddeeff. Multicast,
    broadcast and all-zero addresses never name a single client or device, so they are refused.
    """
    value = text.strip().lower()
    if _MAC_SEPARATED.match(value):
        digits = value.replace(":", "").replace("-", "")
    elif _MAC_DOTTED.match(value) or _MAC_BARE.match(value):
        digits = value.replace(".", "")
    else:
        raise ValueError(f"{text!r} is not a MAC address; write it like aa:bb:cc:dd:ee:ff")
    if digits == "0" * 12:
        raise ValueError(f"{text!r} is the all-zero MAC address, which names no device")
    if int(digits[:2], 16) & 1:
        raise ValueError(f"{text!r} is a multicast or broadcast MAC address; a client or device has a unicast one")
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


MacAddress = Annotated[str, AfterValidator(normalize_mac)]


class MacParams(BaseModel):
    """Parameters of an action on one client or device."""

    model_config = ConfigDict(extra="forbid")

    mac: MacAddress = Field(description="MAC address of the client or device, like aa:bb:cc:dd:ee:ff.")


class LogParams(BaseModel):
    """Parameters of log retrieval."""

    model_config = ConfigDict(extra="forbid")

    lines: int = Field(default=50, ge=1, le=200, description="How many of the newest log lines to return.")


class ClientRow(BaseModel):
    """One connected client, with the columns a person reads in the controller's client list."""

    mac: str
    hostname: str | None = None
    ip: str | None = None
    network: str | None = None
    wired: bool = False
    signal_dbm: int | None = None
    uptime_s: int | None = None
    blocked: bool = False


class DeviceRow(BaseModel):
    """One UniFi device (gateway, switch, access point)."""

    mac: str
    name: str | None = None
    model: str | None = None
    type: str | None = None
    ip: str | None = None
    version: str | None = None
    state: str | None = None
    uptime_s: int | None = None


DEVICE_STATES = {0: "disconnected", 1: "connected", 2: "pending", 4: "upgrading", 5: "provisioning"}


def client_row_from_controller(entry: dict[str, Any]) -> ClientRow:
    """A controller `stat/sta` entry as a ClientRow."""
    return ClientRow(
        mac=str(entry.get("mac", "")),
        hostname=entry.get("hostname") or entry.get("name"),
        ip=entry.get("ip"),
        network=entry.get("essid") or entry.get("network"),
        wired=bool(entry.get("is_wired", False)),
        signal_dbm=entry.get("signal") if isinstance(entry.get("signal"), int) else None,
        uptime_s=entry.get("uptime") if isinstance(entry.get("uptime"), int) else None,
        blocked=bool(entry.get("blocked", False)),
    )


def device_row_from_controller(entry: dict[str, Any]) -> DeviceRow:
    """A controller `stat/device` entry as a DeviceRow."""
    state = entry.get("state")
    return DeviceRow(
        mac=str(entry.get("mac", "")),
        name=entry.get("name"),
        model=entry.get("model"),
        type=entry.get("type"),
        ip=entry.get("ip"),
        version=entry.get("version"),
        state=DEVICE_STATES.get(state, str(state)) if isinstance(state, int) else None,
        uptime_s=entry.get("uptime") if isinstance(entry.get("uptime"), int) else None,
    )
