"""Storage tools through an MCP client: volumes, claims, classes; a claim grows, never shrinks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastmcp import Client

from devcluster.api import ClusterAPI
from tests.k3s_mcp.conftest import call, call_error, create, wait_until


@pytest.fixture
def bound_claims(cluster_api: ClusterAPI, namespace: str) -> Iterator[dict[str, str]]:
    """Two bound claims: 'growable' (class allows expansion) and 'fixed' (class does not)."""
    names = {"growable": f"{namespace}-grow", "fixed": f"{namespace}-fixed"}
    for claim, class_name in names.items():
        create(
            cluster_api,
            "/apis/storage.k8s.io/v1/storageclasses",
            {
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": {"name": class_name},
                "provisioner": "rancher.io/local-path",
                "allowVolumeExpansion": claim == "growable",
                "volumeBindingMode": "Immediate",
            },
        )
        create(
            cluster_api,
            "/api/v1/persistentvolumes",
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": class_name},
                "spec": {
                    "capacity": {"storage": "5Gi"},
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": class_name,
                    "hostPath": {"path": f"/tmp/{class_name}"},
                    "claimRef": {"namespace": namespace, "name": claim},
                },
            },
        )
        create(
            cluster_api,
            f"/api/v1/namespaces/{namespace}/persistentvolumeclaims",
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": claim},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": class_name,
                    "volumeName": class_name,
                    "resources": {"requests": {"storage": "2Gi"}},
                },
            },
        )
    yield names
    for class_name in names.values():
        cluster_api.request("DELETE", f"/api/v1/persistentvolumes/{class_name}")
        cluster_api.request("DELETE", f"/apis/storage.k8s.io/v1/storageclasses/{class_name}")


async def _phase(client: Client[Any], namespace: str, claim: str) -> str:
    shown = await call(client, "get_persistent_volume_claim", {"name": claim, "namespace": namespace})
    return str(shown["summary"]["status"])


async def test_volumes_claims_and_classes_are_listed(
    mcp_client: Client[Any], namespace: str, bound_claims: dict[str, str]
) -> None:
    await wait_until(lambda: _bound(mcp_client, namespace, "growable"), what="claim to bind")
    claims = await call(mcp_client, "get_persistent_volume_claims", {"namespace": namespace})
    rows = {r["name"]: r for r in claims["items"]}
    assert rows["growable"]["volume"] == bound_claims["growable"] and rows["growable"]["requested"] == "2Gi"
    assert rows["growable"]["capacity"] == "5Gi" and rows["growable"]["storage_class"] == bound_claims["growable"]

    volume = await call(mcp_client, "get_persistent_volume", {"name": bound_claims["growable"]})
    assert volume["summary"]["claim"] == f"{namespace}/growable" and volume["summary"]["status"] == "Bound"
    volumes = await call(mcp_client, "get_persistent_volumes", {"limit": 500})
    assert bound_claims["fixed"] in {r["name"] for r in volumes["items"]}

    classes = {r["name"]: r for r in (await call(mcp_client, "get_storage_classes", {}))["items"]}
    assert classes[bound_claims["growable"]]["allow_volume_expansion"] is True
    assert classes[bound_claims["fixed"]]["allow_volume_expansion"] is False


async def _bound(client: Client[Any], namespace: str, claim: str) -> bool:
    return await _phase(client, namespace, claim) == "Bound"


async def test_resize_grows_and_refuses_shrink_and_fixed_classes(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str, bound_claims: dict[str, str]
) -> None:
    await wait_until(lambda: _bound(mcp_client, namespace, "growable"), what="growable claim to bind")
    await wait_until(lambda: _bound(mcp_client, namespace, "fixed"), what="fixed claim to bind")
    claim_path = f"/api/v1/namespaces/{namespace}/persistentvolumeclaims"

    shrink = await call_error(
        mcp_client, "resize_persistent_volume_claim", {"name": "growable", "namespace": namespace, "size": "1Gi"}
    )
    assert "Refusing to shrink" in shrink and "2Gi" in shrink and "only grow" in shrink
    fixed = await call_error(
        mcp_client, "resize_persistent_volume_claim", {"name": "fixed", "namespace": namespace, "size": "3Gi"}
    )
    assert "does not allow volume expansion" in fixed and "allowVolumeExpansion" in fixed
    bad = await call_error(
        mcp_client, "resize_persistent_volume_claim", {"name": "growable", "namespace": namespace, "size": "lots"}
    )
    assert "not a Kubernetes quantity" in bad
    for claim in ("growable", "fixed"):
        _, live = cluster_api.request("GET", f"{claim_path}/{claim}")
        assert live["spec"]["resources"]["requests"]["storage"] == "2Gi"

    dry = await call(
        mcp_client,
        "resize_persistent_volume_claim",
        {"name": "growable", "namespace": namespace, "size": "4Gi", "dry_run": True},
    )
    assert dry["change"]["dry_run"] is True and dry["change"]["result"] == "configured"
    _, live = cluster_api.request("GET", f"{claim_path}/growable")
    assert live["spec"]["resources"]["requests"]["storage"] == "2Gi"

    grown = await call(
        mcp_client, "resize_persistent_volume_claim", {"name": "growable", "namespace": namespace, "size": "4Gi"}
    )
    assert grown["previous_request"] == "2Gi" and grown["change"]["result"] == "configured"
    _, live = cluster_api.request("GET", f"{claim_path}/growable")
    assert live["spec"]["resources"]["requests"]["storage"] == "4Gi"


async def test_resize_of_a_pending_claim_is_refused(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    create(
        cluster_api,
        f"/api/v1/namespaces/{namespace}/persistentvolumeclaims",
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "waiting"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "no-such-class",
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
    )
    message = await call_error(
        mcp_client, "resize_persistent_volume_claim", {"name": "waiting", "namespace": namespace, "size": "2Gi"}
    )
    assert "only a Bound claim can be resized" in message
    missing = await call_error(
        mcp_client, "resize_persistent_volume_claim", {"name": "ghost", "namespace": namespace, "size": "2Gi"}
    )
    assert "PersistentVolumeClaim 'ghost' not found" in missing
