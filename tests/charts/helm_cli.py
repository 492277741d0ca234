"""Run the pinned helm binary on the project's charts and validate what it renders."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import yaml

from devcluster.helm import cache_dir, helm_path

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
CHARTS_SOURCE = REPOSITORY_ROOT / "charts"
CHART_NAMES = ("k3s-mcp", "cortex")
# Kinds the Kubernetes schemas do not know; the API server with their CRDs checks them instead.
CUSTOM_KINDS = {("keda.sh/v1alpha1", "ScaledObject")}


class HelmFailed(RuntimeError):
    """helm exited non-zero; the message carries its stderr."""


@dataclass(frozen=True)
class Helm:
    """The helm binary with its own cache/config/data homes, so it never reads or writes the user's."""

    binary: Path
    home: Path

    @classmethod
    def pinned(cls) -> Helm:
        home = cache_dir() / "home"
        for part in ("cache", "config", "data"):
            (home / part).mkdir(parents=True, exist_ok=True)
        return cls(binary=helm_path(), home=home)

    def run(self, *arguments: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        environment = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.home),
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_DATA_HOME": str(self.home / "data"),
        }
        return subprocess.run(
            [str(self.binary), *arguments],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=environment,
            check=False,
        )

    def check(self, *arguments: str, timeout: float = 180) -> str:
        result = self.run(*arguments, timeout=timeout)
        if result.returncode != 0:
            raise HelmFailed(f"helm {' '.join(arguments)} failed ({result.returncode}):\n{result.stderr}")
        return result.stdout

    def assert_value_refused(self, chart: Path, setting: str, complaint: str) -> None:
        """`--set setting` fails both `helm lint` and `helm template`, and both name `complaint` (the schema path)."""
        lint = self.run("lint", str(chart), "--set", setting)
        assert lint.returncode != 0, f"helm lint accepted {setting}"
        assert complaint in lint.stdout + lint.stderr, lint.stdout + lint.stderr
        try:
            self.template(chart, settings=[setting])
        except HelmFailed as error:
            assert complaint in str(error), str(error)
        else:
            raise AssertionError(f"helm template accepted {setting}")

    def template(
        self, chart: Path, values_files: Sequence[Path] = (), settings: Sequence[str] = (), release: str = "r"
    ) -> list[dict[str, Any]]:
        """Rendered objects of a chart (test hooks included), parsed."""
        arguments = ["template", release, str(chart), "--namespace", "cortex-system"]
        for path in values_files:
            arguments += ["--values", str(path)]
        for setting in settings:
            arguments += ["--set", setting]
        return [document for document in yaml.safe_load_all(self.check(*arguments)) if document]


def stage_charts(into: Path, helm: Helm) -> dict[str, Path]:
    """Copy both charts to a scratch directory and build cortex's dependency there, leaving the tree alone."""
    staged: dict[str, Path] = {}
    for name in CHART_NAMES:
        target = into / name
        shutil.copytree(CHARTS_SOURCE / name, target, ignore=shutil.ignore_patterns("charts", "*.tgz"))
        staged[name] = target
    helm.check("dependency", "build", str(staged["cortex"]), "--skip-refresh")
    return staged


def values_files(chart: str) -> list[Path]:
    """The example values files shipped next to a chart (single-node K3s, 7-node HA)."""
    return sorted((CHARTS_SOURCE / chart).glob("values-*.yaml"))


def schema_errors(objects: Iterable[dict[str, Any]], kubernetes_version: str) -> list[str]:
    """Strict schema violations of built-in objects; custom kinds are skipped (the API server checks them)."""
    errors = []
    for obj in objects:
        if (obj.get("apiVersion"), obj.get("kind")) in CUSTOM_KINDS:
            continue
        name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(obj, kubernetes_version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(item) for item in error.path)
            errors.append(f"{name}: {path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            errors.append(f"{name}: no schema ({error})")
    return errors


def pod_specs(objects: Iterable[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(owner name, pod spec) for every workload and bare pod among the objects."""
    found = []
    for obj in objects:
        kind, name = obj["kind"], obj["metadata"]["name"]
        if kind in ("Deployment", "StatefulSet"):
            found.append((f"{kind}/{name}", obj["spec"]["template"]["spec"]))
        elif kind == "Pod":
            found.append((f"Pod/{name}", obj["spec"]))
    return found
