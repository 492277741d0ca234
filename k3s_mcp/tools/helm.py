"""Helm tools: releases through the `helm` command, or K3s's HelmChart/HelmChartConfig objects (helm.cattle.io/v1).

Route ``helm`` runs the helm binary (K3S_HELM_BINARY) as a subprocess, never through a shell, with the
session's kubeconfig and context and JSON output. Route ``helmchart`` writes a HelmChart object that the
helm controller built into K3s installs, upgrades and (on delete) uninstalls; it needs no helm binary.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from pydantic import BaseModel, Field

from k3s_mcp.kube import KubeSession, ResourceInfo, current_session
from k3s_mcp.render import age, trim
from k3s_mcp.tools import DESTRUCTIVE, DESTRUCTIVE_TAGS, READ_ONLY, READ_TAGS, WRITE, WRITE_TAGS

helm: FastMCP = FastMCP("helm")

HELM_KIND = {"k3s_kind": "HelmRelease"}
NOTES_LIMIT = 4000
# Charts sent inside a HelmChart object (spec.chartContent) live in etcd, whose objects are capped near 1.5 MB.
CHART_CONTENT_LIMIT = 1_000_000

Route = Annotated[
    Literal["helm", "helmchart"],
    Field(
        description="'helm' runs the helm command; 'helmchart' writes a K3s HelmChart object "
        "(helm.cattle.io/v1) that K3s's helm controller acts on."
    ),
]
Release = Annotated[
    str,
    Field(min_length=1, max_length=53, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", description="Release name."),
]
Namespace = Annotated[
    str | None,
    Field(description="Namespace of the release; omitted = the server's default namespace."),
]
Chart = Annotated[
    str,
    Field(
        min_length=1,
        description="Chart: a name in repo_url's repository (e.g. 'nginx'), a local chart directory or .tgz path "
        "on the server, or an oci:// reference.",
    ),
]
RepoUrl = Annotated[str | None, Field(description="Chart repository URL (https://...), when chart is a name.")]
Version = Annotated[str | None, Field(description="Chart version constraint; omitted = latest.")]
Values = Annotated[
    dict[str, Any] | None, Field(description="Values overriding the chart's values.yaml, e.g. {'replicaCount': 2}.")
]


class HelmReleaseRow(BaseModel):
    """One release as `helm list` shows it (or a HelmChart object on the helmchart route)."""

    name: str
    namespace: str
    revision: str | None = None
    updated: str | None = None
    status: str
    chart: str
    app_version: str | None = None


class HelmReleaseList(BaseModel):
    route: str
    items: list[HelmReleaseRow]
    count: int


class HelmRelease(BaseModel):
    """A release's current state."""

    name: str
    namespace: str
    route: str
    revision: int | None = None
    status: str
    chart: str | None = None
    app_version: str | None = None
    description: str | None = None
    last_deployed: str | None = None
    notes: str | None = Field(default=None, description="The chart's NOTES (cut to 4000 characters).")
    values: dict[str, Any] | None = Field(default=None, description="User-supplied values of this revision.")
    object: dict[str, Any] | None = Field(default=None, description="The HelmChart object (helmchart route).")
    message: str


class HelmRevision(BaseModel):
    revision: int
    updated: str
    status: str
    chart: str
    app_version: str | None = None
    description: str


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


# -- the helm command ----------------------------------------------------------------------------------


def _helm_binary(session: KubeSession) -> str:
    configured = session.settings.helm_binary
    found = shutil.which(configured)
    if found is None:
        raise ToolError(
            f"The helm command was not found (K3S_HELM_BINARY={configured!r}). Fix: install helm and put it on "
            "PATH or set K3S_HELM_BINARY to its path; or use route='helmchart' on K3s, which needs no helm binary."
        )
    return found


