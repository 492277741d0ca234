"""The activator and the cortex chart agree: layer names KEDA scales on, env vars, and container commands."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from cortex.activator.metrics import ActivatorMetrics
from cortex.activator.settings import ActivatorSettings
from cortex.cli import main as cortex_main
from cortex.layers import names
from cortex.layers.settings import LayerClientSettings
from tests.charts.helm_cli import Helm, stage_charts

pytestmark = pytest.mark.helm

QUERY = re.compile(r'^sum\(cortex_activator_pending_requests\{layer="(?P<layer>[^"]+)"\}\)$')


@pytest.fixture(scope="module")
def cortex_chart(tmp_path_factory: pytest.TempPathFactory) -> tuple[Helm, Path]:
    helm = Helm.pinned()
    return helm, stage_charts(tmp_path_factory.mktemp("charts"), helm)["cortex"]


def activator_env(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    (deployment,) = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("activator")]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return {entry["name"]: entry for entry in container["env"]}


def test_layer_names_are_the_scaledobject_queries(cortex_chart: tuple[Helm, Path]) -> None:
    helm, chart = cortex_chart
    objects = helm.template(chart)
    queried = []
    for scaled in (o for o in objects if o["kind"] == "ScaledObject"):
        (trigger,) = scaled["spec"]["triggers"]
        match = QUERY.match(trigger["metadata"]["query"])
        assert match, trigger["metadata"]["query"]
        queried.append(match["layer"])
    assert sorted(queried) == sorted(names.SCALED_LAYERS)
    # Every layer KEDA reads has a series at 0 from start-up, and nothing else is named like a layer.
    exposition = ActivatorMetrics().exposition().decode()
    exported = set(re.findall(r'cortex_activator_pending_requests\{layer="([^"]+)"\} 0\.0', exposition))
    assert exported == set(names.GAUGED_LAYERS) and set(names.SCALED_LAYERS) <= exported


@pytest.mark.parametrize(
    "settings",
    [
        # KEDA on: the reasoning layers are woken by KEDA, the activator must not scale them.
        ["activator.mcpServer.tokenSecret.name=mcp-token"],
        # KEDA off: the activator wakes the reasoning Deployments itself.
        ["keda.enabled=false", "activator.mcpServer.tokenSecret.name=mcp-token"],
    ],
    ids=["keda", "no-keda"],
)
def test_every_cortex_env_var_of_the_activator_is_a_setting(
    cortex_chart: tuple[Helm, Path], settings: list[str]
) -> None:
    helm, chart = cortex_chart
    env = activator_env(helm.template(chart, settings=settings))
    known = {f"CORTEX_{name.upper()}" for name in ActivatorSettings.model_fields} | {
        f"CORTEX_LAYERS_{name.upper()}" for name in LayerClientSettings.model_fields
    }
    cortex_vars = {name for name in env if name.startswith("CORTEX_")}
    assert cortex_vars - known == set()
    expected = {
        "CORTEX_MCP_URL",
        "CORTEX_MCP_TOKEN",
        "CORTEX_QDRANT_URL",
        "CORTEX_CLASSIFIER_URL",
        "CORTEX_CLASSIFIER_MODEL",
        "CORTEX_REASONING_URL",
        "CORTEX_REASONING_MODEL",
        "CORTEX_LAYERS_NAMESPACE",
        "CORTEX_LAYERS_UNIFI_API_URL",
        "CORTEX_LAYERS_UNIFI_SSH_URL",
        "CORTEX_LAYERS_TELEMETRY_URL",
        "CORTEX_LAYERS_TOKEN",
        "CORTEX_API_TOKEN",
        "CORTEX_ALLOWED_HOSTS",
    }
    if "keda.enabled=false" in settings:
        expected |= {"CORTEX_CLASSIFIER_DEPLOYMENT", "CORTEX_REASONING_DEPLOYMENT"}
    assert cortex_vars == expected
    assert env["CORTEX_MCP_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "mcp-token"
    assert env["CORTEX_API_TOKEN"]["valueFrom"]["secretKeyRef"]["key"]


def test_the_chart_values_load_into_the_settings(
    cortex_chart: tuple[Helm, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rendered plain values (secrets stood in for) parse as the settings the activator reads."""
    helm, chart = cortex_chart
    env = activator_env(helm.template(chart, settings=["keda.enabled=false"]))
    for name in [n for n in os.environ if n.startswith("CORTEX_")]:
        monkeypatch.delenv(name)
    for name, entry in env.items():
        if name.startswith("CORTEX_"):
            monkeypatch.setenv(name, entry.get("value", f"secret-of-{name.lower()}"))
    activator = ActivatorSettings()
    layers = LayerClientSettings()
    assert activator.mcp_url == env["CORTEX_MCP_URL"]["value"]
    assert activator.mcp_token is not None and activator.mcp_token.get_secret_value() == "secret-of-cortex_mcp_token"
    assert activator.classifier_deployment == "r-cortex-reasoning-classifier"
    assert activator.layers_namespace == "cortex-system"
    assert layers.unifi_api_url == "http://r-cortex-unifi-api.cortex-system.svc:8080"
    assert layers.telemetry_url == "http://r-cortex-telemetry.cortex-system.svc:8080"
    assert layers.token is not None


def test_layer_commands_of_the_chart_run_through_cortex_layer_too(
    cortex_chart: tuple[Helm, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Each layer's `python -m cortex.layers.cli <layer> ...` has a `cortex layer <layer> ...` twin."""
    helm, chart = cortex_chart
    layers = []
    for obj in helm.template(chart):
        if obj["kind"] != "Deployment":
            continue
        command = obj["spec"]["template"]["spec"]["containers"][0].get("command", [])
        if command[:3] == ["python", "-m", "cortex.layers.cli"]:
            layers.append(command[3])
            with pytest.raises(SystemExit) as exit_info:
                cortex_main(["layer", *command[3:], "--help"])
            assert exit_info.value.code == 0
            assert "--port" in capsys.readouterr().out
    assert sorted(layers) == ["telemetry", "unifi-api", "unifi-ssh"]
    assert set(layers) <= set(names.SERVED_LAYERS)
