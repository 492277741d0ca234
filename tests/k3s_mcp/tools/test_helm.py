"""Helm tools: a local chart through the real pinned helm binary, and K3s HelmChart objects on the API server."""

from __future__ import annotations

import base64
import io
import socket
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client

from devcluster.api import ClusterAPI
from k3s_mcp.server import build_server
from k3s_mcp.settings import Settings
from tests.charts.helm_cli import Helm
from tests.k3s_mcp.conftest import call, call_error

pytestmark = pytest.mark.cluster

CHART_YAML = "apiVersion: v2\nname: greeter\nversion: {version}\nappVersion: '{app}'\n"
TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-greeting
data:
  greeting: {{ .Values.greeting | quote }}
  color: {{ .Values.color | quote }}
"""


def write_chart(root: Path, version: str = "0.1.0", app: str = "1.0") -> Path:
    """A minimal chart (one ConfigMap) like `helm create` would start from."""
    chart = root / "greeter"
    (chart / "templates").mkdir(parents=True, exist_ok=True)
    (chart / "Chart.yaml").write_text(CHART_YAML.format(version=version, app=app))
    (chart / "values.yaml").write_text("greeting: hello\ncolor: blue\n")
    (chart / "templates" / "configmap.yaml").write_text(TEMPLATE)
    (chart / "templates" / "NOTES.txt").write_text("Greeter {{ .Release.Name }} says {{ .Values.greeting }}.\n")
    return chart


@pytest.fixture(scope="module")
def pinned_helm() -> Helm:
    return Helm.pinned()


@pytest.fixture
async def helm_client(
    kubeconfig: str, pinned_helm: Helm, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Client[Any]]:
    # helm's own caches go to the project's cache directory, never the user's.
    for part in ("cache", "config", "data"):
        monkeypatch.setenv(f"HELM_{part.upper()}_HOME", str(pinned_helm.home / part))
    app = build_server(Settings(kubeconfig=kubeconfig, helm_binary=str(pinned_helm.binary), helm_timeout_seconds=60))
    async with Client(app) as client:
        yield client


def greeting(cluster_api: ClusterAPI, namespace: str, release: str) -> dict[str, Any] | None:
    status, answer = cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/{release}-greeting")
    return answer["data"] if status == 200 else None


async def test_helm_release_lifecycle(
    helm_client: Client[Any], cluster_api: ClusterAPI, namespace: str, tmp_path: Path
) -> None:
    chart = write_chart(tmp_path / "v1")
    installed = await call(
        helm_client,
        "install_helm_chart",
        {"release": "hi", "chart": str(chart), "namespace": namespace, "values": {"greeting": "hola"}},
    )
    assert installed["revision"] == 1 and installed["status"] == "deployed"
    assert installed["chart"] == "greeter-0.1.0" and "Greeter hi says hola" in installed["notes"]
    assert greeting(cluster_api, namespace, "hi") == {"greeting": "hola", "color": "blue"}

    listed = await call(helm_client, "list_helm_releases", {"namespace": namespace})
    assert [(r["name"], r["revision"], r["status"], r["chart"]) for r in listed["items"]] == [
        ("hi", "1", "deployed", "greeter-0.1.0")
    ]
    everywhere = await call(helm_client, "list_helm_releases", {"name_filter": "^hi$"})
    assert namespace in {row["namespace"] for row in everywhere["items"]}

    message = await call_error(
        helm_client, "install_helm_chart", {"release": "hi", "chart": str(chart), "namespace": namespace}
    )
    assert "already exists" in message and "upgrade_helm_release" in message

    newer = write_chart(tmp_path / "v2", version="0.2.0", app="2.0")
    upgraded = await call(
        helm_client,
        "upgrade_helm_release",
        {"release": "hi", "chart": str(newer), "namespace": namespace, "values": {"color": "green"}},
    )
    assert upgraded["revision"] == 2 and upgraded["chart"] == "greeter-0.2.0"
    # reuse_values (default) keeps the greeting given at install.
    assert greeting(cluster_api, namespace, "hi") == {"greeting": "hola", "color": "green"}

    status = await call(helm_client, "get_helm_release", {"release": "hi", "namespace": namespace})
    assert status["revision"] == 2 and status["status"] == "deployed" and status["app_version"] == "2.0"
    assert status["values"] == {"greeting": "hola", "color": "green"}

    rolled = await call(helm_client, "rollback_helm_release", {"release": "hi", "namespace": namespace, "revision": 1})
    assert rolled["revision"] == 3 and "revision 1" in rolled["message"]
    assert greeting(cluster_api, namespace, "hi") == {"greeting": "hola", "color": "blue"}

    history = await call(helm_client, "get_helm_history", {"release": "hi", "namespace": namespace})
    assert [row["revision"] for row in history["items"]] == [1, 2, 3]
    assert [row["chart"] for row in history["items"]] == ["greeter-0.1.0", "greeter-0.2.0", "greeter-0.1.0"]
    assert history["items"][-1]["status"] == "deployed" and "Rollback to 1" in history["items"][-1]["description"]

    await call(helm_client, "uninstall_helm_release", {"release": "hi", "namespace": namespace})
    assert greeting(cluster_api, namespace, "hi") is None
    assert (await call(helm_client, "list_helm_releases", {"namespace": namespace}))["count"] == 0
    message = await call_error(helm_client, "get_helm_release", {"release": "hi", "namespace": namespace})
    assert "not found" in message and "'hi'" in message


async def test_helm_errors_are_clear(helm_client: Client[Any], namespace: str, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    message = await call_error(
        helm_client,
        "install_helm_chart",
        {"release": "remote", "chart": "nginx", "repo_url": f"http://127.0.0.1:{closed}", "namespace": namespace},
    )
    assert "chart repository cannot be reached" in message and f"127.0.0.1:{closed}" in message
    message = await call_error(
        helm_client,
        "install_helm_chart",
        {"release": "gone", "chart": str(tmp_path / "absent"), "namespace": namespace},
    )
    assert "helm install failed" in message and "absent" in message
    message = await call_error(helm_client, "rollback_helm_release", {"release": "never", "namespace": namespace})
    assert "never" in message and "not found" in message
    message = await call_error(helm_client, "install_helm_chart", {"release": "Bad_Name", "chart": "x"})
    assert message.startswith("Invalid argument `release`: must match the pattern") and "got 'Bad_Name'" in message


async def test_missing_helm_binary_points_at_the_setting(kubeconfig: str, tmp_path: Path) -> None:
    app = build_server(Settings(kubeconfig=kubeconfig, helm_binary=str(tmp_path / "no-helm")))
    async with Client(app) as client:
        message = await call_error(client, "list_helm_releases")
        assert "helm command was not found" in message and "K3S_HELM_BINARY" in message and "helmchart" in message


async def test_helmchart_route_creates_updates_and_deletes_objects(
    mcp_client: Client[Any], kubeconfig: str, cluster_api: ClusterAPI, namespace: str, tmp_path: Path
) -> None:
    base = f"/apis/helm.cattle.io/v1/namespaces/{namespace}/helmcharts"
    installed = await call(
        mcp_client,
        "install_helm_chart",
        {
            "release": "remote",
            "chart": "nginx",
            "repo_url": "https://charts.example.invalid",
            "version": "1.2.3",
            "values": {"replicaCount": 2},
            "namespace": namespace,
            "route": "helmchart",
        },
    )
    assert installed["route"] == "helmchart" and "pending" in installed["status"]
    status, stored = cluster_api.request("GET", f"{base}/remote")
    assert status == 200
    assert stored["spec"]["chart"] == "nginx" and stored["spec"]["repo"] == "https://charts.example.invalid"
    assert stored["spec"]["targetNamespace"] == namespace and "replicaCount: 2" in stored["spec"]["valuesContent"]

    # A local chart travels inside the object, packed like `helm package`; this route reads local charts only
    # from the directories in K3S_HELM_CHART_DIRS.
    chart = write_chart(tmp_path)
    async with Client(build_server(Settings(kubeconfig=kubeconfig, helm_chart_dirs=str(tmp_path)))) as local:
        await call(
            local,
            "install_helm_chart",
            {"release": "local", "chart": str(chart), "namespace": namespace, "route": "helmchart"},
        )
    _, stored = cluster_api.request("GET", f"{base}/local")
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(stored["spec"]["chartContent"]))) as archive:
        assert "greeter/Chart.yaml" in archive.getnames()

    upgraded = await call(
        mcp_client,
        "upgrade_helm_release",
        {
            "release": "remote",
            "chart": "nginx",
            "repo_url": "https://charts.example.invalid",
            "version": "1.3.0",
            "namespace": namespace,
            "route": "helmchart",
        },
    )
    assert upgraded["revision"] == 2
    _, stored = cluster_api.request("GET", f"{base}/remote")
    assert stored["spec"]["version"] == "1.3.0"

    listed = await call(mcp_client, "list_helm_releases", {"namespace": namespace, "route": "helmchart"})
    assert {row["name"] for row in listed["items"]} == {"remote", "local"}
    shown = await call(
        mcp_client, "get_helm_release", {"release": "local", "namespace": namespace, "route": "helmchart"}
    )
    assert "base64 chart" in shown["object"]["spec"]["chartContent"]

    message = await call_error(
        mcp_client,
        "install_helm_chart",
        {"release": "remote", "chart": "nginx", "namespace": namespace, "route": "helmchart"},
    )
    assert "already exists" in message
    # The API server validates the object against the CRD: failurePolicy is an enum.
    message = await call_error(
        mcp_client,
        "install_helm_chart",
        {"release": "bad", "chart": "nginx", "namespace": namespace, "route": "helmchart", "failure_policy": "explode"},
    )
    assert "Invalid HelmChart 'bad'" in message and "failurePolicy" in message
    assert cluster_api.request("GET", f"{base}/bad")[0] == 404

    await call(
        mcp_client, "uninstall_helm_release", {"release": "remote", "namespace": namespace, "route": "helmchart"}
    )
    assert cluster_api.request("GET", f"{base}/remote")[0] == 404


async def test_helm_chart_config(mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str) -> None:
    values = {"ports": {"web": {"redirectTo": {"port": "websecure"}}}}
    result = await call(
        mcp_client, "configure_helm_chart", {"name": "traefik", "namespace": namespace, "values": values}
    )
    assert result["values"] == values
    status, stored = cluster_api.request(
        "GET", f"/apis/helm.cattle.io/v1/namespaces/{namespace}/helmchartconfigs/traefik"
    )
    assert status == 200 and "redirectTo" in stored["spec"]["valuesContent"]
