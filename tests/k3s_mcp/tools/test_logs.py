"""get_logs search through an MCP client against the real cluster: pattern, context lines, all containers, since.

KWOK serves every container the same 300 lines (`simulated line N`, dated 2026-01-01T00:00:01Z + N-1 seconds)
and a container named secret-logger three lines about a billing API (devcluster.components.kwok_config).
"""

from __future__ import annotations

from typing import Any

from fastmcp import Client

from devcluster.api import ClusterAPI
from devcluster.components import SECRET_LOGGER
from tests.k3s_mcp.conftest import call, call_error, create, wait_until


async def two_container_pod(cluster_api: ClusterAPI, namespace: str) -> str:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "pair"},
        "spec": {
            "containers": [
                {"name": "main", "image": "nginx:1.27"},
                {"name": SECRET_LOGGER, "image": "busybox:1.36"},
            ]
        },
    }
    create(cluster_api, f"/api/v1/namespaces/{namespace}/pods", pod)

    def running() -> bool:
        status, answer = cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/pods/pair")
        return status == 200 and (answer.get("status") or {}).get("phase") == "Running"

    await wait_until(running, what="pod pair running")
    return "pair"


async def test_pattern_is_case_insensitive_and_searches_beyond_the_default_tail(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    pod = await two_container_pod(cluster_api, namespace)
    args = {"pod_name": pod, "namespace": namespace, "container": "main"}
    found = await call(mcp_client, "get_logs", {**args, "pattern": "SIMULATED LINE 29"})
    lines = found["log"].splitlines()
    # Line 29 is older than the default 100-line tail: a search reads the whole window.
    assert found["matches"] == 11 == found["lines"] == len(lines)
    assert all("simulated line 29" in line for line in lines)
    assert lines[0].endswith("n=29") and lines[-1].endswith("n=299")

    none = await call(mcp_client, "get_logs", {**args, "pattern": "no such text"})
    assert none["matches"] == 0 and none["log"] == "" and none["lines"] == 0


async def test_context_lines_surround_matches_and_separate_groups(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    pod = await two_container_pod(cluster_api, namespace)
    args = {"pod_name": pod, "namespace": namespace, "container": "main", "pattern": "n=29"}
    found = await call(mcp_client, "get_logs", {**args, "context_lines": 1})
    lines = found["log"].splitlines()
    assert found["matches"] == 11
    # 28-30, then 289-300 (the matches 290..299 and their neighbours touch), a '--' between the two groups.
    assert [line.rsplit("n=", 1)[-1] if line != "--" else "--" for line in lines] == [
        "28",
        "29",
        "30",
        "--",
        *(str(n) for n in range(289, 301)),
    ]
    message = await call_error(mcp_client, "get_logs", {**args, "context_lines": 11})
    assert "context_lines" in message


async def test_all_containers_labels_each_line(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    pod = await two_container_pod(cluster_api, namespace)
    args: dict[str, Any] = {"pod_name": pod, "namespace": namespace, "all_containers": True}
    found = await call(mcp_client, "get_logs", {**args, "pattern": "Billing API"})
    assert found["containers"] == ["main", SECRET_LOGGER]
    lines = found["log"].splitlines()
    assert found["matches"] == 2 == len(lines)
    assert all(line.startswith(f"[{SECRET_LOGGER}] ") and "billing API" in line for line in lines)

    tails = await call(mcp_client, "get_logs", {**args, "tail_lines": 2})
    lines = tails["log"].splitlines()
    assert lines[:2] == [
        '[main] level=info msg="simulated line 299" n=299',
        '[main] level=info msg="simulated line 300" n=300',
    ]
    assert len(lines) == 4 and all(line.startswith(f"[{SECRET_LOGGER}] ") for line in lines[2:])

    message = await call_error(mcp_client, "get_logs", {**args, "container": "main"})
    assert "either container or all_containers" in message


async def test_since_takes_a_time_or_a_duration(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    pod = await two_container_pod(cluster_api, namespace)
    args = {"pod_name": pod, "namespace": namespace, "container": "main"}
    recent = await call(mcp_client, "get_logs", {**args, "since": "2026-01-01T00:04:50Z"})
    lines = recent["log"].splitlines()
    # Line N is dated 00:00:00 + N seconds, so lines 290..300 are at or after 00:04:50.
    assert lines[0].endswith("n=290") and lines[-1].endswith("n=300") and len(lines) == 11
    same = await call(mcp_client, "get_logs", {**args, "since": "2026-01-01T01:04:50+01:00"})
    assert same["log"] == recent["log"]
    # Every simulated line is months old: the last hour holds none of them.
    hour = await call(mcp_client, "get_logs", {**args, "since": "1h"})
    assert hour["lines"] == 0
    year = await call(mcp_client, "get_logs", {**args, "since": "366d", "tail_lines": 3})
    assert year["lines"] == 3

    for since, expected in (
        ("yesterday", "neither a duration"),
        ("2099-01-01T00:00:00Z", "in the future"),
        ("2026-01-01T00:04:50", "needs a time zone"),
        ("0s", "between 1s and 366d"),
        ("400d", "between 1s and 366d"),
        ("1h; rm -rf /", "neither a duration"),
    ):
        message = await call_error(mcp_client, "get_logs", {**args, "since": since})
        assert expected in message, (since, message)
    both = await call_error(mcp_client, "get_logs", {**args, "since": "1h", "since_seconds": 60})
    assert "either since or since_seconds" in both


async def test_hostile_patterns_are_plain_text(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    pod = await two_container_pod(cluster_api, namespace)
    args = {"pod_name": pod, "namespace": namespace, "container": "main", "context_lines": 10}
    # Patterns that make a backtracking regex engine run for hours are only text here: nothing matches them.
    for pattern in ("(a+)+$", "(.*a){25}", "(" * 128 + "x" + ")" * 127, ".*", "[", "\\", "\x00", "a" * 256):
        found = await call(mcp_client, "get_logs", {**args, "pattern": pattern})
        assert found["matches"] == 0 and found["log"] == "", pattern
    # Regex syntax is literal text: '.' is a dot, not any character.
    dotted = await call(mcp_client, "get_logs", {**args, "pattern": "line.1", "context_lines": 0})
    assert dotted["matches"] == 0
    message = await call_error(mcp_client, "get_logs", {**args, "pattern": "a" * 257})
    assert "pattern" in message


async def test_the_text_a_model_reads_is_the_log_itself(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    pod = await two_container_pod(cluster_api, namespace)
    args = {"pod_name": pod, "namespace": namespace, "container": "main", "tail_lines": 3}
    plain = await mcp_client.call_tool("get_logs", args)
    text = plain.content[0].text  # type: ignore[union-attr]
    assert plain.structured_content is not None and text == plain.structured_content["log"]
    assert text.count("\n") == 3 and '"' in text and '\\"' not in text, "lines as written, not JSON-escaped"
    searched = await mcp_client.call_tool("get_logs", {**args, "tail_lines": None, "pattern": "no such text"})
    assert searched.content[0].text == "(0 matching lines)\n(no log lines)\n"  # type: ignore[union-attr]
    both = await mcp_client.call_tool(
        "get_logs", {"pod_name": pod, "namespace": namespace, "all_containers": True, "tail_lines": 1}
    )
    assert both.content[0].text.startswith(f"(containers: main, {SECRET_LOGGER})\n[main] ")  # type: ignore[union-attr]


async def test_a_container_without_a_log_does_not_cost_the_others(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    pod = await two_container_pod(cluster_api, namespace)
    # KWOK keeps a previous log for main, none for the secret logger.
    answer = await call(
        mcp_client, "get_logs", {"pod_name": pod, "namespace": namespace, "all_containers": True, "previous": True}
    )
    assert answer["containers"] == ["main", SECRET_LOGGER] and answer["lines"] > 0
    assert answer["unavailable"] and answer["unavailable"][0].startswith(f"{SECRET_LOGGER}: ")
    assert all(line.startswith("[main] ") for line in answer["log"].splitlines())


async def test_all_containers_of_a_pod_without_logs_is_one_clear_error(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    # Bound to a node that does not exist: the API server can reach no kubelet for any of its containers.
    pod = {
        "metadata": {"name": "stranded"},
        "spec": {
            "nodeName": "k3s-mcp-no-such-node",
            "containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "x:1"}],
        },
    }
    create(cluster_api, f"/api/v1/namespaces/{namespace}/pods", pod)
    message = await call_error(
        mcp_client, "get_logs", {"pod_name": "stranded", "namespace": namespace, "all_containers": True}
    )
    assert message.startswith("No container of pod 'stranded'") and "a: " in message and "; b: " in message
