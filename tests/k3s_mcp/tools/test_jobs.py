"""Job and CronJob tools through an MCP client: rows, run a CronJob now, suspend and resume."""

from __future__ import annotations

from typing import Any

from fastmcp import Client

from devcluster.api import ClusterAPI
from tests.k3s_mcp.conftest import call, call_error, create, wait_until


def _cronjob(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name},
        "spec": {
            # Once a year, so the controller never starts one during the test by itself.
            "schedule": "0 3 1 1 *",
            "jobTemplate": {
                "metadata": {"labels": {"from": name}},
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "main", "image": "busybox", "command": ["true"]}],
                        }
                    }
                },
            },
        },
    }


async def test_cronjob_run_now_suspend_and_resume(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    create(cluster_api, f"/apis/batch/v1/namespaces/{namespace}/cronjobs", _cronjob("nightly"))
    cronjobs = await call(mcp_client, "get_cronjobs", {"namespace": namespace})
    assert [(r["name"], r["schedule"], r["suspended"]) for r in cronjobs["items"]] == [("nightly", "0 3 1 1 *", False)]

    dry = await call(
        mcp_client, "create_job_from_cronjob", {"cronjob": "nightly", "namespace": namespace, "dry_run": True}
    )
    assert dry["dry_run"] is True
    status, listing = cluster_api.request("GET", f"/apis/batch/v1/namespaces/{namespace}/jobs")
    assert status == 200 and listing["items"] == []

    created = await call(
        mcp_client, "create_job_from_cronjob", {"cronjob": "nightly", "namespace": namespace, "job_name": "now"}
    )
    assert created["job"] == "now"
    _, job = cluster_api.request("GET", f"/apis/batch/v1/namespaces/{namespace}/jobs/now")
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    assert job["metadata"]["labels"]["from"] == "nightly"

    jobs = await call(mcp_client, "get_jobs", {"namespace": namespace})
    assert [(r["name"], r["cronjob"]) for r in jobs["items"]] == [("now", "nightly")]
    # The Job controller really runs it: a pod labelled job-name=now appears.
    await wait_until(
        lambda: cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/pods?labelSelector=job-name=now")[1][
            "items"
        ],
        what="the job's pod",
    )
    detail = await call(mcp_client, "get_job", {"name": "now", "namespace": namespace})
    assert detail["summary"]["completions"].endswith("/1") and "managedFields" not in detail["object"]["metadata"]
    shown = await call(mcp_client, "get_cronjob", {"name": "nightly", "namespace": namespace})
    assert [j["name"] for j in shown["jobs"]] == ["now"]

    suspended = await call(mcp_client, "suspend_cronjob", {"name": "nightly", "namespace": namespace})
    assert suspended["result"] == "configured"
    _, live = cluster_api.request("GET", f"/apis/batch/v1/namespaces/{namespace}/cronjobs/nightly")
    assert live["spec"]["suspend"] is True
    again = await call(mcp_client, "suspend_cronjob", {"name": "nightly", "namespace": namespace})
    assert again["result"] == "unchanged"
    resumed = await call(mcp_client, "resume_cronjob", {"name": "nightly", "namespace": namespace, "dry_run": True})
    assert resumed["dry_run"] is True
    _, live = cluster_api.request("GET", f"/apis/batch/v1/namespaces/{namespace}/cronjobs/nightly")
    assert live["spec"]["suspend"] is True
    await call(mcp_client, "resume_cronjob", {"name": "nightly", "namespace": namespace})
    _, live = cluster_api.request("GET", f"/apis/batch/v1/namespaces/{namespace}/cronjobs/nightly")
    assert live["spec"]["suspend"] is False


async def test_job_tools_bad_paths(mcp_client: Client[Any], namespace: str) -> None:
    message = await call_error(mcp_client, "create_job_from_cronjob", {"cronjob": "ghost", "namespace": namespace})
    assert "CronJob 'ghost' not found" in message
    message = await call_error(mcp_client, "suspend_cronjob", {"name": "ghost", "namespace": namespace})
    assert "CronJob 'ghost' not found" in message
