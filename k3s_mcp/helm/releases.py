"""The shapes both routes answer in: a release as a list row, a release's current state, one revision."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

NOTES_LIMIT = 4000


class HelmReleaseRow(BaseModel):
    """One release as `helm list` shows it (or a HelmChart object on the helmchart route)."""

    name: str
    namespace: str
    revision: str | None = None
    updated: str | None = None
    status: str
    chart: str
    app_version: str | None = None


class HelmRelease(BaseModel):
    """A release's current state."""

    name: str
    namespace: str
    route: str
    revision: int | None = None
    status: str
    chart: str | None = None
    app_version: str | None = None
    description: str | None = None
    last_deployed: str | None = None
    notes: str | None = Field(default=None, description=f"The chart's NOTES (cut to {NOTES_LIMIT} characters).")
    values: dict[str, Any] | None = Field(default=None, description="User-supplied values of this revision.")
    object: dict[str, Any] | None = Field(default=None, description="The HelmChart object (helmchart route).")
    message: str


class HelmRevision(BaseModel):
    revision: int
    updated: str
    status: str
    chart: str
    app_version: str | None = None
    description: str
