"""patch_resource and apply_manifest's dry-run diff through an MCP client against the real cluster."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import yaml
from fastmcp import Client

from devcluster.api import ClusterAPI, deployment
from tests.k3s_mcp.conftest import ClientFactory, call, call_error, create, read_yaml, wait_until


def live(cluster_api: ClusterAPI, path: str) -> dict[str, Any]:
    status, answer = cluster_api.request("GET", path)
    assert status == 200, answer
    assert isinstance(answer, dict)
    return answer


async def revised(cluster_api: ClusterAPI, path: str) -> None:
    """Wait until the controller has annotated a new Deployment with its revision: diffs are about our changes."""
    await wait_until(
        lambda: "deployment.kubernetes.io/revision" in (live(cluster_api, path)["metadata"].get("annotations") or {}),
        what="the revision annotation",
    )


async def test_merge_patch_dry_run_shows_the_diff_and_changes_nothing(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments/web"
    create(cluster_api, f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment("web", 2))
    await revised(cluster_api, path)
    before = live(cluster_api, path)
    args = {
        "kind": "deploy",
        "name": "web",
        "namespace": namespace,
        "patch": "spec:\n  replicas: 3\n  template:\n    metadata:\n      labels: {x: 'y'}\n",
    }
    dry = await call(mcp_client, "patch_resource", {**args, "dry_run": True})
    assert dry["dry_run"] is True and dry["result"] == "configured" and dry["patch_type"] == "merge"
    assert dry["diff"] == ["spec.replicas: 2 -> 3", '+ spec.template.metadata.labels.x: "y"']
    after_dry = live(cluster_api, path)
    # The controller may write status meanwhile; the spec (and so its generation) is what a dry run must not touch.
    assert after_dry["metadata"]["generation"] == before["metadata"]["generation"]
    assert after_dry["spec"] == before["spec"]

    done = await call(mcp_client, "patch_resource", args)
    assert done["dry_run"] is False and done["diff"] == dry["diff"]
    assert live(cluster_api, path)["spec"]["replicas"] == 3
    again = await call(mcp_client, "patch_resource", args)
    assert again["result"] == "unchanged" and again["diff"] == []


async def test_strategic_and_json_patches(mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str) -> None:
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments/shop"
    create(cluster_api, f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment("shop", 1))
    # A strategic patch merges the container list by name; a merge patch would have replaced the whole list.
    strategic = {"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "busybox:1.36"}]}}}}
    added = await call(
        mcp_client,
        "patch_resource",
        {
            "kind": "Deployment",
            "name": "shop",
            "namespace": namespace,
            "patch_type": "strategic",
            "patch": json.dumps(strategic),
        },
    )
    assert '+ spec.template.spec.containers[name=side].image: "busybox:1.36"' in added["diff"]
    assert not any("name=main" in line for line in added["diff"])
    containers = live(cluster_api, path)["spec"]["template"]["spec"]["containers"]
    assert sorted(c["name"] for c in containers) == ["main", "side"]
    side = [c["name"] for c in containers].index("side")

    operations = (
        "- {op: replace, path: /spec/replicas, value: 2}\n"
        "- {op: add, path: /metadata/labels/tier, value: shop}\n"
        f"- {{op: remove, path: /spec/template/spec/containers/{side}}}\n"
    )
    patched = await call(
        mcp_client,
        "patch_resource",
        {"kind": "deployments.apps", "name": "shop", "namespace": namespace, "patch_type": "json", "patch": operations},
    )
    assert "spec.replicas: 1 -> 2" in patched["diff"] and '+ metadata.labels.tier: "shop"' in patched["diff"]
    assert any(line.startswith("- spec.template.spec.containers[name=side]") for line in patched["diff"])
    obj = live(cluster_api, path)
    assert obj["spec"]["replicas"] == 2 and obj["metadata"]["labels"]["tier"] == "shop"

    failing = await call_error(
        mcp_client,
        "patch_resource",
        {
            "kind": "deploy",
            "name": "shop",
            "namespace": namespace,
            "patch_type": "json",
            "patch": "[{op: test, path: /spec/replicas, value: 7}]",
        },
    )
    assert "shop" in failing and "test" in failing.lower()
    assert live(cluster_api, path)["spec"]["replicas"] == 2


async def test_strategic_patch_of_a_custom_resource_is_refused(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    chart_config = {
        "apiVersion": "helm.cattle.io/v1",
        "kind": "HelmChartConfig",
        "metadata": {"name": "tuned"},
        "spec": {"valuesContent": "a: 1"},
    }
    create(cluster_api, f"/apis/helm.cattle.io/v1/namespaces/{namespace}/helmchartconfigs", chart_config)
    args = {
        "kind": "HelmChartConfig",
        "name": "tuned",
        "namespace": namespace,
        "patch": "spec: {valuesContent: 'a: 2'}",
    }
    message = await call_error(mcp_client, "patch_resource", {**args, "patch_type": "strategic"})
    assert "custom resource" in message and "merge" in message
    merged = await call(mcp_client, "patch_resource", {**args, "patch_type": "merge"})
    assert merged["diff"] == ['spec.valuesContent: "a: 1" -> "a: 2"']


async def test_bad_patches_are_one_sentence(mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str) -> None:
    create(cluster_api, f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment("odd", 1))
    base = {"kind": "deploy", "name": "odd", "namespace": namespace}
    for patch, patch_type, expected in (
        ("spec: [unclosed", "merge", "Invalid patch"),
        ("- 1\n- 2", "merge", "non-empty mapping"),
        ("{}", "strategic", "non-empty mapping"),
        ("spec: {}", "json", "non-empty list of operations"),
        ("[{op: explode, path: /spec}]", "json", "needs op"),
        ("[{op: remove, path: spec}]", "json", "needs a path"),
        ("a: 1\n---\nb: 2", "merge", "one YAML/JSON document"),
        ("a: &x [*x]", "merge", "refused"),
        ("when: 2026-01-01", "merge", "JSON cannot carry"),
    ):
        message = await call_error(mcp_client, "patch_resource", {**base, "patch": patch, "patch_type": patch_type})
        assert expected in message, (patch, message)
    missing = await call_error(mcp_client, "patch_resource", {**base, "name": "ghost", "patch": "spec: {replicas: 2}"})
    assert "ghost" in missing and "not found" in missing
    unknown = await call_error(mcp_client, "patch_resource", {**base, "kind": "Gizmo", "patch": "a: 1"})
    assert "Unknown kind" in unknown
    create_only = await call_error(mcp_client, "patch_resource", {**base, "kind": "Binding", "patch": "a: 1"})
    assert "bindings cannot be patched" in create_only
    invalid = await call_error(mcp_client, "patch_resource", {**base, "patch": "spec: {replicas: -4}"})
    assert "replicas" in invalid


async def test_secret_diff_masks_values(mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds"},
        "data": {"password": base64.b64encode(b"hunter2").decode(), "user": base64.b64encode(b"admin").decode()},
    }
    create(cluster_api, f"/api/v1/namespaces/{namespace}/secrets", secret)
    # The new password has the same length as the old one: only a comparison of the values can see the change.
    patch = "stringData: {password: swordfi, token: s3cr3t-t0ken}\n"
    dry = await call(
        mcp_client,
        "patch_resource",
        {"kind": "secret", "name": "creds", "namespace": namespace, "patch": patch, "dry_run": True},
    )
    assert dry["result"] == "configured"
    assert dry["diff"] == ["data.password: (hidden) changed", "+ data.token"]
    text = json.dumps(dry)
    for value in ("swordfi", "hunter2", "s3cr3t-t0ken", "c3dvcmRmaQ", "aHVudGVyMg"):
        assert value not in text
    assert live(cluster_api, f"/api/v1/namespaces/{namespace}/secrets/creds")["data"] == secret["data"]

    manifest = "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {password: swordfi, user: admin}\n"
    applied = await call(
        mcp_client, "apply_manifest", {"manifest_yaml": manifest, "namespace": namespace, "dry_run": True}
    )
    (outcome,) = applied["objects"]
    assert outcome["result"] == "configured" and outcome["diff"] == ["data.password: (hidden) changed"]
    assert "swordfi" not in json.dumps(applied) and "c3dvcmRmaQ" not in json.dumps(applied)
    same = await call(
        mcp_client,
        "apply_manifest",
        {"manifest_yaml": manifest.replace("swordfi", "hunter2"), "namespace": namespace, "dry_run": True},
    )
    assert same["objects"][0]["result"] == "unchanged" and same["objects"][0]["diff"] == []


async def test_apply_manifest_dry_run_diff(mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str) -> None:
    create(cluster_api, f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment("api", 2))
    await revised(cluster_api, f"/apis/apps/v1/namespaces/{namespace}/deployments/api")
    manifest = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, labels: {app: api}}\n"
        "spec:\n  replicas: 4\n  selector: {matchLabels: {app: api}}\n"
        "  template:\n    metadata: {labels: {app: api}}\n"
        "    spec: {containers: [{name: main, image: 'nginx:1.28'}]}\n"
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: fresh}\ndata: {k: v}\n"
    )
    applied = await call(
        mcp_client,
        "apply_manifest",
        {"manifest_yaml": manifest, "namespace": namespace, "dry_run": True, "force_conflicts": True},
    )
    by_kind = {item["kind"]: item for item in applied["objects"]}
    assert by_kind["Deployment"]["diff"] == [
        "spec.replicas: 2 -> 4",
        'spec.template.spec.containers[name=main].image: "nginx:1.27" -> "nginx:1.28"',
    ]
    assert by_kind["ConfigMap"]["result"] == "created"
    assert by_kind["ConfigMap"]["diff"] == [
        '+ data.k: "v"',
        '+ metadata.name: "fresh"',
        f'+ metadata.namespace: "{namespace}"',
    ]
    deployment_now = live(cluster_api, f"/apis/apps/v1/namespaces/{namespace}/deployments/api")
    assert deployment_now["spec"]["replicas"] == 2
    status, _ = cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/fresh")
    assert status == 404
    # A real apply carries no diff: only a dry run previews.
    real = await call(
        mcp_client, "apply_manifest", {"manifest_yaml": manifest, "namespace": namespace, "force_conflicts": True}
    )
    assert all(item["diff"] is None for item in real["objects"])


async def test_patch_is_a_write(make_client: ClientFactory, kubeconfig: str) -> None:
    async with make_client(kubeconfig=kubeconfig, read_only=True) as client:
        message = await call_error(client, "patch_resource", {"kind": "cm", "name": "x", "patch": "a: 1"})
        assert "read-only" in message


def viewer_kubeconfig(cluster_api: ClusterAPI, kubeconfig: str, namespace: str, tmp_path: Path) -> str:
    """A kubeconfig of a ServiceAccount that may get and list ConfigMaps in `namespace`, nothing more."""
    create(
        cluster_api,
        f"/api/v1/namespaces/{namespace}/serviceaccounts",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "reader"}},
    )
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}"
    role = {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}
    create(
        cluster_api,
        f"{rbac}/roles",
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "cm"}, "rules": [role]},
    )
    create(
        cluster_api,
        f"{rbac}/rolebindings",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "reader-cm"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cm"},
            "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": namespace}],
        },
    )
    status, answer = cluster_api.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/serviceaccounts/reader/token",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 600}},
    )
    assert status == 201, answer
    admin = read_yaml(kubeconfig)
    context = next(c["context"] for c in admin["contexts"] if c["name"] == admin["current-context"])
    cluster = next(c["cluster"] for c in admin["clusters"] if c["name"] == context["cluster"])
    path = tmp_path / "reader.kubeconfig"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "test", "cluster": cluster}],
        "users": [{"name": "reader", "user": {"token": answer["status"]["token"]}}],
        "contexts": [{"name": "reader", "context": {"cluster": "test", "user": "reader", "namespace": namespace}}],
        "current-context": "reader",
    }
    path.write_text(yaml.safe_dump(config))
    return str(path)


async def test_a_forbidden_patch_says_what_the_api_server_said(
    make_client: ClientFactory, kubeconfig: str, cluster_api: ClusterAPI, namespace: str, tmp_path: Path
) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"k": "v"}}
    create(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps", body)
    reader = viewer_kubeconfig(cluster_api, kubeconfig, namespace, tmp_path)
    async with make_client(kubeconfig=reader) as client:
        for dry_run in (True, False):
            message = await call_error(
                client,
                "patch_resource",
                {"kind": "cm", "name": "settings", "namespace": namespace, "patch": "data: {k: w}", "dry_run": dry_run},
            )
            assert "Forbidden" in message and "patch configmaps" in message and namespace in message
            assert f"system:serviceaccount:{namespace}:reader" in message
    assert live(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps/settings")["data"] == {"k": "v"}
