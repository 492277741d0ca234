"""Storage tools: PersistentVolumes, PersistentVolumeClaims and StorageClasses; grow a claim safely."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from pydantic import BaseModel, Field

from k3s_mcp.kube import current_session
from k3s_mcp.quantities import parse_quantity
from k3s_mcp.tools import READ_ONLY, WRITE, tool
from k3s_mcp.tools.changes import ObjectChange, patch_object
from k3s_mcp.tools.lists import list_rows
from k3s_mcp.tools.parameters import ContinueToken, DryRun, Labels, Limit, ListNamespace, Name, Namespace
from k3s_mcp.views import (
    PersistentVolumeClaimRow,
    PersistentVolumeRow,
    RowPage,
    StorageClassRow,
    persistent_volume_claim_row,
    persistent_volume_row,
    storage_class_row,
    trim,
)

storage: FastMCP = FastMCP("storage")


class VolumeDetail(BaseModel):
    summary: PersistentVolumeRow
    object: dict[str, Any] = Field(description="The PersistentVolume without managedFields and last-applied.")


class ClaimDetail(BaseModel):
    summary: PersistentVolumeClaimRow
    object: dict[str, Any] = Field(description="The claim without managedFields and last-applied.")


class ResizeResult(BaseModel):
    change: ObjectChange
    previous_request: str | None
    requested: str
    storage_class: str | None
    note: str = Field(description="What happens next: the storage driver grows the volume; watch the claim.")


@tool(storage, title="List PersistentVolumes", safety=READ_ONLY)
async def get_persistent_volumes(
    labels: Labels = None, limit: Limit = None, continue_token: ContinueToken = None
) -> RowPage[PersistentVolumeRow]:
    """List PersistentVolumes (cluster-wide): capacity, access modes, reclaim policy, status, bound claim, class."""
    return await list_rows(
        "persistentvolumes", persistent_volume_row, None, labels=labels, limit=limit, continue_token=continue_token
    )


@tool(storage, title="Show a PersistentVolume", safety=READ_ONLY)
async def get_persistent_volume(name: Name) -> VolumeDetail:
    """Show one PersistentVolume: summary row and the trimmed object (source, node affinity, claim)."""
    session = current_session()
    info = await session.resolve("persistentvolumes")
    volume = await session.get(info, name, None)
    return VolumeDetail(summary=persistent_volume_row(volume), object=trim(volume))


@tool(storage, title="List PersistentVolumeClaims", safety=READ_ONLY)
async def get_persistent_volume_claims(
    namespace: ListNamespace = None,
    labels: Labels = None,
    limit: Limit = None,
    continue_token: ContinueToken = None,
) -> RowPage[PersistentVolumeClaimRow]:
    """List PersistentVolumeClaims: phase, bound volume, requested vs actual capacity, class, resize state."""
    return await list_rows(
        "persistentvolumeclaims",
        persistent_volume_claim_row,
        namespace,
        labels=labels,
        limit=limit,
        continue_token=continue_token,
    )


@tool(storage, title="Show a PersistentVolumeClaim", safety=READ_ONLY)
async def get_persistent_volume_claim(name: Name, namespace: Namespace = None) -> ClaimDetail:
    """Show one PersistentVolumeClaim: summary row and the trimmed object (conditions explain a pending resize)."""
    session = current_session()
    info = await session.resolve("persistentvolumeclaims")
    claim = await session.get(info, name, session.namespace_or_default(namespace))
    return ClaimDetail(summary=persistent_volume_claim_row(claim), object=trim(claim))


@tool(storage, title="List StorageClasses", safety=READ_ONLY)
async def get_storage_classes(limit: Limit = None, continue_token: ContinueToken = None) -> RowPage[StorageClassRow]:
    """List StorageClasses: provisioner (K3s ships rancher.io/local-path), default, and whether claims can grow."""
    return await list_rows(
        "storageclasses.storage.k8s.io", storage_class_row, None, limit=limit, continue_token=continue_token
    )


@tool(storage, title="Grow a PersistentVolumeClaim", safety=WRITE)
async def resize_persistent_volume_claim(
    name: Name,
    size: Annotated[str, Field(min_length=1, description="New requested size, e.g. '20Gi'. Must be larger.")],
    namespace: Namespace = None,
    dry_run: DryRun = False,
) -> ResizeResult:
    """Grow a bound PersistentVolumeClaim to `size` (volumes can only grow).

    Refuses, before touching the claim, a shrink, a claim that is not Bound, and a StorageClass without
    allowVolumeExpansion. The storage driver then grows the volume; watch get_persistent_volume_claim.
    """
    session = current_session()
    ns = session.namespace_or_default(namespace)
    wanted = parse_quantity(size)
    info = await session.resolve("persistentvolumeclaims")
    claim = await session.get(info, name, ns)
    row = persistent_volume_claim_row(claim)
    current_text = row.requested
    current = parse_quantity(current_text) if current_text else Decimal(0)
    where = f"PersistentVolumeClaim {name!r} in namespace {ns!r}"
    if wanted < current:
        raise ToolError(
            f"Refusing to shrink {where} from {current_text} to {size}: Kubernetes volumes can only grow. "
            f"Give a size larger than {current_text}. Nothing was changed."
        )
    if wanted == current:
        raise ToolError(f"{where} already requests {current_text}; give a larger size to grow it.")
    if row.status != "Bound":
        raise ToolError(
            f"{where} is {row.status or 'not bound'}, and only a Bound claim can be resized. "
            "Wait until it is bound (get_persistent_volume_claim), or recreate it with the size you want."
        )
    if not row.storage_class:
        raise ToolError(f"{where} has no StorageClass, so nothing can grow its volume. Nothing was changed.")
    class_info = await session.resolve("storageclasses.storage.k8s.io")
    storage_class = await session.get_optional(class_info, row.storage_class, None)
    if storage_class is None:
        raise ToolError(
            f"{where} uses StorageClass {row.storage_class!r}, which does not exist, so it cannot be resized."
        )
    if not storage_class.get("allowVolumeExpansion"):
        raise ToolError(
            f"StorageClass {row.storage_class!r} does not allow volume expansion, so {where} cannot grow. "
            f"Fix: set allowVolumeExpansion: true on the StorageClass (if its driver supports it), "
            "or move the data to a new, larger claim. Nothing was changed."
        )
    patch = {"spec": {"resources": {"requests": {"storage": size}}}}
    change, _ = await patch_object(session, info, name, ns, patch, action="resize", done="resized", dry_run=dry_run)
    return ResizeResult(
        change=change,
        previous_request=current_text,
        requested=size,
        storage_class=row.storage_class,
        note=(
            "The claim now requests the new size; the volume driver grows the volume and status.capacity "
            "follows (some drivers need the pod restarted to grow the filesystem)."
        ),
    )
