"""The `helmchart` route: K3s's helm.cattle.io/v1 HelmChart and HelmChartConfig objects, through the kube session.

The helm controller built into K3s acts on these objects: it installs or upgrades a HelmChart's chart in a job and
uninstalls it when the object is deleted, so this route needs no helm binary. A HelmChart object keeps no
revisions, so history and rollback are the helm route's alone.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastmcp.exceptions import ToolError

from k3s_mcp.helm.arguments import ChartRequest, values_yaml
from k3s_mcp.helm.local_charts import packaged_chart_from
from k3s_mcp.helm.releases import HelmRelease, HelmReleaseRow
from k3s_mcp.kube import KubeError, KubeSession, ResourceInfo
from k3s_mcp.views import age, trim

HELMCHARTS = "helmcharts.helm.cattle.io"
HELMCHARTCONFIGS = "helmchartconfigs.helm.cattle.io"


async def helmchart_info(session: KubeSession, kind: str = HELMCHARTS) -> ResourceInfo:
    """The HelmChart (or HelmChartConfig) resource type, or a ToolError saying the cluster is not K3s."""
    try:
        return await session.resolve(kind)
    except KubeError:
        raise ToolError(
            "The cluster does not serve helm.cattle.io/v1 HelmChart objects: it is not K3s (or its helm "
            "controller is disabled). Fix: use route='helm'."
        ) from None


def helmchart_row(obj: dict[str, Any]) -> HelmReleaseRow:
    """A HelmChart object as a release row; its status says whether the helm controller has applied it."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    conditions = (obj.get("status") or {}).get("conditions") or []
    failed = next((c for c in conditions if c.get("type") == "Failed" and c.get("status") == "True"), None)
    job = (obj.get("status") or {}).get("jobName")
    status = "failed" if failed else ("applied by job " + job if job else "pending (no helm controller run yet)")
    chart = spec.get("chart") or ("(embedded chartContent)" if spec.get("chartContent") else "?")
    return HelmReleaseRow(
        name=str(meta.get("name", "")),
        namespace=str(spec.get("targetNamespace") or meta.get("namespace", "")),
        revision=str(meta.get("generation", "")) or None,
        updated=age(meta.get("creationTimestamp")),
        status=status,
        chart=f"{chart}{'@' + spec['version'] if spec.get('version') else ''}",
        app_version=None,
    )


def _trim_helmchart(obj: dict[str, Any]) -> dict[str, Any]:
    # An embedded chart is up to a megabyte of base64 nobody reads; its size says enough.
    trimmed = trim(obj)
    spec = trimmed.get("spec") or {}
    if spec.get("chartContent"):
        spec["chartContent"] = f"(base64 chart, {len(spec['chartContent'])} characters)"
    return trimmed


def _helmchart_spec(request: ChartRequest, content: str | None, values_content: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"targetNamespace": request.namespace, "createNamespace": request.create_namespace}
    if content is not None:
        spec["chartContent"] = content
    else:
        spec["chart"] = request.chart
        if request.repo_url:
            spec["repo"] = request.repo_url
    if request.version:
        spec["version"] = request.version
    if values_content is not None:
        spec["valuesContent"] = values_content
    if request.failure_policy:
        spec["failurePolicy"] = request.failure_policy
    return spec


class HelmChartBackend:
    """Releases as HelmChart objects that K3s's helm controller installs, upgrades and uninstalls."""

    route: Literal["helmchart"] = "helmchart"
    # Said by the backend chooser when history or rollback is asked of this route.
    no_revisions = "a HelmChart object keeps no revisions (K3s's helm controller keeps only the current one)"

    def __init__(self, session: KubeSession) -> None:
        self.session = session

    async def list_releases(self, namespace: str | None, name_filter: str | None) -> list[HelmReleaseRow]:
        # name_filter is helm's --filter regex, offered on the helm route only; HelmChart objects are listed whole.
        info = await helmchart_info(self.session)
        listing = await self.session.list_page(info, namespace, limit=self.session.settings.list_limit)
        return [helmchart_row(item) for item in listing.get("items") or []]

    async def get_release(self, release: str, namespace: str) -> HelmRelease:
        info = await helmchart_info(self.session)
        obj = await self.session.get(info, release, namespace)
        row = helmchart_row(obj)
        return HelmRelease(
            name=release,
            namespace=namespace,
            route=self.route,
            revision=(obj.get("metadata") or {}).get("generation"),
            status=row.status,
            chart=row.chart,
            object=_trim_helmchart(obj),
            message=f"HelmChart {release!r}: {row.status}.",
        )

    async def install(self, request: ChartRequest) -> HelmRelease:
        return await self._apply(request, must_exist=False)

    async def upgrade(self, request: ChartRequest) -> HelmRelease:
        return await self._apply(request, must_exist=True)

    async def uninstall(self, release: str, namespace: str, *, keep_history: bool, dry_run: bool) -> HelmRelease:
        info = await helmchart_info(self.session)
        await self.session.delete(info, release, namespace, dry_run=dry_run)
        suffix = " (dry run)" if dry_run else ""
        return HelmRelease(
            name=release,
            namespace=namespace,
            route=self.route,
            status="deleting",
            message=f"HelmChart {release!r} deleted from {namespace!r}{suffix}; K3s's helm controller uninstalls "
            "the chart.",
        )

    async def _apply(self, request: ChartRequest, *, must_exist: bool) -> HelmRelease:
        session, release, ns = self.session, request.release, request.namespace
        # Everything taken from the arguments is checked (and a local chart read) before the cluster is touched.
        directories = session.settings.helm_chart_dirs
        content = None if request.repo_url else await asyncio.to_thread(packaged_chart_from, request.chart, directories)
        values_content = await values_yaml(session, request.values) if request.values else None
        info = await helmchart_info(session)
        existing = await session.get_optional(info, release, ns)
        if must_exist and existing is None:
            raise ToolError(
                f"HelmChart {release!r} not found in namespace {ns!r}: nothing to upgrade. Use install_helm_chart."
            )
        if not must_exist and existing is not None:
            raise ToolError(
                f"HelmChart {release!r} already exists in namespace {ns!r}. Use upgrade_helm_release to change it."
            )
        manifest = {
            "apiVersion": info.api_version,
            "kind": info.kind,
            "metadata": {"name": release, "namespace": ns},
            "spec": _helmchart_spec(request, content, values_content),
        }
        applied = await session.apply(info, manifest, ns, dry_run=request.dry_run, force=True)
        verb = "upgraded" if must_exist else "installed"
        suffix = " (dry run)" if request.dry_run else ""
        row = helmchart_row(applied)
        return HelmRelease(
            name=release,
            namespace=ns,
            route=self.route,
            revision=(applied.get("metadata") or {}).get("generation"),
            status=row.status,
            chart=row.chart,
            object=_trim_helmchart(applied),
            message=f"HelmChart {release!r} {verb} in namespace {ns!r}{suffix}; K3s's helm controller runs a job "
            "to apply it.",
        )


async def apply_chart_config(
    session: KubeSession, name: str, namespace: str, values: dict[str, Any], *, dry_run: bool
) -> dict[str, Any]:
    """Create or replace the HelmChartConfig `name`: value overrides K3s merges over its packaged chart's."""
    values_content = await values_yaml(session, values)
    info = await helmchart_info(session, HELMCHARTCONFIGS)
    manifest = {
        "apiVersion": info.api_version,
        "kind": info.kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"valuesContent": values_content},
    }
    return await session.apply(info, manifest, namespace, dry_run=dry_run, force=True)
