"""Rows of the core API group: pods, services, nodes, namespaces, ConfigMaps, Secrets and events."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field, TypeAdapter

from k3s_mcp.views.masking import secret_value_size
from k3s_mcp.views.pages import (
    age,
    created_age,
    metadata_of,
    name_of,
    namespace_of,
    selector_text,
    table_age,
)


class PodRow(BaseModel):
    """One pod as `kubectl get pods -o wide` shows it."""

    name: str
    namespace: str
    ready: str
    status: str
    restarts: int
    age: str
    node: str | None = None
    ip: str | None = None


def pod_status(pod: dict[str, Any]) -> str:
    """The STATUS column: a waiting/terminated reason beats the phase, as in kubectl."""
    status = pod.get("status") or {}
    if metadata_of(pod).get("deletionTimestamp"):
        return "Terminating"
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        waiting = state.get("waiting") or {}
        terminated = state.get("terminated") or {}
        if waiting.get("reason"):
            return str(waiting["reason"])
        if terminated.get("reason") and reason != "Succeeded":
            return str(terminated["reason"])
    return str(reason)


def pod_row(pod: dict[str, Any]) -> PodRow:
    metadata = metadata_of(pod)
    status = pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    total = len((pod.get("spec") or {}).get("containers") or []) or len(statuses)
    ready = sum(1 for c in statuses if c.get("ready"))
    return PodRow(
        name=metadata.get("name", ""),
        namespace=metadata.get("namespace", ""),
        ready=f"{ready}/{total}",
        status=pod_status(pod),
        restarts=sum(int(c.get("restartCount") or 0) for c in statuses),
        age=age(metadata.get("creationTimestamp")),
        node=(pod.get("spec") or {}).get("nodeName"),
        ip=status.get("podIP"),
    )


# The columns of the API server's own Table of pods (the printer `kubectl get pods -o wide` uses) that a PodRow needs.
POD_TABLE_COLUMNS = ("Name", "Ready", "Status", "Restarts", "Age", "IP", "Node")
_NONE_CELL = "<none>"
_RESTARTS = re.compile(r"^(\d{1,9})(?: \(.*\))?$")


_POD_ROWS = TypeAdapter(list[PodRow])


def pod_rows_of_table(table: dict[str, Any], namespace: str | None) -> list[PodRow] | None:
    """The rows of a server-side Table of pods, each with its namespace (`namespace`, or the row's object metadata
    for a list across namespaces); None when the Table lacks a column a PodRow needs or a cell is not what the pod
    printer writes, so the caller lists plain objects.

    One pass over the cells into plain dicts, validated as PodRows in one call (pydantic's core does a list at
    once faster than a constructor call per row), with an age parsed once per distinct cell: this is most of a pod
    list's own time, per row."""
    titles = [str(definition.get("name", "")) for definition in table.get("columnDefinitions") or []]
    if not all(title in titles for title in POD_TABLE_COLUMNS):
        return None
    name_at, ready_at, status_at, restarts_at, age_at, ip_at, node_at = (titles.index(t) for t in POD_TABLE_COLUMNS)
    width = len(titles)
    ages: dict[str, str | None] = {}
    rows: list[dict[str, Any]] = []
    for row in table.get("rows") or []:
        cells = row.get("cells") if type(row) is dict else None
        if type(cells) is not list or len(cells) < width:
            return None
        row_namespace = namespace
        if not row_namespace:
            obj = row.get("object")
            metadata = obj.get("metadata") if type(obj) is dict else None
            row_namespace = metadata.get("namespace") if type(metadata) is dict else None
            if type(row_namespace) is not str:
                return None
        restarts = cells[restarts_at]
        if type(restarts) is not int:
            matched = _RESTARTS.match(str(restarts))
            if matched is None:
                return None
            restarts = int(matched.group(1))
        elif restarts < 0:
            return None
        age_cell = cells[age_at]
        if type(age_cell) is not str:
            age_text = table_age(age_cell)
        elif age_cell in ages:
            age_text = ages[age_cell]
        else:
            age_text = ages[age_cell] = table_age(age_cell)
        if age_text is None:
            return None
        rows.append(
            {
                "name": str(cells[name_at]),
                "namespace": row_namespace,
                "ready": str(cells[ready_at]),
                "status": str(cells[status_at]),
                "restarts": restarts,
                "age": age_text,
                "node": _cell_text(cells[node_at]),
                "ip": _cell_text(cells[ip_at]),
            }
        )
    return _POD_ROWS.validate_python(rows)


def _cell_text(value: Any) -> str | None:
    return None if value is None or value == "" or value == _NONE_CELL else str(value)


class ServiceRow(BaseModel):
    """One service: type, addresses, ports, selector and how many endpoints back it."""

    name: str
    namespace: str
    type: str
    cluster_ip: str | None
    external_ip: str | None
    ports: list[str]
    selector: str
    endpoints: int | None = Field(default=None, description="Ready endpoint addresses; None when unknown.")
    age: str


