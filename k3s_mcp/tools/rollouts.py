"""Rollout tools for Deployments, StatefulSets and DaemonSets: status, history, undo and restart."""

from __future__ import annotations

import asyncio
import copy
import time
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from pydantic import BaseModel, Field

from k3s_mcp.kube import KubeSession, ResourceInfo, current_session
from k3s_mcp.tools import DESTRUCTIVE, READ_ONLY, WRITE_AGAIN, tool
from k3s_mcp.tools.changes import ObjectChange, patch_object
from k3s_mcp.tools.parameters import DryRun, Name, Namespace
from k3s_mcp.views import age

rollouts: FastMCP = FastMCP("rollouts")

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
_RESOURCES = {"Deployment": "deployments.apps", "StatefulSet": "statefulsets.apps", "DaemonSet": "daemonsets.apps"}

WorkloadKind = Annotated[
    Literal["Deployment", "StatefulSet", "DaemonSet"],
    Field(description="Kind of the workload: Deployment, StatefulSet or DaemonSet."),
]


class RolloutStatus(BaseModel):
    kind: str
    name: str
    namespace: str
    done: bool = Field(description="True when the latest template is fully rolled out and available.")
    failed: bool = Field(description="True when the rollout exceeded its progress deadline.")
    message: str = Field(description="kubectl rollout status wording: what the rollout waits for.")
    waited_seconds: float


class Revision(BaseModel):
    revision: int
    current: bool = Field(description="True for the revision the workload runs now.")
    source: str = Field(description="ReplicaSet or ControllerRevision holding this revision's template.")
    images: list[str]
    change_cause: str | None
    age: str


class RolloutHistory(BaseModel):
    kind: str
    name: str
    namespace: str
    revisions: list[Revision] = Field(description="Oldest first; Kubernetes keeps revisionHistoryLimit of them.")


class UndoResult(BaseModel):
    change: ObjectChange
    from_revision: int | None
    to_revision: int
    images: list[str] = Field(description="Images of the template rolled back to.")


def rollout_state(kind: str, obj: dict[str, Any]) -> tuple[bool, bool, str]:
    """(done, failed, message) of a rollout, following kubectl rollout status."""
    metadata = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    name = metadata.get("name")
    if int(status.get("observedGeneration") or 0) < int(metadata.get("generation") or 0):
        return False, False, f"Waiting for the {kind} {name} spec update to be observed by its controller."
    if kind == "Deployment":
        desired = int(spec.get("replicas", 1))
        updated = int(status.get("updatedReplicas") or 0)
        total = int(status.get("replicas") or 0)
        available = int(status.get("availableReplicas") or 0)
        for condition in status.get("conditions") or []:
            if condition.get("type") == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded":
                return False, True, f"Deployment {name} exceeded its progress deadline: {condition.get('message')}"
        if updated < desired:
            return False, False, f"Waiting: {updated} of {desired} new replicas have been updated."
        if total > updated:
            return False, False, f"Waiting: {total - updated} old replicas are pending termination."
        if available < updated:
            return False, False, f"Waiting: {available} of {updated} updated replicas are available."
        return True, False, f"Deployment {name} successfully rolled out ({available}/{desired} available)."
    if kind == "StatefulSet":
        strategy = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate")
        if strategy != "RollingUpdate":
            return True, False, f"StatefulSet {name} uses the {strategy} strategy: pods update only when deleted."
        desired = int(spec.get("replicas", 1))
        ready = int(status.get("readyReplicas") or 0)
        if ready < desired:
            return False, False, f"Waiting: {ready} of {desired} pods are ready."
        partition = int(((spec.get("updateStrategy") or {}).get("rollingUpdate") or {}).get("partition") or 0)
        if partition > 0:
            updated = int(status.get("updatedReplicas") or 0)
            if updated < desired - partition:
                return False, False, f"Waiting: {updated} of {desired - partition} pods above the partition updated."
            return True, False, f"Partitioned roll out complete: {updated} new pods above partition {partition}."
        if status.get("updateRevision") != status.get("currentRevision"):
            updated = int(status.get("updatedReplicas") or 0)
            return False, False, f"Waiting: {updated} of {desired} pods run the update revision."
        return True, False, f"StatefulSet {name} rolled out: {ready} pods at revision {status.get('currentRevision')}."
    desired = int(status.get("desiredNumberScheduled") or 0)
    updated = int(status.get("updatedNumberScheduled") or 0)
    available = int(status.get("numberAvailable") or 0)
    if updated < desired:
        return False, False, f"Waiting: {updated} of {desired} updated pods have been scheduled."
    if available < desired:
        return False, False, f"Waiting: {available} of {desired} updated pods are available."
    return True, False, f"DaemonSet {name} successfully rolled out ({available}/{desired} available)."