def _helm_error(verb: str, stderr: str, release: str | None, namespace: str | None) -> ToolError:
    """A ToolError worded from helm's stderr ('Error: ...' lines), naming the release and the fix where known."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line.removeprefix("Error: ") for line in lines if line.startswith("Error:")] or lines[-3:]
    detail = " ".join(errors)[:1500] or "no error output"
    what = f" release {release!r}" if release else ""
    where = f" in namespace {namespace!r}" if namespace else ""
    if "release: not found" in detail or re.search(r"release(:)? \S* ?not found", detail):
        return ToolError(f"Helm{what} not found{where}. List releases with list_helm_releases.")
    if "cannot be reached" in detail or "connection refused" in detail or "no such host" in detail:
        return ToolError(
            f"helm {verb} failed: the chart repository cannot be reached ({detail}). Fix: check repo_url, "
            "or install from a local chart path."
        )
    if re.search(r"cannot re-?use a name that is still in use", detail):
        return ToolError(f"helm {verb} failed:{what} already exists{where}. Use upgrade_helm_release to change it.")
    if "has no deployed releases" in detail:
        return ToolError(f"helm {verb} failed:{what}{where} has no deployed revision ({detail}).")
    return ToolError(f"helm {verb} failed for{what or ' the request'}{where}: {detail}")


async def run_helm(
    session: KubeSession, verb: str, *arguments: str, release: str | None = None, namespace: str | None = None
) -> str:
    """Run `helm <verb> <arguments>` against the session's cluster; returns stdout, raises a worded ToolError."""
    binary = _helm_binary(session)
    command = [binary, verb, *arguments]
    if session.settings.context:
        command += ["--kube-context", session.settings.context]
    environment = dict(os.environ)
    existing = [str(path) for path in session.settings.kubeconfig_paths if path.is_file()]
    if existing:
        environment["KUBECONFIG"] = os.pathsep.join(existing)
    timeout = session.settings.helm_timeout_seconds
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment,
    )
    try:
        async with asyncio.timeout(timeout + 10):
            stdout, stderr = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise ToolError(
            f"helm {verb} did not finish within {timeout + 10:g}s and was stopped (K3S_HELM_TIMEOUT). "
            "Check the release's pods; its state may be pending."
        ) from None
    if process.returncode != 0:
        raise _helm_error(verb, stderr.decode("utf-8", "replace"), release, namespace)
    return stdout.decode("utf-8", "replace")


def _json(text: str, verb: str) -> Any:
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        raise ToolError(f"helm {verb} printed no JSON: {text[:300]!r}") from None


@contextmanager
def _values_file(values: dict[str, Any] | None) -> Iterator[list[str]]:
    """`--values <file>` arguments for `values` (a private temporary file, removed afterwards)."""
    if not values:
        yield []
        return
    handle, path = tempfile.mkstemp(prefix="k3s-mcp-values-", suffix=".yaml")
    try:
        with os.fdopen(handle, "w") as file:
            yaml.safe_dump(values, file)
        yield ["--values", path]
    finally:
        Path(path).unlink(missing_ok=True)


def _chart_arguments(chart: str, repo_url: str | None, version: str | None) -> list[str]:
    arguments = [chart]
    if repo_url:
        arguments += ["--repo", repo_url]
    if version:
        arguments += ["--version", version]
    return arguments


def _release_from_json(data: dict[str, Any], route: str, message: str) -> HelmRelease:
    info = data.get("info") or {}
    metadata = (data.get("chart") or {}).get("metadata") or {}
    notes = info.get("notes")
    return HelmRelease(
        name=str(data.get("name", "")),
        namespace=str(data.get("namespace", "")),
        route=route,
        revision=data.get("version"),
        status=str(info.get("status", "unknown")),
        chart=f"{metadata['name']}-{metadata.get('version', '')}" if metadata.get("name") else None,
        app_version=metadata.get("appVersion"),
        description=info.get("description"),
        last_deployed=info.get("last_deployed"),
        notes=notes[:NOTES_LIMIT] if isinstance(notes, str) and notes else None,
        values=data.get("config") or None,
        message=message,
    )


# -- the HelmChart route ------------------------------------------------------------------------------


async def _helmchart_info(session: KubeSession, kind: str = "helmcharts.helm.cattle.io") -> ResourceInfo:
    try:
        return await session.resolve(kind)
    except ToolError:
        raise ToolError(
            "The cluster does not serve helm.cattle.io/v1 HelmChart objects: it is not K3s (or its helm "
            "controller is disabled). Fix: use route='helm'."
        ) from None


