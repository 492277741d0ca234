"""helm lint and helm template of both charts, with strict schema validation of everything they render."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.charts.helm_cli import CHART_NAMES, Helm, HelmFailed, pod_specs, schema_errors, values_files
from tests.charts.memory_budget import quantity_bytes, workloads

pytestmark = pytest.mark.helm

VARIANTS = [(chart, None) for chart in CHART_NAMES] + [
    (chart, path.name) for chart in CHART_NAMES for path in values_files(chart)
]
SCALED_LAYERS = {
    "reasoning-classifier": 1,
    "reasoning-slm": 1,
    "unifi-api": 2,
    "unifi-ssh": 1,
    "cortex-telemetry": 1,
}


def variant_id(variant: tuple[str, str | None]) -> str:
    return f"{variant[0]}-{variant[1] or 'defaults'}"


def files_for(charts: dict[str, Path], chart: str, values_name: str | None) -> list[Path]:
    return [charts[chart] / values_name] if values_name else []


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_both_charts_and_both_values_files_are_covered() -> None:
    for chart in CHART_NAMES:
        names = {path.name for path in values_files(chart)}
        assert names == {"values-k3s-single-node.yaml", "values-ha-7-nodes.yaml"}, chart


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_lint_is_clean(helm: Helm, charts: dict[str, Path], variant: tuple[str, str | None]) -> None:
    chart, values_name = variant
    arguments = ["lint", "--strict", str(charts[chart])]
    for path in files_for(charts, chart, values_name):
        arguments += ["--values", str(path)]
    result = helm.run(*arguments)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("kubernetes_version", ["1.33.0", "1.37.0"])
@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_rendered_manifests_pass_strict_schemas(
    helm: Helm, charts: dict[str, Path], variant: tuple[str, str | None], kubernetes_version: str
) -> None:
    chart, values_name = variant
    objects = helm.template(charts[chart], files_for(charts, chart, values_name))
    assert len(objects) >= 5
    assert schema_errors(objects, kubernetes_version) == []


@pytest.mark.parametrize(
    ("chart", "setting", "complaint"),
    [
        ("k3s-mcp", "replicaCount=two", "/replicaCount"),
        ("k3s-mcp", "rbac.preset=admin", "/rbac/preset"),
        ("cortex", "keda.pollingInterval=soon", "/keda/pollingInterval"),
        ("cortex", "qdrant.persistence.size=lots", "/qdrant/persistence/size"),
        ("cortex", "activator.replicas=0", "/activator/replicas"),
        ("cortex", "mcp.replicaCount=two", "/replicaCount"),
        ("k3s-mcp", "networkPolicy.enabled=maybe", "/networkPolicy/enabled"),
        ("k3s-mcp", "networkPolicy.extraFrom[0].podSelector=web", "/networkPolicy/extraFrom/0/podSelector"),
        ("k3s-mcp", "networkPolicy.egress.restrict=yes", "/networkPolicy/egress/restrict"),
        ("k3s-mcp", "networkPolicy.egress.apiServer.cidrs={10.0.0.1}", "/networkPolicy/egress/apiServer/cidrs/0"),
        ("cortex", "networkPolicy.allowedNamespaces=apps", "/networkPolicy/allowedNamespaces"),
        ("cortex", "networkPolicy.prometheus.from[0].podSelector.matchLabels.app=1", "/networkPolicy/prometheus"),
        ("cortex", "activator.apiToken.existingSecret=5", "/activator/apiToken/existingSecret"),
        ("cortex", "activator.apiToken.secretKey=", "/activator/apiToken/secretKey"),
        ("cortex", "mcp.networkPolicy.enabled=maybe", "/networkPolicy/enabled"),
        ("k3s-mcp", "server.allowedHosts=a.example", "/server/allowedHosts"),
        ("cortex", "activator.allowedHosts={a b}", "/activator/allowedHosts/0"),
        ("cortex", "activator.allowPodIPHost=no", "/activator/allowPodIPHost"),
        ("cortex", "telemetry.allowedHosts={a b}", "/telemetry/allowedHosts/0"),
        ("cortex", "unifiApi.allowedHosts=a.example", "/unifiApi/allowedHosts"),
        ("cortex", "unifiSsh.allowPodIPHost=no", "/unifiSsh/allowPodIPHost"),
    ],
)
def test_wrong_value_fails_lint_and_template(
    helm: Helm, charts: dict[str, Path], chart: str, setting: str, complaint: str
) -> None:
    helm.assert_value_refused(charts[chart], setting, complaint)


def test_model_from_pvc_without_a_claim_is_refused(helm: Helm, charts: dict[str, Path]) -> None:
    with pytest.raises(HelmFailed, match=r"reasoningSlm\.model\.source=pvc needs"):
        helm.template(charts["cortex"], settings=["reasoningSlm.model.source=pvc"])


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_every_pod_is_hardened(helm: Helm, charts: dict[str, Path], variant: tuple[str, str | None]) -> None:
    chart, values_name = variant
    objects = helm.template(charts[chart], files_for(charts, chart, values_name))
    specs = pod_specs(objects)
    assert specs
    for owner, spec in specs:
        pod_security = spec["securityContext"]
        assert pod_security["runAsNonRoot"] is True, owner
        assert pod_security["seccompProfile"]["type"] == "RuntimeDefault", owner
        for container in spec.get("initContainers", []) + spec["containers"]:
            security = container["securityContext"]
            where = f"{owner} container {container['name']}"
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert "memory" in container["resources"]["requests"], where
            assert "memory" in container["resources"]["limits"], where


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_standard_labels_on_every_object(helm: Helm, charts: dict[str, Path], variant: tuple[str, str | None]) -> None:
    chart, values_name = variant
    for obj in helm.template(charts[chart], files_for(charts, chart, values_name)):
        labels = obj["metadata"]["labels"]
        for key in (
            "helm.sh/chart",
            "app.kubernetes.io/name",
            "app.kubernetes.io/instance",
            "app.kubernetes.io/managed-by",
            "app.kubernetes.io/version",
        ):
            assert key in labels, f"{obj['kind']}/{obj['metadata']['name']} lacks {key}"


def test_mcp_server_deployment_serves_streamable_http_with_the_token(helm: Helm, charts: dict[str, Path]) -> None:
    objects = helm.template(charts["k3s-mcp"])
    deployment = by_kind(objects, "Deployment")["r-k3s-mcp"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][:7] == [
        "k3s-mcp-server",
        "--transport",
        "http",
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
    ]
    env = {e["name"]: e for e in container["env"]}
    assert env["K3S_MCP_AUTH_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "r-k3s-mcp", "key": "token"}
    assert env["K3S_READ_ONLY"]["value"] == "true"
    secret = by_kind(objects, "Secret")["r-k3s-mcp"]
    assert len(secret["data"]["token"]) >= 48
    assert container["livenessProbe"] and container["readinessProbe"]
    assert by_kind(objects, "Service")["r-k3s-mcp"]["spec"]["ports"][0]["port"] == 8000
    hooks = [o for o in objects if o["kind"] == "Pod"]
    assert [h["metadata"]["annotations"]["helm.sh/hook"] for h in hooks] == ["test"]


def rbac_verbs(objects: list[dict[str, Any]]) -> set[str]:
    roles = [o for o in objects if o["kind"] in ("ClusterRole", "Role")]
    assert roles
    return {verb for role in roles for rule in role["rules"] for verb in rule["verbs"]}


def test_rbac_presets(helm: Helm, charts: dict[str, Path]) -> None:
    read_only = helm.template(charts["k3s-mcp"])
    assert rbac_verbs(read_only) == {"get", "list", "watch"}
    assert not any(
        "secrets" in rule["resources"] for o in read_only if o["kind"] == "ClusterRole" for rule in o["rules"]
    )

    operator = helm.template(charts["k3s-mcp"], settings=["rbac.preset=operator"])
    assert {"create", "update", "patch", "delete"} <= rbac_verbs(operator)
    rules = [rule for o in operator if o["kind"] == "ClusterRole" for rule in o["rules"]]
    assert any("pods/exec" in rule["resources"] for rule in rules)
    assert any("deployments/scale" in rule["resources"] for rule in rules)
    env = {
        e["name"]: e.get("value")
        for e in by_kind(operator, "Deployment")["r-k3s-mcp"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["K3S_READ_ONLY"] == "false"

    scoped = helm.template(charts["k3s-mcp"], settings=["rbac.clusterWide=false", "rbac.namespaces={apps,web}"])
    assert sorted(o["metadata"]["namespace"] for o in scoped if o["kind"] == "Role") == ["apps", "web"]
    assert not [o for o in scoped if o["kind"] in ("ClusterRole", "ClusterRoleBinding")]


def test_existing_secret_replaces_the_generated_token(helm: Helm, charts: dict[str, Path]) -> None:
    objects = helm.template(charts["k3s-mcp"], settings=["auth.existingSecret=mine", "auth.secretKey=bearer"])
    assert "Secret" not in {o["kind"] for o in objects}
    container = by_kind(objects, "Deployment")["r-k3s-mcp"]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["K3S_MCP_AUTH_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "mine", "key": "bearer"}


def test_cortex_always_on_layers(helm: Helm, charts: dict[str, Path]) -> None:
    objects = helm.template(charts["cortex"])
    deployments = by_kind(objects, "Deployment")
    activator = deployments["r-cortex-activator"]
    assert activator["spec"]["replicas"] == 2
    pod = activator["spec"]["template"]["spec"]
    assert pod["containers"][0]["command"] == ["cortex", "serve", "--host", "0.0.0.0", "--port", "8080"]
    assert pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert quantity_bytes(pod["containers"][0]["resources"]["requests"]["memory"]) == 128 * 1024**2
    probes = pod["containers"][0]
    assert probes["livenessProbe"]["httpGet"]["path"] == "/health"
    assert probes["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert activator["spec"]["template"]["metadata"]["annotations"]["prometheus.io/path"] == "/metrics"
    budget = by_kind(objects, "PodDisruptionBudget")["r-cortex-activator"]
    assert budget["spec"]["minAvailable"] == 1

    qdrant = by_kind(objects, "StatefulSet")["r-cortex-qdrant"]
    assert qdrant["spec"]["replicas"] == 1
    assert qdrant["spec"]["template"]["spec"]["containers"][0]["image"].startswith("qdrant/qdrant:v")
    claim = qdrant["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"


def test_ha_values_require_distinct_nodes(helm: Helm, charts: dict[str, Path]) -> None:
    objects = helm.template(charts["cortex"], [charts["cortex"] / "values-ha-7-nodes.yaml"])
    deployments = by_kind(objects, "Deployment")
    for name in ("r-cortex-activator", "r-mcp"):
        affinity = deployments[name]["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
        assert affinity["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"] == (
            "kubernetes.io/hostname"
        ), name
    assert by_kind(objects, "Service")["r-mcp"]["spec"]["sessionAffinity"] == "ClientIP"


def test_scale_to_zero_layers_have_scaled_objects(helm: Helm, charts: dict[str, Path]) -> None:
    objects = helm.template(charts["cortex"], settings=["keda.pollingInterval=7"])
    deployments = by_kind(objects, "Deployment")
    scaled = by_kind(objects, "ScaledObject")
    assert len(scaled) == len(SCALED_LAYERS)
    for layer, ceiling in SCALED_LAYERS.items():
        name = "r-cortex-" + layer.removeprefix("cortex-")
        spec = scaled[name]["spec"]
        assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert spec["minReplicaCount"] == 0
        assert spec["maxReplicaCount"] == ceiling
        assert spec["cooldownPeriod"] == 300
        assert spec["pollingInterval"] == 7
        (trigger,) = spec["triggers"]
        assert trigger["type"] == "prometheus"
        assert trigger["metadata"]["query"] == f'sum(cortex_activator_pending_requests{{layer="{layer}"}})'
        assert trigger["metadata"]["activationThreshold"] == "0"
        # Offline rendering has no live Deployment to read, so the first-install count applies.
        assert deployments[name]["spec"]["replicas"] == 0


def test_replicas_field_can_be_left_out_entirely(helm: Helm, charts: dict[str, Path]) -> None:
    objects = helm.template(charts["cortex"], settings=["keda.replicasField=omit"])
    deployments = by_kind(objects, "Deployment")
    for layer in SCALED_LAYERS:
        assert "replicas" not in deployments["r-cortex-" + layer.removeprefix("cortex-")]["spec"]
    assert deployments["r-cortex-activator"]["spec"]["replicas"] == 2


def test_without_keda_layers_keep_their_own_count(helm: Helm, charts: dict[str, Path]) -> None:
    objects = helm.template(charts["cortex"], settings=["keda.enabled=false", "unifiApi.replicas=1"])
    assert not by_kind(objects, "ScaledObject")
    deployments = by_kind(objects, "Deployment")
    assert deployments["r-cortex-unifi-api"]["spec"]["replicas"] == 1
    assert deployments["r-cortex-unifi-ssh"]["spec"]["replicas"] == 0
    env = {
        e["name"]: e.get("value")
        for e in deployments["r-cortex-activator"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["CORTEX_CLASSIFIER_DEPLOYMENT"] == "r-cortex-reasoning-classifier"


def test_each_layer_switches_off(helm: Helm, charts: dict[str, Path]) -> None:
    keys = {
        "activator": "r-cortex-activator",
        "qdrant": "r-cortex-qdrant",
        "reasoningClassifier": "r-cortex-reasoning-classifier",
        "reasoningSlm": "r-cortex-reasoning-slm",
        "unifiApi": "r-cortex-unifi-api",
        "unifiSsh": "r-cortex-unifi-ssh",
        "telemetry": "r-cortex-telemetry",
        "mcp": "r-mcp",
    }
    everything = {o["metadata"]["name"] for o in helm.template(charts["cortex"])}
    for key, name in keys.items():
        assert name in everything
        remaining = {
            (o["kind"], o["metadata"]["name"])
            for o in helm.template(charts["cortex"], settings=[f"{key}.enabled=false"])
        }
        assert not any(n == name for _, n in remaining), key


def test_reasoning_layers_fetch_their_model_or_mount_it(helm: Helm, charts: dict[str, Path]) -> None:
    objects = helm.template(charts["cortex"])
    slm = by_kind(objects, "Deployment")["r-cortex-reasoning-slm"]["spec"]["template"]["spec"]
    (fetch,) = slm["initContainers"]
    env = {e["name"]: e["value"] for e in fetch["env"]}
    assert env["MODEL_FILE"] == "Phi-3-mini-4k-instruct-q4.gguf"
    assert env["MODEL_URL"].startswith("https://")
    assert "/models/Phi-3-mini-4k-instruct-q4.gguf" in slm["containers"][0]["args"]
    volumes = {v["name"]: v for v in slm["volumes"]}
    assert volumes["models"]["persistentVolumeClaim"]["claimName"] == "r-cortex-reasoning-slm-models"

    from_claim = helm.template(
        charts["cortex"],
        settings=[
            "reasoningClassifier.model.source=pvc",
            "reasoningClassifier.model.persistence.existingClaim=gguf",
        ],
    )
    classifier = by_kind(from_claim, "Deployment")["r-cortex-reasoning-classifier"]["spec"]["template"]["spec"]
    assert "initContainers" not in classifier
    volumes = {v["name"]: v for v in classifier["volumes"]}
    assert volumes["models"]["persistentVolumeClaim"]["claimName"] == "gguf"
    assert "r-cortex-reasoning-classifier-models" not in by_kind(from_claim, "PersistentVolumeClaim")


def test_idle_and_busy_memory_totals(helm: Helm, charts: dict[str, Path]) -> None:
    found = {w.name: w for w in workloads(helm.template(charts["cortex"]))}
    idle = sum(w.idle_bytes for w in found.values())
    busy = sum(w.busy_bytes for w in found.values())
    # Idle: 2 activators + qdrant + the MCP server, every scale-to-zero layer at zero.
    assert {n for n, w in found.items() if w.idle_replicas} == {
        "r-cortex-activator",
        "r-cortex-qdrant",
        "r-mcp",
    }
    assert idle == 640 * 1024**2, f"idle total changed: {idle / 1024**2} Mi"
    assert busy > idle
    assert found["r-cortex-unifi-api"].busy_replicas == 2


def pod_labels(objects: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Pod template labels of every Deployment and StatefulSet, by workload name."""
    return {
        o["metadata"]["name"]: o["spec"]["template"]["metadata"]["labels"]
        for o in objects
        if o["kind"] in ("Deployment", "StatefulSet")
    }


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a label selector made of matchLabels only matches these labels."""
    assert set(selector) <= {"matchLabels"}, selector
    return all(labels.get(key) == value for key, value in selector.get("matchLabels", {}).items())


def policy_ports(rule: dict[str, Any]) -> list[int]:
    assert all(port["protocol"] == "TCP" for port in rule["ports"]), rule
    return [port["port"] for port in rule["ports"]]


def container_env(objects: list[dict[str, Any]], deployment: str) -> dict[str, dict[str, Any]]:
    container = by_kind(objects, "Deployment")[deployment]["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e for e in container["env"]}


ACTIVATOR_PEER = {
    "podSelector": {
        "matchLabels": {"app.kubernetes.io/part-of": "cortex", "app.kubernetes.io/component": "cortex-activator"}
    }
}


def test_mcp_network_policy_admits_only_the_cortex_activator_by_default(helm: Helm, charts: dict[str, Path]) -> None:
    objects = helm.template(charts["k3s-mcp"])
    policy = by_kind(objects, "NetworkPolicy")["r-k3s-mcp"]["spec"]
    labels = pod_labels(objects)["r-k3s-mcp"]
    assert selects(policy["podSelector"], labels)
    # Ingress only: egress stays open so the server reaches the API server.
    assert policy["policyTypes"] == ["Ingress"] and "egress" not in policy
    (rule,) = policy["ingress"]
    container = by_kind(objects, "Deployment")["r-k3s-mcp"]["spec"]["template"]["spec"]["containers"][0]
    assert policy_ports(rule) == [container["ports"][0]["containerPort"]] == [8000]
    test_pod = {
        "podSelector": {
            "matchLabels": {
                "app.kubernetes.io/name": "k3s-mcp",
                "app.kubernetes.io/instance": "r",
                "app.kubernetes.io/component": "test",
            }
        }
    }
    assert rule["from"] == [ACTIVATOR_PEER, test_pod]
    (hook,) = [o for o in objects if o["kind"] == "Pod"]
    assert selects(test_pod["podSelector"], hook["metadata"]["labels"])

    # The default peer is the activator the cortex chart really deploys (same namespace, as with the subchart).
    cortex = helm.template(charts["cortex"])
    activator_labels = pod_labels(cortex)["r-cortex-activator"]
    assert selects(ACTIVATOR_PEER["podSelector"], activator_labels)
    subchart_rule = by_kind(cortex, "NetworkPolicy")["r-mcp"]["spec"]["ingress"][0]
    assert subchart_rule["from"][0] == ACTIVATOR_PEER
    assert not any(
        selects(ACTIVATOR_PEER["podSelector"], other)
        for name, other in pod_labels(cortex).items()
        if name != "r-cortex-activator"
    )


def test_mcp_network_policy_takes_custom_peers_and_port_and_switches_off(helm: Helm, charts: dict[str, Path]) -> None:
    tools = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "tools"}}}
    agents = {
        "namespaceSelector": {"matchLabels": {"team": "ops"}},
        "podSelector": {"matchLabels": {"app": "agent"}},
    }
    objects = helm.template(
        charts["k3s-mcp"],
        settings=[
            "server.port=9100",
            "networkPolicy.allowFrom[0].podSelector.matchLabels.app=assistant",
            "networkPolicy.extraFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=tools",
            "networkPolicy.extraFrom[1].namespaceSelector.matchLabels.team=ops",
            "networkPolicy.extraFrom[1].podSelector.matchLabels.app=agent",
        ],
    )
    (rule,) = by_kind(objects, "NetworkPolicy")["r-k3s-mcp"]["spec"]["ingress"]
    assert policy_ports(rule) == [9100]
    assert rule["from"][:3] == [{"podSelector": {"matchLabels": {"app": "assistant"}}}, tools, agents]
    assert ACTIVATOR_PEER not in rule["from"]
    assert schema_errors(objects, "1.37.0") == []

    # An empty allow list leaves only the test pod: never an empty `from`, which would admit every source.
    (alone,) = by_kind(helm.template(charts["k3s-mcp"], settings=["networkPolicy.allowFrom=null"]), "NetworkPolicy")[
        "r-k3s-mcp"
    ]["spec"]["ingress"]
    assert [peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for peer in alone["from"]] == ["test"]

    assert "NetworkPolicy" not in {
        o["kind"] for o in helm.template(charts["k3s-mcp"], settings=["networkPolicy.enabled=false"])
    }


def test_mcp_network_policy_can_restrict_egress_to_dns_and_the_api_server(helm: Helm, charts: dict[str, Path]) -> None:
    objects = helm.template(
        charts["k3s-mcp"],
        settings=[
            "networkPolicy.egress.restrict=true",
            "networkPolicy.egress.apiServer.cidrs={10.43.0.1/32,192.168.1.10/32}",
            "networkPolicy.egress.apiServer.ports={6443}",
            "networkPolicy.egress.extraTo[0].to[0].ipBlock.cidr=10.0.0.0/8",
            "networkPolicy.egress.extraTo[0].ports[0].port=443",
        ],
    )
    policy = by_kind(objects, "NetworkPolicy")["r-k3s-mcp"]["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    dns, api_server, extra = policy["egress"]
    assert dns["to"] == [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]
    assert sorted((p["port"], p["protocol"]) for p in dns["ports"]) == [(53, "TCP"), (53, "UDP")]
    assert api_server["to"] == [{"ipBlock": {"cidr": "10.43.0.1/32"}}, {"ipBlock": {"cidr": "192.168.1.10/32"}}]
    assert policy_ports(api_server) == [6443]
    assert extra == {"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"port": 443}]}
    assert schema_errors(objects, "1.37.0") == []

    # Restricted egress without the API server's addresses would cut every tool off: say which value to set.
    with pytest.raises(HelmFailed, match=r"networkPolicy\.egress\.apiServer\.cidrs"):
        helm.template(charts["k3s-mcp"], settings=["networkPolicy.egress.restrict=true"])


INTERNAL_LAYERS = {
    "r-cortex-qdrant": [6333, 6334],
    "r-cortex-reasoning-classifier": [8080],
    "r-cortex-reasoning-slm": [8080],
    "r-cortex-unifi-api": [8080],
    "r-cortex-unifi-ssh": [8080],
    "r-cortex-telemetry": [8080],
}
SCRAPED_LAYERS = {"r-cortex-unifi-api", "r-cortex-unifi-ssh", "r-cortex-telemetry"}
PROMETHEUS_PEER = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
}


def test_cortex_network_policies_let_only_the_activator_reach_the_layers(helm: Helm, charts: dict[str, Path]) -> None:
    objects = helm.template(charts["cortex"])
    policies = by_kind(objects, "NetworkPolicy")
    workloads = pod_labels(objects)
    # Every workload of the release is selected by exactly one policy, its own.
    for name, labels in workloads.items():
        assert [p for p, policy in policies.items() if selects(policy["spec"]["podSelector"], labels)] == [name]

    activator = policies["r-cortex-activator"]["spec"]
    assert activator["policyTypes"] == ["Ingress"]
    clients, scrape = activator["ingress"]
    assert policy_ports(clients) == policy_ports(scrape) == [8080]
    namespaces, test_pod = clients["from"]
    assert namespaces == {
        "namespaceSelector": {
            "matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["cortex-system"]}]
        }
    }
    hook = by_kind(objects, "Pod")["r-cortex-test-services"]
    assert selects(test_pod["podSelector"], hook["metadata"]["labels"])
    assert scrape["from"] == [PROMETHEUS_PEER]

    activator_only = {
        "podSelector": {
            "matchLabels": {
                "app.kubernetes.io/name": "cortex",
                "app.kubernetes.io/instance": "r",
                "app.kubernetes.io/component": "cortex-activator",
            }
        }
    }
    assert selects(activator_only["podSelector"], workloads["r-cortex-activator"])
    services = by_kind(objects, "Service")
    for name, ports in INTERNAL_LAYERS.items():
        policy = policies[name]["spec"]
        assert policy["policyTypes"] == ["Ingress"], name
        first, *rest = policy["ingress"]
        assert policy_ports(first) == ports, name
        service_ports = sorted(p["port"] for p in services[name]["spec"]["ports"])
        assert service_ports == ports, name
        # Qdrant also answers the `helm test` pod, which probes its readiness.
        assert first["from"] == ([activator_only, test_pod] if name == "r-cortex-qdrant" else [activator_only]), name
        assert rest == ([{"ports": first["ports"], "from": [PROMETHEUS_PEER]}] if name in SCRAPED_LAYERS else []), name
        scraped = by_kind(objects, "Deployment").get(name, {}).get("spec", {}).get("template", {})
        annotations = scraped.get("metadata", {}).get("annotations", {})
        assert (annotations.get("prometheus.io/scrape") == "true") == (name in SCRAPED_LAYERS), name


def test_cortex_network_policies_follow_their_values(helm: Helm, charts: dict[str, Path]) -> None:
    objects = helm.template(
        charts["cortex"],
        settings=[
            "networkPolicy.allowedNamespaces={apps,web}",
            "networkPolicy.prometheus.from=null",
            "activator.port=9090",
            "unifiSsh.enabled=false",
        ],
    )
    policies = by_kind(objects, "NetworkPolicy")
    (clients,) = policies["r-cortex-activator"]["spec"]["ingress"]
    assert policy_ports(clients) == [9090]
    expression = clients["from"][0]["namespaceSelector"]["matchExpressions"][0]
    assert expression == {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["apps", "web"]}
    assert all(len(policies[name]["spec"]["ingress"]) == 1 for name in INTERNAL_LAYERS if name in policies)
    assert "r-cortex-unifi-ssh" not in policies
    assert schema_errors(objects, "1.37.0") == []

    off = helm.template(charts["cortex"], settings=["networkPolicy.enabled=false", "mcp.networkPolicy.enabled=false"])
    assert "NetworkPolicy" not in {o["kind"] for o in off}
    # The bundled MCP server's policy is the subchart's own switch.
    only_mcp = by_kind(helm.template(charts["cortex"], settings=["networkPolicy.enabled=false"]), "NetworkPolicy")
    assert set(only_mcp) == {"r-mcp"}


def test_activator_token_comes_from_a_generated_secret_or_an_existing_one(helm: Helm, charts: dict[str, Path]) -> None:
    objects = helm.template(charts["cortex"])
    env = container_env(objects, "r-cortex-activator")
    assert env["CORTEX_API_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "r-cortex-activator-api-token",
        "key": "token",
    }
    secret = by_kind(objects, "Secret")["r-cortex-activator-api-token"]
    assert len(base64.b64decode(secret["data"]["token"])) == 48
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    # Two renders mint two tokens: on a live release `lookup` keeps the first (the install test checks it).
    again = by_kind(helm.template(charts["cortex"]), "Secret")["r-cortex-activator-api-token"]
    assert again["data"]["token"] != secret["data"]["token"]

    own = helm.template(
        charts["cortex"], settings=["activator.apiToken.existingSecret=mine", "activator.apiToken.secretKey=bearer"]
    )
    assert "r-cortex-activator-api-token" not in by_kind(own, "Secret")
    env = container_env(own, "r-cortex-activator")
    assert env["CORTEX_API_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "mine", "key": "bearer"}
    # The activator listens on every address, so it never runs without the token.
    container = by_kind(own, "Deployment")["r-cortex-activator"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][container["command"].index("--host") + 1] == "0.0.0.0"
    assert "optional" not in env["CORTEX_API_TOKEN"]["valueFrom"]["secretKeyRef"]


def test_servers_accept_the_host_names_their_in_cluster_callers_use(helm: Helm, charts: dict[str, Path]) -> None:
    """Both servers listen on 0.0.0.0 behind a Host check: the chart names the Services' DNS names."""
    objects = helm.template(charts["k3s-mcp"], settings=["server.allowedHosts={mcp.example.com}"])
    hosts = container_env(objects, "r-k3s-mcp")["K3S_MCP_ALLOWED_HOSTS"]["value"].split(",")
    assert hosts == [
        "r-k3s-mcp",
        "r-k3s-mcp.cortex-system",
        "r-k3s-mcp.cortex-system.svc",
        "r-k3s-mcp.cortex-system.svc.cluster.local",
        "mcp.example.com",
    ]
    # The helm test pod calls the Service by its short name.
    hook = by_kind(objects, "Pod")["r-k3s-mcp-test-connection"]["spec"]["containers"][0]["command"][2]
    assert 'url = "http://r-k3s-mcp:8000/mcp"' in hook

    cortex = helm.template(charts["cortex"], settings=["activator.allowedHosts={cortex.example.com}"])
    activator = container_env(cortex, "r-cortex-activator")
    mcp_host = urlsplit(activator["CORTEX_MCP_URL"]["value"]).hostname
    assert mcp_host == "r-mcp.cortex-system.svc"
    assert mcp_host in container_env(cortex, "r-mcp")["K3S_MCP_ALLOWED_HOSTS"]["value"].split(",")
    names = [
        "r-cortex-activator",
        "r-cortex-activator.cortex-system",
        "r-cortex-activator.cortex-system.svc",
        "r-cortex-activator.cortex-system.svc.cluster.local",
        "cortex.example.com",
    ]
    # Prometheus scrapes /metrics naming the pod IP, which the kubelet expands from the variable defined first.
    assert activator["CORTEX_ALLOWED_HOSTS"]["value"].split(",") == [*names, "$(POD_IP)"]
    assert activator["POD_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    order = list(activator)
    assert order.index("POD_IP") < order.index("CORTEX_ALLOWED_HOSTS")
    without = container_env(
        helm.template(
            charts["cortex"], settings=["activator.allowedHosts={cortex.example.com}", "activator.allowPodIPHost=false"]
        ),
        "r-cortex-activator",
    )
    assert without["CORTEX_ALLOWED_HOSTS"]["value"].split(",") == names
    assert "POD_IP" not in without
    # The kubelet would send the pod IP as Host; /ready is Host-checked, so the probe names a loopback host.
    pod = by_kind(cortex, "Deployment")["r-cortex-activator"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["readinessProbe"]["httpGet"]["httpHeaders"] == [{"name": "Host", "value": "localhost"}]
    probed = by_kind(cortex, "Pod")["r-cortex-test-services"]["spec"]["containers"][0]["command"]
    assert "http://r-cortex-activator:8080/ready" in probed


# The layers the chart serves from the cortex image, with the activator variable that holds each one's URL.
SERVED_LAYERS = {
    "unifiApi": ("r-cortex-unifi-api", "CORTEX_LAYERS_UNIFI_API_URL"),
    "unifiSsh": ("r-cortex-unifi-ssh", "CORTEX_LAYERS_UNIFI_SSH_URL"),
    "telemetry": ("r-cortex-telemetry", "CORTEX_LAYERS_TELEMETRY_URL"),
}


def service_names(name: str) -> list[str]:
    return [name, f"{name}.cortex-system", f"{name}.cortex-system.svc", f"{name}.cortex-system.svc.cluster.local"]


def test_layers_accept_the_host_names_the_activator_and_prometheus_use(helm: Helm, charts: dict[str, Path]) -> None:
    """The layers listen on 0.0.0.0 behind the Host check: the chart names their Services and the pod IP."""
    objects = helm.template(charts["cortex"], settings=["telemetry.allowedHosts={audit.example.com}"])
    activator = container_env(objects, "r-cortex-activator")
    deployments = by_kind(objects, "Deployment")
    for key, (name, url_variable) in SERVED_LAYERS.items():
        env = container_env(objects, name)
        extra = ["audit.example.com"] if key == "telemetry" else []
        hosts = env["CORTEX_LAYER_ALLOWED_HOSTS"]["value"].split(",")
        assert hosts == [*service_names(name), *extra, "$(POD_IP)"], key
        # The activator calls the layer by a name on that list.
        assert urlsplit(activator[url_variable]["value"]).hostname in hosts, key
        # Prometheus scrapes /metrics naming the pod IP, which the kubelet expands from the variable defined first.
        assert env["POD_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}, key
        order = list(env)
        assert order.index("POD_IP") < order.index("CORTEX_LAYER_ALLOWED_HOSTS"), key
        pod = deployments[name]["spec"]["template"]["spec"]
        assert deployments[name]["spec"]["template"]["metadata"]["annotations"]["prometheus.io/path"] == "/metrics"
        # /ready is Host-checked, so the probe names a loopback host and works without the pod IP too.
        probe = pod["containers"][0]["readinessProbe"]["httpGet"]
        assert probe["path"] == "/ready" and probe["httpHeaders"] == [{"name": "Host", "value": "localhost"}], key
        assert "httpHeaders" not in pod["containers"][0]["livenessProbe"]["httpGet"], key

    without = helm.template(charts["cortex"], settings=[f"{key}.allowPodIPHost=false" for key in SERVED_LAYERS])
    for key, (name, _) in SERVED_LAYERS.items():
        env = container_env(without, name)
        assert env["CORTEX_LAYER_ALLOWED_HOSTS"]["value"].split(",") == service_names(name), key
        assert "POD_IP" not in env, key
    # The activator's own list does not change with the layers' values.
    assert container_env(without, "r-cortex-activator")["CORTEX_ALLOWED_HOSTS"]["value"].split(",") == [
        *service_names("r-cortex-activator"),
        "$(POD_IP)",
    ]


def test_layers_on_every_address_always_get_the_token_the_activator_sends(helm: Helm, charts: dict[str, Path]) -> None:
    """A layer refuses to listen on 0.0.0.0 without CORTEX_LAYER_TOKEN, so the chart never renders one without it."""
    objects = helm.template(charts["cortex"])
    expected = {"name": "r-cortex-layers", "key": "token"}
    assert container_env(objects, "r-cortex-activator")["CORTEX_LAYERS_TOKEN"]["valueFrom"]["secretKeyRef"] == expected
    secret = by_kind(objects, "Secret")["r-cortex-layers"]
    assert len(base64.b64decode(secret["data"]["token"])) == 48
    deployments = by_kind(objects, "Deployment")
    for key, (name, _) in SERVED_LAYERS.items():
        command = deployments[name]["spec"]["template"]["spec"]["containers"][0]["command"]
        assert command[command.index("--host") + 1] == "0.0.0.0", key
        reference = container_env(objects, name)["CORTEX_LAYER_TOKEN"]["valueFrom"]["secretKeyRef"]
        # Not optional: without the Secret the pod does not start, rather than start without a token.
        assert reference == expected, key

    own = helm.template(charts["cortex"], settings=["layerAuth.existingSecret=mine", "layerAuth.secretKey=bearer"])
    assert "r-cortex-layers" not in by_kind(own, "Secret")
    mine = {"name": "mine", "key": "bearer"}
    assert container_env(own, "r-cortex-activator")["CORTEX_LAYERS_TOKEN"]["valueFrom"]["secretKeyRef"] == mine
    for key, (name, _) in SERVED_LAYERS.items():
        assert container_env(own, name)["CORTEX_LAYER_TOKEN"]["valueFrom"]["secretKeyRef"] == mine, key
