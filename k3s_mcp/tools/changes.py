"""How write tools change objects (server-side apply, merge patch, both with dry run) and report the outcome."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Literal

from fastmcp import Context
from fastmcp.tools.base import ToolResult
from pydantic import BaseModel, Field

from k3s_mcp.kube import KubeSession, ResourceInfo
from k3s_mcp.views.summary import text_answer

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
    before: dict[str, Any] | None = None,
) -> tuple[ObjectChange, dict[str, Any]]:
    """Patch one object (or its subresource) with dry-run support; `done` words a change ("suspended").

    A merge patch unless `content_type` says otherwise (JSON patch, strategic merge patch). `before` is the live
    object when the caller has read it already.
    """
    ns = namespace if info.namespaced else None
    if before is None:
        before = await session.get(info, name, ns)
    after = await session.patch(
        info, name, ns, patch, action=action, dry_run=dry_run, subresource=subresource, content_type=content_type
    )
    if subresource:
        # A subresource answers with its own kind (Scale); the object itself is what callers want.
        after = before if dry_run else await session.get(info, name, ns)
    return _change(info, name, ns, outcome(before, after, dry_run), dry_run, done), after


class ScaleResult(BaseModel):
    """What scaling did and whether the replicas became ready in time."""

    name: str
    namespace: str
    previous_replicas: int
    replicas: int
    ready_replicas: int
    dry_run: bool = False
    settled: bool = Field(description="True when every requested replica is updated and ready.")
    waited_seconds: float
    message: str


async def scale_and_wait(
    session: KubeSession,
    ctx: Context,
    info: ResourceInfo,
    name: str,
    namespace: str,
    replicas: int,
    *,
    settled: Callable[[dict[str, Any], int], tuple[bool, int]],
    wait: bool,
    dry_run: bool,
    subresource: str | None = None,
    stuck_hint: str,
) -> ToolResult:
    """Set a workload's replica count (a merge patch, or through `subresource` 'scale') and, unless told not to,
    wait up to K3S_SCALE_WAIT_SECONDS until `settled` says the controller has made them ready, reporting progress.
    The answer's text is the ScaleResult's message; its structured content the whole ScaleResult."""
    what = (name if info.kind == "Deployment" else f"{info.kind} {name}") + f" in {namespace}"
    before = await session.get(info, name, namespace)
    previous = int((before.get("spec") or {}).get("replicas", 1))
    patched = await session.patch(
        info,
        name,
        namespace,
        {"spec": {"replicas": replicas}},
        action="scale",
        dry_run=dry_run,
        subresource=subresource,
    )
    started = time.monotonic()
    deadline = started + session.settings.scale_wait_seconds
    done, ready = settled(before, replicas)
    # The patch answers with the workload as it now is (a Scale, through the subresource): the first look is free.
    current: dict[str, Any] | None = patched if subresource is None and patched.get("kind") == info.kind else None
    while not dry_run:
        if current is None:
            current = await session.get(info, name, namespace)
        done, ready = settled(current, replicas)
        current = None
        await ctx.report_progress(ready, replicas or 1, f"{ready}/{replicas} replicas ready")
        if done or not wait or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.5)
    waited = round(time.monotonic() - started, 2)
    if dry_run:
        message = f"Dry run: would scale {what} from {previous} to {replicas}. Nothing was changed."
    elif done:
        message = f"Scaled {what} from {previous} to {replicas}; all {replicas} ready after {waited}s."
    elif not wait:
        message = f"Scaled {what} from {previous} to {replicas}; not waiting ({ready} ready now)."
    else:
        message = f"Scaled {what} from {previous} to {replicas}, but only {ready} ready after {waited}s. {stuck_hint}"
    result = ScaleResult(
        name=name,
        namespace=namespace,
        previous_replicas=previous,
        replicas=replicas,
        ready_replicas=ready,
        dry_run=dry_run,
        settled=done and not dry_run,
        waited_seconds=waited,
        message=message,
    )
    # The message says all of it; the structured content keeps every field for programs.
    return text_answer(result, message)
