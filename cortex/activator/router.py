"""The cascade: score the request, then ask the tiers cheapest first until one answers with confidence."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TypeVar

from cortex.activator.arguments import missing_required
from cortex.activator.catalog import ToolCatalog
from cortex.activator.complexity import score_request
from cortex.activator.decision import Mode, RouteDecision, Tier, TierAnswer
from cortex.activator.metrics import ActivatorMetrics
from cortex.activator.spelling import correct_typos
from cortex.activator.tiers.base import Escalation, RouteContext, RouteRequest, RoutingTier, TierFailed, TierOutcome
from cortex.activator.tiers.classifier import ClassifierTier
from cortex.activator.tiers.keyword import KeywordTier
from cortex.activator.tiers.model_layer import ModelLayerTier
from cortex.activator.tiers.similarity import SimilarityTier
from cortex.activator.wake import LayerWaking

T = TypeVar("T")


class Router:
    """Runs the configured tiers in order; a tier that is turned off or not configured is simply not among them."""

    def __init__(
        self,
        catalog: ToolCatalog,
        tiers: Sequence[RoutingTier],
        metrics: ActivatorMetrics,
        confidence_threshold: float,
    ) -> None:
        self.catalog = catalog
        self.tiers = list(tiers)
        self.metrics = metrics
        self.confidence_threshold = confidence_threshold

    def _find(self, kind: type[T]) -> T | None:
        return next((tier for tier in self.tiers if isinstance(tier, kind)), None)

    @property
    def keyword(self) -> KeywordTier:
        keyword = self._find(KeywordTier)
        if keyword is None:
            raise LookupError("the router has no keyword tier")
        return keyword

    @property
    def similarity(self) -> SimilarityTier | None:
        return self._find(SimilarityTier)

    @property
    def classifier(self) -> ClassifierTier | None:
        """Tier 3's model, when it is configured."""
        return next(
            (t.model for t in self.tiers if isinstance(t, ModelLayerTier) and isinstance(t.model, ClassifierTier)),
            None,
        )

    def _escalate(self, tier: Tier, escalation: Escalation, escalations: list[str]) -> None:
        escalations.append(f"{tier.value}: {escalation.reason}")
        self.metrics.escalations.labels(tier=tier.value, reason=escalation.kind).inc()

    def _needs_confirmation(self, tier: RoutingTier | None, answer: TierAnswer | None) -> bool:
        """Destructive tools always; any change a model chose (tiers 3-4) too, since models misroute."""
        if answer is None or answer.refuse or answer.tool is None:
            return False
        tools = [step.tool for step in answer.plan] or [answer.tool]
        for name in tools:
            spec = self.catalog.get(name)
            if spec is None:
                continue
            if spec.needs_confirmation or any(t.requires_confirmation(name) for t in self.tiers):
                return True
            if tier is not None and tier.changes_need_consent and not spec.read_only:
                return True
        return False

    def _accept(self, answer: TierAnswer | None) -> bool:
        if answer is None:
            return False
        if answer.refuse:
            return answer.confidence >= self.confidence_threshold
        return answer.tool in self.catalog and answer.confidence >= self.confidence_threshold

    def _decision(
        self,
        request: RouteRequest,
        tier: RoutingTier | None,
        answer: TierAnswer | None,
        escalations: list[str],
        reason: str = "",
    ) -> RouteDecision:
        tool = answer.tool if answer and not answer.refuse else None
        arguments = dict(answer.arguments) if answer and tool else {}
        spec = self.catalog.get(tool)
        namespace = request.namespace
        if spec is not None and namespace and "namespace" in spec.parameters and "namespace" not in arguments:
            arguments["namespace"] = namespace
        name = tier.tier if tier is not None else Tier.NONE
        decision = RouteDecision(
            query=request.original,
            tier=name,
            tool=tool,
            arguments=arguments,
            confidence=round(answer.confidence, 4) if answer else 0.0,
            complexity=request.complexity.score,
            mode=request.complexity.mode,
            requires_confirmation=self._needs_confirmation(tier, answer),
            plan=answer.plan if answer else [],
            missing_arguments=missing_required(spec, arguments) if spec else [],
            escalations=escalations,
            reason=reason or (answer.reason if answer else ""),
            latency_ms=round((time.perf_counter() - request.started) * 1000, 3),
        )
        self.metrics.queries.labels(tier=name.value, outcome="routed" if tool else "no_route").inc()
        return decision

    async def _run(
        self, tier: RoutingTier, request: RouteRequest, context: RouteContext, escalations: list[str]
    ) -> TierOutcome | None:
        """The tier's outcome, timed; None when it failed (escalated). A request refused as malformed is not timed."""
        started = time.perf_counter()
        outcome: TierOutcome | None = None
        try:
            outcome = await tier.decide(request, context)
        except TierFailed as failed:
            self._escalate(tier.tier, failed.escalation, escalations)
        except LayerWaking:
            # The request waited on the tier's layer: that time was the tier's.
            self.metrics.latency.labels(tier=tier.tier.value).observe(time.perf_counter() - started)
            raise
        self.metrics.latency.labels(tier=tier.tier.value).observe(time.perf_counter() - started)
        return outcome

    async def route(self, query: str, namespace: str | None = None) -> tuple[RouteDecision, RouteContext]:
        started = time.perf_counter()
        corrected = correct_typos(query)
        request = RouteRequest(corrected, query, namespace, score_request(corrected), started)
        complexity = request.complexity
        escalations: list[str] = []
        context = RouteContext()
        if not corrected.strip():
            return self._decision(request, None, None, escalations, "empty request"), context
        if complexity.mode is Mode.EXPERT:
            reason = f"EXPERT request ({', '.join(complexity.signals)}): escalated to a human, never executed"
            return self._decision(request, None, None, escalations, reason), context

        # Diagnosis and multi-step requests need a plan, which only the reasoning tier makes.
        needs_plan = complexity.mode is Mode.COMPLEX
        if needs_plan:
            escalations.append(f"tiers 1-3 skipped: {complexity.mode.value} request needs a plan")
        for tier in self.tiers:
            if needs_plan and not tier.plans:
                continue
            outcome = await self._run(tier, request, context, escalations)
            if outcome is None:
                continue
            if outcome.decision is not None:
                self.metrics.queries.labels(tier=tier.tier.value, outcome="routed").inc()
                return outcome.decision, context
            if self._accept(outcome.answer):
                context.routed_by = outcome.routed_by
                return self._decision(request, tier, outcome.answer, escalations), context
            if outcome.declined is not None:
                self._escalate(tier.tier, outcome.declined, escalations)
        if needs_plan and not any(tier.plans for tier in self.tiers):
            escalations.append("reasoning tier is not configured")
        return self._decision(request, None, None, escalations, "no tier was confident enough to act"), context
