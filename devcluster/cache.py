"""Where the development parts keep what they build, fetch and run: one root, ``$K3S_MCP_CACHE`` or the default."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


def cache_root() -> Path:
    """``$K3S_MCP_CACHE`` when set, else ``~/.cache/k3s-mcp``: binaries, cluster state, helm, models, npm installs."""
    return Path(os.environ.get("K3S_MCP_CACHE", Path.home() / ".cache" / "k3s-mcp"))


@contextlib.contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock on `lock_file` (created with its folder): two test runs starting together do the
    work once and share it instead of racing."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
