"""Watching one object: the API server's watch stream of a collection narrowed to one name by a field selector.

Paths come from :mod:`k3s_mcp.kube.requests` like every other request, and the session's access policy, credentials
and impersonation headers apply unchanged (``KubeSession.check_access`` and ``request_headers``). A watch is a
list first (which yields the resourceVersion to watch from and refuses what the caller may not read), then one
long GET with ``watch=1`` whose body is one JSON event per line. Events are plain dicts (``type``, ``object``);
Secret values in them are masked at the source as every other answer of the session.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import aiohttp
from kubernetes_asyncio.client.exceptions import ApiException

from k3s_mcp.kube.errors import KubeError, Target
from k3s_mcp.kube.requests import check_name, field_selector

if TYPE_CHECKING:
    from k3s_mcp.kube.discovery import ResourceInfo
    from k3s_mcp.kube.session import KubeSession

WATCH_SECONDS = 240
"""How long the API server keeps one watch request open; the watcher then starts the next from the last version."""
MAX_EVENT_BYTES = 4 * 1024 * 1024
"""An event line longer than this ends the stream (an object is at most about 1.5 MiB in etcd)."""


class WatchGoneError(KubeError):
    """The resourceVersion a watch started from is too old (HTTP 410 Gone): list again and watch from there."""


def object_selector(info: ResourceInfo, name: str) -> str:
    """The field selector naming one object of `info`'s kind (the name validated as the API server would)."""
    selector = field_selector(metadata__name=check_name(info, name))
    assert selector is not None
    return selector


async def list_version(session: KubeSession, info: ResourceInfo, namespace: str | None, name: str) -> str:
    """The resourceVersion of the one-object list a watch starts from (access policy and RBAC checked here)."""
    listing = await session.list_page(info, namespace, field_selector=object_selector(info, name), limit=1)
    return str((listing.get("metadata") or {}).get("resourceVersion") or "")


async def watch_object(
    session: KubeSession, info: ResourceInfo, namespace: str | None, name: str, resource_version: str
) -> AsyncIterator[dict[str, Any]]:
    """The watch events of one object from `resource_version` until the API server ends the request.

    Raises :class:`WatchGoneError` when the version is gone (HTTP 410 as status or as an ERROR event), and
    :class:`KubeError` worded for the caller for any other failure."""
    ns = namespace if info.namespaced else None
    path = info.path(ns)
    query = [
        ("fieldSelector", object_selector(info, name)),
        ("watch", "1"),
        ("allowWatchBookmarks", "true"),
        ("timeoutSeconds", str(WATCH_SECONDS)),
    ]
    if resource_version:
        query.append(("resourceVersion", resource_version))
    client = await session.api_client()
    await session.check_access("GET", path)
    headers = await session.request_headers(client, query, content_type="application/json", accept="application/json")
    target = Target(info.kind, name, ns, action="watch")
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=session.settings.request_timeout_seconds, sock_read=WATCH_SECONDS + 30
    )
    with session.errors(target):
        response = await client.rest_client.request(
            "GET",
            f"{client.configuration.host}{path}",
            query_params=query,  # type: ignore[arg-type]  # pairs, url-encoded by the client
            headers=headers,  # type: ignore[arg-type]  # a multidict: impersonation headers may repeat
            _preload_content=False,
            _request_timeout=timeout,
        )
        async with response:
            if response.status == 410:
                raise WatchGoneError(f"The watch of {info.kind} {name!r} must start again: its version is gone.")
            if response.status >= 400:
                failure = ApiException(status=response.status, reason=response.reason)
                failure.body = (await response.content.read(65536)).decode("utf-8", "replace")  # type: ignore[assignment]
                raise failure
            while True:
                try:
                    line = await response.content.readline()
                except ValueError as error:  # a line over the reader's limit
                    raise KubeError(f"The watch of {info.kind} {name!r} sent an event too large to read.") from error
                if not line:
                    return
                if len(line) > MAX_EVENT_BYTES:
                    raise KubeError(f"The watch of {info.kind} {name!r} sent an event over {MAX_EVENT_BYTES} bytes.")
                if not line.strip():
                    continue
                try:
                    # Decoded by the session: a Secret's values are masked here as in every other answer.
                    event = session.decode(line, path)
                except ValueError as error:
                    raise KubeError(f"The watch of {info.kind} {name!r} sent a line that is not JSON.") from error
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    if isinstance(status, dict) and status.get("code") == 410:
                        raise WatchGoneError(
                            f"The watch of {info.kind} {name!r} must start again: its version is gone."
                        )
                    message = status.get("message") if isinstance(status, dict) else None
                    raise KubeError(f"The watch of {info.kind} {name!r} failed: {message or 'an ERROR event'}.")
                yield event