def _packaged_chart(chart: str) -> str | None:
    """Base64 of a local chart (a .tgz, or a directory packed the way `helm package` does), or None for remote."""
    path = Path(chart).expanduser()
    if not path.exists():
        return None
    if path.is_file():
        data = path.read_bytes()
    else:
        if not (path / "Chart.yaml").is_file():
            raise ToolError(f"{chart!r} is a directory without Chart.yaml, so it is not a Helm chart.")
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            archive.add(path, arcname=path.name)
        data = buffer.getvalue()
    if len(data) > CHART_CONTENT_LIMIT:
        raise ToolError(
            f"The chart at {chart!r} is {len(data)} bytes packed; a HelmChart object holds at most "
            f"{CHART_CONTENT_LIMIT}. Fix: serve it from a repository (repo_url) or use route='helm'."
        )
    return base64.b64encode(data).decode()


def _helmchart_row(obj: dict[str, Any]) -> HelmReleaseRow:
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


async def _apply_helmchart(
    session: KubeSession,
    release: str,
    ns: str,
    chart: str,
    repo_url: str | None,
    version: str | None,
    values: dict[str, Any] | None,
    *,
    create_namespace: bool,
    failure_policy: str | None,
    must_exist: bool,
    dry_run: bool,
) -> HelmRelease:
    info = await _helmchart_info(session)
    existing = await session.get_optional(info, release, ns)
    if must_exist and existing is None:
        raise ToolError(
            f"HelmChart {release!r} not found in namespace {ns!r}: nothing to upgrade. Use install_helm_chart."
        )
    if not must_exist and existing is not None:
        raise ToolError(
            f"HelmChart {release!r} already exists in namespace {ns!r}. Use upgrade_helm_release to change it."
        )
    spec: dict[str, Any] = {"targetNamespace": ns, "createNamespace": create_namespace}
    content = None if repo_url else await asyncio.to_thread(_packaged_chart, chart)
    if content is not None:
        spec["chartContent"] = content
    else:
        spec["chart"] = chart
        if repo_url:
            spec["repo"] = repo_url
    if version:
        spec["version"] = version
    if values:
        spec["valuesContent"] = yaml.safe_dump(values)
    if failure_policy:
        spec["failurePolicy"] = failure_policy
    manifest = {
        "apiVersion": info.api_version,
        "kind": info.kind,
        "metadata": {"name": release, "namespace": ns},
        "spec": spec,
    }
    applied = await session.apply(info, manifest, ns, dry_run=dry_run, force=True)
    verb = "upgraded" if must_exist else "installed"
    suffix = " (dry run)" if dry_run else ""
    row = _helmchart_row(applied)
    return HelmRelease(
        name=release,
        namespace=ns,
        route="helmchart",
        revision=(applied.get("metadata") or {}).get("generation"),
        status=row.status,
        chart=row.chart,
        object=_trim_helmchart(applied),
        message=f"HelmChart {release!r} {verb} in namespace {ns!r}{suffix}; K3s's helm controller runs a job "
        "to apply it.",
    )


def _trim_helmchart(obj: dict[str, Any]) -> dict[str, Any]:
    trimmed = trim(obj)
    spec = trimmed.get("spec") or {}
    if spec.get("chartContent"):
        spec["chartContent"] = f"(base64 chart, {len(spec['chartContent'])} characters)"
    return trimmed


# -- tools -------------------------------------------------------------------------------------------


@helm.tool(title="List Helm releases", tags=READ_TAGS, annotations=READ_ONLY)
async def list_helm_releases(
    namespace: Annotated[str | None, Field(description="Namespace to list; omitted = all namespaces.")] = None,
    route: Route = "helm",
    name_filter: Annotated[str | None, Field(description="helm route: a regular expression on release names.")] = None,
) -> HelmReleaseList:
    """List Helm releases (name, namespace, revision, status, chart, app version).

    route='helmchart' lists K3s HelmChart objects instead (releases K3s's controller manages).
    """
    session = current_session()
    if route == "helmchart":
        info = await _helmchart_info(session)
        listing = await session.list_page(info, namespace, limit=session.settings.list_limit)
        rows = [_helmchart_row(item) for item in listing.get("items") or []]
        return HelmReleaseList(route=route, items=rows, count=len(rows))
    arguments = ["-o", "json", "--max", str(session.settings.list_limit)]
    arguments += ["--namespace", namespace] if namespace else ["--all-namespaces"]
    if name_filter:
        arguments += ["--filter", name_filter]
    try:
        # helm 3 lists only deployed and failed releases unless told --all; helm 4 lists all and lacks the flag.
        output = await run_helm(session, "list", "--all", *arguments, namespace=namespace)
    except ToolError as error:
        if "unknown flag: --all" not in str(error):
            raise
        output = await run_helm(session, "list", *arguments, namespace=namespace)
    data = _json(output, "list") or []
    rows = [
        HelmReleaseRow(
            name=str(item.get("name", "")),
            namespace=str(item.get("namespace", "")),
            revision=str(item.get("revision", "")),
            updated=str(item.get("updated", "")),
            status=str(item.get("status", "")),
            chart=str(item.get("chart", "")),
            app_version=item.get("app_version") or None,
        )
        for item in data
    ]
    return HelmReleaseList(route=route, items=rows, count=len(rows))


