"""Pod tools driven through an MCP client against the real cluster: list, logs, exec, restart."""

from __future__ import annotations

from typing import Any

from fastmcp import Client

from devcluster.api import ClusterAPI, deployment
from k3s_mcp.views import PodRow, pod_row
from k3s_mcp.views.core import pod_rows_of_table
from tests.k3s_mcp.conftest import ClientFactory, call, call_error, create, running_pods, wait_until


async def start_deployment(cluster_api: ClusterAPI, namespace: str, name: str, replicas: int) -> list[dict[str, Any]]:
    create(cluster_api, f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment(name, replicas))
    pods: list[dict[str, Any]] = await wait_until(
        lambda: len(pods := running_pods(cluster_api, namespace, f"app={name}")) == replicas and pods,
        what=f"{replicas} running pods of {name}",
    )
    return pods


async def test_get_pods_lists_rows_and_pages(mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str) -> None:
    await start_deployment(cluster_api, namespace, "web", 3)
    result = await call(mcp_client, "get_pods", {"namespace": namespace, "labels": "app=web"})
    assert result["count"] == 3
    assert result["continue_token"] is None
    row = result["items"][0]
    assert row["namespace"] == namespace and row["name"].startswith("web-")
    assert row["status"] == "Running" and row["ready"] == "1/1" and row["node"]

    first = await call(mcp_client, "get_pods", {"namespace": namespace, "limit": 2})
    assert first["count"] == 2 and first["continue_token"] and "continue_token" in first["note"]
    rest = await call(
        mcp_client,
        "get_pods",
        {"namespace": namespace, "limit": 2, "continue_token": first["continue_token"]},
    )
    assert rest["count"] == 1 and rest["continue_token"] is None
    seen = {r["name"] for r in first["items"]} | {r["name"] for r in rest["items"]}
    assert len(seen) == 3

    none = await call(mcp_client, "get_pods", {"namespace": namespace, "labels": "app=nothing"})
    assert none["count"] == 0


