"""One object as the facts a model needs (about 250 tokens at most), and the text those facts read as.

A whole Deployment is some 580 tokens of JSON, most of it defaults (strategy, termination grace, DNS policy) and
bookkeeping (uid, resourceVersion, generation); the questions a model asks about it are answered by a dozen
fields. :func:`object_summary` picks them per kind (workloads, pods, services, nodes, jobs), keeps a small object of
any other kind whole and reduces a large one to its metadata, status scalars, conditions and key names.
:func:`summary_text` writes a summary as a ``Kind namespace/name key=value ...`` line and ``key: value`` lines,
cheaper to read than JSON. A summary says what is not default: a workload's RollingUpdate strategy, labels equal to
its selector and conditions in their settled healthy state are left out (a failing or progressing one is shown).
The whole object stays one optional parameter away (``detail="full"``).
"""

from __future__ import annotations

import json
from typing import Any

from fastmcp.tools.base import ToolResult
from mcp_types import TextContent
from pydantic import BaseModel

from k3s_mcp.views.core import node_roles, pod_status
from k3s_mcp.views.pages import created_age, metadata_of, selector_text

# A trimmed object up to this many characters of JSON (about 250 tokens) is its own summary.
SMALL_OBJECT_CHARS = 900
_MESSAGE_CHARS = 160
_MAX_LABELS = 8
_MAX_ITEMS = 12


