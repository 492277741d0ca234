"""The `helm` route: the helm binary run as a subprocess, its JSON output read, its errors worded.

helm runs with the session's kubeconfig and context, never through a shell. Every option is one `--flag=value`
argument and every positional argument (release, chart, revision) comes after `--`, so no argument can become a
helm option; values go to helm in a private temporary file.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from fastmcp.exceptions import ToolError

from k3s_mcp.helm.arguments import ChartRequest, check_option_value, values_yaml
from k3s_mcp.helm.releases import NOTES_LIMIT, HelmRelease, HelmReleaseRow, HelmRevision
from k3s_mcp.kube import KubeSession
from k3s_mcp.kube.identity import current_identity
from k3s_mcp.kube.requests import check_namespace


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
    if session.access.active:
        raise ToolError(
            "Refused: route='helm' runs the helm command, whose own requests the access policy cannot check "
            "(K3S_DENIED_KINDS, K3S_ALLOWED_NAMESPACES are set). Use route='helmchart', which goes through it."
        )
    binary = _helm_binary(session)
    command = [binary, verb, *options]
    if session.settings.context:
        command.append(f"--kube-context={session.settings.context}")
    identity = current_identity()
    if identity is not None:
        # K3S_IMPERSONATE: helm's requests are sent as the caller too (values checked by Identity).
        command.append(f"--kube-as-user={identity.user}")
        command += [f"--kube-as-group={group}" for group in identity.groups]
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
        # helm gets --timeout itself on install/upgrade; the margin lets it report its own timeout first.
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
    path = await asyncio.to_thread(_write_private, await values_yaml(session, values))
    try:
        yield [f"--values={path}"]
    finally:
        await asyncio.to_thread(Path(path).unlink, missing_ok=True)


def _chart_options(repo_url: str | None, version: str | None) -> list[str]:
    options = [f"--repo={repo_url}"] if repo_url else []
    if version:
        options.append(f"--version={version}")
    return options


def _release_from_json(data: dict[str, Any], message: str) -> HelmRelease:
    info = data.get("info") or {}
    metadata = (data.get("chart") or {}).get("metadata") or {}
    notes = info.get("notes")
    return HelmRelease(
        name=str(data.get("name", "")),
        namespace=str(data.get("namespace", "")),
        route="helm",
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


def _dry_run_suffix(dry_run: bool) -> str:
    return " (dry run)" if dry_run else ""


class HelmCommandBackend:
    """Releases as the helm binary keeps them (release Secrets with revisions), one helm command per operation."""

    route: Literal["helm"] = "helm"

    def __init__(self, session: KubeSession) -> None:
        self.session = session

    async def list_releases(self, namespace: str | None, name_filter: str | None) -> list[HelmReleaseRow]:
        check_option_value(name_filter, "name_filter", leading_dash=True)  # always passed as --filter=<regex>
        arguments = ["--output=json", f"--max={self.session.settings.list_limit}"]
        arguments.append(f"--namespace={check_namespace(namespace)}" if namespace else "--all-namespaces")
        if name_filter:
            arguments.append(f"--filter={name_filter}")
        try:
            # helm 3 lists only deployed and failed releases unless told --all; helm 4 lists all and lacks the flag.
            output = await run_helm(self.session, "list", "--all", *arguments, namespace=namespace)
        except ToolError as error:
            if "unknown flag: --all" not in str(error):
                raise
            output = await run_helm(self.session, "list", *arguments, namespace=namespace)
        return [
            HelmReleaseRow(
                name=str(item.get("name", "")),
                namespace=str(item.get("namespace", "")),
                revision=str(item.get("revision", "")),
                updated=str(item.get("updated", "")),
                status=str(item.get("status", "")),
                chart=str(item.get("chart", "")),
                app_version=item.get("app_version") or None,
            )
            for item in _json(output, "list") or []
        ]

    async def get_release(self, release: str, namespace: str) -> HelmRelease:
        status = await self._status(release, namespace)
        history = await self._history(release, namespace, 1)
        result = _release_from_json(status or {}, "")
        if history:
            result.chart = history[-1].get("chart") or result.chart
            result.app_version = history[-1].get("app_version") or result.app_version
        result.message = (
            f"Release {release!r} in {namespace!r}: revision {result.revision}, {result.status}, {result.chart}."
        )
        return result

    async def history(self, release: str, namespace: str, max_revisions: int) -> list[HelmRevision]:
        return [
            HelmRevision(
                revision=int(item.get("revision", 0)),
                updated=str(item.get("updated", "")),
                status=str(item.get("status", "")),
                chart=str(item.get("chart", "")),
                app_version=item.get("app_version") or None,
                description=str(item.get("description", "")),
            )
            for item in await self._history(release, namespace, max_revisions) or []
        ]

    async def install(self, request: ChartRequest) -> HelmRelease:
        flags = [*(["--create-namespace"] if request.create_namespace else []), *(["--wait"] if request.wait else [])]
        data = await self._install_or_upgrade("install", request, flags)
        return _release_from_json(
            data,
            f"Installed release {request.release!r} in namespace {request.namespace!r}"
            f"{_dry_run_suffix(request.dry_run)}.",
        )

    async def upgrade(self, request: ChartRequest) -> HelmRelease:
        flags = [*(["--reuse-values"] if request.reuse_values else []), *(["--wait"] if request.wait else [])]
        data = await self._install_or_upgrade("upgrade", request, flags)
        result = _release_from_json(data, "")
        result.message = (
            f"Upgraded release {request.release!r} in {request.namespace!r} to revision {result.revision}"
            f"{_dry_run_suffix(request.dry_run)}."
        )
        return result

    async def rollback(self, release: str, namespace: str, revision: int | None, wait: bool) -> HelmRelease:
        options = [f"--namespace={namespace}", f"--timeout={int(self.session.settings.helm_timeout_seconds)}s"]
        if wait:
            options.append("--wait")
        positionals = [release, *([str(revision)] if revision else [])]
        await run_helm(
            self.session, "rollback", *options, positionals=positionals, release=release, namespace=namespace
        )
        result = _release_from_json(await self._status(release, namespace) or {}, "")
        target = f"revision {revision}" if revision else "the previous revision"
        result.message = (
            f"Rolled release {release!r} in {namespace!r} back to {target}; now at revision {result.revision}."
        )
        return result

    async def uninstall(self, release: str, namespace: str, *, keep_history: bool, dry_run: bool) -> HelmRelease:
        options = [f"--namespace={namespace}"]
        if keep_history:
            options.append("--keep-history")
        if dry_run:
            options.append("--dry-run")
        await run_helm(self.session, "uninstall", *options, positionals=[release], release=release, namespace=namespace)
        suffix = _dry_run_suffix(dry_run)
        return HelmRelease(
            name=release,
            namespace=namespace,
            route=self.route,
            status="uninstalled" + suffix,
            message=f"Release {release!r} uninstalled from {namespace!r}{suffix}.",
        )

    async def _status(self, release: str, namespace: str) -> Any:
        output = await run_helm(
            self.session,
            "status",
            f"--namespace={namespace}",
            "--output=json",
            positionals=[release],
            release=release,
            namespace=namespace,
        )
        return _json(output, "status")

    async def _history(self, release: str, namespace: str, max_revisions: int) -> Any:
        output = await run_helm(
            self.session,
            "history",
            f"--namespace={namespace}",
            f"--max={max_revisions}",
            "--output=json",
            positionals=[release],
            release=release,
            namespace=namespace,
        )
        return _json(output, "history")

    async def _install_or_upgrade(
        self, verb: Literal["install", "upgrade"], request: ChartRequest, flags: list[str]
    ) -> dict[str, Any]:
        """Run `helm install` or `helm upgrade` and return its JSON answer."""
        options = [f"--namespace={request.namespace}", "--output=json"]
        options += _chart_options(request.repo_url, request.version)
        options += [f"--timeout={int(self.session.settings.helm_timeout_seconds)}s", *flags]
        if request.dry_run:
            options.append("--dry-run=server")
        async with _values_file(self.session, request.values) as values_options:
            output = await run_helm(
                self.session,
                verb,
                *options,
                *values_options,
                positionals=[request.release, request.chart],
                release=request.release,
                namespace=request.namespace,
            )
        data: dict[str, Any] = _json(output, verb) or {}
        return data
