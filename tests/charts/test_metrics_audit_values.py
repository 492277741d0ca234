"""The k3s-mcp chart's metrics.* and audit.* values: what they render, validated strictly, and read back by the
server's own settings and Host policy (so a misspelt variable or a Host the guard refuses fails here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from k3s_mcp.http_origin import HostPolicy, parse_authority
from k3s_mcp.settings import Settings
from tests.charts.helm_cli import Helm, HelmFailed, schema_errors

pytestmark = pytest.mark.helm

SERVICE_MONITOR = ("monitoring.coreos.com/v1", "ServiceMonitor")
POD_IP = "10.42.1.17"


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def server_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    container: dict[str, Any] = by_kind(objects, "Deployment")["r-k3s-mcp"]["spec"]["template"]["spec"]["containers"][0]
    return container


def env_values(objects: list[dict[str, Any]]) -> dict[str, str]:
    """The container's plain env values, as the kubelet gives them: $(POD_IP) expanded to an address."""
    values = {}
    for entry in server_container(objects)["env"]:
        if "value" in entry:
            values[entry["name"]] = entry["value"].replace("$(POD_IP)", POD_IP)
    return values


def server_settings(objects: list[dict[str, Any]]) -> Settings:
    """The server's settings from the rendered env (only the K3S_ variables, by their environment names)."""
    return Settings.model_validate(
        {name: value for name, value in env_values(objects).items() if name.startswith("K3S_")}
    )


def test_defaults_audit_to_stderr_and_add_no_scrape(helm: Helm, charts: dict[str, Path]) -> None:
    objects = helm.template(charts["k3s-mcp"])
    settings = server_settings(objects)
    assert settings.audit_log == "stderr" and settings.metrics_require_token is False
    annotations = by_kind(objects, "Deployment")["r-k3s-mcp"]["spec"]["template"]["metadata"].get("annotations", {})
    assert not [key for key in annotations if key.startswith("prometheus.io/")]
    assert "POD_IP" not in {entry["name"] for entry in server_container(objects)["env"]}
    assert SERVICE_MONITOR not in {(o["apiVersion"], o["kind"]) for o in objects}
    [policy] = by_kind(objects, "NetworkPolicy").values()
    assert len(policy["spec"]["ingress"]) == 1


@pytest.mark.parametrize("kubernetes_version", ["1.33.0", "1.37.0"])
def test_metrics_enabled_annotates_allows_the_pod_ip_and_admits_prometheus(
    helm: Helm, charts: dict[str, Path], kubernetes_version: str
) -> None:
    settings = ["metrics.enabled=true", "podAnnotations.team=ops"]
    lint = helm.run("lint", "--strict", str(charts["k3s-mcp"]), *[f"--set={s}" for s in settings])
    assert lint.returncode == 0, lint.stdout + lint.stderr
    objects = helm.template(charts["k3s-mcp"], settings=settings)
    assert schema_errors(objects, kubernetes_version) == []
    template = by_kind(objects, "Deployment")["r-k3s-mcp"]["spec"]["template"]
    assert template["metadata"]["annotations"] == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "8000",
        "prometheus.io/path": "/metrics",
        "team": "ops",
    }
    env = server_container(objects)["env"]
    names = [entry["name"] for entry in env]
    # $(POD_IP) expands only from a variable declared before the one that uses it.
    assert names.index("POD_IP") < names.index("K3S_MCP_ALLOWED_HOSTS")
    assert env[names.index("POD_IP")]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    # The server's own Host guard, built from the rendered setting, accepts a scrape of the pod IP and still
    # refuses a stranger.
    allowed = server_settings(objects).allowed_hosts
    policy = HostPolicy.build(
        "0.0.0.0", allowed, "", hosts_setting="K3S_MCP_ALLOWED_HOSTS", origins_setting="K3S_MCP_ALLOWED_ORIGINS"
    )
    scrape, stranger = parse_authority(f"{POD_IP}:8000"), parse_authority("evil.example")
    assert scrape is not None and stranger is not None
    assert policy.host_allowed(scrape, 80) and not policy.host_allowed(stranger, 80)
    [network_policy] = by_kind(objects, "NetworkPolicy").values()
    prometheus_rule = network_policy["spec"]["ingress"][1]
    assert prometheus_rule["ports"] == [{"port": 8000, "protocol": "TCP"}]
    assert prometheus_rule["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "monitoring"
    }


