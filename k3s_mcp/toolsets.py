"""Toolsets: the tool modules K3S_TOOLSETS can enable, the presets naming several, and lazy loading of each.

The preset ``default`` (K3S_TOOLSETS unset) lists only ``LISTED_BY_DEFAULT`` and the three disclosure tools
(:mod:`k3s_mcp.disclosure`): the rest of the catalog is named by ``list_toolsets``, listed for the session by
``enable_toolset`` and callable by name or through ``call_tool`` at any time. It loads only the toolsets of
``LISTED_BY_DEFAULT_TOOLSETS`` at start; the others are imported and joined the first time a call needs them
(:mod:`k3s_mcp.middleware.deferred`). Every other value lists, and loads, all the tools of the toolsets it names
(``all``: every tool).
"""

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
        "nodes",
    )
}
TOOLSET_PRESETS: dict[str, tuple[str, ...]] = {
    "default": tuple(TOOLSET_MODULES),
    "all": tuple(TOOLSET_MODULES),
    "core": ("pods", "deployments", "cluster", "manifests"),
}
# The preset that lists a small surface and discloses the rest on request.
DISCLOSURE_PRESET = "default"
# Listed from the start under the default preset: the 13 tools of the core preset, then the kind-parameterised
# reads that cover every other kind (CRDs included) and the diagnosis most questions start with. A tool added to a
# toolset is behind disclosure until it is named here (tests/k3s_mcp/test_disclosure.py holds the token budget).
LISTED_BY_DEFAULT: tuple[str, ...] = (
    "get_pods",
    "get_logs",
    "restart_pod",
    "execute_command",
    "get_deployments",
    "get_deployment",
    "scale_deployment",
    "get_nodes",
    "get_namespaces",
    "get_services",
    "get_cluster_info",
    "apply_manifest",
    "delete_resource",
    "get_resources",
    "get_resource",
    "describe_object",
)

# The toolsets holding the tools of LISTED_BY_DEFAULT, loaded at start under the default preset
# (tests/k3s_mcp/test_toolsets.py checks that they hold every one of them).
LISTED_BY_DEFAULT_TOOLSETS: tuple[str, ...] = ("pods", "deployments", "cluster", "manifests", "resources", "inspection")


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


def discloses(spec: str) -> bool:
    """Whether a K3S_TOOLSETS value asks for the default surface: a few tools listed, the rest on request."""
    return DISCLOSURE_PRESET in {part.strip().lower() for part in spec.split(",")}


def toolset_server(toolset: str) -> FastMCP[Any]:
    """The FastMCP server of one toolset, importing its module on first use."""
    server: FastMCP[Any] = getattr(importlib.import_module(TOOLSET_MODULES[toolset]), toolset)
    return server