async def _workload(session: KubeSession, kind: str, name: str, ns: str) -> tuple[ResourceInfo, dict[str, Any]]:
    info = await session.resolve(_RESOURCES[kind])
    return info, await session.get(info, name, ns)


def _template_images(template: dict[str, Any]) -> list[str]:
    return [str(c.get("image", "")) for c in ((template.get("spec") or {}).get("containers") or [])]


async def _revisions(
    session: KubeSession, kind: str, workload: dict[str, Any]
) -> list[tuple[Revision, dict[str, Any]]]:
    """Each revision with the object holding it (ReplicaSet or ControllerRevision), oldest first."""
    metadata = workload.get("metadata") or {}
    uid, ns = metadata.get("uid"), metadata.get("namespace")
    source = "replicasets.apps" if kind == "Deployment" else "controllerrevisions.apps"
    info = await session.resolve(source)
    listing = await session.list_page(info, ns, limit=1000)
    found: list[tuple[Revision, dict[str, Any]]] = []
    current_revision = (workload.get("status") or {}).get("updateRevision")
    current_deployment = (metadata.get("annotations") or {}).get(REVISION)
    for item in listing.get("items") or []:
        item_meta = item.get("metadata") or {}
        if not any(o.get("uid") == uid for o in item_meta.get("ownerReferences") or []):
            continue
        annotations = item_meta.get("annotations") or {}
        if kind == "Deployment":
            number = int(annotations.get(REVISION) or 0)
            template = (item.get("spec") or {}).get("template") or {}
            current = str(number) == str(current_deployment)
        else:
            number = int(item.get("revision") or 0)
            template = ((item.get("data") or {}).get("spec") or {}).get("template") or {}
            # A DaemonSet does not name its live ControllerRevision; the newest one is it (set below).
            current = kind == "StatefulSet" and item_meta.get("name") == current_revision
        revision = Revision(
            revision=number,
            current=current,
            source=f"{'ReplicaSet' if kind == 'Deployment' else 'ControllerRevision'}/{item_meta.get('name')}",
            images=_template_images(template),
            change_cause=annotations.get(CHANGE_CAUSE),
            age=age(item_meta.get("creationTimestamp")),
        )
        found.append((revision, item))
    found.sort(key=lambda pair: pair[0].revision)
    if kind == "DaemonSet" and found and not any(r.current for r, _ in found):
        found[-1][0].current = True
    return found


@tool(rollouts, title="Rollout status", safety=READ_ONLY)
async def get_rollout_status(
    kind: WorkloadKind,
    name: Name,
    namespace: Namespace = None,
    wait_seconds: Annotated[
        float, Field(ge=0, le=600, description="Wait up to this long for the rollout to finish; 0 = just look.")
    ] = 0,
) -> RolloutStatus:
    """Tell whether a Deployment, StatefulSet or DaemonSet has finished rolling out its latest template,
    like `kubectl rollout status`; optionally wait for it. Says what it waits for when not done."""
    session = current_session()
    ns = session.namespace_or_default(namespace)
    info = await session.resolve(_RESOURCES[kind])
    started = time.monotonic()
    while True:
        obj = await session.get(info, name, ns)
        done, failed, message = rollout_state(kind, obj)
        if done or failed or time.monotonic() - started >= wait_seconds:
            break
        await asyncio.sleep(0.5)
    return RolloutStatus(
        kind=kind,
        name=name,
        namespace=ns,
        done=done,
        failed=failed,
        message=message,
        waited_seconds=round(time.monotonic() - started, 2),
    )


