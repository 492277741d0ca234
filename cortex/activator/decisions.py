"""The recent decisions of one activator, so feedback can only be about a decision it actually made.

Every /query answer carries a random, unguessable decision id. Feedback names that id and may only confirm or
reject the tool that decision chose, once; an unknown id changes nothing. Only the last `DECISIONS_KEPT`
decisions are kept, in memory.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass

DECISIONS_KEPT = 1000
ID_BYTES = 18


class UnknownDecision(LookupError):
    """Feedback named a decision id this activator did not give out, or no longer keeps."""


class FeedbackRefused(ValueError):
    """Feedback about a real decision that cannot be taken: given before, or about another tool."""


@dataclass
class Decision:
    """What feedback needs to know about one routed request."""

    decision_id: str
    query: str
    tool: str | None
    tier: str
    routed_by: str | None = None
    why_not_learnable: str | None = None
    feedback_given: bool = False


class DecisionLog:
    """The last `capacity` decisions, oldest dropped first."""

    def __init__(self, capacity: int = DECISIONS_KEPT) -> None:
        if capacity < 1:
            raise ValueError("a decision log keeps at least one decision")
        self.capacity = capacity
        self._decisions: OrderedDict[str, Decision] = OrderedDict()

    def __len__(self) -> int:
        return len(self._decisions)

    def remember(
        self,
        query: str,
        tool: str | None,
        tier: str,
        *,
        routed_by: str | None = None,
        why_not_learnable: str | None = None,
    ) -> Decision:
        """Keep a new decision under a fresh random id (dropping the oldest one past `capacity`)."""
        decision_id = secrets.token_urlsafe(ID_BYTES)
        decision = Decision(decision_id, query, tool, tier, routed_by, why_not_learnable)
        self._decisions[decision_id] = decision
        while len(self._decisions) > self.capacity:
            self._decisions.popitem(last=False)
        return decision

    def claim(self, decision_id: str, tool: str | None) -> Decision:
        """The decision feedback is about, marked as having had its feedback.

        Raises UnknownDecision for an id not kept, FeedbackRefused when feedback was given already, when the
        decision chose no learnable tool, or when `tool` is given and is not the tool the decision chose.
        """
        decision = self._decisions.get(decision_id)
        if decision is None:
            raise UnknownDecision(
                f"no decision {decision_id!r} is known; feedback must name the decision_id of one of the last "
                f"{self.capacity} /query answers"
            )
        if decision.feedback_given:
            raise FeedbackRefused(f"feedback for decision {decision_id!r} was already given; one per decision")
        if decision.tool is None:
            raise FeedbackRefused(
                f"decision {decision_id!r} chose no tool, so there is no tool choice to confirm or reject"
            )
        if decision.why_not_learnable is not None:
            raise FeedbackRefused(f"feedback for decision {decision_id!r} is not kept: {decision.why_not_learnable}")
        if tool is not None and tool != decision.tool:
            raise FeedbackRefused(
                f"decision {decision_id!r} chose {decision.tool}, not {tool}; feedback can only confirm or reject "
                "the tool the activator chose"
            )
        decision.feedback_given = True
        return decision

    def release(self, decision: Decision) -> None:
        """Allow feedback on `decision` again, after storing its feedback failed."""
        decision.feedback_given = False
