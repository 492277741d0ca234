"""KEDA tools: ScaledObjects and ScaledJobs (list, get, create/update, delete, pause/resume) and the HPA KEDA made."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from pydantic import BaseModel, Field

from k3s_mcp.kube import KubeError, KubeSession, ResourceInfo, current_session, deletion_note
from k3s_mcp.kube.requests import check_name
from k3s_mcp.tools import DESTRUCTIVE, READ_ONLY, WRITE, tool
from k3s_mcp.tools.parameters import DryRun, Namespace
from k3s_mcp.views import RowPage, page, trim
from k3s_mcp.views.keda import PAUSED, PAUSED_REPLICAS, ScalerRow, scaler_row

keda: FastMCP = FastMCP("keda")

KEDA_GROUP = "keda.sh"

ScalerKind = Annotated[
    Literal["ScaledObject", "ScaledJob"],
    Field(description="ScaledObject (scales a Deployment/StatefulSet) or ScaledJob (runs Jobs per event)."),
]
Name = Annotated[str, Field(min_length=1, max_length=253, description="Name of the ScaledObject/ScaledJob.")]


class Trigger(BaseModel):
    """One KEDA trigger (scaler), e.g. {'type': 'cron', 'metadata': {'timezone': 'UTC', ...}}."""

    type: str = Field(min_length=1, description="Scaler type: cpu, memory, cron, prometheus, kafka, ...")
    metadata: dict[str, str] = Field(default_factory=dict, description="The scaler's settings (string values).")
    name: str | None = Field(default=None, description="Optional trigger name.")
    metric_type: Literal["AverageValue", "Value", "Utilization"] | None = Field(
        default=None, description="How the metric is compared (cpu/memory use Utilization)."
    )
    authentication_ref: str | None = Field(default=None, description="Name of a TriggerAuthentication.")

    def manifest(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "metadata": dict(self.metadata)}
        if self.name:
            body["name"] = self.name
        if self.metric_type:
            body["metricType"] = self.metric_type
        if self.authentication_ref:
            body["authenticationRef"] = {"name": self.authentication_ref}
        return body


class ScalerDetail(BaseModel):
    row: ScalerRow
    object: dict[str, Any] = Field(description="The object without managedFields.")


class ScalerChange(BaseModel):
    kind: str
    name: str
    namespace: str
    action: str = Field(
        description="created, updated, deleting (finalizers pending), deleted, paused, resumed; "
        "with '(dry run)' when so."
    )
    row: ScalerRow | None
    message: str


class KedaHpa(BaseModel):
    """The HorizontalPodAutoscaler KEDA keeps for a ScaledObject, when the KEDA operator has made one."""

    scaled_object: str
    namespace: str
    hpa_name: str
    exists: bool
    message: str
    min_replicas: int | None = None
    max_replicas: int | None = None
    current_replicas: int | None = None
    desired_replicas: int | None = None
    metrics: list[dict[str, Any]] = Field(default_factory=list)
    conditions: list[str] = Field(default_factory=list, description="type=status (reason) of each condition.")


async def _info(session: KubeSession, kind: str) -> ResourceInfo:
    try:
        return await session.resolve(f"{kind.lower()}.{KEDA_GROUP}")
    except KubeError:
        raise ToolError(
            f"The cluster does not serve {kind} ({KEDA_GROUP}): KEDA's CRDs are not installed. "
            "Fix: install KEDA (its Helm chart installs the CRDs and the operator)."
        ) from None


@tool(keda, title="List KEDA ScaledObjects/ScaledJobs", safety=READ_ONLY)
async def get_keda_scalers(
    kind: ScalerKind = "ScaledObject",
    namespace: Annotated[str | None, Field(description="Namespace to list; omitted = all namespaces.")] = None,
    labels: Annotated[str | None, Field(description="Label selector, e.g. 'app=web'.")] = None,
    limit: Annotated[int | None, Field(ge=1, le=5000, description="Most rows to return (default 100).")] = None,
    continue_token: Annotated[str | None, Field(description="continue_token of the previous page.")] = None,
) -> RowPage[ScalerRow]:
    """List KEDA ScaledObjects (or ScaledJobs) as rows: target, min/max, trigger types, Ready/Active, paused.

    Ready/Active stay 'Unknown' until the KEDA operator has reconciled the object.
    """
    session = current_session()
    info = await _info(session, kind)
    size = limit or session.settings.list_limit
    listing = await session.list_page(info, namespace, label_selector=labels, limit=size, continue_token=continue_token)
    for item in listing.get("items") or []:
        item.setdefault("kind", info.kind)
    return page(listing, scaler_row, limit=size)


@tool(keda, title="Get a KEDA ScaledObject/ScaledJob", safety=READ_ONLY)
async def get_keda_scaler(name: Name, kind: ScalerKind = "ScaledObject", namespace: Namespace = None) -> ScalerDetail:
    """Show one ScaledObject or ScaledJob: a summary row and the object (spec, status, conditions)."""
    session = current_session()
    ns = session.namespace_or_default(namespace)
    info = await _info(session, kind)
    obj = await session.get(info, name, ns)
    return ScalerDetail(row=scaler_row(obj), object=trim(obj))


async def _create_or_update(
    session: KubeSession,
    info: ResourceInfo,
    name: str,
    ns: str,
    spec: dict[str, Any],
    *,
    labels: dict[str, str] | None,
    dry_run: bool,
    required: dict[str, str],
) -> ScalerChange:
    """Merge-patch the given fields into an existing object, or create it when it does not exist."""
    existing = await session.get_optional(info, name, ns)
    suffix = " (dry run)" if dry_run else ""
    if existing is None:
        missing = [hint for field_name, hint in required.items() if field_name not in spec]
        if missing:
            raise ToolError(
                f"{info.kind} {name!r} does not exist in namespace {ns!r}; to create it, pass "
                + "; ".join(missing)
                + "."
            )
        manifest: dict[str, Any] = {
            "apiVersion": info.api_version,
            "kind": info.kind,
            "metadata": {"name": name, "namespace": ns, **({"labels": labels} if labels else {})},
            "spec": spec,
        }
        applied = await session.apply(info, manifest, ns, dry_run=dry_run, force=False)
        action = "created"
    else:
        if not spec and not labels:
            raise ToolError(f"Nothing to update on {info.kind} {name!r}: pass at least one field to change.")
        patch: dict[str, Any] = {"spec": spec}
        if labels:
            patch["metadata"] = {"labels": labels}
        applied = await session.patch(info, name, ns, patch, action="update", dry_run=dry_run)
        action = "updated"
    applied.setdefault("kind", info.kind)
    return ScalerChange(
        kind=info.kind,
        name=name,
        namespace=ns,
        action=action + suffix,
        row=scaler_row(applied),
        message=f"{info.kind} {name!r} {action} in namespace {ns!r}{suffix}.",
    )


@tool(keda, title="Create or update a KEDA ScaledObject", safety=WRITE)
async def apply_scaled_object(
    name: Name,
    namespace: Namespace = None,
    target_name: Annotated[
        str | None, Field(min_length=1, description="Workload to scale (required to create).")
    ] = None,
    target_kind: Annotated[
        str | None, Field(description="Kind of the workload: Deployment (default when creating), StatefulSet, ...")
    ] = None,
    triggers: Annotated[
        list[Trigger] | None, Field(min_length=1, description="Triggers (required to create); replaces all on update.")
    ] = None,
    min_replica_count: Annotated[int | None, Field(ge=0, description="Fewest replicas; 0 = scale to zero.")] = None,
    max_replica_count: Annotated[int | None, Field(ge=1, description="Most replicas.")] = None,
    polling_interval: Annotated[int | None, Field(ge=1, description="Seconds between trigger checks.")] = None,
    cooldown_period: Annotated[
        int | None, Field(ge=0, description="Seconds after the last active trigger before scaling to min.")
    ] = None,
    labels: Annotated[dict[str, str] | None, Field(description="Labels to set.")] = None,
    dry_run: DryRun = False,
) -> ScalerChange:
    """Create a ScaledObject (KEDA autoscaling of a Deployment/StatefulSet), or update the fields given.

    On create, target_name and triggers are required. On update only the fields passed change.
    The API server validates the object against KEDA's CRD schema; invalid specs are refused with the reason.
    """
    session = current_session()
    ns = session.namespace_or_default(namespace)
    info = await _info(session, "ScaledObject")
    spec: dict[str, Any] = {}
    if target_name is not None or target_kind is not None:
        if target_name is None:
            raise ToolError("target_kind was given without target_name: pass the workload's name too.")
        # A reference is a name like any other: the target's own rule applies before it is written into the spec.
        check_name(await session.resolve(target_kind or "Deployment"), target_name)
        spec["scaleTargetRef"] = {"name": target_name, "kind": target_kind or "Deployment"}
    if triggers is not None:
        spec["triggers"] = [trigger.manifest() for trigger in triggers]
    for key, value in (
        ("minReplicaCount", min_replica_count),
        ("maxReplicaCount", max_replica_count),
        ("pollingInterval", polling_interval),
        ("cooldownPeriod", cooldown_period),
    ):
        if value is not None:
            spec[key] = value
    if min_replica_count is not None and max_replica_count is not None and min_replica_count > max_replica_count:
        raise ToolError(
            f"min_replica_count ({min_replica_count}) is larger than max_replica_count ({max_replica_count})."
        )
    return await _create_or_update(
        session,
        info,
        name,
        ns,
        spec,
        labels=labels,
        dry_run=dry_run,
        required={"scaleTargetRef": "target_name (the Deployment to scale)", "triggers": "triggers"},
    )


@tool(keda, title="Create or update a KEDA ScaledJob", safety=WRITE)
async def apply_scaled_job(
    name: Name,
    namespace: Namespace = None,
    job_template: Annotated[
        dict[str, Any] | None,
        Field(
            description="The Job's spec (batch/v1 JobSpec), e.g. {'template': {'spec': {'containers': [{'name': "
            "'worker', 'image': 'busybox', 'command': ['echo', 'hi']}], 'restartPolicy': 'Never'}}}. Required "
            "to create."
        ),
    ] = None,
    triggers: Annotated[
        list[Trigger] | None, Field(min_length=1, description="Triggers (required to create); replaces all on update.")
    ] = None,
    max_replica_count: Annotated[int | None, Field(ge=1, description="Most Jobs running at once.")] = None,
    polling_interval: Annotated[int | None, Field(ge=1, description="Seconds between trigger checks.")] = None,
    labels: Annotated[dict[str, str] | None, Field(description="Labels to set.")] = None,
    dry_run: DryRun = False,
) -> ScalerChange:
    """Create a ScaledJob (KEDA runs one Job per batch of events), or update the fields given.

    On create, job_template and triggers are required; on update only the fields passed change.
    """
    session = current_session()
    ns = session.namespace_or_default(namespace)
    info = await _info(session, "ScaledJob")
    spec: dict[str, Any] = {}
    if job_template is not None:
        spec["jobTargetRef"] = job_template
    if triggers is not None:
        spec["triggers"] = [trigger.manifest() for trigger in triggers]
    if max_replica_count is not None:
        spec["maxReplicaCount"] = max_replica_count
    if polling_interval is not None:
        spec["pollingInterval"] = polling_interval
    return await _create_or_update(
        session,
        info,
        name,
        ns,
        spec,
        labels=labels,
        dry_run=dry_run,
        required={"jobTargetRef": "job_template (the Job's spec)", "triggers": "triggers"},
    )


@tool(keda, title="Delete a KEDA ScaledObject/ScaledJob", safety=DESTRUCTIVE)
async def delete_keda_scaler(
    name: Name, kind: ScalerKind = "ScaledObject", namespace: Namespace = None, dry_run: DryRun = False
) -> ScalerChange:
    """Delete a ScaledObject or ScaledJob. KEDA then removes its HPA; the workload keeps its current replicas."""
    session = current_session()
    ns = session.namespace_or_default(namespace)
    info = await _info(session, kind)
    answer = await session.delete(info, name, ns, dry_run=dry_run)
    suffix = " (dry run)" if dry_run else ""
    # KEDA's operator puts finalizer.keda.sh on every scaler: the object goes once the operator has let go.
    note = "" if dry_run else deletion_note(answer)
    return ScalerChange(
        kind=kind,
        name=name,
        namespace=ns,
        action=("deleting" if note else "deleted") + suffix,
        row=None,
        message=f"{kind} {name!r} deleted from namespace {ns!r}{suffix}.{note}",
    )


@tool(keda, title="Pause KEDA autoscaling", safety=WRITE)
async def pause_keda_scaler(
    name: Name,
    kind: ScalerKind = "ScaledObject",
    namespace: Namespace = None,
    paused_replicas: Annotated[
        int | None,
        Field(
            ge=0,
            description="ScaledObject only: hold the workload at this many replicas while paused "
            "(autoscaling.keda.sh/paused-replicas). Omitted = keep the current count.",
        ),
    ] = None,
) -> ScalerChange:
    """Pause KEDA for a ScaledObject or ScaledJob (the autoscaling.keda.sh/paused annotations).

    Resume with resume_keda_scaler.
    """
    session = current_session()
    ns = session.namespace_or_default(namespace)
    if paused_replicas is not None and kind != "ScaledObject":
        raise ToolError("paused_replicas applies to ScaledObjects only; a ScaledJob is paused without it.")
    info = await _info(session, kind)
    annotations: dict[str, str | None] = {PAUSED: "true"}
    annotations[PAUSED_REPLICAS] = str(paused_replicas) if paused_replicas is not None else None
    patched = await session.patch(info, name, ns, {"metadata": {"annotations": annotations}}, action="pause")
    patched.setdefault("kind", kind)
    held = f" at {paused_replicas} replicas" if paused_replicas is not None else ""
    return ScalerChange(
        kind=kind,
        name=name,
        namespace=ns,
        action="paused",
        row=scaler_row(patched),
        message=f"KEDA autoscaling of {kind} {name!r} in {ns!r} is paused{held}.",
    )


@tool(keda, title="Resume KEDA autoscaling", safety=WRITE)
async def resume_keda_scaler(
    name: Name, kind: ScalerKind = "ScaledObject", namespace: Namespace = None
) -> ScalerChange:
    """Resume KEDA autoscaling paused by pause_keda_scaler (removes both paused annotations)."""
    session = current_session()
    ns = session.namespace_or_default(namespace)
    info = await _info(session, kind)
    patch = {"metadata": {"annotations": {PAUSED: None, PAUSED_REPLICAS: None}}}
    patched = await session.patch(info, name, ns, patch, action="resume")
    patched.setdefault("kind", kind)
    return ScalerChange(
        kind=kind,
        name=name,
        namespace=ns,
        action="resumed",
        row=scaler_row(patched),
        message=f"KEDA autoscaling of {kind} {name!r} in {ns!r} is resumed.",
    )


@tool(keda, title="Show the HPA KEDA made", safety=READ_ONLY)
async def get_keda_hpa(name: Name, namespace: Namespace = None) -> KedaHpa:
    """Show the HorizontalPodAutoscaler KEDA keeps for a ScaledObject (keda-hpa-<name>): replicas, metrics.

    Says so plainly when the HPA does not exist yet (the KEDA operator creates it when it reconciles).
    """
    session = current_session()
    ns = session.namespace_or_default(namespace)
    info = await _info(session, "ScaledObject")
    scaled_object = await session.get(info, name, ns)
    hpa_name = str((scaled_object.get("status") or {}).get("hpaName") or f"keda-hpa-{name}")
    hpa_info = await session.resolve("horizontalpodautoscalers.autoscaling")
    hpa = await session.get_optional(hpa_info, hpa_name, ns)
    if hpa is None:
        return KedaHpa(
            scaled_object=name,
            namespace=ns,
            hpa_name=hpa_name,
            exists=False,
            message=f"No HPA {hpa_name!r} exists yet in namespace {ns!r}: the KEDA operator creates it when it "
            f"reconciles ScaledObject {name!r}. If this persists, check that the KEDA operator runs "
            "(kubectl get pods -n keda) and that the ScaledObject is not paused.",
        )
    spec = hpa.get("spec") or {}
    status = hpa.get("status") or {}
    return KedaHpa(
        scaled_object=name,
        namespace=ns,
        hpa_name=hpa_name,
        exists=True,
        message=f"HPA {hpa_name!r}: {status.get('currentReplicas', '?')} current, "
        f"{status.get('desiredReplicas', '?')} desired replicas.",
        min_replicas=spec.get("minReplicas"),
        max_replicas=spec.get("maxReplicas"),
        current_replicas=status.get("currentReplicas"),
        desired_replicas=status.get("desiredReplicas"),
        metrics=list(spec.get("metrics") or []),
        conditions=[
            f"{c.get('type')}={c.get('status')}" + (f" ({c.get('reason')})" if c.get("reason") else "")
            for c in status.get("conditions") or []
        ],
    )
