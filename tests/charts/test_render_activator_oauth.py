"""The cortex chart's activator as an OAuth client of k3s-mcp (activator.mcpServer.oauth.*): what it renders, read
back by the activator's own settings, and the values it refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cortex.activator.settings import ActivatorSettings
from tests.charts.helm_cli import Helm, HelmFailed

pytestmark = pytest.mark.helm

TOKEN_URL = "https://id.example.com/oauth2/token"
SUBCHART_OAUTH = ["mcp.oauth.issuer=https://id.example.com/", "mcp.auth.enabled=false"]
SUBCHART_OAUTH += ["mcp.server.resourceUrl=https://k3s-mcp.example.com"]
ACTIVATOR_OAUTH = [
    f"activator.mcpServer.oauth.tokenUrl={TOKEN_URL}",
    "activator.mcpServer.oauth.clientId=cortex-activator",
    "activator.mcpServer.oauth.clientSecret.name=activator-oauth",
]


def activator_env(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for obj in objects:
        if obj["kind"] == "Deployment" and obj["metadata"]["name"].endswith("activator"):
            env: list[dict[str, Any]] = obj["spec"]["template"]["spec"]["containers"][0]["env"]
            return env
    raise AssertionError("no activator Deployment rendered")


def test_oauth_values_give_the_activator_client_credentials_and_no_shared_token(
    helm: Helm, charts: dict[str, Path]
) -> None:
    env = activator_env(helm.template(charts["cortex"], settings=[*SUBCHART_OAUTH, *ACTIVATOR_OAUTH]))
    by_name = {entry["name"]: entry for entry in env}
    assert "CORTEX_MCP_TOKEN" not in by_name
    assert by_name["CORTEX_MCP_OAUTH_TOKEN_URL"]["value"] == TOKEN_URL
    assert by_name["CORTEX_MCP_OAUTH_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"] == {
        "name": "activator-oauth",
        "key": "client-secret",
    }
    # The activator's own settings accept what the chart rendered (the secret as the kubelet would fill it in).
    plain = {
        entry["name"]: entry["value"] for entry in env if entry["name"].startswith("CORTEX_MCP") and "value" in entry
    }
    settings = ActivatorSettings.model_validate(
        {key.removeprefix("CORTEX_").lower(): value for key, value in plain.items()}
        | {"mcp_oauth_client_secret": "from-the-secret"}
    )
    credentials = settings.mcp_credentials()
    assert credentials is not None and credentials.audience == (settings.mcp_url,)
    assert credentials.scopes == ("k3s:read", "k3s:write", "k3s:destructive")


def test_without_oauth_values_the_shared_token_stays(helm: Helm, charts: dict[str, Path]) -> None:
    names = {entry["name"] for entry in activator_env(helm.template(charts["cortex"]))}
    assert "CORTEX_MCP_TOKEN" in names and not any(name.startswith("CORTEX_MCP_OAUTH") for name in names)


def test_a_token_url_without_its_client_secret_is_refused(helm: Helm, charts: dict[str, Path]) -> None:
    with pytest.raises(HelmFailed, match=r"clientSecret\.name"):
        helm.template(charts["cortex"], settings=[*SUBCHART_OAUTH, *ACTIVATOR_OAUTH[:2]])


@pytest.mark.parametrize(
    "setting",
    [
        "activator.mcpServer.oauth.tokenUrl=http://id.example.com/token",
        "activator.mcpServer.oauth.tokenUrl=https://user:pass@id.example.com/token",
        "activator.mcpServer.oauth.scopes=k3s:read\\,$(rm -rf /)",
    ],
)
def test_unsafe_oauth_values_fail_lint_and_template(helm: Helm, charts: dict[str, Path], setting: str) -> None:
    helm.assert_value_refused(charts["cortex"], setting, "/activator/mcpServer/oauth/")