async def test_get_pods_without_namespace_spans_namespaces(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    await start_deployment(cluster_api, namespace, "spread", 1)
    result = await call(mcp_client, "get_pods", {"labels": "app=spread", "limit": 500})
    assert namespace in {row["namespace"] for row in result["items"]}


async def test_pod_rows_from_the_servers_table_match_rows_from_the_objects(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    """get_pods reads the API server's Table of pods; each row must say what the objects themselves say, for a
    running pod and for one that cannot be scheduled (no node, no IP), in one namespace and across namespaces."""
    await start_deployment(cluster_api, namespace, "web", 2)
    stuck = {
        "metadata": {"name": "stuck", "labels": {"app": "stuck"}},
        "spec": {"nodeSelector": {"k3s-mcp/no-such-node": "true"}, "containers": [{"name": "c", "image": "x:1"}]},
    }
    create(cluster_api, f"/api/v1/namespaces/{namespace}/pods", stuck)
    status, listing = cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/pods")
    assert status == 200
    expected = {row.name: row.model_dump(exclude={"age"}) for row in (pod_row(pod) for pod in listing["items"])}
    assert expected["stuck"]["status"] == "Pending" and expected["stuck"]["node"] is None
    for arguments in ({"namespace": namespace}, {"labels": "app in (web,stuck)"}):
        rows = (await call(mcp_client, "get_pods", arguments))["items"]
        rows = [row for row in rows if row["namespace"] == namespace]
        assert {row["name"]: {k: v for k, v in row.items() if k != "age"} for row in rows} == expected, arguments
        assert all(row["age"].endswith(("s", "m")) for row in rows)


def test_a_table_that_is_not_the_pod_printers_is_not_read_as_one() -> None:
    columns = [{"name": title} for title in ("Name", "Ready", "Status", "Restarts", "Age", "IP", "Node")]
    good = {
        "columnDefinitions": columns,
        "rows": [{"cells": ["a", "1/1", "Running", "2 (5m ago)", "3d4h", "<none>", "n"]}],
    }
    rows = pod_rows_of_table(good, "shop")
    assert rows is not None
    assert [row.model_dump() for row in rows] == [
        {
            "name": "a",
            "namespace": "shop",
            "ready": "1/1",
            "status": "Running",
            "restarts": 2,
            "age": "3d",
            "node": "n",
            "ip": None,
        }
    ]
    # The rows are what a validating constructor makes of the same fields.
    assert PodRow.model_validate(rows[0].model_dump()) == rows[0]
    assert pod_rows_of_table({**good, "columnDefinitions": columns[:-1]}, "shop") is None  # a column missing
    wrong = (
        ["a", "1/1", "Running", "many", "3d", "-", "n"],
        ["a", "1/1", "Running", "0", "soon", "-", "n"],
        ["a", "1/1", "Running", -1, "3d", "-", "n"],
        ["a", "1/1", "Running", True, "3d", "-", "n"],
        ["a", "1/1", "Running", 0, 5, "-", "n"],
        ["a", "1/1", "Running", 0],
    )
    for cells in wrong:
        assert pod_rows_of_table({"columnDefinitions": columns, "rows": [{"cells": cells}]}, "shop") is None, cells
    # Across namespaces a row without its object's metadata has no namespace: not a row to guess.
    assert pod_rows_of_table(good, None) is None
    cells = ["a", "1/1", "Running", "2 (5m ago)", "3d4h", "<none>", "n"]
    across = {**good, "rows": [{"cells": cells, "object": {"metadata": {"namespace": "other"}}}]}
    assert [row.namespace for row in pod_rows_of_table(across, None) or []] == ["other"]


async def test_get_logs_returns_a_bounded_tail(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    pods = await start_deployment(cluster_api, namespace, "logger", 1)
    pod = pods[0]["metadata"]["name"]
    result = await call(mcp_client, "get_logs", {"pod_name": pod, "namespace": namespace, "tail_lines": 5})
    lines = result["log"].splitlines()
    assert result["lines"] == 5 == len(lines)
    assert lines[-1].endswith("n=300") and "line 300" in lines[-1]
    assert result["truncated"] is False

    default = await call(mcp_client, "get_logs", {"pod_name": pod, "namespace": namespace, "container": "main"})
    assert default["lines"] == 100


async def test_get_logs_of_a_missing_pod_names_pod_and_namespace(mcp_client: Client[Any], namespace: str) -> None:
    message = await call_error(mcp_client, "get_logs", {"pod_name": "ghost", "namespace": namespace})
    assert "ghost" in message and namespace in message and "not found" in message


async def test_execute_command_returns_output_and_exit_code(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    pods = await start_deployment(cluster_api, namespace, "shell", 1)
    pod = pods[0]["metadata"]["name"]
    hello = await call(
        mcp_client, "execute_command", {"pod_name": pod, "namespace": namespace, "command": ["echo", "hi"]}
    )
    assert hello["stdout"].strip() == "hi"
    assert hello["exit_code"] == 0 and hello["stderr"] == ""

    # No shell is inserted: the variable reaches echo literally.
    literal = await call(
        mcp_client, "execute_command", {"pod_name": pod, "namespace": namespace, "command": ["echo", "$HOME"]}
    )
    assert literal["stdout"].strip() == "$HOME"

    failing = await call(
        mcp_client,
        "execute_command",
        {"pod_name": pod, "namespace": namespace, "command": ["sh", "-c", "echo oops >&2; exit 3"]},
    )
    assert failing["exit_code"] == 3
    assert "oops" in failing["stderr"]


async def test_execute_command_past_its_time_limit_says_so(
    make_client: ClientFactory, kubeconfig: str, cluster_api: ClusterAPI, namespace: str
) -> None:
    pods = await start_deployment(cluster_api, namespace, "slow", 1)
    pod = pods[0]["metadata"]["name"]
    async with make_client(kubeconfig=kubeconfig, exec_timeout_seconds=1.5) as client:
        slow = await call(
            client,
            "execute_command",
            {"pod_name": pod, "namespace": namespace, "command": ["sh", "-c", "echo started; sleep 20"]},
        )
    # Our own limit stopped it: said as such, with the output so far, never as a silent API server.
    assert slow["failure"].startswith("Stopped after 1.5 s") and "K3S_EXEC_TIMEOUT" in slow["failure"]
    assert slow["exit_code"] is None
    assert "did not answer" not in slow["failure"]


async def test_execute_command_rejects_an_empty_command(mcp_client: Client[Any], namespace: str) -> None:
    message = await call_error(mcp_client, "execute_command", {"pod_name": "p", "namespace": namespace, "command": []})
    assert message == "Invalid argument `command`: must not be empty, got []."


async def test_restart_pod_replaces_a_controlled_pod(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    pods = await start_deployment(cluster_api, namespace, "phoenix", 1)
    old = pods[0]["metadata"]["name"]
    result = await call(mcp_client, "restart_pod", {"name": old, "namespace": namespace})
    assert result["owner"].startswith("ReplicaSet/phoenix-")
    await wait_until(
        lambda: any(p["metadata"]["name"] != old for p in running_pods(cluster_api, namespace, "app=phoenix")),
        what="a replacement pod",
    )


async def test_restart_pod_refuses_a_pod_without_controller(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    create(
        cluster_api,
        f"/api/v1/namespaces/{namespace}/pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "lonely"},
            "spec": {"containers": [{"name": "main", "image": "busybox"}]},
        },
    )
    message = await call_error(mcp_client, "restart_pod", {"name": "lonely", "namespace": namespace})
    assert "no controller" in message
    status, _ = cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/pods/lonely")
    assert status == 200
