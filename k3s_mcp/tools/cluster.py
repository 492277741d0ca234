"""Cluster-wide tools: nodes, namespaces, services and a summary of the cluster (version, counts, K3s)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Annotated, Any

from fastmcp import FastMCP
from pydantic import BaseModel, Field

from k3s_mcp.availability import served_tools_for
from k3s_mcp.kube import KubeError, KubeSession, Target, current_session
from k3s_mcp.tools import READ_ONLY, tool
from k3s_mcp.tools.lists import list_rows
from k3s_mcp.tools.parameters import ContinueToken, Limit
from k3s_mcp.views import (
    NamespaceRow,
    NodeRow,
    RowPage,
    ServiceRow,
    namespace_row,
    node_row,
    page,
    service_row,
)

cluster: FastMCP = FastMCP("cluster")


class ClusterInfo(BaseModel):
    """What the cluster is: server, version, distribution and how much runs in it."""

    server: str | None
    version: str
    platform: str | None
    distribution: str = Field(description="'k3s' when detected from the version or node labels, else 'kubernetes'.")
    k3s_evidence: list[str] = Field(description="Why the distribution was judged K3s (empty otherwise).")
    nodes: int
    ready_nodes: int
    namespaces: int
    pods: int
    pods_by_phase: dict[str, int]
    unavailable_tools: dict[str, str] = Field(
        default_factory=dict,
        description="Tools left out of the tool list because the cluster does not serve their API, with the reason.",
    )


@tool(cluster, title="List nodes", safety=READ_ONLY)
async def get_nodes(limit: Limit = None, continue_token: ContinueToken = None) -> RowPage[NodeRow]:
    """List nodes with status, roles, version, IP, capacity, allocatable resources and conditions.

    Use it to check cluster health or where capacity is left.
    """
    return await list_rows("nodes", node_row, None, limit=limit, continue_token=continue_token)


@tool(cluster, title="List namespaces", safety=READ_ONLY)
async def get_namespaces(limit: Limit = None, continue_token: ContinueToken = None) -> RowPage[NamespaceRow]:
    """List namespaces with their phase (Active/Terminating), age and labels."""
    return await list_rows("namespaces", namespace_row, None, limit=limit, continue_token=continue_token)


async def _ready_endpoints(session: KubeSession, namespace: str | None) -> Counter[str] | None:
    """Ready endpoint addresses per service name, from EndpointSlices; None if they cannot be read."""
    try:
        info = await session.resolve("endpointslices.discovery.k8s.io")
        listing = await session.list_page(info, namespace, limit=session.settings.list_limit * 10)
    except KubeError:
        return None
    counts: Counter[str] = Counter()
    for endpoint_slice in listing.get("items") or []:
        metadata = endpoint_slice.get("metadata") or {}
        service = (metadata.get("labels") or {}).get("kubernetes.io/service-name")
        if not service:
            continue
        key = f"{metadata.get('namespace')}/{service}"
        for endpoint in endpoint_slice.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready", True):
                counts[key] += len(endpoint.get("addresses") or [])
    return counts


@tool(cluster, title="List services", safety=READ_ONLY)
async def get_services(
    namespace: Annotated[str | None, Field(description="Namespace to list; omitted = all namespaces.")] = None,
    limit: Limit = None,
    continue_token: ContinueToken = None,
) -> RowPage[ServiceRow]:
    """List services with type, cluster/external IPs, ports, selector and count of ready endpoints.

    A service with a selector but 0 endpoints has no ready pod behind it.
    """
    session = current_session()
    info = await session.resolve("services")
    size = limit or session.settings.list_limit
    listing, endpoints = await asyncio.gather(
        session.list_page(info, namespace, limit=size, continue_token=continue_token),
        _ready_endpoints(session, namespace),
    )

    def to_row(service: dict[str, Any]) -> ServiceRow:
        metadata = service.get("metadata") or {}
        count = None if endpoints is None else endpoints.get(f"{metadata.get('namespace')}/{metadata.get('name')}", 0)
        return service_row(service, count)

    return page(listing, to_row, limit=size)


COUNT_PAGE = 500


async def _count(
    session: KubeSession, kind: str, pages: int = 1, namespace: str | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """How many objects of a kind exist (in `namespace`, or all), and the first `pages` pages of them (a bounded
    read on big clusters)."""
    info = await session.resolve(kind)
    items: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(pages):
        listing = await session.list_page(info, namespace, limit=COUNT_PAGE, continue_token=token)
        items.extend(listing.get("items") or [])
        metadata = listing.get("metadata") or {}
        token = metadata.get("continue")
        if not token:
            return len(items), items
    return len(items) + int(metadata.get("remainingItemCount") or 0), items


async def _count_pods(session: KubeSession) -> tuple[int, list[dict[str, Any]]]:
    """Pods across all namespaces, or under K3S_ALLOWED_NAMESPACES across the allowed ones only (a list of every
    namespace's pods is refused there)."""
    if not session.access.allowed_namespaces:
        return await _count(session, "pods", pages=10)
    _, namespaces = await _count(session, "namespaces", pages=10)
    names = [str((item.get("metadata") or {}).get("name", "")) for item in namespaces]
    counted = await asyncio.gather(
        *(_count(session, "pods", namespace=name) for name in names if session.access.namespace_allowed(name))
    )
    return sum(count for count, _ in counted), [pod for _, pods in counted for pod in pods]


@tool(cluster, title="Describe the cluster", safety=READ_ONLY)
async def get_cluster_info() -> ClusterInfo:
    """Summarise the cluster: API server address, Kubernetes version, whether it is K3s,
    node/namespace/pod counts and pods per phase (phases read from at most 5,000 pods). A good first call to
    orient yourself."""
    session = current_session()
    version = await session.request("GET", "/version", target=Target("cluster version", action="read"))
    (node_count, nodes), (namespace_count, _), (pod_count, pods) = await asyncio.gather(
        _count(session, "nodes"), _count(session, "namespaces"), _count_pods(session)
    )
    git_version = str(version.get("gitVersion", ""))
    evidence = []
    if "k3s" in git_version:
        evidence.append(f"server version {git_version}")
    for node in nodes:
        metadata = node.get("metadata") or {}
        labels = metadata.get("labels") or {}
        name = metadata.get("name")
        if labels.get("node.kubernetes.io/instance-type") == "k3s" or any(k.startswith("k3s.io/") for k in labels):
            evidence.append(f"node {name} has K3s labels")
        if "k3s" in str(((node.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", "")):
            evidence.append(f"node {name} runs a K3s kubelet")
    ready_nodes = sum(1 for node in nodes if node_row(node).status.startswith("Ready"))
    phases = Counter(str((pod.get("status") or {}).get("phase", "Unknown")) for pod in pods)
    if pod_count > len(pods):
        # Past 5,000 pods the phases come from a sample; the rest is said, not guessed.
        phases["not sampled"] = pod_count - len(pods)
    return ClusterInfo(
        server=session.server,
        version=git_version,
        platform=version.get("platform"),
        distribution="k3s" if evidence else "kubernetes",
        k3s_evidence=evidence[:10],
        nodes=node_count,
        ready_nodes=ready_nodes,
        namespaces=namespace_count,
        pods=pod_count,
        unavailable_tools=await served_tools_for(session).unavailable(),
        pods_by_phase=dict(phases),
    )
