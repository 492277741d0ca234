"""Tools whose API the cluster does not serve: hidden from tools/list, and named with the reason in
get_cluster_info's `unavailable_tools`.

Three toolsets need more than core Kubernetes: ``keda`` (the keda.sh CRDs), ``helm`` (the helm command, or the
helm.cattle.io HelmChart CRD of K3s's helm controller) and ``metrics`` (metrics.k8s.io, served by metrics-server).
What the cluster serves is read from discovery, which the session caches for K3S_DISCOVERY_TTL, and the answer is
kept as long, so tools/list costs a dictionary look-up between refreshes. A cluster that cannot be reached hides
nothing (its APIs are unknown, not missing). A hidden tool can still be called: its own answer says what is
missing, and the cluster may have gained the API since the last look.
"""

from __future__ import annotations

import shutil
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fastmcp.server.transforms import Transform
from fastmcp.tools.base import Tool

from k3s_mcp.kube import KubeError, KubeSession, ResourceInfo
from k3s_mcp.toolsets import selected_toolsets, toolset_server

# A toolset's requirement: what the cluster serves (and the settings) -> why its tools cannot work, or None.
Requirement = Callable[[Sequence[ResourceInfo], KubeSession], str | None]


def _serves(types: Sequence[ResourceInfo], group: str, kind: str | None = None) -> bool:
    return any(info.group == group and (kind is None or info.kind == kind) for info in types)


def keda_requirement(types: Sequence[ResourceInfo], session: KubeSession) -> str | None:
    if _serves(types, "keda.sh"):
        return None
    return "the cluster serves no KEDA API (keda.sh): install KEDA to manage ScaledObjects and ScaledJobs"


def helm_requirement(types: Sequence[ResourceInfo], session: KubeSession) -> str | None:
    if _serves(types, "helm.cattle.io", "HelmChart") or shutil.which(session.settings.helm_binary):
        return None
    return (
        f"neither the helm command (K3S_HELM_BINARY={session.settings.helm_binary!r}) nor K3s's HelmChart API "
        "(helm.cattle.io) is available"
    )


def metrics_requirement(types: Sequence[ResourceInfo], session: KubeSession) -> str | None:
    if _serves(types, "metrics.k8s.io"):
        return None
    return "the cluster does not serve the metrics API (metrics.k8s.io): install metrics-server"


REQUIREMENTS: dict[str, Requirement] = {
    "keda": keda_requirement,
    "helm": helm_requirement,
    "metrics": metrics_requirement,
}


@dataclass
class _Snapshot:
    taken_at: float
    reasons: dict[str, str]


class ServedTools(Transform):
    """Lists only the tools whose API the cluster serves; `unavailable()` says which are left out and why."""

    def __init__(self, session: KubeSession) -> None:
        self.session = session
        self.toolsets = [t for t in selected_toolsets(session.settings.toolsets) if t in REQUIREMENTS]
        self._snapshot: _Snapshot | None = None

    async def unavailable(self) -> dict[str, str]:
        """Tool name -> why the cluster cannot serve it, as of the last look (at most K3S_DISCOVERY_TTL old)."""
        ttl = self.session.settings.discovery_ttl_seconds
        if self._snapshot is not None and time.monotonic() - self._snapshot.taken_at <= ttl:
            return self._snapshot.reasons
        reasons: dict[str, str] = {}
        if self.toolsets:
            try:
                types = await self.session.resource_types()
            except KubeError:
                types = None  # unknown, not missing: hide nothing
            for toolset in self.toolsets if types is not None else []:
                reason = REQUIREMENTS[toolset](types or [], self.session)
                if reason is not None:
                    for tool in await toolset_server(toolset).list_tools(run_middleware=False):
                        reasons[tool.name] = reason
        self._snapshot = _Snapshot(time.monotonic(), reasons)
        return reasons

    async def list_tools(self, tools: Sequence[Tool]) -> Sequence[Tool]:
        reasons = await self.unavailable()
        return [tool for tool in tools if tool.name not in reasons] if reasons else tools


_served_tools: weakref.WeakKeyDictionary[KubeSession, ServedTools] = weakref.WeakKeyDictionary()


def served_tools_for(session: KubeSession) -> ServedTools:
    """The one ServedTools of a session (the app's own, or a kubeconfig context's), so its answer is shared by
    tools/list and get_cluster_info."""
    found = _served_tools.get(session)
    if found is None:
        found = _served_tools[session] = ServedTools(session)
    return found
