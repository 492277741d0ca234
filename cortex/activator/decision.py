"""What the router decides for one request: the tier that answered, the tool, its arguments, and why."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class Tier(StrEnum):
    """Where a decision came from; NONE means no tier was confident enough to act."""

    KEYWORD = "keyword"
    SIMILARITY = "similarity"
    CLASSIFIER = "classifier"
    REASONING = "reasoning"
    NONE = "none"

    @property
    def number(self) -> int:
        """The tier's place in the cascade, 1 to 4; 0 for NONE."""
        return 0 if self is Tier.NONE else list(Tier).index(self) + 1


class Mode(StrEnum):
    """How hard a request looks; EXPERT requests go to a human and are never executed."""

    SIMPLE = "SIMPLE"
    MODERATE = "MODERATE"
    COMPLEX = "COMPLEX"
    EXPERT = "EXPERT"


class PlanStep(BaseModel):
    """One call of a multi-step plan."""

    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class TierAnswer(BaseModel):
    """What one tier proposes; the router checks it against the catalog before accepting it."""

    tool: str | None
    arguments: dict[str, Any] = Field(default_factory=dict)
    confidence: float = 0.0
    plan: list[PlanStep] = Field(default_factory=list)
    reason: str = ""
    # A definite "this is not an operations request" answer stops the cascade instead of escalating.
    refuse: bool = False


class RouteDecision(BaseModel):
    """The router's answer for one request."""

    query: str
    tier: Tier
    tool: str | None = Field(
        description="Tool to run (an action of `layer` when that is set); null when the activator will not act."
    )
    layer: str | None = Field(
        default=None,
        description="Execution layer that runs `tool` as one of its actions (unifi-api, unifi-ssh); "
        "null for k3s_mcp tools.",
    )
    route: str | None = Field(default=None, description="Name of the network rule that matched, for telemetry.")
    arguments: dict[str, Any] = Field(default_factory=dict)
    confidence: float = 0.0
    complexity: int = Field(ge=0, le=100)
    mode: Mode
    requires_confirmation: bool = False
    plan: list[PlanStep] = Field(default_factory=list)
    missing_arguments: list[str] = Field(default_factory=list)
    escalations: list[str] = Field(default_factory=list, description="Why each earlier tier passed.")
    reason: str = ""
    latency_ms: float = 0.0

    @property
    def actionable(self) -> bool:
        return self.tool is not None and not self.missing_arguments and self.mode is not Mode.EXPERT
