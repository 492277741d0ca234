"""The tool catalogue: every tool has a title, annotations matching its tags; the roadmap tools are all there."""

from __future__ import annotations

from typing import Any

from fastmcp import Client

from tests.k3s_mcp.conftest import ClientFactory, call

# Roadmap tools and what they may do: read, write (idempotent or not) or destructive.
ROADMAP_TOOLS = {
    "get_configmaps": "read",
    "get_configmap": "read",
    "apply_configmap": "write",
    "delete_configmap": "destructive",
    "get_secrets": "read",
    "get_secret": "read",
    "apply_secret": "write",
    "delete_secret": "destructive",
    "get_persistent_volumes": "read",
    "get_persistent_volume": "read",
    "get_persistent_volume_claims": "read",
    "get_persistent_volume_claim": "read",
    "get_storage_classes": "read",
    "resize_persistent_volume_claim": "write",
    "get_ingresses": "read",
    "get_ingress": "read",
    "get_ingress_classes": "read",
    "get_jobs": "read",
    "get_job": "read",
    "get_cronjobs": "read",
    "get_cronjob": "read",
    "create_job_from_cronjob": "write-again",
    "suspend_cronjob": "write",
    "resume_cronjob": "write",
    "get_statefulsets": "read",
    "get_statefulset": "read",
    "scale_statefulset": "write",
    "get_daemonsets": "read",
    "get_daemonset": "read",
    "get_rollout_status": "read",
    "get_rollout_history": "read",
    "undo_rollout": "write-again",
    "restart_rollout": "destructive",
    "get_hpas": "read",
    "get_hpa": "read",
    "apply_hpa": "write",
    "get_events": "read",
    "describe_object": "read",
    "get_api_resources": "read",
    "get_resources": "read",
    "get_resource_objects": "read",
    "get_resource": "read",
    "top_pods": "read",
    "top_nodes": "read",
}

LIST_TOOLS = {
    "get_configmaps", "get_secrets", "get_persistent_volumes", "get_persistent_volume_claims", "get_storage_classes",
    "get_ingresses", "get_ingress_classes", "get_jobs", "get_cronjobs", "get_statefulsets", "get_daemonsets",
    "get_hpas", "get_events", "get_resources", "get_resource_objects",
}  # fmt: skip


def _tags(tool: Any) -> set[str]:
    return set(((tool.meta or {}).get("fastmcp") or {}).get("tags") or [])


async def test_every_tool_has_title_annotations_and_a_read_or_write_tag(
    make_client: ClientFactory, kubeconfig: str
) -> None:
    async with make_client(kubeconfig=kubeconfig) as client:
        # The default listing's disclosure tools, then every toolset listed through them.
        await call(client, "enable_toolset", {"toolsets": ["all"]})
        tools = await client.list_tools()
    assert len({tool.name for tool in tools}) == len(tools), "duplicate tool names"
    for tool in tools:
        tags = _tags(tool)
        hints = tool.annotations
        assert tool.title and tool.description, tool.name
        assert hints is not None and hints.open_world_hint is True, tool.name
        assert tags & {"read", "write"}, f"{tool.name} has neither a read nor a write tag: {tags}"
        assert hints.read_only_hint is ("read" in tags), tool.name
        assert hints.destructive_hint is ("destructive" in tags), tool.name
        properties = tool.input_schema.get("properties") or {}
        for name, schema in properties.items():
            assert schema.get("description") or name in ("confirm", "context"), f"{tool.name}.{name} undocumented"


async def unavailable_tools(client: Client[Any]) -> set[str]:
    """Tools the server leaves out because the cluster does not serve their API (the test cluster serves KEDA and
    HelmChart CRDs; metrics.k8s.io only while a test stands it in)."""
    hidden = set((await call(client, "get_cluster_info"))["unavailable_tools"])
    assert hidden <= {"top_pods", "top_nodes"}, hidden
    return hidden


async def test_roadmap_tools_are_listed_with_the_right_kind(make_client: ClientFactory, kubeconfig: str) -> None:
    async with make_client(kubeconfig=kubeconfig, toolsets="all") as client:
        tools = {tool.name: tool for tool in await client.list_tools()}
        hidden = await unavailable_tools(client)
    missing = set(ROADMAP_TOOLS) - set(tools) - hidden
    assert not missing, f"missing tools: {sorted(missing)}"
    for name, kind in ROADMAP_TOOLS.items():
        if name in hidden:
            continue
        tool = tools[name]
        hints = tool.annotations
        assert hints is not None, name
        assert hints.read_only_hint is (kind == "read"), name
        assert hints.destructive_hint is (kind == "destructive"), name
        assert hints.idempotent_hint is (kind in ("read", "write")), name
        properties = set(tool.input_schema["properties"])
        if kind != "read":
            assert "dry_run" in properties, f"{name} takes no dry_run"
        if name in LIST_TOOLS:
            assert {"limit", "continue_token"} <= properties, f"{name} has no paging"


async def test_read_only_mode_keeps_only_roadmap_read_tools(make_client: ClientFactory, kubeconfig: str) -> None:
    async with make_client(kubeconfig=kubeconfig, read_only=True, toolsets="all") as client:
        names = {tool.name for tool in await client.list_tools()}
        hidden = await unavailable_tools(client)
    assert {n for n, kind in ROADMAP_TOOLS.items() if kind == "read"} - hidden <= names
    assert not names & {n for n, kind in ROADMAP_TOOLS.items() if kind != "read"}
