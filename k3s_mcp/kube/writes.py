"""Writes: server-side apply, patch, create and delete, each with the `k3s-mcp` field manager and a dry run.

The field manager and the dry-run flag are filled in here and nowhere else, so every write of every tool is
attributed to `k3s-mcp` in managedFields and every write can be tried first with dry_run=true.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from k3s_mcp.kube.discovery import ResourceInfo
from k3s_mcp.kube.errors import Target

if TYPE_CHECKING:
    from k3s_mcp.kube.session import KubeSession

FIELD_MANAGER = "k3s-mcp"
APPLY_PATCH_UTF8 = "application/apply-patch+yaml; charset=utf-8"
MERGE_PATCH = "application/merge-patch+json"


def write_query(*, dry_run: bool, force: bool = False) -> list[tuple[str, str]]:
    """The query of a write: field manager, force (server-side apply only) and dry run."""
    query = [("fieldManager", FIELD_MANAGER)]
    if force:
        query.append(("force", "true"))
    if dry_run:
        query.append(("dryRun", "All"))
    return query


async def apply(
    session: KubeSession,
    info: ResourceInfo,
    manifest: dict[str, Any],
    namespace: str | None,
    *,
    dry_run: bool,
    force: bool = False,
) -> dict[str, Any]:
    """Server-side apply of one object."""
    name = (manifest.get("metadata") or {}).get("name")
    ns = namespace if info.namespaced else None
    return await session.request(
        "PATCH",
        info.path(ns, name),
        target=Target(info.kind, name, ns, action="apply"),
        query=write_query(dry_run=dry_run, force=force),
        # The client would send JSON with \uXXXX escapes, and the server reads an apply patch as YAML, where an
        # escaped surrogate pair (any emoji) is invalid: send UTF-8 JSON, which is also YAML.
        body=json.dumps(manifest, ensure_ascii=False).encode(),
        content_type=APPLY_PATCH_UTF8,
    )


async def patch(
    session: KubeSession,
    info: ResourceInfo,
    name: str,
    namespace: str | None,
    body: Any,
    *,
    action: str,
    dry_run: bool = False,
    subresource: str | None = None,
    content_type: str = MERGE_PATCH,
) -> dict[str, Any]:
    """Patch one object or its subresource: a merge patch unless `content_type` names JSON or strategic patch."""
    ns = namespace if info.namespaced else None
    return await session.request(
        "PATCH",
        info.path(ns, name, subresource),
        target=Target(info.kind, name, ns, action=action),
        query=write_query(dry_run=dry_run),
        body=body,
        content_type=content_type,
    )


async def create(
    session: KubeSession, info: ResourceInfo, namespace: str | None, body: dict[str, Any], *, dry_run: bool
) -> dict[str, Any]:
    """Create one object in its collection (the server validates the name in the body)."""
    ns = namespace if info.namespaced else None
    name = (body.get("metadata") or {}).get("name")
    return await session.request(
        "POST",
        info.path(ns),
        target=Target(info.kind, name, ns, action="create"),
        query=write_query(dry_run=dry_run),
        body=body,
    )


async def delete(
    session: KubeSession, info: ResourceInfo, name: str, namespace: str | None, *, dry_run: bool = False
) -> dict[str, Any]:
    """Delete one object; dependents go in the background."""
    ns = namespace if info.namespaced else None
    options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
    if dry_run:
        options["dryRun"] = ["All"]
    return await session.request(
        "DELETE", info.path(ns, name), target=Target(info.kind, name, ns, action="delete"), body=options
    )


def pending_finalizers(answer: dict[str, Any]) -> list[str]:
    """The finalizers still holding an object that a DELETE answered with (empty when it is gone).

    The API server answers a DELETE with a Status once the object is removed, and with the object itself,
    `deletionTimestamp` set, while finalizers keep it (KEDA's `finalizer.keda.sh`, a PVC's protection): a tool
    that said "deleted" then would not be true.
    """
    if answer.get("kind") == "Status":
        return []
    metadata = answer.get("metadata") or {}
    if not metadata.get("deletionTimestamp"):
        return []
    return [str(f) for f in metadata.get("finalizers") or []]


def deletion_note(answer: dict[str, Any]) -> str:
    """' It stays until ... removes its finalizers ...' when finalizers hold the object, else ''."""
    finalizers = pending_finalizers(answer)
    if not finalizers:
        return ""
    return (
        f" Deletion has started; the object stays, marked for deletion, until its controller removes the "
        f"finalizer{'s' if len(finalizers) > 1 else ''} {', '.join(finalizers)}."
    )
