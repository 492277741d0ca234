"""Helm tool arguments can never become helm options, and the helmchart route reads only allowed chart directories.

Through a real MCP client, the pinned helm binary and the real cluster. After each refusal the namespace is checked
with the cluster's own API: no HelmChart object and no helm release Secret (`owner=helm`) was created.
"""

from __future__ import annotations

import base64
import io
import shutil
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
from tests.k3s_mcp.tools.test_helm import write_chart

pytestmark = pytest.mark.cluster

FLAG_CHARTS = ("--post-renderer=/bin/sh", "--generate-name", "--help", "-h")
BAD_RELEASES = ("my release", "MyRelease", "a..b", "web.", "-h", "--help", "x" * 54, "a/b", "..")
# What the release parameter's schema says: its pattern, or its length limit.
RELEASE_RULE_WORDS = {False: "must match the pattern `^[a-z0-9]", True: "must be at most 53 characters long"}


@pytest.fixture(scope="module")
def pinned_helm() -> Helm:
    return Helm.pinned()


@pytest.fixture
def chart_dirs(tmp_path: Path) -> Path:
    """The one directory the helmchart route may read charts from, holding a chart directory and its archive."""
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    write_chart(allowed)
    return allowed


@pytest.fixture
def settings(kubeconfig: str, pinned_helm: Helm, chart_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for part in ("cache", "config", "data"):
        monkeypatch.setenv(f"HELM_{part.upper()}_HOME", str(pinned_helm.home / part))
    return Settings(
        kubeconfig=kubeconfig,
        helm_binary=str(pinned_helm.binary),
        helm_timeout_seconds=60,
        helm_chart_dirs=str(chart_dirs),
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Client[Any]]:
    async with Client(build_server(settings)) as connected:
        yield connected


def helmcharts(cluster_api: ClusterAPI, namespace: str) -> list[str]:
    status, answer = cluster_api.request("GET", f"/apis/helm.cattle.io/v1/namespaces/{namespace}/helmcharts")
    assert status == 200, answer
    return [item["metadata"]["name"] for item in answer["items"]]


def release_secrets(cluster_api: ClusterAPI, namespace: str) -> list[str]:
    status, answer = cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/secrets?labelSelector=owner%3Dhelm")
    assert status == 200, answer
    return [item["metadata"]["name"] for item in answer["items"]]


def assert_nothing_created(cluster_api: ClusterAPI, namespace: str) -> None:
    assert helmcharts(cluster_api, namespace) == []
    assert release_secrets(cluster_api, namespace) == []


@pytest.mark.parametrize("route", ["helm", "helmchart"])
async def test_flag_like_charts_are_refused(
    client: Client[Any], cluster_api: ClusterAPI, namespace: str, route: str
) -> None:
    for chart in FLAG_CHARTS:
        for tool in ("install_helm_chart", "upgrade_helm_release"):
            arguments = {"release": "flags", "chart": chart, "namespace": namespace, "route": route}
            message = await call_error(client, tool, arguments)
            assert f"Invalid chart {chart!r}: a chart reference cannot start with '-'" in message, message
            assert "helm would read it as an option" in message
    assert_nothing_created(cluster_api, namespace)


@pytest.mark.parametrize("route", ["helm", "helmchart"])
async def test_flag_like_repository_and_version_are_refused(
    client: Client[Any], cluster_api: ClusterAPI, namespace: str, route: str
) -> None:
    base = {"release": "opts", "chart": "nginx", "namespace": namespace, "route": route}
    message = await call_error(client, "install_helm_chart", {**base, "repo_url": "--post-renderer=/bin/sh"})
    assert "Invalid repo_url '--post-renderer=/bin/sh': it cannot start with '-'" in message
    message = await call_error(client, "install_helm_chart", {**base, "version": "--devel"})
    assert "Invalid version '--devel': it cannot start with '-'" in message
    message = await call_error(client, "install_helm_chart", {**base, "version": "1.0\n--post-renderer=/bin/sh"})
    assert "Invalid version '1.0\\n--post-renderer=/bin/sh': it cannot contain control characters" in message
    assert_nothing_created(cluster_api, namespace)


async def test_release_names_follow_helms_rule(
    client: Client[Any], cluster_api: ClusterAPI, namespace: str, chart_dirs: Path
) -> None:
    chart = str(chart_dirs / "greeter")
    for release in BAD_RELEASES:
        for tool, arguments in (
            ("install_helm_chart", {"chart": chart}),
            ("install_helm_chart", {"chart": chart, "route": "helmchart"}),
            ("upgrade_helm_release", {"chart": chart}),
            ("get_helm_release", {}),
            ("get_helm_history", {}),
            ("rollback_helm_release", {}),
            ("uninstall_helm_release", {}),
        ):
            message = await call_error(client, tool, {"release": release, "namespace": namespace, **arguments})
            # Refused by the parameter's own rule before the tool runs, in the one sentence every argument gets.
            assert message.startswith("Invalid argument `release`: must "), (tool, message)
            assert RELEASE_RULE_WORDS[len(release) > 53] in message, (tool, message)
            assert f"got {release[:40]!r}"[:-1] in message, (tool, message)
    assert_nothing_created(cluster_api, namespace)

    # Dots between parts are helm's rule too, and 53 characters fit.
    for release in ("greeter.v2", "g" * 53):
        installed = await call(
            client, "install_helm_chart", {"release": release, "chart": chart, "namespace": namespace}
        )
        assert installed["status"] == "deployed" and installed["name"] == release
    assert sorted(release_secrets(cluster_api, namespace)) == sorted(
        [f"sh.helm.release.v1.{'g' * 53}.v1", "sh.helm.release.v1.greeter.v2.v1"]
    )


async def test_flag_like_namespaces_and_filters_are_refused(client: Client[Any], namespace: str) -> None:
    message = await call_error(client, "list_helm_releases", {"namespace": "--all-namespaces"})
    assert "Invalid namespace '--all-namespaces': it must be a DNS-1123 label" in message
    message = await call_error(client, "get_helm_release", {"release": "x", "namespace": "-h"})
    assert "Invalid namespace '-h': it must be a DNS-1123 label" in message
    message = await call_error(client, "list_helm_releases", {"namespace": namespace, "name_filter": "x\n--all"})
    assert "Invalid name_filter 'x\\n--all': it cannot contain control characters" in message
    # A filter is passed as one --filter=<regex> argument, so a leading '-' is just part of the regex.
    listed = await call(client, "list_helm_releases", {"namespace": namespace, "name_filter": "-web$"})
    assert listed["count"] == 0


def escapes(tmp_path: Path, chart_dirs: Path, kubeconfig: str) -> tuple[Path, dict[str, str]]:
    """The allowed directory resolved, and chart arguments that name something outside it, each its own way."""
    outside = tmp_path / "outside"
    outside.mkdir()
    write_chart(outside)
    (chart_dirs / "escape").symlink_to(outside / "greeter", target_is_directory=True)
    (chart_dirs / "kubeconfig.tgz").symlink_to(kubeconfig)
    return chart_dirs.resolve(), {
        "outside": str(outside / "greeter"),
        "dot-dot": f"{chart_dirs}/../outside/greeter",
        "relative dot-dot": "../outside/greeter",
        "symlink to a chart outside": str(chart_dirs / "escape"),
        "admin kubeconfig": kubeconfig,
        "symlink to the kubeconfig": str(chart_dirs / "kubeconfig.tgz"),
        "root": "/",
    }


async def test_helmchart_route_reads_no_chart_outside_the_allowed_dirs(
    client: Client[Any], cluster_api: ClusterAPI, namespace: str, chart_dirs: Path, tmp_path: Path, kubeconfig: str
) -> None:
    allowed, cases = escapes(tmp_path, chart_dirs, kubeconfig)
    for why, chart in cases.items():
        arguments = {"release": "escape", "chart": chart, "namespace": namespace, "route": "helmchart"}
        message = await call_error(client, "install_helm_chart", arguments)
        assert f"The chart {chart!r} is refused: it resolves outside the directories" in message, (why, message)
        assert f"(K3S_HELM_CHART_DIRS: {allowed})" in message, (why, message)
        assert "symlinks are followed before this check" in message
    assert_nothing_created(cluster_api, namespace)


async def test_helmchart_route_packs_only_charts(
    client: Client[Any], cluster_api: ClusterAPI, namespace: str, chart_dirs: Path, kubeconfig: str
) -> None:
    shutil.copy(kubeconfig, chart_dirs / "copied-kubeconfig")
    shutil.copy(kubeconfig, chart_dirs / "disguised.tgz")
    (chart_dirs / "not-a-chart").mkdir()
    linked = write_chart(chart_dirs / "linked")
    (linked / "templates" / "secret.yaml").symlink_to(kubeconfig)
    # A real gzipped tar whose first entry is not <name>/Chart.yaml.
    with tarfile.open(chart_dirs / "other.tgz", "w:gz") as archive:
        archive.add(chart_dirs / "copied-kubeconfig", arcname="greeter/config")
    cases = {
        "copied-kubeconfig": "it is neither a chart directory (with Chart.yaml) nor a chart archive (.tgz)",
        "disguised.tgz": "it is not a chart archive (a gzipped tar whose first entry is <name>/Chart.yaml",
        "other.tgz": "it is not a chart archive (a gzipped tar whose first entry is <name>/Chart.yaml",
        "not-a-chart": "it is a directory without Chart.yaml",
        "linked/greeter": "'greeter/templates/secret.yaml' is not a regular file or directory",
    }
    for name, reason in cases.items():
        chart = str(chart_dirs / name)
        arguments = {"release": "packed", "chart": chart, "namespace": namespace, "route": "helmchart"}
        message = await call_error(client, "install_helm_chart", arguments)
        assert f"The chart {chart!r} is refused: {reason}" in message, (name, message)
    assert_nothing_created(cluster_api, namespace)


async def test_without_allowed_dirs_the_helmchart_route_takes_no_local_chart(
    kubeconfig: str, cluster_api: ClusterAPI, namespace: str, chart_dirs: Path
) -> None:
    async with Client(build_server(Settings(kubeconfig=kubeconfig))) as client:
        for chart in (kubeconfig, str(chart_dirs / "greeter")):
            arguments = {"release": "local", "chart": chart, "namespace": namespace, "route": "helmchart"}
            message = await call_error(client, "install_helm_chart", arguments)
            assert f"The chart {chart!r} is a local path, and route='helmchart' packs local charts only" in message
            assert "K3S_HELM_CHART_DIRS, which is empty" in message
        assert_nothing_created(cluster_api, namespace)
        # Repository charts are not local and still work as before.
        remote = await call(
            client,
            "install_helm_chart",
            {
                "release": "remote",
                "chart": "nginx",
                "repo_url": "https://charts.example.invalid",
                "namespace": namespace,
                "route": "helmchart",
            },
        )
        assert remote["chart"] == "nginx"
    assert helmcharts(cluster_api, namespace) == ["remote"]


def chart_content(cluster_api: ClusterAPI, namespace: str, name: str) -> list[str]:
    status, stored = cluster_api.request("GET", f"/apis/helm.cattle.io/v1/namespaces/{namespace}/helmcharts/{name}")
    assert status == 200, stored
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(stored["spec"]["chartContent"]))) as archive:
        return archive.getnames()


