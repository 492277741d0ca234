"""The commands the charts' containers run are accepted by the project's own command lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cortex.layers.cli import parse_args as parse_layer_arguments
from k3s_mcp.cli import parse_arguments as parse_server_arguments
from tests.charts.helm_cli import Helm, pod_specs

pytestmark = pytest.mark.helm


def commands(helm: Helm, chart: Path) -> dict[str, list[str]]:
    """Command of every main container of the chart's workloads, by owner."""
    found = {}
    for owner, spec in pod_specs(helm.template(chart)):
        container = spec["containers"][0]
        if owner.startswith(("Deployment/", "StatefulSet/")) and "command" in container:
            found[owner] = container["command"]
    return found


def test_server_command_parses(helm: Helm, charts: dict[str, Path]) -> None:
    (command,) = commands(helm, charts["k3s-mcp"]).values()
    assert command[0] == "k3s-mcp-server"
    parsed = parse_server_arguments(command[1:])
    assert (parsed.transport, parsed.host, parsed.port, parsed.path) == ("http", "0.0.0.0", 8000, "/mcp")


def test_layer_commands_parse(helm: Helm, charts: dict[str, Path]) -> None:
    found = commands(helm, charts["cortex"])
    layers = {}
    for owner, command in found.items():
        if command[:3] == ["python", "-m", "cortex.layers.cli"]:
            parsed = parse_layer_arguments(command[3:])
            assert (parsed.host, parsed.port) == ("0.0.0.0", 8080), owner
            layers[owner] = parsed.layer
    assert layers == {
        "Deployment/r-cortex-unifi-api": "unifi-api",
        "Deployment/r-cortex-unifi-ssh": "unifi-ssh",
        "Deployment/r-cortex-telemetry": "telemetry",
    }


def test_activator_command_is_a_real_subcommand(helm: Helm, charts: dict[str, Path]) -> None:
    command = commands(helm, charts["cortex"])["Deployment/r-cortex-activator"]
    assert command[:2] == ["cortex", "serve"]
    # `--help` after the real arguments: argparse checks the subcommand and options first, then prints help.
    result = subprocess.run(
        [sys.executable, "-m", "cortex.cli", *command[1:], "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "--port" in result.stdout
