"""How write tools change objects (server-side apply, merge patch, both with dry run) and report the outcome."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from k3s_mcp.kube import FIELD_MANAGER, KubeSession, ResourceInfo, Target

_VOLATILE_METADATA = ("managedFields", "resourceVersion", "generation", "creationTimestamp", "uid")


class ObjectChange(BaseModel):
    """What a write did to one object; never carries Secret values."""

    kind: str
    name: str
    namespace: str | None
    result: Literal["created", "configured", "unchanged"]
    dry_run: bool
    message: str


def _comparable(obj: dict[str, Any]) -> dict[str, Any]:
    clean = {k: v for k, v in obj.items() if k != "status"}
    metadata = {k: v for k, v in (clean.get("metadata") or {}).items() if k not in _VOLATILE_METADATA}
    clean["metadata"] = metadata
    return clean


def _outcome(before: dict[str, Any] | None, after: dict[str, Any], dry_run: bool) -> str:
    if before is None:
        return "created"
    if dry_run:
        return "unchanged" if _comparable(before) == _comparable(after) else "configured"
    old = (before.get("metadata") or {}).get("resourceVersion")
    return "unchanged" if old == (after.get("metadata") or {}).get("resourceVersion") else "configured"


def _change(
    info: ResourceInfo, name: str, namespace: str | None, result: str, dry_run: bool, verb: str
) -> ObjectChange:
    where = f" in namespace {namespace}" if namespace else ""
    done = {"created": "created", "configured": verb, "unchanged": "left unchanged"}[result]
    prefix = "Dry run: would have " if dry_run and result != "unchanged" else ""
    message = f"{prefix}{done} {info.kind}/{name}{where}." if prefix else f"{info.kind}/{name}{where} {done}."
    return ObjectChange(
        kind=info.kind,
        name=name,
        namespace=namespace,
        result=result,  # type: ignore[arg-type]
        dry_run=dry_run,
        message=message + (" Nothing was changed (dry run)." if dry_run else ""),
    )


async def apply_object(
    session: KubeSession,
    info: ResourceInfo,
    manifest: dict[str, Any],
    namespace: str | None,
    *,
    dry_run: bool,
    force: bool = False,
) -> tuple[ObjectChange, dict[str, Any]]:
    """Server-side apply one object; the change report and the object the server answered with."""
    name = str(manifest["metadata"]["name"])
    ns = namespace if info.namespaced else None
    before = await session.get_optional(info, name, ns)
    after = await session.apply(info, manifest, ns, dry_run=dry_run, force=force)
    return _change(info, name, ns, _outcome(before, after, dry_run), dry_run, "configured"), after


async def patch_object(
    session: KubeSession,
    info: ResourceInfo,
    name: str,
    namespace: str | None,
    patch: Any,
    *,
    action: str,
    done: str,
    dry_run: bool,
    subresource: str | None = None,
    content_type: str = "application/merge-patch+json",
) -> tuple[ObjectChange, dict[str, Any]]:
    """Patch one object (or its subresource) with dry-run support; `done` words a change ("suspended").

    A merge patch unless `content_type` says otherwise (JSON patch, strategic merge patch).
    """
    ns = namespace if info.namespaced else None
    target = Target(info.kind, name, ns, action=action)
    before = await session.request("GET", info.path(ns, name), target=target)
    query = [("fieldManager", FIELD_MANAGER)]
    if dry_run:
        query.append(("dryRun", "All"))
    after = await session.request(
        "PATCH",
        info.path(ns, name, subresource),
        target=target,
        query=query,
        body=patch,
        content_type=content_type,
    )
    if subresource:
        # A subresource answers with its own kind (Scale); the object itself is what callers want.
        after = before if dry_run else await session.request("GET", info.path(ns, name), target=target)
    return _change(info, name, ns, _outcome(before, after, dry_run), dry_run, done), after