@tool(rollouts, title="Rollout history", safety=READ_ONLY)
async def get_rollout_history(kind: WorkloadKind, name: Name, namespace: Namespace = None) -> RolloutHistory:
    """List the revisions of a Deployment (its ReplicaSets) or StatefulSet/DaemonSet (its ControllerRevisions):
    number, images, change-cause, age, and which one runs now. Use a number with undo_rollout."""
    session = current_session()
    ns = session.namespace_or_default(namespace)
    _, workload = await _workload(session, kind, name, ns)
    revisions = [revision for revision, _ in await _revisions(session, kind, workload)]
    return RolloutHistory(kind=kind, name=name, namespace=ns, revisions=revisions)


def _clean_template(template: dict[str, Any]) -> dict[str, Any]:
    template = copy.deepcopy(template)
    labels = (template.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        # The ReplicaSet's hash label is added by the Deployment controller; the template must not carry it.
        labels.pop("pod-template-hash", None)
    return template


@tool(rollouts, title="Undo a rollout", safety=WRITE_AGAIN)
async def undo_rollout(
    kind: WorkloadKind,
    name: Name,
    namespace: Namespace = None,
    to_revision: Annotated[
        int | None, Field(ge=1, description="Revision to go back to (see get_rollout_history); omitted = previous.")
    ] = None,
    dry_run: DryRun = False,
) -> UndoResult:
    """Roll a Deployment, StatefulSet or DaemonSet back to an earlier revision's pod template, like
    `kubectl rollout undo`. The rollback becomes a new revision; follow it with get_rollout_status."""
    session = current_session()
    ns = session.namespace_or_default(namespace)
    info, workload = await _workload(session, kind, name, ns)
    revisions = await _revisions(session, kind, workload)
    current = next((r.revision for r, _ in revisions if r.current), None)
    if to_revision is None:
        older = [pair for pair in revisions if current is None or pair[0].revision < current]
        if not older:
            raise ToolError(
                f"{kind} {name!r} in namespace {ns!r} has no earlier revision to roll back to "
                f"(revisions: {[r.revision for r, _ in revisions] or 'none'})."
            )
        chosen = older[-1]
    else:
        match = [pair for pair in revisions if pair[0].revision == to_revision]
        if not match:
            raise ToolError(
                f"{kind} {name!r} in namespace {ns!r} has no revision {to_revision}; it has "
                f"{[r.revision for r, _ in revisions] or 'none'} (get_rollout_history shows them)."
            )
        chosen = match[0]
    revision, holder = chosen
    if revision.current:
        raise ToolError(f"{kind} {name!r} already runs revision {revision.revision}; nothing to undo.")
    if kind == "Deployment":
        template = _clean_template((holder.get("spec") or {}).get("template") or {})
        patch: Any = [{"op": "replace", "path": "/spec/template", "value": template}]
        content_type = "application/json-patch+json"
    else:
        patch = holder.get("data") or {}
        content_type = "application/strategic-merge-patch+json"
    change, _ = await patch_object(
        session,
        info,
        name,
        ns,
        patch,
        action="roll back",
        done=f"rolled back to revision {revision.revision}",
        dry_run=dry_run,
        content_type=content_type,
    )
    return UndoResult(change=change, from_revision=current, to_revision=revision.revision, images=revision.images)


@tool(rollouts, title="Restart a rollout", safety=DESTRUCTIVE)
async def restart_rollout(
    kind: WorkloadKind, name: Name, namespace: Namespace = None, dry_run: DryRun = False
) -> ObjectChange:
    """Replace every pod of a Deployment, StatefulSet or DaemonSet with a rolling restart, like
    `kubectl rollout restart` (stamps the pod template with a restartedAt annotation)."""
    session = current_session()
    ns = session.namespace_or_default(namespace)
    info = await session.resolve(_RESOURCES[kind])
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
    change, _ = await patch_object(session, info, name, ns, patch, action="restart", done="restarted", dry_run=dry_run)
    change.message += " Follow it with get_rollout_status."
    return change
