"""Where the development parts keep what they build, fetch and run: one root, ``$K3S_MCP_CACHE`` or the default."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """``$K3S_MCP_CACHE`` when set, else ``~/.cache/k3s-mcp``: binaries, cluster state, helm, models, npm installs."""
    return Path(os.environ.get("K3S_MCP_CACHE", Path.home() / ".cache" / "k3s-mcp"))
