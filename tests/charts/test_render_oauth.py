"""The k3s-mcp chart's OAuth resource server values (oauth.*, server.resourceUrl): what they render, validated
strictly, refused when the server could not start or could not verify its callers, and read back by the server's
own settings and Host policy (so a misspelt variable or a Host the guard refuses fails here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from k3s_mcp.http_origin import HostPolicy, parse_authority
from k3s_mcp.settings import Settings
from tests.charts.helm_cli import Helm, HelmFailed, schema_errors

pytestmark = pytest.mark.helm

ISSUER = "https://id.example.com/"
RESOURCE_URL = "https://k3s-mcp.example.com"
OAUTH = [f"oauth.issuer={ISSUER}", "auth.enabled=false", f"server.resourceUrl={RESOURCE_URL}"]
OAUTH_VARIABLES = {
    "K3S_MCP_OAUTH_ISSUER",
    "K3S_MCP_OAUTH_AUDIENCE",
    "K3S_MCP_OAUTH_JWKS_URL",
    "K3S_MCP_OAUTH_SCOPES_CLAIM",
    "K3S_MCP_OAUTH_ALGORITHM",
    "K3S_MCP_RESOURCE_URL",
}
SERVICE_MONITOR = ("monitoring.coreos.com/v1", "ServiceMonitor")


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def server_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    container: dict[str, Any] = by_kind(objects, "Deployment")["r-k3s-mcp"]["spec"]["template"]["spec"]["containers"][0]
    return container


def env_names(objects: list[dict[str, Any]]) -> set[str]:
    return {entry["name"] for entry in server_container(objects)["env"]}


def server_settings(objects: list[dict[str, Any]]) -> Settings:
    """The server's settings from the rendered env (only the plain K3S_ values, by their environment names)."""
    return Settings.model_validate(
        {
            entry["name"]: entry["value"]
            for entry in server_container(objects)["env"]
            if entry["name"].startswith("K3S_") and "value" in entry
        }
    )


def lint(helm: Helm, chart: Path, settings: list[str]) -> tuple[int, str]:
    result = helm.run("lint", "--strict", str(chart), *[f"--set={setting}" for setting in settings])
    return result.returncode, result.stdout + result.stderr


def test_defaults_set_no_oauth_variable(helm: Helm, charts: dict[str, Path]) -> None:
    objects = helm.template(charts["k3s-mcp"])
    names = env_names(objects)
    assert not OAUTH_VARIABLES & names
    assert "K3S_MCP_AUTH_TOKEN" in names
    settings = server_settings(objects)
    assert (settings.oauth_issuer, settings.resource_url, settings.oauth_algorithm) == ("", "", "RS256")


def test_oauth_with_only_the_required_values_leaves_the_rest_to_the_server(helm: Helm, charts: dict[str, Path]) -> None:
    objects = helm.template(charts["k3s-mcp"], settings=OAUTH)
    assert OAUTH_VARIABLES & env_names(objects) == {"K3S_MCP_OAUTH_ISSUER", "K3S_MCP_RESOURCE_URL"}
    settings = server_settings(objects)
    assert (settings.oauth_issuer, settings.resource_url) == (ISSUER, RESOURCE_URL)
    assert (settings.oauth_audience, settings.oauth_jwks_url, settings.oauth_scopes_claim) == ("", "", "")
    assert settings.oauth_algorithm == "RS256"


@pytest.mark.parametrize("kubernetes_version", ["1.33.0", "1.37.0"])
def test_oauth_sets_every_variable_and_no_shared_token(
    helm: Helm, charts: dict[str, Path], kubernetes_version: str
) -> None:
    values = [
        *OAUTH,
        "oauth.audience=https://k3s-mcp.example.com/mcp\\,k3s-mcp",
        "oauth.jwksUrl=https://id.example.com/.well-known/jwks.json",
        "oauth.scopesClaim=scp",
        "oauth.algorithm=ES256",
        "rbac.impersonation.enabled=true",
        "metrics.enabled=true",
    ]
    code, output = lint(helm, charts["k3s-mcp"], values)
    assert code == 0, output
    objects = helm.template(charts["k3s-mcp"], settings=values)
    assert schema_errors(objects, kubernetes_version) == []
    names = env_names(objects)
    assert names >= OAUTH_VARIABLES
    assert "K3S_MCP_AUTH_TOKEN" not in names
    assert by_kind(objects, "Secret") == {}
    settings = server_settings(objects)
    assert settings.auth_token is None
    assert settings.oauth_issuer == ISSUER
    assert settings.oauth_audience == "https://k3s-mcp.example.com/mcp,k3s-mcp"
    assert settings.oauth_jwks_url == "https://id.example.com/.well-known/jwks.json"
    assert settings.oauth_scopes_claim == "scp"
    assert settings.oauth_algorithm == "ES256"
    assert settings.resource_url == RESOURCE_URL
    assert settings.impersonate is True
    # The helm test pod has no token to send either; it checks the 401 challenge and the resource metadata.
    [test_pod] = by_kind(objects, "Pod").values()
    [test_container] = test_pod["spec"]["containers"]
    assert "env" not in test_container
    assert "/.well-known/oauth-protected-resource" in test_container["command"][-1]


