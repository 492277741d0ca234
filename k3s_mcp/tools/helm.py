"""Helm tools: releases through the `helm` command, or K3s's HelmChart/HelmChartConfig objects (helm.cattle.io/v1).

Each tool checks its arguments, picks the route's backend from :mod:`k3s_mcp.helm` and shapes the answer. Route
``helm`` runs the helm binary (K3S_HELM_BINARY) with every option as one `--flag=value` argument and every
positional after `--`; route ``helmchart`` writes a HelmChart object that the helm controller built into K3s
installs, upgrades and (on delete) uninstalls, packing local charts only from K3S_HELM_CHART_DIRS.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastmcp import FastMCP
from pydantic import BaseModel, Field

from k3s_mcp.helm import (
    RELEASE_MAX,
    RELEASE_PATTERN,
    ChartRequest,
    HelmRelease,
    HelmReleaseRow,
    HelmRevision,
    RouteName,
    apply_chart_config,
    backend_for,
    check_release,
    release_namespace,
    revision_backend_for,
)
from k3s_mcp.kube import current_session
from k3s_mcp.tools import DESTRUCTIVE, READ_ONLY, WRITE, tool

helm: FastMCP = FastMCP("helm")

HELM_KIND = {"k3s_kind": "HelmRelease"}

Route = Annotated[
    RouteName,
    Field(
        description="'helm' runs the helm command; 'helmchart' writes a K3s HelmChart object "
        "(helm.cattle.io/v1) that K3s's helm controller acts on."
    ),
]
# The rule is checked by the tools (one clear sentence), and still advertised in the schema.
Release = Annotated[str, Field(description="Release name.", pattern=RELEASE_PATTERN, max_length=RELEASE_MAX)]
Namespace = Annotated[
    str | None,
    Field(description="Namespace of the release; omitted = the server's default namespace."),
]
Chart = Annotated[
    str,
    Field(
        min_length=1,
        description="Chart: a name in repo_url's repository (e.g. 'nginx'), a local chart directory or .tgz path "
        "on the server (route='helmchart': only under K3S_HELM_CHART_DIRS), or an oci:// reference.",
    ),
]
RepoUrl = Annotated[str | None, Field(description="Chart repository URL (https://...), when chart is a name.")]
Version = Annotated[str | None, Field(description="Chart version constraint; omitted = latest.")]
Values = Annotated[
    dict[str, Any] | None, Field(description="Values overriding the chart's values.yaml, e.g. {'replicaCount': 2}.")
]


# The answers' envelopes stay with the tools; the rows and releases inside them are what the backends return.
class HelmReleaseList(BaseModel):
    route: str
    items: list[HelmReleaseRow]
    count: int


class HelmHistory(BaseModel):
    name: str
    namespace: str
    items: list[HelmRevision]
    count: int


class HelmChartConfigResult(BaseModel):
    name: str
    namespace: str
    values: dict[str, Any]
    message: str


@tool(helm, title="List Helm releases", safety=READ_ONLY)
async def list_helm_releases(
    namespace: Annotated[str | None, Field(description="Namespace to list; omitted = all namespaces.")] = None,
    route: Route = "helm",
    name_filter: Annotated[str | None, Field(description="helm route: a regular expression on release names.")] = None,
) -> HelmReleaseList:
    """List Helm releases (name, namespace, revision, status, chart, app version).

    route='helmchart' lists K3s HelmChart objects instead (releases K3s's controller manages).
    """
    rows = await backend_for(current_session(), route).list_releases(namespace, name_filter)
    return HelmReleaseList(route=route, items=rows, count=len(rows))


@tool(helm, title="Show a Helm release", safety=READ_ONLY)
async def get_helm_release(release: Release, namespace: Namespace = None, route: Route = "helm") -> HelmRelease:
    """Show a release's status: revision, status, chart, app version, description, notes and user values.

    route='helmchart' shows the K3s HelmChart object and whether the helm controller has applied it.
    """
    session = current_session()
    release, ns = check_release(release), release_namespace(session, namespace)
    return await backend_for(session, route).get_release(release, ns)


@tool(helm, title="Show a Helm release's history", safety=READ_ONLY)
async def get_helm_history(
    release: Release,
    namespace: Namespace = None,
    max_revisions: Annotated[int, Field(ge=1, le=256, description="Most recent revisions to show.")] = 20,
) -> HelmHistory:
    """List a release's revisions (revision, time, status, chart, description), oldest first; helm route only."""
    session = current_session()
    release, ns = check_release(release), release_namespace(session, namespace)
    rows = await revision_backend_for(session, "helm", "history").history(release, ns, max_revisions)
    return HelmHistory(name=release, namespace=ns, items=rows, count=len(rows))


@tool(helm, title="Install a Helm chart", safety=WRITE, meta=HELM_KIND)
async def install_helm_chart(
    release: Release,
    chart: Chart,
    namespace: Namespace = None,
    repo_url: RepoUrl = None,
    version: Version = None,
    values: Values = None,
    create_namespace: Annotated[bool, Field(description="Create the namespace if it does not exist.")] = False,
    wait: Annotated[bool, Field(description="helm route: wait until the release's resources are ready.")] = False,
    route: Route = "helm",
    failure_policy: Annotated[
        str | None, Field(description="helmchart route: abort, reinstall or retry when the install job fails.")
    ] = None,
    dry_run: Annotated[bool, Field(description="Render and validate on the server, installing nothing.")] = False,
) -> HelmRelease:
    """Install a chart as a new release, from a repository (chart + repo_url), a local path, or oci://.

    route='helmchart' creates a K3s HelmChart object instead (a local chart is embedded in it).
    Fails if the release exists: use upgrade_helm_release for that.
    """
    session = current_session()
    release, ns = check_release(release), release_namespace(session, namespace)
    request = ChartRequest(
        release,
        ns,
        chart,
        repo_url,
        version,
        values,
        create_namespace=create_namespace,
        wait=wait,
        failure_policy=failure_policy,
        dry_run=dry_run,
    )
    return await backend_for(session, route).install(request)


@tool(helm, title="Upgrade a Helm release", safety=WRITE, meta=HELM_KIND)
async def upgrade_helm_release(
    release: Release,
    chart: Chart,
    namespace: Namespace = None,
    repo_url: RepoUrl = None,
    version: Version = None,
    values: Values = None,
    reuse_values: Annotated[
        bool, Field(description="helm route: keep the previous revision's values and merge `values` on top.")
    ] = True,
    wait: Annotated[bool, Field(description="helm route: wait until the release's resources are ready.")] = False,
    route: Route = "helm",
    failure_policy: Annotated[
        str | None, Field(description="helmchart route: abort, reinstall or retry when the job fails.")
    ] = None,
    dry_run: Annotated[bool, Field(description="Render and validate on the server, changing nothing.")] = False,
) -> HelmRelease:
    """Upgrade an existing release to a chart version and/or new values (a new revision; rollback undoes it).

    route='helmchart' updates the K3s HelmChart object (its values replace the previous ones).
    """
    session = current_session()
    release, ns = check_release(release), release_namespace(session, namespace)
    request = ChartRequest(
        release,
        ns,
        chart,
        repo_url,
        version,
        values,
        wait=wait,
        reuse_values=reuse_values,
        failure_policy=failure_policy,
        dry_run=dry_run,
    )
    return await backend_for(session, route).upgrade(request)


@tool(helm, title="Roll back a Helm release", safety=DESTRUCTIVE, meta=HELM_KIND)
async def rollback_helm_release(
    release: Release,
    namespace: Namespace = None,
    revision: Annotated[
        int | None, Field(ge=1, description="Revision to return to (see get_helm_history); omitted = the previous one.")
    ] = None,
    wait: Annotated[bool, Field(description="Wait until the release's resources are ready.")] = False,
) -> HelmRelease:
    """Roll a release back to an earlier revision (helm route); this creates a new revision with the old state."""
    session = current_session()
    release, ns = check_release(release), release_namespace(session, namespace)
    return await revision_backend_for(session, "helm", "rollback").rollback(release, ns, revision, wait)


@tool(helm, title="Uninstall a Helm release", safety=DESTRUCTIVE, meta=HELM_KIND)
async def uninstall_helm_release(
    release: Release,
    namespace: Namespace = None,
    route: Route = "helm",
    keep_history: Annotated[
        bool, Field(description="helm route: keep the release record so it can be rolled back.")
    ] = False,
    dry_run: Annotated[bool, Field(description="Report what would be removed, removing nothing.")] = False,
) -> HelmRelease:
    """Uninstall a release and delete its resources; route='helmchart' deletes the HelmChart object
    (K3s's helm controller then uninstalls the chart)."""
    session = current_session()
    release, ns = check_release(release), release_namespace(session, namespace)
    return await backend_for(session, route).uninstall(release, ns, keep_history=keep_history, dry_run=dry_run)


@tool(helm, title="Override values of a K3s packaged chart", safety=WRITE)
async def configure_helm_chart(
    name: Annotated[str, Field(min_length=1, description="Name of the HelmChart to configure, e.g. 'traefik'.")],
    values: Annotated[dict[str, Any], Field(description="Values merged over the chart's, e.g. {'ports': {...}}.")],
    namespace: Annotated[str, Field(description="Namespace of the HelmChart; K3s keeps its own in kube-system.")] = (
        "kube-system"
    ),
    dry_run: Annotated[bool, Field(description="Validate on the server, changing nothing.")] = False,
) -> HelmChartConfigResult:
    """Create or replace a K3s HelmChartConfig (helm.cattle.io/v1): value overrides for a HelmChart K3s manages
    (traefik, coredns-style packaged components), kept across K3s upgrades."""
    await apply_chart_config(current_session(), name, namespace, values, dry_run=dry_run)
    suffix = " (dry run)" if dry_run else ""
    return HelmChartConfigResult(
        name=name,
        namespace=namespace,
        values=values,
        message=f"HelmChartConfig {name!r} in {namespace!r} set{suffix}; K3s re-applies the chart with these values.",
    )
