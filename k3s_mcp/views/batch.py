"""Rows of the batch API group: Jobs and CronJobs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from k3s_mcp.views.pages import (
    age,
    created_age,
    metadata_of,
    name_of,
    namespace_of,
)


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
    owner = next((o for o in metadata_of(job).get("ownerReferences") or [] if o.get("kind") == "CronJob"), None)
    return JobRow(
        name=name_of(job),
        namespace=namespace_of(job),
        status=job_status(job),
        completions=f"{status.get('succeeded') or 0}/{spec.get('completions', 1)}",
        active=int(status.get("active") or 0),
        duration=_seconds_between(status.get("startTime"), status.get("completionTime")),
        cronjob=str(owner.get("name")) if owner else None,
        age=created_age(job),
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
        name=name_of(cronjob),
        namespace=namespace_of(cronjob),
        schedule=str(spec.get("schedule", "")),
        time_zone=spec.get("timeZone"),
        suspended=bool(spec.get("suspend")),
        active=len(status.get("active") or []),
        last_schedule=age(status.get("lastScheduleTime")) or None,
        last_successful=age(status.get("lastSuccessfulTime")) or None,
        age=created_age(cronjob),
    )
