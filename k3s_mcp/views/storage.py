"""Rows of storage: PersistentVolumes, PersistentVolumeClaims (core) and StorageClasses (storage.k8s.io)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from k3s_mcp.views.pages import (
    created_age,
    metadata_of,
    name_of,
    namespace_of,
)

DEFAULT_STORAGE_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"


class PersistentVolumeRow(BaseModel):
    """A PersistentVolume as `kubectl get pv` shows it."""

    name: str
    capacity: str | None
    access_modes: list[str]
    reclaim_policy: str | None
    status: str
    claim: str | None = Field(description="namespace/name of the bound claim.")
    storage_class: str | None
    age: str


def persistent_volume_row(volume: dict[str, Any]) -> PersistentVolumeRow:
    spec = volume.get("spec") or {}
    ref = spec.get("claimRef") or {}
    return PersistentVolumeRow(
        name=name_of(volume),
        capacity=(spec.get("capacity") or {}).get("storage"),
        access_modes=list(spec.get("accessModes") or []),
        reclaim_policy=spec.get("persistentVolumeReclaimPolicy"),
        status=str((volume.get("status") or {}).get("phase", "")),
        claim=f"{ref.get('namespace')}/{ref.get('name')}" if ref.get("name") else None,
        storage_class=spec.get("storageClassName") or None,
        age=created_age(volume),
    )


class PersistentVolumeClaimRow(BaseModel):
    """A PersistentVolumeClaim: phase, volume, requested and actual capacity, class."""

    name: str
    namespace: str
    status: str
    volume: str | None
    requested: str | None = Field(description="spec.resources.requests.storage.")
    capacity: str | None = Field(description="status.capacity.storage: what the bound volume provides.")
    access_modes: list[str]
    storage_class: str | None
    resizing: str | None = Field(default=None, description="Resize condition or status, when one is underway.")
    age: str


def persistent_volume_claim_row(claim: dict[str, Any]) -> PersistentVolumeClaimRow:
    spec = claim.get("spec") or {}
    status = claim.get("status") or {}
    resizing = next(
        (
            str(c.get("type"))
            for c in status.get("conditions") or []
            if c.get("type") in ("Resizing", "FileSystemResizePending") and c.get("status") == "True"
        ),
        None,
    )
    return PersistentVolumeClaimRow(
        name=name_of(claim),
        namespace=namespace_of(claim),
        status=str(status.get("phase", "")),
        volume=spec.get("volumeName") or None,
        requested=((spec.get("resources") or {}).get("requests") or {}).get("storage"),
        capacity=(status.get("capacity") or {}).get("storage"),
        access_modes=list(spec.get("accessModes") or []),
        storage_class=spec.get("storageClassName") or None,
        resizing=resizing,
        age=created_age(claim),
    )


class StorageClassRow(BaseModel):
    """A StorageClass: provisioner, whether it is the default and whether claims can grow."""

    name: str
    provisioner: str
    default: bool
    reclaim_policy: str | None
    volume_binding_mode: str | None
    allow_volume_expansion: bool
    age: str


def storage_class_row(storage_class: dict[str, Any]) -> StorageClassRow:
    annotations = metadata_of(storage_class).get("annotations") or {}
    return StorageClassRow(
        name=name_of(storage_class),
        provisioner=str(storage_class.get("provisioner", "")),
        default=annotations.get(DEFAULT_STORAGE_CLASS_ANNOTATION) == "true",
        reclaim_policy=storage_class.get("reclaimPolicy"),
        volume_binding_mode=storage_class.get("volumeBindingMode"),
        allow_volume_expansion=bool(storage_class.get("allowVolumeExpansion")),
        age=created_age(storage_class),
    )
