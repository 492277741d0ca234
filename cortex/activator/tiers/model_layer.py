"""Tiers 3 and 4 as the router runs them: the model's layer counted and woken, its failures turned into escalations."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from cortex.activator.decision import Tier, TierAnswer
from cortex.activator.learning import MemoryUnavailable, RouteHit, RouteMemory
from cortex.activator.metrics import ActivatorMetrics
from cortex.activator.tiers.base import Escalation, RouteContext, RouteRequest, TierFailed, TierOutcome
from cortex.activator.tiers.model_endpoint import ModelOutputError, ModelTimeout, ModelUnavailable
from cortex.activator.wake import Layer, LayerWaker


class ModelAnswers(Protocol):
    """A model tier (ClassifierTier, ReasoningTier): the tools a request asks for, as the model reads it."""

    async def answer(self, query: str, hints: Sequence[str] = (), nearest: Sequence[RouteHit] = ()) -> TierAnswer: ...


class ModelLayerTier:
    """Runs one model tier while its layer's pending-requests gauge is raised (KEDA wakes the layer on it).

    A sleeping layer is woken first when a waker is given (LayerWaking propagates, for a 503). A timeout, an
    outage or an answer that does not parse is an escalation; nothing runs on it.
    """

    plans: bool
    changes_need_consent = True

    def __init__(
        self,
        tier: Tier,
        model: ModelAnswers,
        layer: Layer,
        metrics: ActivatorMetrics,
        *,
        waker: LayerWaker | None = None,
        plans: bool = False,
        last: bool = False,
        memory: RouteMemory | None = None,
    ) -> None:
        """`plans`: the tier makes multi-step plans, so it also runs for requests that need one. `last`: no tier
        follows it, so an answer it gives below the confidence threshold is not recorded as an escalation.
        `memory`: tier 2's store, whose requests nearest this one (small talk included) are the evidence a model's
        pick is weighed on (grounding.py)."""
        self.tier = tier
        self.model = model
        self.layer = layer
        self.metrics = metrics
        self.waker = waker
        self.plans = plans
        self.last = last
        self.memory = memory

    async def nearest(self, context: RouteContext) -> list[RouteHit]:
        """Tier 2's stored requests nearest this one; none when tier 2 did not embed it or its store is down."""
        if self.memory is None or context.vector is None:
            return []
        try:
            return await asyncio.to_thread(self.memory.nearest, context.vector, 5)
        except MemoryUnavailable:
            return []

    def requires_confirmation(self, tool: str) -> bool:
        return False

    async def decide(self, request: RouteRequest, context: RouteContext) -> TierOutcome:
        try:
            with self.metrics.holding(self.layer.name):
                if self.waker is not None:
                    await self.waker.ensure_awake(self.layer)
                nearest = await self.nearest(context)
                answer = await self.model.answer(request.query, context.hints, nearest)
        except ModelTimeout as exc:
            raise TierFailed(Escalation(str(exc), "timeout")) from exc
        except ModelUnavailable as exc:
            raise TierFailed(Escalation(str(exc), "unavailable")) from exc
        except ModelOutputError as exc:
            raise TierFailed(Escalation(f"unusable model output: {exc}", "malformed")) from exc
        declined = None if self.last else Escalation(f"confidence {answer.confidence:.2f} too low", "low_confidence")
        return TierOutcome(answer=answer, declined=declined)
