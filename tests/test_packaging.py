"""The MCP server installs on its own: the built wheel's required dependencies leave the activator's stack to the
`cortex` extra, and in an environment without that extra the server runs while `cortex` says what to install."""

from __future__ import annotations

import email.parser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

PROJECT = Path(__file__).resolve().parents[1]
# The Cortex activator's stack, which the server alone must not pull in.
ACTIVATOR_STACK = {"onnxruntime", "tokenizers", "qdrant-client", "asyncssh", "numpy", "onnx"}


def uv() -> str:
    found = shutil.which("uv")
    assert found is not None, "uv is not on PATH (make setup installs it)"
    return found


def run(
    command: list[str], timeout: float = 240, *, cwd: Path = PROJECT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd, env=env)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # Offline: the build backend comes from uv's cache, as every test's traffic stays on this machine.
    built = run([uv(), "build", "--offline", "--wheel", "--out-dir", str(out), str(PROJECT)])
    assert built.returncode == 0, built.stderr
    wheels = list(out.glob("k3s_mcp-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(archive.read(name).decode())


def requirements(wheel: Path) -> list[Requirement]:
    return [Requirement(line) for line in metadata(wheel).get_all("Requires-Dist") or []]


def test_required_dependencies_exclude_the_activator_stack(wheel: Path) -> None:
    required = {r.name.lower() for r in requirements(wheel) if r.marker is None}
    assert {"fastmcp", "kubernetes-asyncio"} <= required
    assert not required & ACTIVATOR_STACK, required & ACTIVATOR_STACK


def test_the_cortex_extra_carries_the_activator_stack(wheel: Path) -> None:
    assert "cortex" in (metadata(wheel).get_all("Provides-Extra") or [])
    in_extra = {
        r.name.lower() for r in requirements(wheel) if r.marker is not None and r.marker.evaluate({"extra": "cortex"})
    }
    assert in_extra >= ACTIVATOR_STACK


def test_the_console_scripts(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt"))
        entry_points = archive.read(name).decode()
    assert "k3s-mcp-server = k3s_mcp.cli:main" in entry_points
    assert "cortex = cortex.entry:main" in entry_points


def offline_env(venv: Path) -> dict[str, str]:
    """uv's environment for syncing the lock file into `venv`, from uv's cache only (no network)."""
    return {
        "PATH": str(Path(uv()).parent),
        "HOME": str(Path.home()),
        "UV_PROJECT_ENVIRONMENT": str(venv),
        "UV_PYTHON": sys.executable,
        "UV_LINK_MODE": "symlink",
        "UV_OFFLINE": "1",
    }


def installed_names(python: Path) -> set[str]:
    listed = run([uv(), "pip", "list", "--python", str(python), "--format", "freeze"])
    return {line.split("==")[0].lower() for line in listed.stdout.splitlines() if "==" in line}


def test_server_alone_installs_and_runs_while_cortex_names_its_extra(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    # The server's locked dependencies without the extra (the lock names each file, so uv's cache serves them
    # offline on any machine `make setup` has run on; resolving afresh would need the registry's index), then the
    # built wheel itself, and a check that what is installed satisfies the wheel's own requirements.
    synced = run([uv(), "sync", "--frozen", "--no-dev", "--no-install-project"], 600, env=offline_env(venv))
    assert synced.returncode == 0, synced.stderr[-2000:]
    python = venv / "bin" / "python"
    installed = run([uv(), "pip", "install", "--quiet", "--offline", "--no-deps", "--python", str(python), str(wheel)])
    assert installed.returncode == 0, installed.stderr
    checked = run([uv(), "pip", "check", "--python", str(python)])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    names = installed_names(python)
    assert "k3s-mcp" in names
    assert not names & ACTIVATOR_STACK, names & ACTIVATOR_STACK

    version = run([str(venv / "bin" / "k3s-mcp-server"), "--version"], timeout=60)
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("k3s-mcp-server ")
    # The server's whole import, tool modules included, needs nothing of the extra.
    imported = run([str(python), "-c", "import k3s_mcp.server"], timeout=120)
    assert imported.returncode == 0, imported.stderr

    refused = run([str(venv / "bin" / "cortex"), "route", "scale web to 3"], timeout=60)
    assert refused.returncode == 2
    assert "'cortex' extra" in refused.stderr
    assert "pip install 'k3s-mcp[cortex]'" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_the_image_installs_the_activator_stack_both_charts_run(tmp_path: Path) -> None:
    """The image's own `uv sync` steps (charts/image/Containerfile), run on the files it copies: the environment
    must hold the cortex extra, since the cortex chart runs `cortex` from this one image."""
    containerfile = (PROJECT / "charts" / "image" / "Containerfile").read_text()
    steps = [line.removeprefix("RUN ").split() for line in containerfile.splitlines() if line.startswith("RUN uv sync")]
    assert len(steps) == 2, steps
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(PROJECT / name, source / name)
    for package in ("k3s_mcp", "cortex"):
        shutil.copytree(PROJECT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    env = offline_env(venv)
    for step in steps:
        done = run([uv(), *step[1:]], 600, cwd=source, env=env)
        assert done.returncode == 0, (step, done.stderr[-2000:])
    python = venv / "bin" / "python"
    names = installed_names(python)
    assert names >= ACTIVATOR_STACK, ACTIVATOR_STACK - names
    imported = run([str(python), "-c", "import cortex.activator.service, k3s_mcp.server"], timeout=180)
    assert imported.returncode == 0, imported.stderr
