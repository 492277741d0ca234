"""The bodies of the activator's HTTP API: POST /query and its answer, POST /feedback. Types are strict."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cortex.activator.decision import Mode, PlanStep

NAMESPACE_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class QueryRequest(BaseModel):
    """Body of POST /query. Types are strict: `confirm` is the JSON boolean true, never "yes" or 1."""

    model_config = ConfigDict(strict=True, extra="forbid")

    query: str = Field(min_length=1, max_length=4000, description="The plain-language request.")
    namespace: str | None = Field(
        default=None,
        max_length=63,
        pattern=NAMESPACE_PATTERN,
        description="Namespace to use when the request names none.",
    )
    dry_run: bool = Field(default=False, description="Route only, or pass dry_run to tools that support it.")
    confirm: bool = Field(default=False, description="Allow a destructive tool to run.")
    execute: bool = Field(default=True, description="False returns the decision without running anything.")


class QueryResponse(BaseModel):
    """Answer of POST /query: the decision and, when a tool ran, its result."""

    decision_id: str = Field(description="Names this decision in POST /feedback; random, kept for recent decisions.")
    tier: str
    tool: str | None
    layer: str | None = Field(
        default=None, description="Execution layer that ran (or would run) `tool`; null for k3s_mcp tools."
    )
    arguments: dict[str, Any]
    confidence: float
    complexity: int
    mode: Mode
    requires_confirmation: bool
    executed: bool
    status: str = Field(
        description="executed | failed | routed | needs_confirmation | missing_arguments | "
        "escalated_to_human | no_route | dry_run"
    )
    message: str
    plan: list[PlanStep] = Field(default_factory=list)
    missing_arguments: list[str] = Field(default_factory=list)
    escalations: list[str] = Field(default_factory=list)
    result: Any = None
    latency_ms: float


class FeedbackRequest(BaseModel):
    """Body of POST /feedback: whether the tool a decision chose was the right one. Types are strict."""

    model_config = ConfigDict(strict=True, extra="forbid")

    decision_id: str = Field(
        min_length=1, max_length=64, description="The decision_id of the /query answer this feedback is about."
    )
    success: bool = Field(description="True when the tool the decision chose was the right one and worked.")
    tool: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Optional: the tool the feedback is about; it must be the tool the decision chose.",
    )
