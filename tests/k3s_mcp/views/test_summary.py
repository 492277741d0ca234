"""Single objects answered as summaries (about 250 tokens at most), the whole object on request, through a client."""

from __future__ import annotations

from typing import Any

from fastmcp import Client

from bench.settings import BenchSettings
from bench.tokens import Tokenizer
from devcluster.api import ClusterAPI, deployment
from k3s_mcp.views.summary import SMALL_OBJECT_CHARS, object_summary, summary_text
from tests.k3s_mcp.conftest import call, create, wait_until

SUMMARY_TOKENS = 250


def text_of(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


async def test_a_deployment_is_a_summary_of_at_most_250_tokens_and_whole_on_request(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    spec = deployment("shop", 2)
    spec["metadata"]["labels"] = {"app": "shop", "tier": "front"}
    containers = spec["spec"]["template"]["spec"]["containers"]
    containers.append({"name": "sidecar", "image": "busybox:1.37", "args": ["sleep", "3600"]})
    create(cluster_api, f"/apis/apps/v1/namespaces/{namespace}/deployments", spec)

    async def ready() -> Any:
        result = await mcp_client.call_tool("get_deployment", {"name": "shop", "namespace": namespace})
        return result if (result.structured_content or {}).get("ready") == 2 else None

    summary = await wait_until(ready, what="shop to report 2 ready")
    full = await mcp_client.call_tool("get_deployment", {"name": "shop", "namespace": namespace, "detail": "full"})
    generic = await mcp_client.call_tool("get_resource", {"kind": "deploy", "name": "shop", "namespace": namespace})
    generic_full = await mcp_client.call_tool(
        "get_resource", {"kind": "deploy", "name": "shop", "namespace": namespace, "detail": "full"}
    )
    texts = [text_of(summary), text_of(full), text_of(generic), text_of(generic_full)]
    summary_tokens, full_tokens, generic_tokens, generic_full_tokens = Tokenizer(BenchSettings()).count(texts)
    assert summary_tokens <= SUMMARY_TOKENS and generic_tokens <= SUMMARY_TOKENS, (summary_tokens, generic_tokens)
    assert full_tokens > 2 * summary_tokens and generic_full_tokens > 2 * generic_tokens

    facts, generic_facts = summary.structured_content, generic.structured_content
    assert facts is not None and generic_facts is not None
    # The same facts from both tools; only the age may tick a second between the two calls.
    assert facts.pop("age").endswith(("s", "m")) and generic_facts.pop("age").endswith(("s", "m"))
    assert facts == generic_facts
    assert (facts["kind"], facts["name"], facts["namespace"]) == ("Deployment", "shop", namespace)
    assert (facts["replicas"], facts["ready"], facts["updated"], facts["available"]) == (2, 2, 2, 2)
    assert facts["images"] == ["main=nginx:1.27", "sidecar=busybox:1.37"] and facts["selector"] == "app=shop"
    assert facts["labels"] == "app=shop,tier=front"
    assert not any(c.startswith("Available=True") for c in facts.get("conditions", []))
    first = texts[0].splitlines()[0]
    assert first.startswith(f"Deployment {namespace}/shop ") and " replicas=2 ready=2 " in first
    assert "- sidecar=busybox:1.37" in texts[0] and "labels: app=shop,tier=front" in texts[0]

    whole = full.structured_content
    assert whole is not None and whole["object"]["spec"]["template"]["spec"]["containers"][1]["args"] == [
        "sleep",
        "3600",
    ]
    assert generic_full.structured_content is not None
    assert generic_full.structured_content["metadata"]["name"] == "shop"
    assert "managedFields" not in generic_full.structured_content["metadata"]


async def test_pod_service_and_node_summaries_carry_their_key_status(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    create(cluster_api, f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment("api", 1))
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "api"},
        "spec": {"selector": {"app": "api"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
    }
    create(cluster_api, f"/api/v1/namespaces/{namespace}/services", service)

    async def running_pod() -> str | None:
        rows = await call(mcp_client, "get_pods", {"namespace": namespace})
        return next((row["name"] for row in rows["items"] if row["status"] == "Running"), None)

    pod_name = await wait_until(running_pod, what="the api pod to run")
    pod = await call(mcp_client, "get_resource", {"kind": "pod", "name": pod_name, "namespace": namespace})
    assert (pod["kind"], pod["status"], pod["ready"], pod["restarts"]) == ("Pod", "Running", "1/1", 0)
    assert pod["owner"].startswith("ReplicaSet/api-") and pod["node"] and pod["images"] == ["main=nginx:1.27"]
    assert pod["containers"] == ["main: running, restarts 0"]
    svc = await call(mcp_client, "get_resource", {"kind": "svc", "name": "api", "namespace": namespace})
    assert (svc["type"], svc["selector"], svc["ports"]) == ("ClusterIP", "app=api", ["http 80->8080/TCP"])
    assert svc["cluster_ip"]
    nodes = await call(mcp_client, "get_nodes")
    node_name = nodes["items"][0]["name"]
    node = await call(mcp_client, "get_resource", {"kind": "node", "name": node_name})
    assert node["kind"] == "Node" and node["status"].startswith(("Ready", "NotReady")) and node["version"]
    assert "pods=" in node["allocatable"] and any(c.startswith("Ready=") for c in node["conditions"])
    texts = [summary_text(answer) for answer in (pod, svc, node)]
    assert all(count <= SUMMARY_TOKENS for count in Tokenizer(BenchSettings()).count(texts)), texts


async def test_small_objects_stay_whole_and_large_ones_name_their_keys(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    small = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "small"}, "data": {"mode": "fast"}}
    large = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "large"},
        "data": {f"key-{index}": "x" * 200 for index in range(10)},
    }
    for body in (small, large):
        create(cluster_api, f"/api/v1/namespaces/{namespace}/configmaps", body)
    whole = await call(mcp_client, "get_resource", {"kind": "cm", "name": "small", "namespace": namespace})
    assert whole["data"] == {"mode": "fast"} and whole["kind"] == "ConfigMap"
    reduced = await call(mcp_client, "get_resource", {"kind": "cm", "name": "large", "namespace": namespace})
    assert reduced["data_keys"] == sorted(large["data"]) and "data" not in reduced
    full = await call(
        mcp_client, "get_resource", {"kind": "cm", "name": "large", "namespace": namespace, "detail": "full"}
    )
    assert full["data"] == large["data"]


