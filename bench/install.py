"""What installing costs: the server alone (``k3s-mcp``) and with the activator (``k3s-mcp[cortex]``), each into a
fresh virtual environment with ``uv pip install`` from the registry and an empty cache, so the time includes the
downloads. The wheel is built from the working tree; its dependencies come from the registry."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.settings import BenchSettings

VARIANTS = {"server": "", "server+cortex": "[cortex]"}


def _size_mb(root: Path) -> float:
    total = 0
    for directory, _, files in os.walk(root):
        for name in files:
            path = Path(directory) / name
            if not path.is_symlink():
                total += path.stat().st_size
    return total / 1024 / 1024


def _run(command: list[str], timeout: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, env=env)


def measure_installs(settings: BenchSettings, project: Path) -> dict[str, Any]:
    """Install seconds, environment size and package count of each variant; a failure is reported, not raised."""
    uv = shutil.which("uv")
    if uv is None:
        return {"status": "unavailable", "error": "uv is not on PATH"}
    with tempfile.TemporaryDirectory(prefix="bench-install-") as scratch:
        root = Path(scratch)
        built = _run([uv, "build", "--wheel", "--out-dir", str(root / "dist"), str(project)], 300)
        wheels = list((root / "dist").glob("k3s_mcp-*.whl"))
        if built.returncode != 0 or len(wheels) != 1:
            return {"status": "failed", "error": f"uv build: {built.stderr.strip()[-800:]}"}
        results: dict[str, Any] = {"status": "ok", "python": sys.version.split()[0]}
        for variant, extra in VARIANTS.items():
            venv = root / variant
            created = _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], 120)
            if created.returncode != 0:
                results[variant] = {"error": created.stderr.strip()[-800:]}
                continue
            # An empty cache of its own: nothing is reused from earlier installs, the downloads are timed too.
            env = {**os.environ, "UV_CACHE_DIR": str(root / f"cache-{variant}"), "UV_LINK_MODE": "copy"}
            command = [uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), f"{wheels[0]}{extra}"]
            started = time.monotonic()
            try:
                installed = _run(command, settings.install_timeout_per_venv_seconds, env)
            except subprocess.TimeoutExpired:
                results[variant] = {"error": f"no install within {settings.install_timeout_per_venv_seconds:.0f} s"}
                continue
            seconds = time.monotonic() - started
            if installed.returncode != 0:
                results[variant] = {"error": installed.stderr.strip()[-800:]}
                continue
            listed = _run([uv, "pip", "list", "--python", str(venv / "bin" / "python"), "--format", "freeze"], 60)
            packages = [line for line in listed.stdout.splitlines() if "==" in line]
            results[variant] = {
                "install_s": round(seconds, 1),
                "venv_mb": round(_size_mb(venv), 1),
                "packages": len(packages),
            }
        return results
