"""helm lint and helm template of both charts, with strict schema validation of everything they render."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    ],
)
def test_wrong_value_fails_lint_and_template(
    helm: Helm, charts: dict[str, Path], chart: str, setting: str, complaint: str
) -> None:
    lint = helm.run("lint", str(charts[chart]), "--set", setting)
    assert lint.returncode != 0
    assert complaint in lint.stdout + lint.stderr
    with pytest.raises(HelmFailed, match=complaint):
        helm.template(charts[chart], settings=[setting])


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