@helm.tool(title="Show a Helm release", tags=READ_TAGS, annotations=READ_ONLY)
async def get_helm_release(release: Release, namespace: Namespace = None, route: Route = "helm") -> HelmRelease:
    """Show a release's status: revision, status, chart, app version, description, notes and user values.

    route='helmchart' shows the K3s HelmChart object and whether the helm controller has applied it.
    """
    session = current_session()
    ns = namespace or session.settings.default_namespace
    if route == "helmchart":
        info = await _helmchart_info(session)
        obj = await session.get(info, release, ns)
        row = _helmchart_row(obj)
        return HelmRelease(
            name=release,
            namespace=ns,
            route=route,
            revision=(obj.get("metadata") or {}).get("generation"),
            status=row.status,
            chart=row.chart,
            object=_trim_helmchart(obj),
            message=f"HelmChart {release!r}: {row.status}.",
        )
    status = _json(
        await run_helm(session, "status", release, "--namespace", ns, "-o", "json", release=release, namespace=ns),
        "status",
    )
    history = _json(
        await run_helm(
            session, "history", release, "--namespace", ns, "--max", "1", "-o", "json", release=release, namespace=ns
        ),
        "history",
    )
    result = _release_from_json(status or {}, route, "")
    if history:
        result.chart = history[-1].get("chart") or result.chart
        result.app_version = history[-1].get("app_version") or result.app_version
    result.message = f"Release {release!r} in {ns!r}: revision {result.revision}, {result.status}, {result.chart}."
    return result


@helm.tool(title="Show a Helm release's history", tags=READ_TAGS, annotations=READ_ONLY)
async def get_helm_history(
    release: Release,
    namespace: Namespace = None,
    max_revisions: Annotated[int, Field(ge=1, le=256, description="Most recent revisions to show.")] = 20,
) -> HelmHistory:
    """List a release's revisions (revision, time, status, chart, description), oldest first; helm route only."""
    session = current_session()
    ns = namespace or session.settings.default_namespace
    data = _json(
        await run_helm(
            session,
            "history",
            release,
            "--namespace",
            ns,
            "--max",
            str(max_revisions),
            "-o",
            "json",
            release=release,
            namespace=ns,
        ),
        "history",
    )
    rows = [
        HelmRevision(
            revision=int(item.get("revision", 0)),
            updated=str(item.get("updated", "")),
            status=str(item.get("status", "")),
            chart=str(item.get("chart", "")),
            app_version=item.get("app_version") or None,
            description=str(item.get("description", "")),
        )
        for item in data or []
    ]
    return HelmHistory(name=release, namespace=ns, items=rows, count=len(rows))


async def _install_or_upgrade(
    session: KubeSession,
    verb: Literal["install", "upgrade"],
    release: str,
    ns: str,
    chart: str,
    repo_url: str | None,
    version: str | None,
    values: dict[str, Any] | None,
    *,
    flags: list[str],
    dry_run: bool,
) -> dict[str, Any]:
    """Run `helm install` or `helm upgrade` on the helm route and return its JSON answer."""
    arguments = [release, *_chart_arguments(chart, repo_url, version), "--namespace", ns, "-o", "json"]
    arguments += ["--timeout", f"{int(session.settings.helm_timeout_seconds)}s", *flags]
    if dry_run:
        arguments.append("--dry-run=server")
    with _values_file(values) as values_arguments:
        output = await run_helm(session, verb, *arguments, *values_arguments, release=release, namespace=ns)
    return _json(output, verb) or {}