def service_row(service: dict[str, Any], endpoints: int | None = None) -> ServiceRow:
    metadata = metadata_of(service)
    spec = service.get("spec") or {}
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    externals = [*(spec.get("externalIPs") or []), *(i.get("ip") or i.get("hostname") or "" for i in ingress)]
    ports = []
    for port in spec.get("ports") or []:
        text = f"{port.get('port')}"
        if port.get("nodePort"):
            text += f":{port['nodePort']}"
        text += f"/{port.get('protocol', 'TCP')}"
        ports.append(text)
    return ServiceRow(
        name=metadata.get("name", ""),
        namespace=metadata.get("namespace", ""),
        type=spec.get("type", "ClusterIP"),
        cluster_ip=spec.get("clusterIP"),
        external_ip=",".join(e for e in externals if e) or None,
        ports=ports,
        selector=selector_text(spec.get("selector")),
        endpoints=endpoints,
        age=age(metadata.get("creationTimestamp")),
    )


class NodeCondition(BaseModel):
    type: str
    status: str
    reason: str | None = None


class NodeRow(BaseModel):
    """One node: readiness, roles, version and its capacity/allocatable resources."""

    name: str
    status: str
    roles: list[str]
    age: str
    version: str
    internal_ip: str | None
    os_image: str | None
    capacity: dict[str, str]
    allocatable: dict[str, str]
    conditions: list[NodeCondition]
    unschedulable: bool


def node_roles(labels: dict[str, str]) -> list[str]:
    roles = [key.split("/", 1)[1] for key in labels if key.startswith("node-role.kubernetes.io/")]
    return sorted(r for r in roles if r) or ["<none>"]


def node_row(node: dict[str, Any]) -> NodeRow:
    metadata = metadata_of(node)
    status = node.get("status") or {}
    conditions = status.get("conditions") or []
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    state = "Ready" if ready and ready.get("status") == "True" else "NotReady"
    unschedulable = bool((node.get("spec") or {}).get("unschedulable"))
    if unschedulable:
        state += ",SchedulingDisabled"
    addresses = status.get("addresses") or []
    info = status.get("nodeInfo") or {}
    return NodeRow(
        name=metadata.get("name", ""),
        status=state,
        roles=node_roles(metadata.get("labels") or {}),
        age=age(metadata.get("creationTimestamp")),
        version=info.get("kubeletVersion", ""),
        internal_ip=next((a.get("address") for a in addresses if a.get("type") == "InternalIP"), None),
        os_image=info.get("osImage"),
        capacity={k: str(v) for k, v in (status.get("capacity") or {}).items()},
        allocatable={k: str(v) for k, v in (status.get("allocatable") or {}).items()},
        conditions=[
            NodeCondition(type=c.get("type", ""), status=c.get("status", ""), reason=c.get("reason"))
            for c in conditions
        ],
        unschedulable=unschedulable,
    )


class NamespaceRow(BaseModel):
    name: str
    status: str
    age: str
    labels: dict[str, str] = Field(default_factory=dict)


def namespace_row(namespace: dict[str, Any]) -> NamespaceRow:
    metadata = metadata_of(namespace)
    return NamespaceRow(
        name=metadata.get("name", ""),
        status=(namespace.get("status") or {}).get("phase", ""),
        age=age(metadata.get("creationTimestamp")),
        labels=metadata.get("labels") or {},
    )


class ConfigMapRow(BaseModel):
    """A ConfigMap: its keys (values are in get_configmap)."""

    name: str
    namespace: str
    keys: list[str]
    age: str


def configmap_row(configmap: dict[str, Any]) -> ConfigMapRow:
    keys = [*(configmap.get("data") or {}), *(configmap.get("binaryData") or {})]
    return ConfigMapRow(
        name=name_of(configmap), namespace=namespace_of(configmap), keys=sorted(keys), age=created_age(configmap)
    )


class SecretRow(BaseModel):
    """A Secret as keys and sizes; values are never part of a row."""

    name: str
    namespace: str
    type: str
    key_sizes: dict[str, int] = Field(description="Each key with the size in bytes of its (hidden) value.")
    age: str


def secret_row(secret: dict[str, Any]) -> SecretRow:
    sizes = {key: secret_value_size("data", value) for key, value in (secret.get("data") or {}).items()}
    return SecretRow(
        name=name_of(secret),
        namespace=namespace_of(secret),
        type=str(secret.get("type") or "Opaque"),
        key_sizes=dict(sorted(sizes.items())),
        age=created_age(secret),
    )


class EventRow(BaseModel):
    """An event as `kubectl events` shows it."""

    last_seen: str
    type: str
    reason: str
    object: str = Field(description="Kind/name of the object the event is about.")
    namespace: str
    message: str
    count: int
    source: str | None


def event_time(event: dict[str, Any]) -> str:
    """The newest timestamp an event carries (core/v1 events fill different ones)."""
    series = event.get("series") or {}
    return str(
        series.get("lastObservedTime")
        or event.get("lastTimestamp")
        or event.get("eventTime")
        or event.get("firstTimestamp")
        or metadata_of(event).get("creationTimestamp")
        or ""
    )


def event_row(event: dict[str, Any]) -> EventRow:
    involved = event.get("involvedObject") or {}
    source = event.get("source") or {}
    series = event.get("series") or {}
    return EventRow(
        last_seen=age(event_time(event)),
        type=str(event.get("type", "")),
        reason=str(event.get("reason", "")),
        object=f"{involved.get('kind')}/{involved.get('name')}",
        namespace=namespace_of(event),
        message=str(event.get("message", "")).strip()[:1000],
        count=int(series.get("count") or event.get("count") or 1),
        source=source.get("component") or event.get("reportingComponent") or None,
    )
