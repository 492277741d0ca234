"""Node tools: cordon, uncordon, and drain through the Eviction API, so PodDisruptionBudgets hold.

drain_node works as `kubectl drain` does: DaemonSet pods and mirror pods are skipped (their controller or the
kubelet would recreate them in place); a pod with emptyDir data, or one no controller would recreate, is refused
unless the caller says so, and then nothing is changed at all. Otherwise the node is cordoned and every other
pod is evicted (policy/v1 Eviction); an eviction a PodDisruptionBudget blocks (HTTP 429) is retried until the
timeout, and the answer says which pods were evicted, which stayed blocked and why.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastmcp import Context, FastMCP
from fastmcp.exceptions import ToolError
from pydantic import BaseModel, Field

from k3s_mcp.kube import KubeError, KubeSession, ResourceInfo, Target, current_session
from k3s_mcp.kube.requests import field_selector
from k3s_mcp.tools import DESTRUCTIVE, WRITE, tool
from k3s_mcp.tools.changes import patch_object

nodes: FastMCP = FastMCP("nodes")

NodeName = Annotated[str, Field(min_length=1, max_length=253, description="Name of the node.")]
_MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
_RETRY_SECONDS = 2.0
_LIST_PAGE = 500


class CordonResult(BaseModel):
    node: str
    unschedulable: bool
    changed: bool
    message: str


class PodNote(BaseModel):
    pod: str = Field(description="namespace/name")
    reason: str


class DrainResult(BaseModel):
    node: str
    cordoned: bool
    evicted: list[str] = Field(description="Pods evicted (namespace/name).")
    blocked: list[PodNote] = Field(description="Pods a PodDisruptionBudget kept (HTTP 429) until the timeout.")
    failed: list[PodNote] = Field(default_factory=list, description="Pods not evicted for another reason.")
    skipped: list[PodNote] = Field(description="DaemonSet and mirror pods, left alone.")
    terminating: list[str] = Field(description="Evicted pods still shutting down at the timeout.")
    waited_seconds: float
    message: str


def _pod_key(pod: dict[str, Any]) -> str:
    metadata = pod.get("metadata") or {}
    return f"{metadata.get('namespace')}/{metadata.get('name')}"


def _controller(pod: dict[str, Any]) -> dict[str, Any] | None:
    owners = (pod.get("metadata") or {}).get("ownerReferences") or []
    return next((owner for owner in owners if isinstance(owner, dict) and owner.get("controller")), None)


def _skip_reason(pod: dict[str, Any]) -> str | None:
    if _MIRROR_ANNOTATION in ((pod.get("metadata") or {}).get("annotations") or {}):
        return "mirror pod (static, managed by the kubelet)"
    controller = _controller(pod)
    if controller is not None and controller.get("kind") == "DaemonSet":
        return f"DaemonSet pod ({controller.get('name')})"
    return None


def _refusal(pod: dict[str, Any], delete_emptydir_data: bool, force: bool) -> str | None:
    reasons = []
    phase = (pod.get("status") or {}).get("phase")
    if not delete_emptydir_data and phase not in ("Succeeded", "Failed"):
        volumes = (pod.get("spec") or {}).get("volumes") or []
        local = [str(v.get("name")) for v in volumes if isinstance(v, dict) and "emptyDir" in v]
        if local:
            reasons.append(
                f"has emptyDir data ({', '.join(local)}) that eviction deletes: pass delete_emptydir_data=true"
            )
    if not force and _controller(pod) is None:
        reasons.append("has no controller to recreate it, so eviction would lose it: pass force=true")
    return " and ".join(reasons) or None


async def _pods_on(session: KubeSession, pods: ResourceInfo, node: str) -> list[dict[str, Any]]:
    selector = field_selector(spec__nodeName=node)
    found: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        listing = await session.list_page(pods, None, field_selector=selector, limit=_LIST_PAGE, continue_token=token)
        found += [item for item in listing.get("items") or [] if isinstance(item, dict)]
        token = (listing.get("metadata") or {}).get("continue") or None
        if not token:
            return found


async def _evict(session: KubeSession, pods: ResourceInfo, pod: dict[str, Any]) -> None:
    metadata = pod.get("metadata") or {}
    name, namespace = str(metadata.get("name")), str(metadata.get("namespace"))
    body = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": name, "namespace": namespace},
        # Only this instance of the pod: a StatefulSet's replacement of the same name is not evicted by mistake.
        "deleteOptions": {"preconditions": {"uid": metadata.get("uid")}},
    }
    await session.request(
        "POST",
        pods.path(namespace, name, "eviction"),
        target=Target("Pod", name, namespace, action="evict"),
        body=body,
    )


def _api_reason(error: KubeError) -> str:
    """The API server's words of a translated error, without the framing around them."""
    text = str(error)
    _, found, rest = text.partition("): ")
    reason = rest if found else text
    return reason.removesuffix(" Retry.").strip()


async def _set_unschedulable(session: KubeSession, node: str, unschedulable: bool) -> CordonResult:
    info = await session.resolve("nodes")
    current = await session.get(info, node, None)
    was = bool((current.get("spec") or {}).get("unschedulable"))
    if was == unschedulable:
        state = "already cordoned" if was else "already schedulable"
        return CordonResult(node=node, unschedulable=was, changed=False, message=f"Node {node} is {state}.")
    patch = {"spec": {"unschedulable": True if unschedulable else None}}
    verb = "cordon" if unschedulable else "uncordon"
    await patch_object(session, info, node, None, patch, action=verb, done=f"{verb}ed", dry_run=False, before=current)
    message = (
        f"Cordoned node {node}: no new pods are scheduled on it (running pods stay)."
        if unschedulable
        else f"Uncordoned node {node}: it takes new pods again."
    )
    return CordonResult(node=node, unschedulable=unschedulable, changed=True, message=message)


