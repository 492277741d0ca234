"""KEDA tools against the real keda.sh CRDs: ScaledObjects and ScaledJobs, pause/resume, the KEDA HPA view."""

from __future__ import annotations

from typing import Any

import pytest
from fastmcp import Client

from devcluster.api import ClusterAPI
from tests.k3s_mcp.conftest import call, call_error, create, deployment

pytestmark = pytest.mark.cluster

CRON = {
    "type": "cron",
    "metadata": {"timezone": "UTC", "start": "0 8 * * *", "end": "0 18 * * *", "desiredReplicas": "3"},
}
SCALED_OBJECTS = "/apis/keda.sh/v1alpha1/namespaces/{ns}/scaledobjects"


def read_scaled_object(cluster_api: ClusterAPI, namespace: str, name: str) -> tuple[int, Any]:
    return cluster_api.request("GET", f"{SCALED_OBJECTS.format(ns=namespace)}/{name}")


async def test_scaled_object_lifecycle(mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str) -> None:
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

    rows = await call(mcp_client, "get_keda_scalers", {"namespace": namespace})
    assert rows["count"] == 1
    row = rows["items"][0]
    assert row["target"] == "Deployment/web" and row["min"] == 0 and row["max"] == 5
    assert row["triggers"] == ["cron"] and row["ready"] == "Unknown" and row["paused"] is None

    updated = await call(
        mcp_client, "apply_scaled_object", {"name": "web", "namespace": namespace, "max_replica_count": 9}
    )
    assert updated["action"] == "updated" and updated["row"]["max"] == 9
    _, stored = read_scaled_object(cluster_api, namespace, "web")
    # An update changes only what it names: the trigger and the minimum stay.
    assert stored["spec"]["maxReplicaCount"] == 9 and stored["spec"]["minReplicaCount"] == 0
    assert stored["spec"]["triggers"][0]["metadata"]["desiredReplicas"] == "3"

    paused = await call(mcp_client, "pause_keda_scaler", {"name": "web", "namespace": namespace, "paused_replicas": 2})
    assert paused["row"]["paused"] == "replicas=2"
    _, stored = read_scaled_object(cluster_api, namespace, "web")
    annotations = stored["metadata"]["annotations"]
    assert annotations["autoscaling.keda.sh/paused"] == "true"
    assert annotations["autoscaling.keda.sh/paused-replicas"] == "2"

    resumed = await call(mcp_client, "resume_keda_scaler", {"name": "web", "namespace": namespace})
    assert resumed["row"]["paused"] is None
    _, stored = read_scaled_object(cluster_api, namespace, "web")
    assert not {"autoscaling.keda.sh/paused", "autoscaling.keda.sh/paused-replicas"} & set(
        stored["metadata"].get("annotations") or {}
    )

    detail = await call(mcp_client, "get_keda_scaler", {"name": "web", "namespace": namespace})
    assert detail["row"]["max"] == 9 and "managedFields" not in detail["object"]["metadata"]

    hpa = await call(mcp_client, "get_keda_hpa", {"name": "web", "namespace": namespace})
    assert hpa["exists"] is False and hpa["hpa_name"] == "keda-hpa-web"
    assert "No HPA 'keda-hpa-web' exists yet" in hpa["message"] and "KEDA operator" in hpa["message"]

    dry = await call(mcp_client, "delete_keda_scaler", {"name": "web", "namespace": namespace, "dry_run": True})
    assert dry["action"] == "deleted (dry run)"
    assert read_scaled_object(cluster_api, namespace, "web")[0] == 200
    await call(mcp_client, "delete_keda_scaler", {"name": "web", "namespace": namespace})
    assert read_scaled_object(cluster_api, namespace, "web")[0] == 404


async def test_keda_hpa_shown_when_it_exists(mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str) -> None:
    await call(
        mcp_client,
        "apply_scaled_object",
        {"name": "api", "namespace": namespace, "target_name": "api", "triggers": [CRON], "max_replica_count": 4},
    )
    # What the KEDA operator would create: an autoscaling/v2 HPA named keda-hpa-<name>.
    create(
        cluster_api,
        f"/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers",
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "keda-hpa-api"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
                "minReplicas": 1,
                "maxReplicas": 4,
                "metrics": [
                    {
                        "type": "External",
                        "external": {
                            "metric": {"name": "s0-cron-UTC-08xxx-018xxx"},
                            "target": {"type": "AverageValue", "averageValue": "1"},
                        },
                    }
                ],
            },
        },
    )
    hpa = await call(mcp_client, "get_keda_hpa", {"name": "api", "namespace": namespace})
    assert hpa["exists"] is True and hpa["max_replicas"] == 4 and hpa["min_replicas"] == 1
    assert hpa["metrics"][0]["type"] == "External"


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
    await call(mcp_client, "delete_keda_scaler", {"name": "batch", "kind": "ScaledJob", "namespace": namespace})
    status, _ = cluster_api.request("GET", f"/apis/keda.sh/v1alpha1/namespaces/{namespace}/scaledjobs/batch")
    assert status == 404


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
