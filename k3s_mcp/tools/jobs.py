"""Job and CronJob tools: list, show, run a CronJob now (a Job from its template), suspend and resume."""

from __future__ import annotations

import copy
import time
from typing import Annotated, Any

from fastmcp import FastMCP
from pydantic import BaseModel, Field

from k3s_mcp.kube import current_session
from k3s_mcp.tools import READ_ONLY, WRITE, WRITE_AGAIN, tool
from k3s_mcp.tools.changes import ObjectChange, patch_object
from k3s_mcp.tools.lists import list_rows
from k3s_mcp.tools.parameters import ContinueToken, DryRun, Labels, Limit, ListNamespace, Name, Namespace
from k3s_mcp.views import Condition, CronJobRow, JobRow, RowPage, conditions, cronjob_row, job_row, trim

jobs: FastMCP = FastMCP("jobs")


class JobDetail(BaseModel):
    summary: JobRow
    conditions: list[Condition]
    object: dict[str, Any] = Field(description="The Job without managedFields and last-applied.")


class CronJobDetail(BaseModel):
    summary: CronJobRow
    jobs: list[JobRow] = Field(description="Jobs this CronJob owns, newest first (at most 20).")
    object: dict[str, Any] = Field(description="The CronJob without managedFields and last-applied.")


class CreatedJob(BaseModel):
    job: str
    namespace: str
    cronjob: str
    dry_run: bool
    message: str


@tool(jobs, title="List Jobs", safety=READ_ONLY)
async def get_jobs(
    namespace: ListNamespace = None,
    labels: Labels = None,
    limit: Limit = None,
    continue_token: ContinueToken = None,
) -> RowPage[JobRow]:
    """List Jobs: status (Complete/Failed/Suspended/Running), completions, active pods, duration, owning CronJob."""
    return await list_rows("jobs.batch", job_row, namespace, labels=labels, limit=limit, continue_token=continue_token)


@tool(jobs, title="Show a Job", safety=READ_ONLY)
async def get_job(name: Name, namespace: Namespace = None) -> JobDetail:
    """Show one Job: summary, conditions (why it failed) and the trimmed object. Its pods carry the label
    job-name=<name> (get_pods labels='job-name=<name>', then get_logs)."""
    session = current_session()
    info = await session.resolve("jobs.batch")
    job = await session.get(info, name, session.namespace_or_default(namespace))
    return JobDetail(summary=job_row(job), conditions=conditions(job), object=trim(job))


@tool(jobs, title="List CronJobs", safety=READ_ONLY)
async def get_cronjobs(
    namespace: ListNamespace = None,
    labels: Labels = None,
    limit: Limit = None,
    continue_token: ContinueToken = None,
) -> RowPage[CronJobRow]:
    """List CronJobs: schedule, time zone, suspended, active jobs, last schedule and last success."""
    return await list_rows(
        "cronjobs.batch", cronjob_row, namespace, labels=labels, limit=limit, continue_token=continue_token
    )


@tool(jobs, title="Show a CronJob", safety=READ_ONLY)
async def get_cronjob(name: Name, namespace: Namespace = None) -> CronJobDetail:
    """Show one CronJob with the Jobs it made (newest first) and the trimmed object."""
    session = current_session()
    ns = session.namespace_or_default(namespace)
    info = await session.resolve("cronjobs.batch")
    cronjob = await session.get(info, name, ns)
    uid = (cronjob.get("metadata") or {}).get("uid")
    job_info = await session.resolve("jobs.batch")
    listing = await session.list_page(job_info, ns, limit=500)
    owned = [
        job
        for job in listing.get("items") or []
        if any(o.get("uid") == uid for o in (job.get("metadata") or {}).get("ownerReferences") or [])
    ]
    owned.sort(key=lambda job: str((job.get("metadata") or {}).get("creationTimestamp", "")), reverse=True)
    return CronJobDetail(summary=cronjob_row(cronjob), jobs=[job_row(j) for j in owned[:20]], object=trim(cronjob))


@tool(jobs, title="Run a CronJob now", safety=WRITE_AGAIN)
async def create_job_from_cronjob(
    cronjob: Annotated[str, Field(min_length=1, description="Name of the CronJob whose job template to run.")],
    namespace: Namespace = None,
    job_name: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=63,
            description="Name of the new Job; omitted = '<cronjob>-manual-<unix time>'.",
        ),
    ] = None,
    dry_run: DryRun = False,
) -> CreatedJob:
    """Start a Job now from a CronJob's job template, like `kubectl create job --from=cronjob/NAME`.

    Works on suspended CronJobs too. The Job is owned by the CronJob, so it is cleaned up with it.
    """
    session = current_session()
    ns = session.namespace_or_default(namespace)
    info = await session.resolve("cronjobs.batch")
    source = await session.get(info, cronjob, ns)
    template = copy.deepcopy((source.get("spec") or {}).get("jobTemplate") or {})
    metadata = source.get("metadata") or {}
    name = job_name or f"{cronjob[:40]}-manual-{int(time.time())}"
    template_meta = template.get("metadata") or {}
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": template_meta.get("labels") or {},
            "annotations": {**(template_meta.get("annotations") or {}), "cronjob.kubernetes.io/instantiate": "manual"},
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "CronJob",
                    "name": cronjob,
                    "uid": metadata.get("uid"),
                    "controller": True,
                }
            ],
        },
        "spec": template.get("spec") or {},
    }
    job_info = await session.resolve("jobs.batch")
    await session.create(job_info, ns, job, dry_run=dry_run)
    verb = "Would create" if dry_run else "Created"
    return CreatedJob(
        job=name,
        namespace=ns,
        cronjob=cronjob,
        dry_run=dry_run,
        message=f"{verb} Job/{name} from CronJob/{cronjob} in {ns}. Follow it with get_job.",
    )


async def _set_suspended(name: str, namespace: str | None, suspend: bool, dry_run: bool) -> ObjectChange:
    session = current_session()
    ns = session.namespace_or_default(namespace)
    info = await session.resolve("cronjobs.batch")
    word = "suspend" if suspend else "resume"
    change, _ = await patch_object(
        session, info, name, ns, {"spec": {"suspend": suspend}}, action=word, done=word + "d", dry_run=dry_run
    )
    return change


@tool(jobs, title="Suspend a CronJob", safety=WRITE)
async def suspend_cronjob(name: Name, namespace: Namespace = None, dry_run: DryRun = False) -> ObjectChange:
    """Stop a CronJob from scheduling new Jobs (running Jobs continue). 'unchanged' when already suspended."""
    return await _set_suspended(name, namespace, True, dry_run)


@tool(jobs, title="Resume a CronJob", safety=WRITE)
async def resume_cronjob(name: Name, namespace: Namespace = None, dry_run: DryRun = False) -> ObjectChange:
    """Let a suspended CronJob schedule Jobs again. 'unchanged' when it was not suspended."""
    return await _set_suspended(name, namespace, False, dry_run)
