"""Helm releases behind one interface: the helm binary (route `helm`) or K3s HelmChart objects (route `helmchart`).

`backend` picks a route's backend and refuses operations a route cannot do; `command` runs the helm binary,
`helmchart` writes HelmChart objects through the kube session, packing local charts with `local_charts`;
`arguments` holds the rules every argument meets on both routes and `releases` the shapes both answer in.
This package re-exports what the tools use.
"""

from k3s_mcp.helm.arguments import (
    RELEASE_MAX,
    RELEASE_PATTERN,
    ChartRequest,
    check_release,
    release_namespace,
)
from k3s_mcp.helm.backend import (
    ReleaseBackend,
    RevisionBackend,
    RouteName,
    backend_for,
    revision_backend_for,
)
from k3s_mcp.helm.helmchart import apply_chart_config
from k3s_mcp.helm.releases import HelmRelease, HelmReleaseRow, HelmRevision

__all__ = [
    "RELEASE_MAX",
    "RELEASE_PATTERN",
    "ChartRequest",
    "HelmRelease",
    "HelmReleaseRow",
    "HelmRevision",
    "ReleaseBackend",
    "RevisionBackend",
    "RouteName",
    "apply_chart_config",
    "backend_for",
    "check_release",
    "release_namespace",
    "revision_backend_for",
]
