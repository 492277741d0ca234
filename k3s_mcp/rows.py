"""kubectl-get style rows for config, storage, networking, batch, workload, autoscaling and event objects."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from k3s_mcp.render import age, secret_value_size, selector_text

DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
DEFAULT_STORAGE_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
LEGACY_INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _name(obj: dict[str, Any]) -> str:
    return str(_meta(obj).get("name", ""))


def _namespace(obj: dict[str, Any]) -> str:
    return str(_meta(obj).get("namespace", ""))


def _created(obj: dict[str, Any]) -> str:
    return age(_meta(obj).get("creationTimestamp"))


# -- ConfigMaps and Secrets --------------------------------------------------------------------------


class ConfigMapRow(BaseModel):
    """A ConfigMap: its keys (values are in get_configmap)."""

    name: str
    namespace: str
    keys: list[str]
    age: str


def configmap_row(configmap: dict[str, Any]) -> ConfigMapRow:
    keys = [*(configmap.get("data") or {}), *(configmap.get("binaryData") or {})]
    return ConfigMapRow(
        name=_name(configmap), namespace=_namespace(configmap), keys=sorted(keys), age=_created(configmap)
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
        name=_name(secret),
        namespace=_namespace(secret),
        type=str(secret.get("type") or "Opaque"),
        key_sizes=dict(sorted(sizes.items())),
        age=_created(secret),
    )


# -- Storage ---------------------------------------------------------------------------------------


class PersistentVolumeRow(BaseModel):
    """A PersistentVolume as `kubectl get pv` shows it."""

    name: str
    capacity: str | None
    access_modes: list[str]
    reclaim_policy: str | None
    status: str
    claim: str | None = Field(description="namespace/name of the bound claim.")
    storage_class: str | None
    age: str


def persistent_volume_row(volume: dict[str, Any]) -> PersistentVolumeRow:
    spec = volume.get("spec") or {}
    ref = spec.get("claimRef") or {}
    return PersistentVolumeRow(
        name=_name(volume),
        capacity=(spec.get("capacity") or {}).get("storage"),
        access_modes=list(spec.get("accessModes") or []),
        reclaim_policy=spec.get("persistentVolumeReclaimPolicy"),
        status=str((volume.get("status") or {}).get("phase", "")),
        claim=f"{ref.get('namespace')}/{ref.get('name')}" if ref.get("name") else None,
        storage_class=spec.get("storageClassName") or None,
        age=_created(volume),
    )


class PersistentVolumeClaimRow(BaseModel):
    """A PersistentVolumeClaim: phase, volume, requested and actual capacity, class."""

    name: str
    namespace: str
    status: str
    volume: str | None
    requested: str | None = Field(description="spec.resources.requests.storage.")
    capacity: str | None = Field(description="status.capacity.storage: what the bound volume provides.")
    access_modes: list[str]
    storage_class: str | None
    resizing: str | None = Field(default=None, description="Resize condition or status, when one is underway.")
    age: str


def persistent_volume_claim_row(claim: dict[str, Any]) -> PersistentVolumeClaimRow:
    spec = claim.get("spec") or {}
    status = claim.get("status") or {}
    resizing = next(
        (
            str(c.get("type"))
            for c in status.get("conditions") or []
            if c.get("type") in ("Resizing", "FileSystemResizePending") and c.get("status") == "True"
        ),
        None,
    )
    return PersistentVolumeClaimRow(
        name=_name(claim),
        namespace=_namespace(claim),
        status=str(status.get("phase", "")),
        volume=spec.get("volumeName") or None,
        requested=((spec.get("resources") or {}).get("requests") or {}).get("storage"),
        capacity=(status.get("capacity") or {}).get("storage"),
        access_modes=list(spec.get("accessModes") or []),
        storage_class=spec.get("storageClassName") or None,
        resizing=resizing,
        age=_created(claim),
    )


class StorageClassRow(BaseModel):
    """A StorageClass: provisioner, whether it is the default and whether claims can grow."""

    name: str
    provisioner: str
    default: bool
    reclaim_policy: str | None
    volume_binding_mode: str | None
    allow_volume_expansion: bool
    age: str


def storage_class_row(storage_class: dict[str, Any]) -> StorageClassRow:
    annotations = _meta(storage_class).get("annotations") or {}
    return StorageClassRow(
        name=_name(storage_class),
        provisioner=str(storage_class.get("provisioner", "")),
        default=annotations.get(DEFAULT_STORAGE_CLASS_ANNOTATION) == "true",
        reclaim_policy=storage_class.get("reclaimPolicy"),
        volume_binding_mode=storage_class.get("volumeBindingMode"),
        allow_volume_expansion=bool(storage_class.get("allowVolumeExpansion")),
        age=_created(storage_class),
    )


# -- Networking ------------------------------------------------------------------------------------


class IngressRow(BaseModel):
    """An Ingress as `kubectl get ingress` shows it, with the class that serves it."""

    name: str
    namespace: str
    ingress_class: str | None = Field(
        description="spec.ingressClassName, else the legacy annotation, else the cluster's default class."
    )
    class_source: str = Field(description="'spec', 'annotation', 'default class' or 'none'.")
    hosts: list[str]
    address: str | None
    ports: str
    age: str


def ingress_row(ingress: dict[str, Any], default_class: str | None = None) -> IngressRow:
    spec = ingress.get("spec") or {}
    annotations = _meta(ingress).get("annotations") or {}
    if spec.get("ingressClassName"):
        ingress_class, source = str(spec["ingressClassName"]), "spec"
    elif annotations.get(LEGACY_INGRESS_CLASS_ANNOTATION):
        ingress_class, source = str(annotations[LEGACY_INGRESS_CLASS_ANNOTATION]), "annotation"
    elif default_class:
        ingress_class, source = default_class, "default class"
    else:
        ingress_class, source = None, "none"
    hosts = [str(rule.get("host") or "*") for rule in spec.get("rules") or []]
    balancer = ((ingress.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    address = ",".join(str(b.get("ip") or b.get("hostname") or "") for b in balancer) or None
    return IngressRow(
        name=_name(ingress),
        namespace=_namespace(ingress),
        ingress_class=ingress_class,
        class_source=source,
        hosts=hosts or ["*"],
        address=address,
        ports="80, 443" if spec.get("tls") else "80",
        age=_created(ingress),
    )


class IngressRule(BaseModel):
    """One host/path of an Ingress and the backend it routes to."""

    host: str
    path: str
    path_type: str | None
    backend: str = Field(description="service:port, or the resource backend as Kind/name.")


def ingress_rules(ingress: dict[str, Any]) -> list[IngressRule]:
    spec = ingress.get("spec") or {}
    rules = []

    def backend_text(backend: dict[str, Any]) -> str:
        service = backend.get("service") or {}
        if service:
            port = service.get("port") or {}
            return f"{service.get('name')}:{port.get('number') or port.get('name') or '?'}"
        resource = backend.get("resource") or {}
        return f"{resource.get('kind')}/{resource.get('name')}" if resource else "?"

    if spec.get("defaultBackend"):
        rules.append(
            IngressRule(host="*", path="(default)", path_type=None, backend=backend_text(spec["defaultBackend"]))
        )
    for rule in spec.get("rules") or []:
        for http_path in (rule.get("http") or {}).get("paths") or []:
            rules.append(
                IngressRule(
                    host=str(rule.get("host") or "*"),
                    path=str(http_path.get("path") or "/"),
                    path_type=http_path.get("pathType"),
                    backend=backend_text(http_path.get("backend") or {}),
                )
            )
    return rules


class IngressClassRow(BaseModel):
    """An IngressClass: the controller behind it (K3s ships Traefik) and whether it is the default."""

    name: str
    controller: str
    default: bool
    parameters: str | None
    age: str


def ingress_class_row(ingress_class: dict[str, Any]) -> IngressClassRow:
    spec = ingress_class.get("spec") or {}
    parameters = spec.get("parameters") or {}
    annotations = _meta(ingress_class).get("annotations") or {}
    return IngressClassRow(
        name=_name(ingress_class),
        controller=str(spec.get("controller", "")),
        default=annotations.get(DEFAULT_CLASS_ANNOTATION) == "true",
        parameters=f"{parameters.get('kind')}/{parameters.get('name')}" if parameters else None,
        age=_created(ingress_class),
    )


# -- Jobs and CronJobs -----------------------------------------------------------------------------


class JobRow(BaseModel):
    """A Job: status, completions, duration and the CronJob that made it, if any."""

    name: str
    namespace: str
    status: str = Field(description="Complete, Failed, Suspended or Running.")
    completions: str
    active: int
    duration: str | None
    cronjob: str | None
    age: str


def job_status(job: dict[str, Any]) -> str:
    conditions = (job.get("status") or {}).get("conditions") or []
    for kind in ("Complete", "Failed", "Suspended"):
        if any(c.get("type") == kind and c.get("status") == "True" for c in conditions):
            return kind
    return "Running"


def _seconds_between(start: str | None, end: str | None) -> str | None:
    if not start:
        return None
    try:
        begun = datetime.fromisoformat(start.replace("Z", "+00:00"))
        ended = datetime.fromisoformat(end.replace("Z", "+00:00")) if end else datetime.now(UTC)
    except ValueError:
        return None
    seconds = max(0, int((ended - begun).total_seconds()))
    return f"{seconds // 60}m{seconds % 60}s" if seconds >= 60 else f"{seconds}s"


def job_row(job: dict[str, Any]) -> JobRow:
    spec = job.get("spec") or {}
    status = job.get("status") or {}
    owner = next((o for o in _meta(job).get("ownerReferences") or [] if o.get("kind") == "CronJob"), None)
    return JobRow(
        name=_name(job),
        namespace=_namespace(job),
        status=job_status(job),
        completions=f"{status.get('succeeded') or 0}/{spec.get('completions', 1)}",
        active=int(status.get("active") or 0),
        duration=_seconds_between(status.get("startTime"), status.get("completionTime")),
        cronjob=str(owner.get("name")) if owner else None,
        age=_created(job),
    )


class CronJobRow(BaseModel):
    """A CronJob: schedule, whether it is suspended, active jobs and last runs."""

    name: str
    namespace: str
    schedule: str
    time_zone: str | None
    suspended: bool
    active: int
    last_schedule: str | None = Field(description="Age of the last scheduled run.")
    last_successful: str | None = Field(description="Age of the last successful run.")
    age: str


def cronjob_row(cronjob: dict[str, Any]) -> CronJobRow:
    spec = cronjob.get("spec") or {}
    status = cronjob.get("status") or {}
    return CronJobRow(
        name=_name(cronjob),
        namespace=_namespace(cronjob),
        schedule=str(spec.get("schedule", "")),
        time_zone=spec.get("timeZone"),
        suspended=bool(spec.get("suspend")),
        active=len(status.get("active") or []),
        last_schedule=age(status.get("lastScheduleTime")) or None,
        last_successful=age(status.get("lastSuccessfulTime")) or None,
        age=_created(cronjob),
    )


# -- StatefulSets and DaemonSets -------------------------------------------------------------------


def _images(workload: dict[str, Any]) -> list[str]:
    containers = (((workload.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    return [str(c.get("image", "")) for c in containers]


class StatefulSetRow(BaseModel):
    """A StatefulSet as `kubectl get sts -o wide` shows it."""

    name: str
    namespace: str
    ready: str
    updated: int
    service: str | None
    update_strategy: str
    images: list[str]
    age: str


def statefulset_row(statefulset: dict[str, Any]) -> StatefulSetRow:
    spec = statefulset.get("spec") or {}
    status = statefulset.get("status") or {}
    return StatefulSetRow(
        name=_name(statefulset),
        namespace=_namespace(statefulset),
        ready=f"{status.get('readyReplicas') or 0}/{spec.get('replicas', 1)}",
        updated=int(status.get("updatedReplicas") or 0),
        service=spec.get("serviceName") or None,
        update_strategy=str((spec.get("updateStrategy") or {}).get("type", "RollingUpdate")),
        images=_images(statefulset),
        age=_created(statefulset),
    )


class DaemonSetRow(BaseModel):
    """A DaemonSet as `kubectl get ds -o wide` shows it."""

    name: str
    namespace: str
    desired: int
    current: int
    ready: int
    up_to_date: int
    available: int
    node_selector: str
    images: list[str]
    age: str


def daemonset_row(daemonset: dict[str, Any]) -> DaemonSetRow:
    status = daemonset.get("status") or {}
    pod_spec = ((daemonset.get("spec") or {}).get("template") or {}).get("spec") or {}
    return DaemonSetRow(
        name=_name(daemonset),
        namespace=_namespace(daemonset),
        desired=int(status.get("desiredNumberScheduled") or 0),
        current=int(status.get("currentNumberScheduled") or 0),
        ready=int(status.get("numberReady") or 0),
        up_to_date=int(status.get("updatedNumberScheduled") or 0),
        available=int(status.get("numberAvailable") or 0),
        node_selector=selector_text(pod_spec.get("nodeSelector")) or "<none>",
        images=_images(daemonset),
        age=_created(daemonset),
    )


# -- HorizontalPodAutoscalers ----------------------------------------------------------------------


class HorizontalPodAutoscalerRow(BaseModel):
    """An autoscaling/v2 HPA: what it scales, its targets against current values, and the bounds."""

    name: str
    namespace: str
    reference: str = Field(description="Kind/name of the scaled workload.")
    targets: list[str] = Field(description="'cpu: 40%/80%' style current/target per metric; <unknown> when unmeasured.")
    min_replicas: int
    max_replicas: int
    replicas: int
    age: str


def _metric_target(metric: dict[str, Any]) -> tuple[str, str]:
    """(label, target text) of one metric spec."""
    kind = str(metric.get("type", ""))
    body = metric.get(kind[:1].lower() + kind[1:]) or {}
    label = str(body.get("name") or (body.get("metric") or {}).get("name") or kind)
    target = body.get("target") or {}
    if target.get("averageUtilization") is not None:
        return label, f"{target['averageUtilization']}%"
    return label, str(target.get("averageValue") or target.get("value") or "?")


def _metric_current(status: dict[str, Any] | None) -> str:
    if not status:
        return "<unknown>"
    kind = str(status.get("type", ""))
    current = (status.get(kind[:1].lower() + kind[1:]) or {}).get("current") or {}
    if current.get("averageUtilization") is not None:
        return f"{current['averageUtilization']}%"
    return str(current.get("averageValue") or current.get("value") or "<unknown>")


def horizontal_pod_autoscaler_row(hpa: dict[str, Any]) -> HorizontalPodAutoscalerRow:
    spec = hpa.get("spec") or {}
    status = hpa.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    current = status.get("currentMetrics") or []
    targets = []
    for index, metric in enumerate(spec.get("metrics") or []):
        label, target = _metric_target(metric)
        targets.append(f"{label}: {_metric_current(current[index] if index < len(current) else None)}/{target}")
    return HorizontalPodAutoscalerRow(
        name=_name(hpa),
        namespace=_namespace(hpa),
        reference=f"{ref.get('kind')}/{ref.get('name')}",
        targets=targets,
        min_replicas=int(spec.get("minReplicas") or 1),
        max_replicas=int(spec.get("maxReplicas") or 0),
        replicas=int(status.get("currentReplicas") or 0),
        age=_created(hpa),
    )


# -- Events ----------------------------------------------------------------------------------------


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
        or _meta(event).get("creationTimestamp")
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
        namespace=_namespace(event),
        message=str(event.get("message", "")).strip()[:1000],
        count=int(series.get("count") or event.get("count") or 1),
        source=source.get("component") or event.get("reportingComponent") or None,
    )
