"""Where the running cluster keeps its state: the directory, its port, its kubeconfig and its recorded components."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from devcluster.cache import cache_root
from devcluster.processes import Component


def state_dir() -> Path:
    return Path(os.environ.get("K3S_MCP_CLUSTER_DIR", cache_root() / "cluster"))


def api_port() -> int:
    return int(os.environ.get("K3S_MCP_CLUSTER_PORT", "36443"))


def load_components(state: Path) -> list[Component]:
    path = state / "components.json"
    if not path.exists():
        return []
    try:
        return [Component(**item) for item in json.loads(path.read_text())]
    except (ValueError, TypeError):
        return []


def save_components(state: Path, items: list[Component]) -> None:
    (state / "components.json").write_text(json.dumps([vars(item) for item in items], indent=1))


def read_port(state: Path) -> int:
    with contextlib.suppress(OSError, ValueError):
        return int((state / "port").read_text())
    return api_port()


def kubeconfig_path(state: Path | None = None) -> Path:
    return (state or state_dir()) / "kubeconfig"
