"""What a routing tier is to the router: a name, when it runs, and `decide`, which answers or says why it passed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from cortex.activator.complexity import Complexity
from cortex.activator.decision import RouteDecision, Tier, TierAnswer


@dataclass(frozen=True)
class RouteRequest:
    """One request as the tiers see it: typo-corrected text, the text as written, and how hard it looks."""

    query: str
    original: str
    namespace: str | None
    complexity: Complexity
    # time.perf_counter() when routing began; a decision reports its latency from here.
    started: float


@dataclass
class RouteContext:
    """What tiers leave for later tiers and for learning: the query vector, the stored point that chose the
    route, and the tools similar stored requests went to (offered first to the model tiers)."""

    vector: list[float] | None = None
    routed_by: str | None = None
    hints: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Escalation:
    """Why a tier passed a request on: words for the decision's `escalations`, a `reason` label for the metric."""

    reason: str
    kind: str


class TierFailed(Exception):
    """A tier could not answer: its service is down or too slow, or its output unusable. The router escalates."""

    def __init__(self, escalation: Escalation) -> None:
        super().__init__(escalation.reason)
        self.escalation = escalation


@dataclass(frozen=True)
class TierOutcome:
    """A tier's answer for the router to check, or a finished decision for another layer than k3s_mcp.

    `declined` is the escalation recorded when the router does not accept `answer`; `routed_by` is the stored
    point that chose the answer, kept for learning when it is accepted.
    """

    answer: TierAnswer | None = None
    decision: RouteDecision | None = None
    declined: Escalation | None = None
    routed_by: str | None = None


class RoutingTier(Protocol):
    """One tier of the cascade, as the router runs it."""

    @property
    def tier(self) -> Tier:
        """Which tier this is: the decision's `tier` and the label of its metrics."""

    @property
    def plans(self) -> bool:
        """Whether it runs for requests that need a plan (COMPLEX); the others are skipped for them."""

    @property
    def changes_need_consent(self) -> bool:
        """Whether any change it chose waits for confirmation, because its choices are a model's guesses."""

    def requires_confirmation(self, tool: str) -> bool:
        """Whether this tier's own data says a call of `tool` needs consent, whichever tier routed to it."""

    async def decide(self, request: RouteRequest, context: RouteContext) -> TierOutcome:
        """The tier's outcome for `request`; raises TierFailed when it cannot answer at all."""
