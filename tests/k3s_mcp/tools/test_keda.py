"""KEDA tools against the real keda.sh CRDs and the real KEDA operator: ScaledObjects and ScaledJobs, pause/resume
as the operator takes them, and the HPA view of the HPA the operator made."""

from __future__ import annotations

from typing import Any

import pytest
from fastmcp import Client

from devcluster.api import ClusterAPI, deployment
from tests.k3s_mcp.conftest import call, call_error, create, wait_until

pytestmark = pytest.mark.cluster

CRON = {
    "type": "cron",
    "metadata": {"timezone": "UTC", "start": "0 8 * * *", "end": "0 18 * * *", "desiredReplicas": "3"},
}
SCALED_OBJECTS = "/apis/keda.sh/v1alpha1/namespaces/{ns}/scaledobjects"


def read_scaled_object(cluster_api: ClusterAPI, namespace: str, name: str) -> tuple[int, Any]:
    return cluster_api.request("GET", f"{SCALED_OBJECTS.format(ns=namespace)}/{name}")


async def test_scaled_object_lifecycle(
    autoscaling_kubeconfig: str, mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    """Against the real KEDA operator (the autoscaling profile): what the tools show is what the operator did."""
    create(cluster_api, f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment("web"))
    created = await call(
        mcp_client,
        "apply_scaled_object",
        {
            "name": "web",
            "namespace": namespace,
            "target_name": "web",
            "triggers": [CRON],
            "min_replica_count": 0,
            "max_replica_count": 5,
        },
    )
    assert created["action"] == "created"
    status, stored = read_scaled_object(cluster_api, namespace, "web")
    assert status == 200
    assert stored["spec"]["scaleTargetRef"] == {"name": "web", "kind": "Deployment"}
    assert stored["spec"]["minReplicaCount"] == 0 and stored["spec"]["triggers"][0]["type"] == "cron"

    async def row() -> dict[str, Any]:
        rows = await call(mcp_client, "get_keda_scalers", {"namespace": namespace})
        assert rows["count"] == 1
        return dict(rows["items"][0])

    first = await row()
    assert first["target"] == "Deployment/web" and first["min"] == 0 and first["max"] == 5
    assert first["triggers"] == ["cron"] and first["paused"] is None
    # Ready is the operator's condition: Unknown until it reconciles, then True.
    assert (await wait_until(lambda: _ready(row), 60, "the operator's Ready condition")) == "True"

    updated = await call(
        mcp_client, "apply_scaled_object", {"name": "web", "namespace": namespace, "max_replica_count": 9}
    )
    assert updated["action"] == "updated" and updated["row"]["max"] == 9
    _, stored = read_scaled_object(cluster_api, namespace, "web")
    # An update changes only what it names: the trigger and the minimum stay.
    assert stored["spec"]["maxReplicaCount"] == 9 and stored["spec"]["minReplicaCount"] == 0
    assert stored["spec"]["triggers"][0]["metadata"]["desiredReplicas"] == "3"

    # The HPA is the operator's, and follows the update.
    async def hpa_with_max_9() -> dict[str, Any] | None:
        hpa = await call(mcp_client, "get_keda_hpa", {"name": "web", "namespace": namespace})
        return hpa if hpa["exists"] and hpa["max_replicas"] == 9 else None

    hpa = await wait_until(hpa_with_max_9, 60, "the operator's HPA with max 9")
    assert hpa["hpa_name"] == "keda-hpa-web" and hpa["min_replicas"] == 1
    assert hpa["metrics"][0]["type"] == "External"
    assert hpa["metrics"][0]["external"]["metric"]["name"].startswith("s0-cron-")
    status, made = cluster_api.request(
        "GET", f"/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers/keda-hpa-web"
    )
    assert status == 200 and made["metadata"]["ownerReferences"][0]["kind"] == "ScaledObject"

    paused = await call(mcp_client, "pause_keda_scaler", {"name": "web", "namespace": namespace, "paused_replicas": 2})
    assert paused["row"]["paused"] == "replicas=2"
    _, stored = read_scaled_object(cluster_api, namespace, "web")
    annotations = stored["metadata"]["annotations"]
    assert annotations["autoscaling.keda.sh/paused"] == "true"
    assert annotations["autoscaling.keda.sh/paused-replicas"] == "2"
    # The operator takes the pause: the Deployment goes to the paused count and the HPA is deleted.
    await wait_until(lambda: _replicas(cluster_api, namespace, "web") == 2, 60, "the paused replica count")

    async def hpa_gone() -> dict[str, Any] | None:
        hpa = await call(mcp_client, "get_keda_hpa", {"name": "web", "namespace": namespace})
        return None if hpa["exists"] else hpa

    gone = await wait_until(hpa_gone, 60, "the operator to delete its HPA")
    assert gone["hpa_name"] == "keda-hpa-web"
    assert "No HPA 'keda-hpa-web' exists yet" in gone["message"] and "not paused" in gone["message"]

    resumed = await call(mcp_client, "resume_keda_scaler", {"name": "web", "namespace": namespace})
    assert resumed["row"]["paused"] is None
    _, stored = read_scaled_object(cluster_api, namespace, "web")
    assert not {"autoscaling.keda.sh/paused", "autoscaling.keda.sh/paused-replicas"} & set(
        stored["metadata"].get("annotations") or {}
    )
    await wait_until(hpa_with_max_9, 60, "the operator's HPA made again after the resume")

    detail = await call(mcp_client, "get_keda_scaler", {"name": "web", "namespace": namespace})
    assert detail["row"]["max"] == 9 and "managedFields" not in detail["object"]["metadata"]
    assert {c["type"] for c in detail["object"]["status"]["conditions"]} >= {"Ready", "Active", "Paused"}

    dry = await call(mcp_client, "delete_keda_scaler", {"name": "web", "namespace": namespace, "dry_run": True})
    assert dry["action"] == "deleted (dry run)"
    assert read_scaled_object(cluster_api, namespace, "web")[0] == 200
    deleted = await call(mcp_client, "delete_keda_scaler", {"name": "web", "namespace": namespace})
    # The operator's finalizer.keda.sh holds the object until it has let go of the workload: the answer says which.
    assert deleted["action"] in ("deleted", "deleting")
    assert ("finalizer.keda.sh" in deleted["message"]) == (deleted["action"] == "deleting")
    await wait_until(lambda: read_scaled_object(cluster_api, namespace, "web")[0] == 404, 30, "the ScaledObject to go")


async def _ready(row: Any) -> str | None:
    ready = (await row())["ready"]
    return None if ready == "Unknown" else str(ready)


def _replicas(cluster_api: ClusterAPI, namespace: str, name: str) -> int:
    status, answer = cluster_api.request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
    assert status == 200, answer
    return int(answer["spec"]["replicas"])


async def test_scaled_job_create_pause_delete(mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str) -> None:
    job_template = {
        "template": {
            "spec": {
                "containers": [{"name": "worker", "image": "busybox:1.36", "command": ["echo", "hi"]}],
                "restartPolicy": "Never",
            }
        }
    }
    created = await call(
        mcp_client,
        "apply_scaled_job",
        {"name": "batch", "namespace": namespace, "job_template": job_template, "triggers": [CRON]},
    )
    assert created["action"] == "created" and created["row"]["target"] == "Job image busybox:1.36"
    rows = await call(mcp_client, "get_keda_scalers", {"kind": "ScaledJob", "namespace": namespace})
    assert [row["name"] for row in rows["items"]] == ["batch"] and rows["items"][0]["kind"] == "ScaledJob"
    message = await call_error(
        mcp_client,
        "pause_keda_scaler",
        {"name": "batch", "kind": "ScaledJob", "namespace": namespace, "paused_replicas": 1},
    )
    assert "ScaledObjects only" in message
    paused = await call(mcp_client, "pause_keda_scaler", {"name": "batch", "kind": "ScaledJob", "namespace": namespace})
    assert paused["row"]["paused"] == "true"
    deleted = await call(
        mcp_client, "delete_keda_scaler", {"name": "batch", "kind": "ScaledJob", "namespace": namespace}
    )
    path = f"/apis/keda.sh/v1alpha1/namespaces/{namespace}/scaledjobs/batch"
    # The operator's finalizer.keda.sh may still hold the object: then the tool says so instead of "deleted".
    if deleted["action"] == "deleting":
        assert "finalizer.keda.sh" in deleted["message"] and "marked for deletion" in deleted["message"]
    else:
        assert deleted["action"] == "deleted" and "finalizer" not in deleted["message"]
    await wait_until(lambda: cluster_api.request("GET", path)[0] == 404, within=30, what="the ScaledJob to go")


async def test_bad_scaled_objects_are_refused_and_nothing_is_created(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    # The API server checks KEDA's CRD schema: pollingInterval is an int32.
    message = await call_error(
        mcp_client,
        "apply_scaled_object",
        {"name": "bad", "namespace": namespace, "target_name": "web", "triggers": [CRON], "polling_interval": 2**33},
    )
    assert "Invalid ScaledObject 'bad'" in message and "pollingInterval" in message
    assert read_scaled_object(cluster_api, namespace, "bad")[0] == 404

    message = await call_error(mcp_client, "apply_scaled_object", {"name": "bad", "namespace": namespace})
    assert "does not exist" in message and "target_name" in message and "triggers" in message
    message = await call_error(
        mcp_client,
        "apply_scaled_object",
        {
            "name": "bad",
            "namespace": namespace,
            "target_name": "web",
            "triggers": [CRON],
            "min_replica_count": 5,
            "max_replica_count": 2,
        },
    )
    assert "min_replica_count (5) is larger than max_replica_count (2)" in message
    assert read_scaled_object(cluster_api, namespace, "bad")[0] == 404

    message = await call_error(mcp_client, "get_keda_hpa", {"name": "missing", "namespace": namespace})
    assert "ScaledObject 'missing' not found" in message
    message = await call_error(mcp_client, "resume_keda_scaler", {"name": "missing", "namespace": namespace})
    assert "not found" in message