async def test_legit_local_charts_in_an_allowed_dir_still_install(
    client: Client[Any], cluster_api: ClusterAPI, namespace: str, chart_dirs: Path, pinned_helm: Helm
) -> None:
    pinned_helm.check("package", str(chart_dirs / "greeter"), "--destination", str(chart_dirs))
    archive = chart_dirs / "greeter-0.1.0.tgz"
    for release, chart in (
        ("from-dir", str(chart_dirs / "greeter")),
        ("from-tgz", str(archive)),
        ("by-name", "greeter"),
    ):
        arguments = {"release": release, "chart": chart, "namespace": namespace, "route": "helmchart"}
        installed = await call(client, "install_helm_chart", arguments)
        assert installed["chart"] == "(embedded chartContent)", installed
        assert "greeter/Chart.yaml" in chart_content(cluster_api, namespace, release)
    assert sorted(helmcharts(cluster_api, namespace)) == ["by-name", "from-dir", "from-tgz"]

    # The helm route installs the same chart from the allowed directory with the real helm binary.
    installed = await call(
        client, "install_helm_chart", {"release": "greeter", "chart": str(archive), "namespace": namespace}
    )
    assert installed["status"] == "deployed" and installed["chart"] == "greeter-0.1.0"
    assert release_secrets(cluster_api, namespace) == ["sh.helm.release.v1.greeter.v1"]


async def test_the_kubeconfig_as_a_chart_on_the_helm_route_installs_nothing(
    client: Client[Any], cluster_api: ClusterAPI, namespace: str, kubeconfig: str
) -> None:
    message = await call_error(
        client, "install_helm_chart", {"release": "stolen", "chart": kubeconfig, "namespace": namespace}
    )
    assert "helm install failed for release 'stolen'" in message
    assert "client-key-data" not in message and "BEGIN" not in message
    assert_nothing_created(cluster_api, namespace)
