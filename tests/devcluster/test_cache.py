"""devcluster.cache: one root for everything the development parts keep, moved by K3S_MCP_CACHE."""

from __future__ import annotations

from pathlib import Path

import pytest

from devcluster import helm
from devcluster.cache import cache_root


def test_the_root_defaults_to_the_users_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("K3S_MCP_CACHE", raising=False)
    assert cache_root() == Path.home() / ".cache" / "k3s-mcp"


def test_k3s_mcp_cache_moves_the_root_and_what_lives_under_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("K3S_MCP_CACHE", str(tmp_path))
    assert cache_root() == tmp_path
    assert helm.cache_dir() == tmp_path / "helm"
