"""Helm tools: releases through the `helm` command, or K3s's HelmChart/HelmChartConfig objects (helm.cattle.io/v1).

Route ``helm`` runs the helm binary (K3S_HELM_BINARY) as a subprocess, never through a shell, with the
session's kubeconfig and context and JSON output. Every option is one `--flag=value` argument and every
positional argument (release, chart, revision) comes after `--`, so no argument can become a helm option.
Route ``helmchart`` writes a HelmChart object that the helm controller built into K3s installs, upgrades and
(on delete) uninstalls; it needs no helm binary, and packs local charts only from K3S_HELM_CHART_DIRS.
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
import zlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from pydantic import BaseModel, Field

from k3s_mcp.argument_errors import invalid_argument
from k3s_mcp.bounded_yaml import YamlLimitError, YamlLimits
from k3s_mcp.bounded_yaml import dump as dump_yaml
from k3s_mcp.kube import KubeSession, ResourceInfo, current_session
from k3s_mcp.kube.requests import check_namespace
from k3s_mcp.render import age, trim
from k3s_mcp.tools import DESTRUCTIVE, READ_ONLY, WRITE, tool

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
# helm's own rule for release names (pkg/chartutil ValidateReleaseName): a DNS-1123 subdomain of at most 53.
RELEASE_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
RELEASE_MAX = 53
RELEASE_RULE = (
    "a Helm release name (lowercase letters, digits, '-' and '.', each dot-separated part starting and ending "
    f"with a letter or digit, at most {RELEASE_MAX} characters), as helm requires"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A chart reference with a scheme (oci://, https://) is remote on every route.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_ARCHIVE_SUFFIXES = (".tgz", ".tar.gz")

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


# -- arguments --------------------------------------------------------------------------------------------


def _shown(value: str) -> str:
    """The value as received, quoted and cut, so control characters and huge inputs stay readable."""
    text = repr(value)
    return text if len(text) <= 300 else text[:297] + "...'"


def check_release(release: str) -> str:
    """A release name as helm accepts it, else a ToolError naming the value and the rule."""
    if len(release) > RELEASE_MAX or not re.fullmatch(RELEASE_PATTERN, release):
        raise ToolError(invalid_argument("release", f"must be {RELEASE_RULE}", release))
    return release


def check_option_value(value: str | None, what: str, *, leading_dash: bool = False) -> str | None:
    """A value helm (or K3s's helm controller) receives as an argument: no control characters, and unless
    `leading_dash`, no leading '-' (the controller's helm command line would take it for an option)."""
    if value is None:
        return None
    if value.startswith("-") and not leading_dash:
        raise ToolError(
            f"Invalid {what} {_shown(value)}: it cannot start with '-', which helm would read as an option."
        )
    if _CONTROL.search(value):
        raise ToolError(f"Invalid {what} {_shown(value)}: it cannot contain control characters such as newlines.")
    return value


def check_chart(chart: str) -> str:
    """A chart reference (name, path, URL or oci://) that can only ever be a chart, never a helm option."""
    if chart.startswith("-"):
        raise ToolError(
            f"Invalid chart {_shown(chart)}: a chart reference cannot start with '-' (helm would read it as an "
            "option); give a chart name with repo_url, a local chart path or an oci:// reference."
        )
    check_option_value(chart, "chart")
    return chart


def _namespace(session: KubeSession, namespace: str | None) -> str:
    return check_namespace(session.namespace_or_default(namespace))


def _limits(session: KubeSession) -> YamlLimits:
    return YamlLimits.from_settings(session.settings)


async def _values_yaml(session: KubeSession, values: dict[str, Any]) -> str:
    """`values` as YAML text, within the K3S_YAML_MAX_* limits, written off the event loop."""
    try:
        return await asyncio.to_thread(dump_yaml, values, _limits(session), "The values are refused")
    except YamlLimitError as error:
        raise ToolError(f"{error} Nothing was changed.") from None


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
    session: KubeSession,
    verb: str,
    *options: str,
    positionals: Sequence[str] = (),
    release: str | None = None,
    namespace: str | None = None,
) -> str:
    """Run `helm <verb> <options> -- <positionals>` against the session's cluster; returns stdout.

    Options are whole `--flag` or `--flag=value` arguments made here; positional arguments (release, chart,
    revision) follow `--`, so helm never reads one of them as an option. Raises a worded ToolError.
    """
    if any(not option.startswith("--") for option in options):
        raise AssertionError(f"helm options must be --flag or --flag=value: {options}")
    binary = _helm_binary(session)
    command = [binary, verb, *options]
    if session.settings.context:
        command.append(f"--kube-context={session.settings.context}")
    command += ["--", *positionals]
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


def _write_private(text: str) -> str:
    handle, path = tempfile.mkstemp(prefix="k3s-mcp-values-", suffix=".yaml")
    with os.fdopen(handle, "w") as file:
        file.write(text)
    return path


@asynccontextmanager
async def _values_file(session: KubeSession, values: dict[str, Any] | None) -> AsyncIterator[list[str]]:
    """The `--values=<file>` option for `values` (a private temporary file, removed afterwards)."""
    if not values:
        yield []
        return
    path = await asyncio.to_thread(_write_private, await _values_yaml(session, values))
    try:
        yield [f"--values={path}"]
    finally:
        await asyncio.to_thread(Path(path).unlink, missing_ok=True)


def _chart_options(repo_url: str | None, version: str | None) -> list[str]:
    options = [f"--repo={repo_url}"] if repo_url else []
    if version:
        options.append(f"--version={version}")
    return options


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


def _local_chart(chart: str, directories: list[Path]) -> Path | None:
    """The local path `chart` names (not yet resolved), or None when it is a remote reference.

    An absolute or `~` path, `./`/`../` paths and .tgz names are local; a relative name is looked up in the
    allowed directories, then (as before) in the working directory; anything else is a chart name for the
    controller to fetch.
    """
    if _SCHEME.match(chart):
        return None
    given = Path(chart).expanduser()
    if given.is_absolute():
        return given
    for directory in directories:
        if os.path.lexists(directory / given):
            return directory / given
    if os.path.lexists(given) or chart.startswith(".") or chart.endswith(_ARCHIVE_SUFFIXES):
        return given
    return None


class _ChartTooLarge(Exception):
    """Raised by _CappedBuffer when a packed chart outgrows what a HelmChart object can hold."""


class _CappedBuffer(io.BytesIO):
    """A buffer that refuses to grow past `limit` bytes, so packing a huge directory stops early."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def write(self, data: Any, /) -> int:
        if self.tell() + memoryview(data).nbytes > self.limit:
            raise _ChartTooLarge
        return super().write(data)


def _too_large(chart: str, size: str) -> ToolError:
    return ToolError(
        f"The chart {_shown(chart)} is {size} packed; a HelmChart object holds at most {CHART_CONTENT_LIMIT:,} "
        "bytes. Fix: serve it from a repository (repo_url) or use route='helm'."
    )


def _pack_directory(chart: str, directory: Path) -> bytes:
    """A chart directory packed as `helm package` lays it out (`<name>/...`): regular files and directories only."""

    def regular_only(member: tarfile.TarInfo) -> tarfile.TarInfo:
        if not (member.isfile() or member.isdir()):
            raise ToolError(
                f"The chart {_shown(chart)} is refused: {member.name!r} is not a regular file or directory "
                "(symlinks and special files are not packed into a HelmChart object)."
            )
        member.uid = member.gid = 0
        member.uname = member.gname = ""
        return member

    buffer = _CappedBuffer(CHART_CONTENT_LIMIT)
    try:
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            archive.add(directory, arcname=directory.name, filter=regular_only)
    except _ChartTooLarge:
        raise _too_large(chart, f"more than {CHART_CONTENT_LIMIT:,} bytes") from None
    return buffer.getvalue()


def _read_archive(chart: str, path: Path) -> bytes:
    """A chart archive's bytes, once it is known to be one: a gzip tar whose first member is <name>/Chart.yaml."""
    size = path.stat().st_size
    if size > CHART_CONTENT_LIMIT:
        raise _too_large(chart, f"{size:,} bytes")
    data = path.read_bytes()
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            first = archive.next()
    except (tarfile.TarError, OSError, EOFError, zlib.error):
        first = None
    if first is None or not first.isfile() or not re.fullmatch(r"[^/]+/Chart\.yaml", first.name):
        raise ToolError(
            f"The chart {_shown(chart)} is refused: it is not a chart archive (a gzipped tar whose first entry is "
            "<name>/Chart.yaml, as `helm package` writes)."
        )
    return data


def _packaged_chart(chart: str, directories: list[Path]) -> str | None:
    """Base64 of a local chart from the allowed directories, or None for a remote reference.

    `directories` are K3S_HELM_CHART_DIRS, resolved. The chart path is resolved too (`..` and symlinks
    followed) before it is checked against them, and must be a chart directory (with Chart.yaml) or a chart
    archive; anything else is refused with the reason.
    """
    path = _local_chart(chart, directories)
    if path is None:
        return None
    if not directories:
        raise ToolError(
            f"The chart {_shown(chart)} is a local path, and route='helmchart' packs local charts only from the "
            "directories named in K3S_HELM_CHART_DIRS, which is empty. Fix: put the chart in such a directory, "
            "serve it from a repository (repo_url), or use route='helm'."
        )
    resolved = path.resolve()
    if not any(resolved.is_relative_to(directory) for directory in directories):
        raise ToolError(
            f"The chart {_shown(chart)} is refused: it resolves outside the directories route='helmchart' may read "
            f"local charts from (K3S_HELM_CHART_DIRS: {', '.join(str(d) for d in directories)}); '..' and "
            "symlinks are followed before this check."
        )
    if resolved.is_dir():
        if not (resolved / "Chart.yaml").is_file():
            raise ToolError(f"The chart {_shown(chart)} is refused: it is a directory without Chart.yaml.")
        data = _pack_directory(chart, resolved)
    elif resolved.is_file() and resolved.name.endswith(_ARCHIVE_SUFFIXES):
        data = _read_archive(chart, resolved)
    elif resolved.exists():
        raise ToolError(
            f"The chart {_shown(chart)} is refused: it is neither a chart directory (with Chart.yaml) nor a chart "
            "archive (.tgz)."
        )
    else:
        raise ToolError(f"The chart {_shown(chart)} was not found in K3S_HELM_CHART_DIRS.")
    return base64.b64encode(data).decode()


def _packaged_chart_from(chart: str, helm_chart_dirs: str) -> str | None:
    """_packaged_chart with the directories of a K3S_HELM_CHART_DIRS value (resolved here, off the event loop)."""
    directories = [Path(part.strip()).expanduser().resolve() for part in helm_chart_dirs.split(",") if part.strip()]
    return _packaged_chart(chart, directories)


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
    # Everything taken from the arguments is checked (and a local chart read) before the cluster is touched.
    check_chart(chart)
    check_option_value(repo_url, "repo_url")
    check_option_value(version, "version")
    directories = session.settings.helm_chart_dirs
    content = None if repo_url else await asyncio.to_thread(_packaged_chart_from, chart, directories)
    values_content = await _values_yaml(session, values) if values else None
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
    if content is not None:
        spec["chartContent"] = content
    else:
        spec["chart"] = chart
        if repo_url:
            spec["repo"] = repo_url
    if version:
        spec["version"] = version
    if values_content is not None:
        spec["valuesContent"] = values_content
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


@tool(helm, title="List Helm releases", safety=READ_ONLY)
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
    check_option_value(name_filter, "name_filter", leading_dash=True)  # always passed as --filter=<regex>
    arguments = ["--output=json", f"--max={session.settings.list_limit}"]
    arguments.append(f"--namespace={check_namespace(namespace)}" if namespace else "--all-namespaces")
    if name_filter:
        arguments.append(f"--filter={name_filter}")
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


@tool(helm, title="Show a Helm release", safety=READ_ONLY)
async def get_helm_release(release: Release, namespace: Namespace = None, route: Route = "helm") -> HelmRelease:
    """Show a release's status: revision, status, chart, app version, description, notes and user values.

    route='helmchart' shows the K3s HelmChart object and whether the helm controller has applied it.
    """
    session = current_session()
    release, ns = check_release(release), _namespace(session, namespace)
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
    status = await _status(session, release, ns)
    history = _json(
        await run_helm(
            session,
            "history",
            f"--namespace={ns}",
            "--max=1",
            "--output=json",
            positionals=[release],
            release=release,
            namespace=ns,
        ),
        "history",
    )
    result = _release_from_json(status or {}, route, "")
    if history:
        result.chart = history[-1].get("chart") or result.chart
        result.app_version = history[-1].get("app_version") or result.app_version
    result.message = f"Release {release!r} in {ns!r}: revision {result.revision}, {result.status}, {result.chart}."
    return result


@tool(helm, title="Show a Helm release's history", safety=READ_ONLY)
async def get_helm_history(
    release: Release,
    namespace: Namespace = None,
    max_revisions: Annotated[int, Field(ge=1, le=256, description="Most recent revisions to show.")] = 20,
) -> HelmHistory:
    """List a release's revisions (revision, time, status, chart, description), oldest first; helm route only."""
    session = current_session()
    release, ns = check_release(release), _namespace(session, namespace)
    data = _json(
        await run_helm(
            session,
            "history",
            f"--namespace={ns}",
            f"--max={max_revisions}",
            "--output=json",
            positionals=[release],
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
    check_chart(chart)
    check_option_value(repo_url, "repo_url")
    check_option_value(version, "version")
    options = [f"--namespace={ns}", "--output=json", *_chart_options(repo_url, version)]
    options += [f"--timeout={int(session.settings.helm_timeout_seconds)}s", *flags]
    if dry_run:
        options.append("--dry-run=server")
    async with _values_file(session, values) as values_options:
        output = await run_helm(
            session, verb, *options, *values_options, positionals=[release, chart], release=release, namespace=ns
        )
    return _json(output, verb) or {}


async def _status(session: KubeSession, release: str, ns: str) -> Any:
    output = await run_helm(
        session, "status", f"--namespace={ns}", "--output=json", positionals=[release], release=release, namespace=ns
    )
    return _json(output, "status")


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
    release, ns = check_release(release), _namespace(session, namespace)
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
    release, ns = check_release(release), _namespace(session, namespace)
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
    release, ns = check_release(release), _namespace(session, namespace)
    options = [f"--namespace={ns}", f"--timeout={int(session.settings.helm_timeout_seconds)}s"]
    if wait:
        options.append("--wait")
    positionals = [release, *([str(revision)] if revision else [])]
    await run_helm(session, "rollback", *options, positionals=positionals, release=release, namespace=ns)
    status = await _status(session, release, ns)
    result = _release_from_json(status or {}, "helm", "")
    target = f"revision {revision}" if revision else "the previous revision"
    result.message = f"Rolled release {release!r} in {ns!r} back to {target}; now at revision {result.revision}."
    return result


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
    release, ns = check_release(release), _namespace(session, namespace)
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
    options = [f"--namespace={ns}"]
    if keep_history:
        options.append("--keep-history")
    if dry_run:
        options.append("--dry-run")
    await run_helm(session, "uninstall", *options, positionals=[release], release=release, namespace=ns)
    return HelmRelease(
        name=release,
        namespace=ns,
        route=route,
        status="uninstalled" + suffix,
        message=f"Release {release!r} uninstalled from {ns!r}{suffix}.",
    )


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
    session = current_session()
    values_content = await _values_yaml(session, values)
    info = await _helmchart_info(session, "helmchartconfigs.helm.cattle.io")
    manifest = {
        "apiVersion": info.api_version,
        "kind": info.kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"valuesContent": values_content},
    }
    await session.apply(info, manifest, namespace, dry_run=dry_run, force=True)
    suffix = " (dry run)" if dry_run else ""
    return HelmChartConfigResult(
        name=name,
        namespace=namespace,
        values=values,
        message=f"HelmChartConfig {name!r} in {namespace!r} set{suffix}; K3s re-applies the chart with these values.",
    )
