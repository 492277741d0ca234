"""Resource usage tools (`kubectl top`): CPU and memory of pods and nodes from metrics.k8s.io."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from pydantic import BaseModel, Field

from k3s_mcp.kube import KubeError, KubeSession, ResourceInfo, current_session
from k3s_mcp.quantities import parse_quantity
from k3s_mcp.tools import READ_ONLY, tool
from k3s_mcp.tools.parameters import Labels, ListNamespace

metrics: FastMCP = FastMCP("metrics")

_MIB = 2**20
NO_METRICS = (
    "The cluster does not serve the metrics API (metrics.k8s.io), so CPU and memory usage is unknown. "
    "Fix: install metrics-server (K3s ships it unless started with --disable=metrics-server; check "
    "`kubectl -n kube-system get deploy metrics-server` and `kubectl get apiservice v1beta1.metrics.k8s.io`)."
)


class PodUsage(BaseModel):
    name: str
    namespace: str
    cpu_millicores: int
    memory_mib: float
    containers: dict[str, str] = Field(description="Per container: 'cpu, memory'.")


class NodeUsage(BaseModel):
    name: str
    cpu_millicores: int
    cpu_percent: float | None = Field(description="Share of the node's allocatable CPU.")
    memory_mib: float
    memory_percent: float | None = Field(description="Share of the node's allocatable memory.")


class PodUsagePage(BaseModel):
    items: list[PodUsage]
    count: int
    window: str | None = Field(description="Sampling window of the measurements, e.g. '15s'.")


class NodeUsagePage(BaseModel):
    items: list[NodeUsage]
    count: int


async def _metrics_resource(session: KubeSession, resource: str) -> ResourceInfo:
    try:
        return await session.resolve(f"{resource}.metrics.k8s.io")
    except KubeError:
        raise ToolError(NO_METRICS) from None


async def _metrics_list(session: KubeSession, info: ResourceInfo, namespace: str | None, labels: str | None) -> Any:
    try:
        return await session.list_page(info, namespace, label_selector=labels, limit=5000)
    except KubeError as error:
        # An APIService that is registered but has no healthy backend answers 503 / 404.
        if any(code in str(error) for code in ("HTTP 503", "not found", "HTTP 404")):
            raise ToolError(f"{NO_METRICS} (The API server said: {error})") from None
        raise


def _cpu(text: str) -> int:
    return int(parse_quantity(text) * 1000)


def _mib(text: str) -> float:
    return round(float(parse_quantity(text)) / _MIB, 1)


@tool(metrics, title="Pod resource usage (top pods)", safety=READ_ONLY)
async def top_pods(
    namespace: ListNamespace = None,
    labels: Labels = None,
    sort_by: Annotated[Literal["cpu", "memory"], Field(description="Order, biggest first.")] = "cpu",
    limit: Annotated[int, Field(ge=1, le=1000, description="Most pods to return.")] = 20,
) -> PodUsagePage:
    """Show the pods using the most CPU (millicores) or memory (MiB), like `kubectl top pods`.

    Needs metrics-server; says so clearly when the cluster has none.
    """
    session = current_session()
    info = await _metrics_resource(session, "pods")
    listing = await _metrics_list(session, info, namespace, labels)
    usages = []
    window = None
    for item in listing.get("items") or []:
        metadata = item.get("metadata") or {}
        window = window or item.get("window")
        containers = item.get("containers") or []
        cpu = sum(_cpu((c.get("usage") or {}).get("cpu", "0")) for c in containers)
        memory = sum(_mib((c.get("usage") or {}).get("memory", "0")) for c in containers)
        usages.append(
            PodUsage(
                name=str(metadata.get("name", "")),
                namespace=str(metadata.get("namespace", "")),
                cpu_millicores=cpu,
                memory_mib=round(memory, 1),
                containers={
                    str(c.get("name")): f"{_cpu((c.get('usage') or {}).get('cpu', '0'))}m, "
                    f"{_mib((c.get('usage') or {}).get('memory', '0'))}Mi"
                    for c in containers
                },
            )
        )
    usages.sort(key=lambda u: u.cpu_millicores if sort_by == "cpu" else u.memory_mib, reverse=True)
    return PodUsagePage(items=usages[:limit], count=min(limit, len(usages)), window=window)


@tool(metrics, title="Node resource usage (top nodes)", safety=READ_ONLY)
async def top_nodes(
    labels: Labels = None,
    sort_by: Annotated[Literal["cpu", "memory"], Field(description="Order, biggest first.")] = "cpu",
) -> NodeUsagePage:
    """Show CPU and memory use of each node, absolute and as a share of allocatable, like `kubectl top nodes`.

    Needs metrics-server; says so clearly when the cluster has none.
    """
    session = current_session()
    info = await _metrics_resource(session, "nodes")
    listing = await _metrics_list(session, info, None, labels)
    node_info = await session.resolve("nodes")
    nodes = await session.list_page(node_info, None, label_selector=labels, limit=5000)
    allocatable = {
        str((n.get("metadata") or {}).get("name")): (n.get("status") or {}).get("allocatable") or {}
        for n in nodes.get("items") or []
    }
    usages = []
    for item in listing.get("items") or []:
        name = str((item.get("metadata") or {}).get("name", ""))
        usage = item.get("usage") or {}
        cpu, memory = _cpu(usage.get("cpu", "0")), _mib(usage.get("memory", "0"))
        limits = allocatable.get(name, {})
        cpu_total = _cpu(limits["cpu"]) if limits.get("cpu") else 0
        memory_total = _mib(limits["memory"]) if limits.get("memory") else 0.0
        usages.append(
            NodeUsage(
                name=name,
                cpu_millicores=cpu,
                cpu_percent=round(100 * cpu / cpu_total, 1) if cpu_total else None,
                memory_mib=memory,
                memory_percent=round(100 * memory / memory_total, 1) if memory_total else None,
            )
        )
    usages.sort(key=lambda u: u.cpu_millicores if sort_by == "cpu" else u.memory_mib, reverse=True)
    return NodeUsagePage(items=usages, count=len(usages))