def _short(text: Any, limit: int = _MESSAGE_CHARS) -> str:
    value = " ".join(str(text).split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def condition_texts(obj: dict[str, Any], healthy: dict[str, str] | None = None) -> list[str]:
    """Each condition as ``Type=Status (Reason)``, with its message when it is not in its healthy state."""
    texts = []
    for condition in ((obj.get("status") or {}).get("conditions") or [])[:_MAX_ITEMS]:
        kind, status = str(condition.get("type", "")), str(condition.get("status", ""))
        text = f"{kind}={status}"
        if condition.get("reason"):
            text += f" ({condition['reason']})"
        expected = (healthy or {}).get(kind, "True")
        if status != expected and condition.get("message"):
            text += f": {_short(condition['message'])}"
        texts.append(text)
    return texts


def _base(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    metadata = metadata_of(obj)
    summary: dict[str, Any] = {"kind": kind, "name": metadata.get("name", "")}
    if metadata.get("namespace"):
        summary["namespace"] = metadata["namespace"]
    summary["age"] = created_age(obj)
    labels = metadata.get("labels") or {}
    if labels:
        shown = dict(list(sorted(labels.items()))[:_MAX_LABELS])
        summary["labels"] = selector_text(shown) + (
            f" (+{len(labels) - len(shown)})" if len(labels) > len(shown) else ""
        )
    owner = next((ref for ref in metadata.get("ownerReferences") or [] if ref.get("controller")), None)
    if owner:
        summary["owner"] = f"{owner.get('kind')}/{owner.get('name')}"
    if metadata.get("deletionTimestamp"):
        summary["deleting"] = True
    return summary


def _containers(pod_spec: dict[str, Any]) -> list[str]:
    return [f"{c.get('name')}={c.get('image')}" for c in (pod_spec.get("containers") or [])[:_MAX_ITEMS]]


def _selector(spec: dict[str, Any]) -> str:
    selector = spec.get("selector") or {}
    text = selector_text(selector.get("matchLabels"))
    expressions = selector.get("matchExpressions") or []
    if expressions:
        text += (";" if text else "") + ";".join(
            f"{e.get('key')} {e.get('operator')} {','.join(e.get('values') or [])}".strip() for e in expressions
        )
    return text


def _workload(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    summary = _base(obj, kind)
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    if kind == "DaemonSet":
        summary["desired"] = int(status.get("desiredNumberScheduled") or 0)
        summary["ready"] = int(status.get("numberReady") or 0)
        summary["updated"] = int(status.get("updatedNumberScheduled") or 0)
        summary["available"] = int(status.get("numberAvailable") or 0)
    else:
        summary["replicas"] = int(spec.get("replicas", 1) or 0)
        summary["ready"] = int(status.get("readyReplicas") or 0)
        summary["updated"] = int(status.get("updatedReplicas") or 0)
        summary["available"] = int(status.get("availableReplicas") or 0)
    generation = int(metadata_of(obj).get("generation") or 0)
    if generation and int(status.get("observedGeneration") or 0) < generation:
        summary["rollout"] = "not yet observed by the controller"
    if spec.get("paused"):
        summary["paused"] = True
    strategy = spec.get("strategy") or spec.get("updateStrategy") or {}
    if strategy.get("type") and strategy["type"] != _DEFAULT_STRATEGY.get(kind):
        summary["strategy"] = strategy["type"]
    summary["images"] = _containers((spec.get("template") or {}).get("spec") or {})
    summary["selector"] = _selector(spec)
    if summary.get("labels") == summary["selector"]:
        del summary["labels"]  # said once, as the selector
    if spec.get("serviceName"):
        summary["service"] = spec["serviceName"]
    unhealthy = [c for c in _conditions(obj) if not _settled(c)]
    if unhealthy:
        summary["conditions"] = condition_texts({"status": {"conditions": unhealthy}}, {"ReplicaFailure": "False"})
    return summary


# A workload's default update strategy, which its summary leaves out.
_DEFAULT_STRATEGY = {"Deployment": "RollingUpdate", "StatefulSet": "RollingUpdate", "DaemonSet": "RollingUpdate"}


def _conditions(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in (obj.get("status") or {}).get("conditions") or [] if isinstance(c, dict)]


def _settled(condition: dict[str, Any]) -> bool:
    """A workload condition in its healthy, finished state, which the summary leaves out: Available=True,
    Progressing=True once the new ReplicaSet is available (not while a rollout is under way), ReplicaFailure=False."""
    kind, status = condition.get("type"), condition.get("status")
    if kind == "Progressing":
        return status == "True" and condition.get("reason") == "NewReplicaSetAvailable"
    return (kind, status) in {("Available", "True"), ("ReplicaFailure", "False")}


def _container_state(status: dict[str, Any]) -> str:
    state = status.get("state") or {}
    for name in ("waiting", "terminated"):
        detail = state.get(name)
        if isinstance(detail, dict):
            text = f"{name} {detail.get('reason') or ''}".strip()
            if name == "terminated" and detail.get("exitCode") is not None:
                text += f" exit {detail['exitCode']}"
            if detail.get("message"):
                text += f": {_short(detail['message'], 100)}"
            return text
    return "running" if "running" in state else "unknown"


def _pod(obj: dict[str, Any]) -> dict[str, Any]:
    summary = _base(obj, "Pod")
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    statuses = status.get("containerStatuses") or []
    total = len(spec.get("containers") or []) or len(statuses)
    summary["status"] = pod_status(obj)
    summary["ready"] = f"{sum(1 for c in statuses if c.get('ready'))}/{total}"
    summary["restarts"] = sum(int(c.get("restartCount") or 0) for c in statuses)
    summary["node"] = spec.get("nodeName")
    summary["ip"] = status.get("podIP")
    summary["images"] = _containers(spec)
    summary["containers"] = [
        f"{c.get('name')}: {_container_state(c)}, restarts {int(c.get('restartCount') or 0)}"
        for c in statuses[:_MAX_ITEMS]
    ]
    if status.get("message"):
        summary["message"] = _short(status["message"])
    summary["conditions"] = [text for text in condition_texts(obj) if not text.endswith("=True")] or ["all True"]
    return summary


def _service(obj: dict[str, Any]) -> dict[str, Any]:
    summary = _base(obj, "Service")
    spec = obj.get("spec") or {}
    summary["type"] = spec.get("type", "ClusterIP")
    summary["cluster_ip"] = spec.get("clusterIP")
    ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    external = [*(spec.get("externalIPs") or []), *(i.get("ip") or i.get("hostname") or "" for i in ingress)]
    if any(external):
        summary["external"] = ",".join(e for e in external if e)
    summary["ports"] = [
        f"{p.get('name') + ' ' if p.get('name') else ''}{p.get('port')}->{p.get('targetPort', p.get('port'))}"
        f"{':' + str(p['nodePort']) if p.get('nodePort') else ''}/{p.get('protocol', 'TCP')}"
        for p in (spec.get("ports") or [])[:_MAX_ITEMS]
    ]
    summary["selector"] = selector_text(spec.get("selector"))
    return summary


def _node(obj: dict[str, Any]) -> dict[str, Any]:
    summary = _base(obj, "Node")
    summary.pop("labels", None)
    metadata = metadata_of(obj)
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    info = status.get("nodeInfo") or {}
    ready: dict[str, Any] = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
    summary["status"] = "Ready" if ready.get("status") == "True" else "NotReady"
    if spec.get("unschedulable"):
        summary["status"] += ",SchedulingDisabled"
    summary["roles"] = ",".join(node_roles(metadata.get("labels") or {}))
    summary["version"] = info.get("kubeletVersion")
    addresses = status.get("addresses") or []
    summary["internal_ip"] = next((a.get("address") for a in addresses if a.get("type") == "InternalIP"), None)
    capacity, allocatable = status.get("capacity") or {}, status.get("allocatable") or {}
    summary["allocatable"] = ",".join(
        f"{key}={allocatable.get(key, capacity.get(key))}" for key in ("cpu", "memory", "pods") if key in capacity
    )
    taints = spec.get("taints") or []
    if taints:
        summary["taints"] = [f"{t.get('key')}={t.get('value', '')}:{t.get('effect')}" for t in taints[:_MAX_ITEMS]]
    healthy = {c.get("type", ""): "False" for c in status.get("conditions") or [] if c.get("type") != "Ready"}
    summary["conditions"] = condition_texts(obj, healthy)
    return summary


def _job(obj: dict[str, Any]) -> dict[str, Any]:
    summary = _base(obj, "Job")
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    summary["completions"] = f"{int(status.get('succeeded') or 0)}/{spec.get('completions', 1)}"
    summary["active"] = int(status.get("active") or 0)
    summary["failed"] = int(status.get("failed") or 0)
    if spec.get("suspend"):
        summary["suspended"] = True
    summary["images"] = _containers((spec.get("template") or {}).get("spec") or {})
    summary["conditions"] = condition_texts(obj, {"Failed": "False", "Suspended": "False"})
    return summary


def _cronjob(obj: dict[str, Any]) -> dict[str, Any]:
    summary = _base(obj, "CronJob")
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    summary["schedule"] = spec.get("schedule")
    summary["suspended"] = bool(spec.get("suspend"))
    summary["active"] = len(status.get("active") or [])
    summary["last_schedule"] = status.get("lastScheduleTime")
    summary["last_success"] = status.get("lastSuccessfulTime")
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    summary["images"] = _containers((job_spec.get("template") or {}).get("spec") or {})
    return summary


def _generic(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    summary = _base(obj, kind)
    spec = obj.get("spec")
    if isinstance(spec, dict) and spec:
        scalars = {k: v for k, v in spec.items() if isinstance(v, str | int | float | bool)}
        summary["spec"] = {k: _short(v, 80) if isinstance(v, str) else v for k, v in list(scalars.items())[:10]}
        others = [k for k in spec if k not in scalars]
        if others:
            summary["spec_fields"] = others[:_MAX_ITEMS]
    status = obj.get("status")
    if isinstance(status, dict):
        scalars = {k: v for k, v in status.items() if isinstance(v, str | int | float | bool)}
        if scalars:
            summary["status"] = {k: _short(v, 80) if isinstance(v, str) else v for k, v in list(scalars.items())[:10]}
        if status.get("conditions"):
            summary["conditions"] = condition_texts(obj)
    for field in ("data", "stringData", "binaryData"):
        values = obj.get(field)
        if isinstance(values, dict) and values:
            summary[f"{field}_keys"] = sorted(values)[: _MAX_ITEMS * 2]
    return summary


_BY_KIND = {"Pod": _pod, "Service": _service, "Node": _node, "Job": _job, "CronJob": _cronjob}
_WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController"}


def object_summary(obj: dict[str, Any]) -> dict[str, Any]:
    """The facts of one (already trimmed and masked) object a model needs, by its kind."""
    kind = str(obj.get("kind") or "")
    if kind in _WORKLOADS:
        return _workload(obj, kind)
    if kind in _BY_KIND:
        return _BY_KIND[kind](obj)
    if len(json.dumps(obj, separators=(",", ":"), default=str)) <= SMALL_OBJECT_CHARS:
        return obj
    return _generic(obj, kind)


def _value_text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return " ".join(str(value).split()) or "-"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _inline(value: Any) -> bool:
    """A value short and plain enough to read as ``key=value`` on the summary's first line."""
    if isinstance(value, bool | int | float):
        return True
    return isinstance(value, str) and 0 < len(value) <= 40 and not any(c.isspace() or c in "=:," for c in value)


def summary_text(summary: dict[str, Any]) -> str:
    """A summary as text: ``Kind namespace/name`` and its short scalars as ``key=value`` on the first line, then
    ``key: value`` lines; a list of strings is one ``- item`` line each (one short item stays inline), an object
    inline JSON. A summary without a kind and name (an object kept whole) is ``key: value`` lines throughout."""
    lines = []
    rest = dict(summary)
    kind, name = rest.get("kind"), rest.get("name")
    if isinstance(kind, str) and isinstance(name, str) and kind and name:
        del rest["kind"], rest["name"]
        namespace = rest.pop("namespace", None)
        head = f"{kind} {namespace}/{name}" if isinstance(namespace, str) and namespace else f"{kind} {name}"
        inline = [key for key, value in rest.items() if _inline(value)]
        lines.append(" ".join([head, *(f"{key}={_value_text(rest.pop(key))}" for key in inline)]))
    for key, value in rest.items():
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            if not value:
                lines.append(f"{key}: -")
            elif len(value) == 1 and len(value[0]) < 60:
                lines.append(f"{key}: {value[0]}")
            else:
                lines.append(f"{key}:")
                lines.extend(f"- {_value_text(item)}" for item in value)
        else:
            lines.append(f"{key}: {_value_text(value)}")
    return "\n".join(lines)


def summary_answer(obj: dict[str, Any]) -> ToolResult:
    """The answer of a single-object read: the object's summary, as lines of text and as structured content."""
    summary = object_summary(obj)
    return ToolResult(content=[TextContent(type="text", text=summary_text(summary))], structured_content=summary)


def full_answer(structured: dict[str, Any]) -> ToolResult:
    """The answer of a single-object read with detail="full": the whole (trimmed, masked) object as JSON."""
    text = json.dumps(structured, separators=(",", ":"), ensure_ascii=False, default=str)
    return ToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


def text_answer(result: BaseModel, text: str) -> ToolResult:
    """An answer whose text is `text`, what a model reads, and whose structured content is all of `result`."""
    return ToolResult(content=[TextContent(type="text", text=text)], structured_content=result.model_dump(mode="json"))


def output_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The output schema of a tool that answers with :func:`text_answer` of a `model`."""
    return model.model_json_schema()