def test_the_resource_url_host_is_an_allowed_host(helm: Helm, charts: dict[str, Path]) -> None:
    objects = helm.template(charts["k3s-mcp"], settings=[*OAUTH, "server.resourceUrl=https://mcp.example.com:8443/"])
    settings = server_settings(objects)
    policy = HostPolicy.build(
        "0.0.0.0",
        settings.allowed_hosts,
        "",
        hosts_setting="K3S_MCP_ALLOWED_HOSTS",
        origins_setting="K3S_MCP_ALLOWED_ORIGINS",
    )
    public, stranger = parse_authority("mcp.example.com:8443"), parse_authority("evil.example")
    assert public is not None and stranger is not None
    assert policy.host_allowed(public, 443) and not policy.host_allowed(stranger, 443)


def test_oauth_notes_name_the_issuer_and_the_metadata(helm: Helm, charts: dict[str, Path]) -> None:
    arguments = ["install", "r", str(charts["k3s-mcp"]), "--dry-run=client", "--namespace", "cortex-system"]
    notes = helm.check(*arguments, *[f"--set={setting}" for setting in OAUTH]).split("NOTES:", 1)[1]
    assert f"JWT from {ISSUER}" in notes
    assert f"audience {RESOURCE_URL}/mcp" in notes
    assert f"{RESOURCE_URL}/.well-known/oauth-protected-resource/mcp" in notes
    assert "get secret" not in notes


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        (
            [f"oauth.issuer={ISSUER}", f"server.resourceUrl={RESOURCE_URL}"],
            r"oauth\.issuer is set together with auth\.enabled=true: .*set auth\.enabled=false",
        ),
        (
            [f"oauth.issuer={ISSUER}", "auth.enabled=false"],
            r"oauth\.issuer needs server\.resourceUrl: .*K3S_MCP_RESOURCE_URL",
        ),
        (
            ["rbac.impersonation.enabled=true"],
            r"rbac\.impersonation\.enabled=true needs oauth\.issuer: .*verified OAuth access token",
        ),
        (
            ["rbac.impersonation.enabled=true", "auth.enabled=false"],
            r"rbac\.impersonation\.enabled=true needs oauth\.issuer",
        ),
        (
            [*OAUTH, "metrics.enabled=true", "metrics.serviceMonitor.enabled=true", "metrics.requireToken=true"],
            r"metrics\.requireToken=true with oauth\.issuer .*cannot obtain; set metrics\.requireToken=false",
        ),
    ],
)
def test_combinations_the_server_cannot_serve_are_refused(
    helm: Helm, charts: dict[str, Path], settings: list[str], complaint: str
) -> None:
    # helm lint only logs a template's fail; template and install stop on it.
    with pytest.raises(HelmFailed, match=complaint):
        helm.template(charts["k3s-mcp"], settings=settings)
    arguments = ["install", "r", str(charts["k3s-mcp"]), "--dry-run=client", "--namespace", "cortex-system"]
    with pytest.raises(HelmFailed, match=complaint):
        helm.check(*arguments, *[f"--set={setting}" for setting in settings])


def test_oauth_metrics_without_the_service_monitor_may_require_a_token(helm: Helm, charts: dict[str, Path]) -> None:
    objects = helm.template(charts["k3s-mcp"], settings=[*OAUTH, "metrics.enabled=true", "metrics.requireToken=true"])
    assert server_settings(objects).metrics_require_token is True
    assert SERVICE_MONITOR not in {(o["apiVersion"], o["kind"]) for o in objects}


@pytest.mark.parametrize(
    ("setting", "complaint"),
    [
        ("oauth.issuer=id.example.com", "/oauth/issuer"),
        ("oauth.issuer=true", "/oauth/issuer"),
        ("oauth.issuer=https://id.example.com/ realm", "/oauth/issuer"),
        ("oauth.audience=a b", "/oauth/audience"),
        ("oauth.audience={a,b}", "/oauth/audience"),
        ("oauth.jwksUrl=ftp://id.example.com/keys", "/oauth/jwksUrl"),
        ("oauth.scopesClaim=1", "/oauth/scopesClaim"),
        ("oauth.algorithm=RS 256", "/oauth/algorithm"),
        ("oauth.clientSecret=x", "/oauth"),
        ("server.resourceUrl=https://k3s-mcp.example.com/mcp", "/server/resourceUrl"),
        ("server.resourceUrl=k3s-mcp.example.com", "/server/resourceUrl"),
        ("server.resourceUrl=8443", "/server/resourceUrl"),
    ],
)
def test_wrong_values_fail_lint_and_template(helm: Helm, charts: dict[str, Path], setting: str, complaint: str) -> None:
    helm.assert_value_refused(charts["k3s-mcp"], setting, complaint)