def test_summary_of_a_failing_pod_names_the_reason() -> None:
    pod = {
        "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "shop", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "web:2"}]},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": "x"}],
            "containerStatuses": [
                {
                    "name": "app",
                    "ready": False,
                    "restartCount": 7,
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting"}},
                }
            ],
        },
    }
    summary = object_summary(pod)
    assert summary["status"] == "CrashLoopBackOff" and summary["restarts"] == 7 and summary["ready"] == "0/1"
    assert summary["containers"] == ["app: waiting CrashLoopBackOff: back-off 5m0s restarting, restarts 7"]
    assert summary["conditions"] == ["Ready=False (ContainersNotReady): x"]
    custom = {"kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": "x" * SMALL_OBJECT_CHARS}}
    reduced = object_summary(custom)
    assert reduced["kind"] == "Widget" and len(reduced["spec"]["size"]) <= 80


def test_a_workload_summary_leaves_out_defaults_and_settled_conditions_but_not_trouble() -> None:
    def workload(strategy: str, labels: dict[str, str], conditions: list[dict[str, str]]) -> dict[str, Any]:
        return {
            "kind": "Deployment",
            "metadata": {
                "name": "api",
                "namespace": "shop",
                "labels": labels,
                "generation": 2,
                "creationTimestamp": "2026-01-01T00:00:00Z",
            },
            "spec": {
                "replicas": 3,
                "strategy": {"type": strategy},
                "selector": {"matchLabels": {"app": "api"}},
                "template": {"spec": {"containers": [{"name": "main", "image": "api:2"}]}},
            },
            "status": {"observedGeneration": 2, "replicas": 3, "readyReplicas": 3, "conditions": conditions},
        }

    settled = [
        {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
        {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
    ]
    healthy = object_summary(workload("RollingUpdate", {"app": "api"}, settled))
    assert {"strategy", "labels", "conditions"}.isdisjoint(healthy) and healthy["selector"] == "app=api"
    assert summary_text(healthy) == (
        f"Deployment shop/api age={healthy['age']} replicas=3 ready=3 updated=0 available=0\n"
        "images: main=api:2\nselector: app=api"
    )
    stuck = [
        {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable", "message": "too few"},
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "timed out"},
    ]
    trouble = object_summary(workload("Recreate", {"app": "api", "tier": "back"}, stuck))
    assert trouble["strategy"] == "Recreate" and trouble["labels"] == "app=api,tier=back"
    assert trouble["conditions"] == [
        "Available=False (MinimumReplicasUnavailable): too few",
        "Progressing=False (ProgressDeadlineExceeded): timed out",
    ]
    rolling = object_summary(workload("RollingUpdate", {"app": "api"}, [{**settled[1], "reason": "ReplicaSetUpdated"}]))
    assert rolling["conditions"] == ["Progressing=True (ReplicaSetUpdated)"]
    text = summary_text(trouble)
    assert (
        text.startswith("Deployment shop/api age=")
        and " replicas=3 " in text
        and " strategy=Recreate" in text.splitlines()[0]
    )
    assert "conditions:\n- Available=False (MinimumReplicasUnavailable): too few" in text
