"""How Kubernetes objects become compact rows and trimmed objects for a language model; Secret masking.

How a tool module uses it:

* list tools return a ``RowPage[XRow]`` built with :func:`page` from the API's list answer and a
  ``*_row`` function (add one here for a new kind: the columns ``kubectl get`` shows);
* get tools return :func:`trim` of the object (no managedFields, no last-applied annotation, Secret
  values masked unless ``K3S_REVEAL_SECRETS`` is set);
* anything that may print a Secret passes it through :func:`mask_secret` (or :func:`trim`, which does).
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_HIDDEN = re.compile(r"\(hidden, (\d+) bytes\)")
RowT = TypeVar("RowT", bound=BaseModel)


class RowPage(BaseModel, Generic[RowT]):
    """One page of a list: rows, and a token to fetch the next page when more remain."""

    items: list[RowT]
    count: int = Field(description="Number of rows in this page.")
    continue_token: str | None = Field(
        default=None,
        description="Pass as `continue_token` to get the next page; absent when this is the last.",
    )
    note: str | None = Field(default=None, description="Said when the list was cut or filtered.")


def page(
    listing: dict[str, Any], to_row: Callable[[dict[str, Any]], RowT], *, limit: int | None = None
) -> RowPage[RowT]:
    """Rows of a Kubernetes list answer plus its continue token and a note when more remain."""
    rows = [to_row(item) for item in listing.get("items") or []]
    token = (listing.get("metadata") or {}).get("continue") or None
    remaining = (listing.get("metadata") or {}).get("remainingItemCount")
    note = None
    if token:
        more = f"{remaining} more" if remaining else "more"
        note = f"Showing {len(rows)} (limit {limit}); {more} remain: call again with continue_token."
    return RowPage[RowT](items=rows, count=len(rows), continue_token=token, note=note)


def age(timestamp: str | None, now: datetime | None = None) -> str:
    """`kubectl`-style age: 45s, 12m, 5h, 3d."""
    if not timestamp:
        return ""
    try:
        then = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return ""
    seconds = int(((now or datetime.now(UTC)) - then).total_seconds())
    if seconds < 0:
        seconds = 0
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "m" else 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def mask_secret(secret: dict[str, Any]) -> dict[str, Any]:
    """A copy of a Secret whose values are replaced by their sizes; keys stay visible."""
    masked = copy.deepcopy(secret)
    mask_secrets_in(masked, all_secrets=True)
    return masked


def mask_secrets_in(value: Any, *, all_secrets: bool = False) -> None:
    """Mask, in place, every Secret found anywhere in an API answer: objects of kind Secret at any depth (a
    `List`, an apply result, a Table's row objects) and, with `all_secrets` (the answer of a Secret path, whose
    list items carry no kind), every object in it. Values become sizes; the last-applied annotation is hidden."""
    if isinstance(value, dict):
        secret = all_secrets or value.get("kind") == "Secret"
        if secret:
            for field_name in ("data", "stringData"):
                values = value.get(field_name)
                if isinstance(values, dict):
                    value[field_name] = {key: _hidden_size(field_name, item) for key, item in values.items()}
            metadata = value.get("metadata")
            annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
            if isinstance(annotations, dict) and LAST_APPLIED in annotations:
                annotations[LAST_APPLIED] = "(hidden: may contain secret values)"
        for item in value.values():
            if isinstance(item, dict | list):
                mask_secrets_in(item, all_secrets=secret)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict | list):
                mask_secrets_in(item, all_secrets=all_secrets)


def secret_value_size(field_name: str, value: Any) -> int:
    """Bytes of one Secret value as a person counts them: `data` decoded from base64, a masked value's own
    recorded size, `stringData` as UTF-8."""
    text = value if isinstance(value, str) else str(value)
    hidden = _HIDDEN.fullmatch(text)
    if hidden:
        return int(hidden.group(1))
    if field_name == "data":
        try:
            return len(base64.b64decode(text, validate=False))
        except (binascii.Error, ValueError):
            return len(text)
    return len(text.encode())


def _hidden_size(field_name: str, value: Any) -> str:
    return f"(hidden, {secret_value_size(field_name, value)} bytes)"


def trim(obj: dict[str, Any], *, reveal_secrets: bool = False) -> dict[str, Any]:
    """A copy without managedFields and the last-applied annotation; Secrets masked unless revealed."""
    trimmed = copy.deepcopy(obj)
    metadata = trimmed.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
        annotations = metadata.get("annotations")
        if isinstance(annotations, dict):
            annotations.pop(LAST_APPLIED, None)
            if not annotations:
                metadata.pop("annotations")
    if trimmed.get("kind") == "Secret" and not reveal_secrets:
        trimmed = mask_secret(trimmed)
    return trimmed


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def selector_text(labels: dict[str, str] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items()))


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
    if _meta(pod).get("deletionTimestamp"):
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
    metadata = _meta(pod)
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


class DeploymentRow(BaseModel):
    """One deployment as `kubectl get deployments -o wide` shows it."""

    name: str
    namespace: str
    ready: str
    up_to_date: int
    available: int
    age: str
    images: list[str]
    selector: str


def deployment_row(deployment: dict[str, Any]) -> DeploymentRow:
    metadata = _meta(deployment)
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    return DeploymentRow(
        name=metadata.get("name", ""),
        namespace=metadata.get("namespace", ""),
        ready=f"{status.get('readyReplicas') or 0}/{spec.get('replicas', 1)}",
        up_to_date=int(status.get("updatedReplicas") or 0),
        available=int(status.get("availableReplicas") or 0),
        age=age(metadata.get("creationTimestamp")),
        images=[str(c.get("image", "")) for c in containers],
        selector=selector_text((spec.get("selector") or {}).get("matchLabels")),
    )


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
    metadata = _meta(service)
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


class Condition(BaseModel):
    """One entry of an object's status.conditions, as `kubectl describe` shows it."""

    type: str
    status: str
    reason: str | None = None
    message: str | None = None


def conditions(obj: dict[str, Any]) -> list[Condition]:
    """The status conditions of a Deployment, StatefulSet, DaemonSet, Job or HPA."""
    return [
        Condition(type=c.get("type", ""), status=c.get("status", ""), reason=c.get("reason"), message=c.get("message"))
        for c in (obj.get("status") or {}).get("conditions") or []
    ]


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
    metadata = _meta(node)
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
    metadata = _meta(namespace)
    return NamespaceRow(
        name=metadata.get("name", ""),
        status=(namespace.get("status") or {}).get("phase", ""),
        age=age(metadata.get("creationTimestamp")),
        labels=metadata.get("labels") or {},
    )


def tail_text(text: str, max_bytes: int) -> tuple[str, bool]:
    """The last `max_bytes` of text (cut at a line start when possible) and whether it was cut."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text, False
    kept = encoded[-max_bytes:].decode("utf-8", "ignore")
    newline = kept.find("\n")
    if 0 <= newline < len(kept) - 1:
        kept = kept[newline + 1 :]
    return kept, True


def names(objects: Iterable[dict[str, Any]]) -> list[str]:
    return [str(_meta(o).get("name", "")) for o in objects]
