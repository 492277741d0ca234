"""Toolsets: the tool modules K3S_TOOLSETS can enable, the presets naming several, and lazy loading of each."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastmcp import FastMCP

# Toolset name -> module whose attribute of the same name is the toolset's FastMCP server. Modules are imported
# only when their toolset is enabled: building their tools is most of the start-up time we control.
TOOLSET_MODULES: dict[str, str] = {
    name: f"k3s_mcp.tools.{name}"
    for name in (
        "pods",
        "deployments",
        "cluster",
        "manifests",
        "contexts",
        "keda",
        "helm",
        "config",
        "storage",
        "networking",
        "jobs",
        "workloads",
        "rollouts",
        "autoscaling",
        "inspection",
        "resources",
        "metrics",
    )
}
TOOLSET_PRESETS: dict[str, tuple[str, ...]] = {
    "all": tuple(TOOLSET_MODULES),
    "core": ("pods", "deployments", "cluster", "manifests"),
}


class ToolsetError(ValueError):
    """K3S_TOOLSETS names no toolset or one that does not exist."""


def selected_toolsets(spec: str) -> tuple[str, ...]:
    """The toolsets named by a K3S_TOOLSETS value (toolset and preset names, comma-separated), in listing order."""
    names = [part.strip().lower() for part in spec.split(",") if part.strip()]
    valid = f"valid names are the presets {', '.join(TOOLSET_PRESETS)} and the toolsets {', '.join(TOOLSET_MODULES)}"
    if not names:
        raise ToolsetError(f"K3S_TOOLSETS is empty: {valid}.")
    unknown = [name for name in names if name not in TOOLSET_PRESETS and name not in TOOLSET_MODULES]
    if unknown:
        raise ToolsetError(f"K3S_TOOLSETS names unknown toolset(s) {', '.join(unknown)}: {valid}.")
    chosen = {toolset for name in names for toolset in TOOLSET_PRESETS.get(name, (name,))}
    return tuple(toolset for toolset in TOOLSET_MODULES if toolset in chosen)


def toolset_server(toolset: str) -> FastMCP[Any]:
    """The FastMCP server of one toolset, importing its module on first use."""
    server: FastMCP[Any] = getattr(importlib.import_module(TOOLSET_MODULES[toolset]), toolset)
    return server
