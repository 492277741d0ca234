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


def _comparable(obj: dict[str, Any], applied: dict[str, Any] | None = None) -> dict[str, Any]:
    """The object without what the server or controllers change on their own (status, versions, and labels or
    annotations the applied document does not name), so two reads compare equal unless a writer changed them."""
    clean = {k: v for k, v in obj.items() if k != "status"}
    metadata = {k: v for k, v in (clean.get("metadata") or {}).items() if k not in _VOLATILE_METADATA}
    if applied is not None:
        named = applied.get("metadata") or {}
        for key in ("labels", "annotations"):
            mine = named.get(key) or {}
            metadata[key] = {k: v for k, v in (metadata.get(key) or {}).items() if k in mine}
    clean["metadata"] = metadata
    return clean


def outcome(
    before: dict[str, Any] | None, after: dict[str, Any], dry_run: bool, applied: dict[str, Any] | None = None
) -> Literal["created", "configured", "unchanged"]:
    """Created, configured or unchanged. An unchanged resourceVersion proves a no-op; a changed one may come from
    a controller writing status (or a revision annotation) between our read and our write, so then the content
    decides."""
    if before is None:
        return "created"
    if not dry_run and (before.get("metadata") or {}).get("resourceVersion") == (after.get("metadata") or {}).get(
        "resourceVersion"
    ):
        return "unchanged"
    return "unchanged" if _comparable(before, applied) == _comparable(after, applied) else "configured"


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
    return _change(info, name, ns, outcome(before, after, dry_run, manifest), dry_run, "configured"), after


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
    return _change(info, name, ns, outcome(before, after, dry_run), dry_run, done), after