@helm.tool(title="Install a Helm chart", tags=WRITE_TAGS, annotations=WRITE, meta=HELM_KIND)
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
    ns = namespace or session.settings.default_namespace
    if route == "helmchart":
        return await _apply_helmchart(
            session,
            release,
            ns,
            chart,
            repo_url,
            version,
            values,
            create_namespace=create_namespace,
            failure_policy=failure_policy,
            must_exist=False,
            dry_run=dry_run,
        )
    data = await _install_or_upgrade(
        session,
        "install",
        release,
        ns,
        chart,
        repo_url,
        version,
        values,
        flags=[*(["--create-namespace"] if create_namespace else []), *(["--wait"] if wait else [])],
        dry_run=dry_run,
    )
    suffix = " (dry run)" if dry_run else ""
    return _release_from_json(data, route, f"Installed release {release!r} in namespace {ns!r}{suffix}.")


@helm.tool(title="Upgrade a Helm release", tags=WRITE_TAGS, annotations=WRITE, meta=HELM_KIND)
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
    ns = namespace or session.settings.default_namespace
    if route == "helmchart":
        return await _apply_helmchart(
            session,
            release,
            ns,
            chart,
            repo_url,
            version,
            values,
            create_namespace=False,
            failure_policy=failure_policy,
            must_exist=True,
            dry_run=dry_run,
        )
    data = await _install_or_upgrade(
        session,
        "upgrade",
        release,
        ns,
        chart,
        repo_url,
        version,
        values,
        flags=[*(["--reuse-values"] if reuse_values else []), *(["--wait"] if wait else [])],
        dry_run=dry_run,
    )
    suffix = " (dry run)" if dry_run else ""
    result = _release_from_json(data, route, "")
    result.message = f"Upgraded release {release!r} in {ns!r} to revision {result.revision}{suffix}."
    return result


@helm.tool(title="Roll back a Helm release", tags=DESTRUCTIVE_TAGS, annotations=DESTRUCTIVE, meta=HELM_KIND)
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
    ns = namespace or session.settings.default_namespace
    arguments = [release, *([str(revision)] if revision else []), "--namespace", ns]
    arguments += ["--timeout", f"{int(session.settings.helm_timeout_seconds)}s"]
    if wait:
        arguments.append("--wait")
    await run_helm(session, "rollback", *arguments, release=release, namespace=ns)
    status = _json(
        await run_helm(session, "status", release, "--namespace", ns, "-o", "json", release=release, namespace=ns),
        "status",
    )
    result = _release_from_json(status or {}, "helm", "")
    target = f"revision {revision}" if revision else "the previous revision"
    result.message = f"Rolled release {release!r} in {ns!r} back to {target}; now at revision {result.revision}."
    return result


@helm.tool(title="Uninstall a Helm release", tags=DESTRUCTIVE_TAGS, annotations=DESTRUCTIVE, meta=HELM_KIND)
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
    ns = namespace or session.settings.default_namespace
    suffix = " (dry run)" if dry_run else ""
    if route == "helmchart":
        info = await _helmchart_info(session)
        await session.delete(info, release, ns, dry_run=dry_run)
        return HelmRelease(
            name=release,
            namespace=ns,
            route=route,
            status="deleting",
            message=f"HelmChart {release!r} deleted from {ns!r}{suffix}; K3s's helm controller uninstalls the chart.",
        )
    arguments = [release, "--namespace", ns]
    if keep_history:
        arguments.append("--keep-history")
    if dry_run:
        arguments.append("--dry-run")
    await run_helm(session, "uninstall", *arguments, release=release, namespace=ns)
    return HelmRelease(
        name=release,
        namespace=ns,
        route=route,
        status="uninstalled" + suffix,
        message=f"Release {release!r} uninstalled from {ns!r}{suffix}.",
    )


@helm.tool(title="Override values of a K3s packaged chart", tags=WRITE_TAGS, annotations=WRITE)
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
    session = current_session()
    info = await _helmchart_info(session, "helmchartconfigs.helm.cattle.io")
    manifest = {
        "apiVersion": info.api_version,
        "kind": info.kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"valuesContent": yaml.safe_dump(values)},
    }
    await session.apply(info, manifest, namespace, dry_run=dry_run, force=True)
    suffix = " (dry run)" if dry_run else ""
    return HelmChartConfigResult(
        name=name,
        namespace=namespace,
        values=values,
        message=f"HelmChartConfig {name!r} in {namespace!r} set{suffix}; K3s re-applies the chart with these values.",
    )