def test_service_monitor_scrapes_the_service_port_with_the_token(helm: Helm, charts: dict[str, Path]) -> None:
    settings = [
        "metrics.enabled=true",
        "metrics.serviceMonitor.enabled=true",
        "metrics.serviceMonitor.labels.release=kube-prometheus-stack",
        "metrics.requireToken=true",
    ]
    objects = helm.template(charts["k3s-mcp"], settings=settings)
    builtin = [o for o in objects if (o["apiVersion"], o["kind"]) != SERVICE_MONITOR]
    assert schema_errors(builtin, "1.37.0") == []
    [monitor] = [o for o in objects if (o["apiVersion"], o["kind"]) == SERVICE_MONITOR]
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    service = by_kind(objects, "Service")["r-k3s-mcp"]
    # The selector finds the chart's Service, in its namespace, by a port name the Service has.
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [service["metadata"]["namespace"]]}
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}
    assert (endpoint["path"], endpoint["interval"], endpoint["scrapeTimeout"]) == ("/metrics", "30s", "10s")
    secret = by_kind(objects, "Secret")["r-k3s-mcp"]
    credentials = endpoint["authorization"]["credentials"]
    assert endpoint["authorization"]["type"] == "Bearer"
    assert credentials["name"] == secret["metadata"]["name"] and credentials["key"] in secret["data"]
    assert server_settings(objects).metrics_require_token is True


def test_service_monitor_without_metrics_enabled_is_refused(helm: Helm, charts: dict[str, Path]) -> None:
    with pytest.raises(HelmFailed, match=r"metrics\.serviceMonitor\.enabled=true needs metrics\.enabled=true"):
        helm.template(charts["k3s-mcp"], settings=["metrics.serviceMonitor.enabled=true"])


def test_audit_to_a_file_on_an_emptydir_sized_for_its_backups(helm: Helm, charts: dict[str, Path]) -> None:
    settings = ["audit.destination=file", "audit.maxBytes=2000000", "audit.backups=3"]
    objects = helm.template(charts["k3s-mcp"], settings=settings)
    assert schema_errors(objects, "1.37.0") == []
    server = server_settings(objects)
    assert (server.audit_log, server.audit_max_bytes, server.audit_backups) == (
        "/var/log/k3s-mcp/audit.log",
        2_000_000,
        3,
    )
    container = server_container(objects)
    mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
    assert mounts["audit"] == str(Path(server.audit_log).parent)
    volumes = {
        volume["name"]: volume
        for volume in by_kind(objects, "Deployment")["r-k3s-mcp"]["spec"]["template"]["spec"]["volumes"]
    }
    # The current file, three backups and one more while a rotation renames them.
    assert volumes["audit"]["emptyDir"]["sizeLimit"] == str(2_000_000 * 5)


def test_audit_off_sets_no_destination(helm: Helm, charts: dict[str, Path]) -> None:
    objects = helm.template(charts["k3s-mcp"], settings=["audit.destination=off"])
    assert server_settings(objects).audit_log == ""
    assert "K3S_AUDIT_LOG" not in env_values(objects)


@pytest.mark.parametrize(
    ("setting", "complaint"),
    [
        ("audit.destination=disk", "/audit/destination"),
        ("audit.maxBytes=-1", "/audit/maxBytes"),
        ("metrics.enabled=maybe", "/metrics/enabled"),
        ("metrics.serviceMonitor.interval=often", "/metrics/serviceMonitor/interval"),
        ("metrics.scrapeFrom[0].podSelector=prometheus", "/metrics/scrapeFrom/0/podSelector"),
    ],
)
def test_wrong_values_fail_lint_and_template(helm: Helm, charts: dict[str, Path], setting: str, complaint: str) -> None:
    helm.assert_value_refused(charts["k3s-mcp"], setting, complaint)


def test_the_http_transport_values_reach_the_servers_settings(helm: Helm, charts: dict[str, Path]) -> None:
    defaults = server_settings(helm.template(charts["k3s-mcp"]))
    assert defaults.http_json_response is False and defaults.http_stateless is False
    objects = helm.template(charts["k3s-mcp"], settings=["server.jsonResponse=true", "server.stateless=true"])
    assert schema_errors(objects, "1.37.0") == []
    settings = server_settings(objects)
    assert settings.http_json_response is True and settings.http_stateless is True


@pytest.mark.parametrize("setting", ["server.jsonResponse=sometimes", "server.stateless=1"])
def test_the_http_transport_values_are_booleans(helm: Helm, charts: dict[str, Path], setting: str) -> None:
    helm.assert_value_refused(charts["k3s-mcp"], setting, "/" + setting.split("=")[0].replace(".", "/"))
