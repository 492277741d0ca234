"""Local charts packed for a HelmChart object's spec.chartContent, read only from the K3S_HELM_CHART_DIRS directories.

A chart path is resolved (`..` and symlinks followed) before it is checked against the allowed directories, and
only a chart directory (with Chart.yaml, packed as `helm package` lays it out) or a chart archive is sent: never
the kubeconfig or any other file the server can read.
"""

from __future__ import annotations

import base64
import io
import os
import re
import tarfile
import zlib
from pathlib import Path
from typing import Any

from fastmcp.exceptions import ToolError

from k3s_mcp.helm.arguments import shown

# Charts sent inside a HelmChart object (spec.chartContent) live in etcd, whose objects are capped near 1.5 MB.
CHART_CONTENT_LIMIT = 1_000_000
# A chart reference with a scheme (oci://, https://) is remote on every route.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_ARCHIVE_SUFFIXES = (".tgz", ".tar.gz")


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
        f"The chart {shown(chart)} is {size} packed; a HelmChart object holds at most {CHART_CONTENT_LIMIT:,} "
        "bytes. Fix: serve it from a repository (repo_url) or use route='helm'."
    )


def _pack_directory(chart: str, directory: Path) -> bytes:
    """A chart directory packed as `helm package` lays it out (`<name>/...`): regular files and directories only."""

    def regular_only(member: tarfile.TarInfo) -> tarfile.TarInfo:
        if not (member.isfile() or member.isdir()):
            raise ToolError(
                f"The chart {shown(chart)} is refused: {member.name!r} is not a regular file or directory "
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
            f"The chart {shown(chart)} is refused: it is not a chart archive (a gzipped tar whose first entry is "
            "<name>/Chart.yaml, as `helm package` writes)."
        )
    return data


def packaged_chart(chart: str, directories: list[Path]) -> str | None:
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
            f"The chart {shown(chart)} is a local path, and route='helmchart' packs local charts only from the "
            "directories named in K3S_HELM_CHART_DIRS, which is empty. Fix: put the chart in such a directory, "
            "serve it from a repository (repo_url), or use route='helm'."
        )
    resolved = path.resolve()
    if not any(resolved.is_relative_to(directory) for directory in directories):
        raise ToolError(
            f"The chart {shown(chart)} is refused: it resolves outside the directories route='helmchart' may read "
            f"local charts from (K3S_HELM_CHART_DIRS: {', '.join(str(d) for d in directories)}); '..' and "
            "symlinks are followed before this check."
        )
    if resolved.is_dir():
        if not (resolved / "Chart.yaml").is_file():
            raise ToolError(f"The chart {shown(chart)} is refused: it is a directory without Chart.yaml.")
        data = _pack_directory(chart, resolved)
    elif resolved.is_file() and resolved.name.endswith(_ARCHIVE_SUFFIXES):
        data = _read_archive(chart, resolved)
    elif resolved.exists():
        raise ToolError(
            f"The chart {shown(chart)} is refused: it is neither a chart directory (with Chart.yaml) nor a chart "
            "archive (.tgz)."
        )
    else:
        raise ToolError(f"The chart {shown(chart)} was not found in K3S_HELM_CHART_DIRS.")
    return base64.b64encode(data).decode()


def packaged_chart_from(chart: str, helm_chart_dirs: str) -> str | None:
    """packaged_chart with the directories of a K3S_HELM_CHART_DIRS value (resolved here, so call it off the
    event loop)."""
    directories = [Path(part.strip()).expanduser().resolve() for part in helm_chart_dirs.split(",") if part.strip()]
    return packaged_chart(chart, directories)