@tool(nodes, title="Cordon a node", safety=WRITE)
async def cordon_node(name: NodeName) -> CordonResult:
    """Mark a node unschedulable; its running pods stay."""
    return await _set_unschedulable(current_session(), name, True)


@tool(nodes, title="Uncordon a node", safety=WRITE)
async def uncordon_node(name: NodeName) -> CordonResult:
    """Mark a node schedulable again."""
    return await _set_unschedulable(current_session(), name, False)


@tool(nodes, title="Drain a node", safety=DESTRUCTIVE)
async def drain_node(
    name: NodeName,
    ctx: Context,
    delete_emptydir_data: Annotated[bool, Field(description="Also evict pods with emptyDir data.")] = False,
    force: Annotated[bool, Field(description="Also evict pods no controller recreates.")] = False,
    timeout_seconds: Annotated[int, Field(ge=1, le=600, description="Give up after this long.")] = 60,
) -> DrainResult:
    """Cordon a node and evict its pods via the Eviction API (PodDisruptionBudgets respected; DaemonSet and
    mirror pods skipped). Reports evicted and PDB-blocked pods."""
    session = current_session()
    started = time.monotonic()
    deadline = started + timeout_seconds
    node_info, pods = await session.resolve("nodes"), await session.resolve("pods")
    await session.get(node_info, name, None)  # a missing node is one clear error before anything else
    on_node = await _pods_on(session, pods, name)
    refused = [
        f"{_pod_key(p)} {why}"
        for p in on_node
        if not _skip_reason(p) and (why := _refusal(p, delete_emptydir_data, force))
    ]
    if refused:
        raise ToolError(f"Not draining node {name}; nothing was changed: " + "; ".join(refused[:20]) + ".")
    await _set_unschedulable(session, name, True)
    # Pods scheduled between the first listing and the cordon are evicted too.
    on_node = await _pods_on(session, pods, name)
    skipped = [PodNote(pod=_pod_key(p), reason=why) for p in on_node if (why := _skip_reason(p))]
    candidates = [p for p in on_node if not _skip_reason(p)]
    # A pod that arrived after the check and would be refused is left in place and reported, never evicted.
    failed = {
        _pod_key(p): f"not evicted: it {why}" for p in candidates if (why := _refusal(p, delete_emptydir_data, force))
    }
    pending = {
        _pod_key(p): p
        for p in candidates
        if _pod_key(p) not in failed and not (p.get("metadata") or {}).get("deletionTimestamp")
    }
    already = [
        p for p in candidates if _pod_key(p) not in failed and (p.get("metadata") or {}).get("deletionTimestamp")
    ]
    evicted: dict[str, dict[str, Any]] = {_pod_key(p): p for p in already}
    blocked: dict[str, str] = {}
    total = len(pending) + len(evicted)
    while pending:
        for key, pod in list(pending.items()):
            try:
                await _evict(session, pods, pod)
            except KubeError as error:
                if error.status == 429:
                    blocked[key] = _api_reason(error)
                    continue
                if error.status not in (404, 409):  # gone already, or replaced (uid precondition)
                    failed[key] = str(error)
                    del pending[key]
                    continue
            evicted[key] = pending.pop(key)
            blocked.pop(key, None)
        await ctx.report_progress(len(evicted), total or 1, f"{len(evicted)}/{total} pods evicted")
        if not pending or time.monotonic() + _RETRY_SECONDS > deadline:
            break
        await asyncio.sleep(_RETRY_SECONDS)
    terminating = await _wait_gone(session, pods, evicted, deadline)
    waited = round(time.monotonic() - started, 2)
    left = f"; {len(pending)} blocked by a PodDisruptionBudget" if pending else ""
    failures = f"; {len(failed)} refused by the API server" if failed else ""
    return DrainResult(
        node=name,
        cordoned=True,
        evicted=sorted(evicted),
        blocked=[PodNote(pod=key, reason=blocked.get(key, "not evicted in time")) for key in sorted(pending)],
        failed=[PodNote(pod=key, reason=reason) for key, reason in sorted(failed.items())],
        skipped=skipped,
        terminating=terminating,
        waited_seconds=waited,
        message=f"Node {name} cordoned; {len(evicted)} pods evicted{left}{failures}"
        + (f"; {len(skipped)} skipped" if skipped else "")
        + (f"; {len(terminating)} still terminating" if terminating else "")
        + ".",
    )


async def _wait_gone(
    session: KubeSession, pods: ResourceInfo, evicted: dict[str, dict[str, Any]], deadline: float
) -> list[str]:
    """Evicted pods still present (the same uid) at the deadline."""
    waiting = dict(evicted)
    while waiting:
        for key, pod in list(waiting.items()):
            metadata = pod.get("metadata") or {}
            current = await session.get_optional(pods, str(metadata.get("name")), str(metadata.get("namespace")))
            if current is None or (current.get("metadata") or {}).get("uid") != metadata.get("uid"):
                del waiting[key]
        if not waiting or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.5)
    return sorted(waiting)
