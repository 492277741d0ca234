"""What a Helm route can do, and the one place that picks the backend for a route or says it cannot do an operation.

A route is where releases live: `helm` (the helm binary and the release records it keeps, with revisions) or
`helmchart` (K3s HelmChart objects that K3s's helm controller acts on, one current state each).
"""

from __future__ import annotations

from typing import Literal, Protocol

from fastmcp.exceptions import ToolError

from k3s_mcp.helm.arguments import ChartRequest
from k3s_mcp.helm.command import HelmCommandBackend
from k3s_mcp.helm.helmchart import HelmChartBackend
from k3s_mcp.helm.releases import HelmRelease, HelmReleaseRow, HelmRevision
from k3s_mcp.kube import KubeSession

RouteName = Literal["helm", "helmchart"]
RevisionOperation = Literal["history", "rollback"]

_OPERATION_WORDS: dict[RevisionOperation, str] = {
    "history": "show a release's history",
    "rollback": "roll a release back",
}


class ReleaseBackend(Protocol):
    """What every route does with a release. Errors are ToolErrors already worded for the caller."""

    @property
    def route(self) -> RouteName: ...

    async def list_releases(self, namespace: str | None, name_filter: str | None) -> list[HelmReleaseRow]:
        """Releases in `namespace` (None = all namespaces)."""
        ...

    async def get_release(self, release: str, namespace: str) -> HelmRelease: ...

    async def install(self, request: ChartRequest) -> HelmRelease:
        """A new release; fails when it exists."""
        ...

    async def upgrade(self, request: ChartRequest) -> HelmRelease:
        """A new state of an existing release; fails when there is none."""
        ...

    async def uninstall(self, release: str, namespace: str, *, keep_history: bool, dry_run: bool) -> HelmRelease: ...


class RevisionBackend(ReleaseBackend, Protocol):
    """A route whose releases keep revisions, so their history can be read and an earlier one restored."""

    async def history(self, release: str, namespace: str, max_revisions: int) -> list[HelmRevision]:
        """The last `max_revisions` revisions, oldest first."""
        ...

    async def rollback(self, release: str, namespace: str, revision: int | None, wait: bool) -> HelmRelease:
        """Back to `revision` (None = the previous one), as a new revision."""
        ...


def backend_for(session: KubeSession, route: RouteName) -> ReleaseBackend:
    """The backend of `route`, working through `session`."""
    if route == "helmchart":
        return HelmChartBackend(session)
    return HelmCommandBackend(session)


def revision_backend_for(session: KubeSession, route: RouteName, operation: RevisionOperation) -> RevisionBackend:
    """The backend of `route` for an operation on revisions, or a ToolError saying why that route has none."""
    if route == "helmchart":
        raise ToolError(
            f"route='helmchart' cannot {_OPERATION_WORDS[operation]}: {HelmChartBackend.no_revisions}. "
            "Use route='helm' for releases the helm command installed."
        )
    return HelmCommandBackend(session)
