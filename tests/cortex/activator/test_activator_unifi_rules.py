"""Keyword rules for network requests: which layer and action, with the MAC extracted and validated."""

from __future__ import annotations

import pytest

from cortex.activator.tiers.unifi_rules import UnifiRequestError, match_unifi_request
from cortex.layers.client import LayerCall
from cortex.layers.unifi_model import normalize_mac


@pytest.mark.parametrize(
    ("text", "route", "call"),
    [
        (
            "block the client with MAC aa:bb:cc:dd:ee:ff",
            "unifi.block_client",
            LayerCall("unifi-api", "block_client", {"mac": "aa:bb:cc:dd:ee:ff"}),
        ),
        (
            "Please block device AA-BB-CC-DD-EE-FF now",
            "unifi.block_client",
            LayerCall("unifi-api", "block_client", {"mac": "aa:bb:cc:dd:ee:ff"}),
        ),
        (
            "Block the client (mac aa:bb:cc:dd:ee:ff).",
            "unifi.block_client",
            LayerCall("unifi-api", "block_client", {"mac": "aa:bb:cc:dd:ee:ff"}),
        ),
        (
            "unblock the client aabb.ccdd.eeff",
            "unifi.unblock_client",
            LayerCall("unifi-api", "unblock_client", {"mac": "aa:bb:cc:dd:ee:ff"}),
        ),
        (
            "reboot the access point f0:9f:c2:00:00:02",
            "unifi.restart_device",
            LayerCall("unifi-api", "restart_device", {"mac": "f0:9f:c2:00:00:02"}),
        ),
        ("show me the wifi clients", "unifi.list_clients", LayerCall("unifi-api", "list_clients", {})),
        ("list the unifi devices", "unifi.list_devices", LayerCall("unifi-api", "list_devices", {})),
        ("show the gateway logs", "unifi.device_logs", LayerCall("unifi-ssh", "get_logs", {})),
    ],
)
def test_network_requests_route_to_the_unifi_layers(text: str, route: str, call: LayerCall) -> None:
    match = match_unifi_request(text)
    assert match is not None
    assert (match.route, match.call) == (route, call)
    assert match.requires_confirmation == (call.action == "restart_device")


@pytest.mark.parametrize(
    "text",
    [
        "list pods in namespace shop",
        "restart the deployment web",
        "scale deployment api to 3",
        "show logs of pod web-1",
        "restart pod web-1",
    ],
)
def test_cluster_requests_are_left_alone(text: str) -> None:
    assert match_unifi_request(text) is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("block the client", "needs the MAC address"),
        ("block the client with MAC aa:bb:cc:dd:ee", "not a MAC"),
        ("block the client with MAC aa:bb:cc:dd:ee:gg", "not a MAC"),
        ("block the client ff:ff:ff:ff:ff:ff", "broadcast"),
        ("block client 00:00:00:00:00:00", "all-zero"),
        ("block clients aa:bb:cc:dd:ee:ff and aa:bb:cc:dd:ee:01", "2 MAC addresses"),
    ],
)
def test_bad_or_missing_macs_are_explained(text: str, fragment: str) -> None:
    with pytest.raises(UnifiRequestError, match=fragment):
        match_unifi_request(text)


def test_mac_normalisation() -> None:
    assert normalize_mac(" AA:BB:CC:DD:EE:FF ") == "aa:bb:cc:dd:ee:ff"
    assert normalize_mac("aabbccddeeff") == "aa:bb:cc:dd:ee:ff"
    with pytest.raises(ValueError, match="not a MAC"):
        normalize_mac("aa:bb-cc:dd:ee:ff")
