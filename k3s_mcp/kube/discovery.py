"""Discovery: which resource types the cluster serves, and kind, plural, short name or `kind.group` -> type."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from k3s_mcp.kube.errors import Target, UnknownKindError
from k3s_mcp.kube.requests import api_path

AGGREGATED_DISCOVERY = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
)
# GET of a fixed discovery path -> its JSON answer (the session's request, bound to the target and Accept).
DiscoveryGet = Callable[..., Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class ResourceInfo:
    """What discovery says about one resource type: where it lives and whether it is namespaced."""

    group: str
    version: str
    resource: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...] = ()
    short_names: tuple[str, ...] = ()
    singular: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """`deployments.apps` style name used in messages and RBAC rules."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        """REST path of the collection, or of one object when `name` is given (see :mod:`k3s_mcp.kube.requests`)."""
        return api_path(self, namespace, name, subresource)


def _group_path(group: str, version: str) -> str:
    """Discovery path of one served group/version (names from the API server's own answer, still escaped)."""
    if not group:
        return f"/api/{quote(version, safe='')}"
    return f"/apis/{quote(group, safe='')}/{quote(version, safe='')}"


@dataclass
class _Index:
    fetched_at: float = 0.0
    by_name: dict[str, ResourceInfo] = field(default_factory=dict)
    by_gvk: dict[tuple[str, str, str], ResourceInfo] = field(default_factory=dict)
    by_group_kind: dict[tuple[str, str], ResourceInfo] = field(default_factory=dict)


class Discovery:
    """The cluster's resource types, fetched on first use and again after `ttl_seconds` or on a miss."""

    def __init__(self, request: DiscoveryGet, ttl_seconds: float) -> None:
        self._request = request
        self._ttl = ttl_seconds
        self._index = _Index()
        self._lock = asyncio.Lock()

    async def _fetch(self) -> _Index:
        target = Target(kind="API discovery", action="discover resources of")
        fresh = _Index(fetched_at=time.monotonic())
        documents = []
        for root in ("/api", "/apis"):
            document = await self._request("GET", root, target=target, accept=AGGREGATED_DISCOVERY)
            if document.get("kind") == "APIGroupDiscoveryList":
                documents.append(document)
            else:
                documents.append(await self._legacy(root, document, target))
        for document in documents:
            for group_entry in document.get("items") or []:
                group = (group_entry.get("metadata") or {}).get("name") or ""
                for version_entry in group_entry.get("versions") or []:
                    version = version_entry.get("version", "")
                    for res in version_entry.get("resources") or []:
                        kind = (res.get("responseKind") or {}).get("kind") or res.get("kind") or ""
                        info = ResourceInfo(
                            group=group,
                            version=version,
                            resource=res.get("resource", ""),
                            kind=kind,
                            namespaced=res.get("scope", "Namespaced") == "Namespaced",
                            verbs=tuple(res.get("verbs") or ()),
                            short_names=tuple(res.get("shortNames") or ()),
                            singular=res.get("singularResource") or kind.lower(),
                        )
                        _index(fresh, info)
        return fresh

    async def _legacy(self, root: str, document: dict[str, Any], target: Target) -> dict[str, Any]:
        """Shape old-style discovery (/api versions, /apis groups) like the aggregated list."""
        versions: list[tuple[str, str]] = []
        if root == "/api":
            versions = [("", v) for v in document.get("versions") or []]
        else:
            for group in document.get("groups") or []:
                versions += [(group["name"], v["version"]) for v in group.get("versions") or []]
        lists = await asyncio.gather(
            *(
                self._request(
                    "GET",
                    f"/api/{quote(v, safe='')}" if not g else f"/apis/{quote(g, safe='')}/{quote(v, safe='')}",
                    target=target,
                )
                for g, v in versions
            )
        )
        items: dict[str, dict[str, Any]] = {}
        for (group, version), listing in zip(versions, lists, strict=True):
            resources = [
                {
                    "resource": r["name"],
                    "responseKind": {"kind": r.get("kind", "")},
                    "scope": "Namespaced" if r.get("namespaced") else "Cluster",
                    "verbs": r.get("verbs"),
                    "shortNames": r.get("shortNames"),
                    "singularResource": r.get("singularName"),
                }
                for r in listing.get("resources") or []
                if "/" not in r.get("name", "")
            ]
            entry = items.setdefault(group, {"metadata": {"name": group}, "versions": []})
            entry["versions"].append({"version": version, "resources": resources})
        return {"items": list(items.values())}

    async def _current(self, refresh: bool = False) -> _Index:
        def stale() -> bool:
            return refresh or not self._index.by_name or time.monotonic() - self._index.fetched_at > self._ttl

        if stale():
            async with self._lock:
                if stale():
                    self._index = await self._fetch()
        return self._index

    async def resolve(self, kind: str, api_version: str | None = None) -> ResourceInfo:
        """Find the resource type for a kind, plural, short name or `kind.group`; refreshes once on a miss."""
        for refresh in (False, True):
            found = _lookup(await self._current(refresh=refresh), kind, api_version)
            if found is not None:
                return found
        hint = f" with apiVersion {api_version!r}" if api_version else ""
        raise UnknownKindError(
            f"Unknown kind {kind!r}{hint}: the cluster serves no such resource. "
            "Check the spelling (kind, plural or short name, e.g. 'Deployment', 'deploy'), "
            "or install the CRD that defines it."
        )

    async def resource_types(self, refresh: bool = False) -> list[ResourceInfo]:
        """Every resource type the cluster serves, one entry per group/version/kind."""
        return list((await self._current(refresh=refresh)).by_gvk.values())

    async def served(self, group: str, resource: str) -> ResourceInfo | None:
        """The resource type a path's group and plural name address (its preferred version), or None."""
        index = await self._current()
        for info in index.by_group_kind.values():
            if info.group == group and info.resource == resource:
                return info
        return None


def _index(discovery: _Index, info: ResourceInfo) -> None:
    discovery.by_gvk.setdefault((info.group, info.version, info.kind), info)
    # The first version a group lists is its preferred one.
    discovery.by_group_kind.setdefault((info.group, info.kind.lower()), info)
    names = {
        info.kind.lower(),
        info.resource.lower(),
        info.singular.lower(),
        *(s.lower() for s in info.short_names),
    }
    for name in names:
        if not name:
            continue
        # Core and earlier-listed groups win a bare name, matching kubectl's priority.
        discovery.by_name.setdefault(name, info)
        if info.group:
            discovery.by_name.setdefault(f"{name}.{info.group}", info)


def _lookup(discovery: _Index, kind: str, api_version: str | None) -> ResourceInfo | None:
    if api_version:
        group, _, version = api_version.rpartition("/")
        exact = discovery.by_gvk.get((group, version, kind))
        if exact is not None:
            return exact
        for (g, v, k), info in discovery.by_gvk.items():
            if g == group and v == version and k.lower() == kind.lower():
                return info
        return None
    return discovery.by_name.get(kind.strip().lower())
