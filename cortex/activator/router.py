"""The cascade: score the request, then ask the tiers cheapest first until one answers with confidence."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from cortex.activator.arguments import missing_required
from cortex.activator.catalog import ToolCatalog
from cortex.activator.complexity import score_request
from cortex.activator.decision import Mode, RouteDecision, Tier, TierAnswer
from cortex.activator.embedding import EmbeddingUnavailable
from cortex.activator.learning import MemoryUnavailable
from cortex.activator.metrics import ActivatorMetrics
from cortex.activator.spelling import correct_typos
from cortex.activator.tiers.classifier import ClassifierTier
from cortex.activator.tiers.keyword import KeywordTier
from cortex.activator.tiers.model_endpoint import ModelOutputError, ModelTimeout, ModelUnavailable
from cortex.activator.tiers.reasoning import ReasoningTier
from cortex.activator.tiers.similarity import SimilarityTier
from cortex.activator.tiers.unifi_rules import UnifiMatch, match_unifi_request
from cortex.activator.wake import Layer, LayerWaker
from cortex.layers.names import CLASSIFIER_LAYER, REASONING_LAYER

# The layer each model tier waits on, for the pending-requests gauge KEDA wakes the layer by.
TIER_LAYERS = {Tier.CLASSIFIER: CLASSIFIER_LAYER, Tier.REASONING: REASONING_LAYER}


@dataclass
class RouteContext:
    """What learning needs after execution: the query vector and the stored point that chose the route."""

    vector: list[float] | None = None
    routed_by: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Router:
    """Owns the tiers; each may be absent (turned off or not configured) and is then skipped."""

    def __init__(
        self,
        catalog: ToolCatalog,
        keyword: KeywordTier,
        metrics: ActivatorMetrics,
        confidence_threshold: float,
        similarity: SimilarityTier | None = None,
        classifier: ClassifierTier | None = None,
        classifier_layer: Layer | None = None,
        reasoning: ReasoningTier | None = None,
        reasoning_layer: Layer | None = None,
        waker: LayerWaker | None = None,
    ) -> None:
        self.catalog = catalog
        self.keyword = keyword
        self.metrics = metrics
        self.confidence_threshold = confidence_threshold
        self.similarity = similarity
        self.classifier = classifier
        self.classifier_layer = classifier_layer
        self.reasoning = reasoning
        self.reasoning_layer = reasoning_layer
        self.waker = waker

    @staticmethod
    def _layer_decision(query: str, match: UnifiMatch, complexity: int, mode: Mode, started: float) -> RouteDecision:
        return RouteDecision(
            query=query,
            tier=Tier.KEYWORD,
            layer=match.call.layer,
            tool=match.call.action,
            arguments=dict(match.call.params),
            confidence=1.0,
            complexity=complexity,
            mode=mode,
            requires_confirmation=match.requires_confirmation,
            reason=f"network rule {match.route}",
            route=match.route,
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
        )

    def _escalate(self, tier: Tier, reason: str, escalations: list[str], kind: str) -> None:
        escalations.append(f"{tier.value}: {reason}")
        self.metrics.escalations.labels(tier=tier.value, reason=kind).inc()

    def _needs_confirmation(self, tier: Tier, answer: TierAnswer | None) -> bool:
        """Destructive tools always; any change a model chose (tiers 3-4) too, since models misroute."""
        if answer is None or answer.refuse or answer.tool is None:
            return False
        tools = [step.tool for step in answer.plan] or [answer.tool]
        for name in tools:
            spec = self.catalog.get(name)
            if spec is None:
                continue
            if spec.needs_confirmation or self.keyword.requires_confirmation(name):
                return True
            if tier in (Tier.CLASSIFIER, Tier.REASONING) and not spec.read_only:
                return True
        return False

    def _accept(self, answer: TierAnswer | None) -> bool:
        if answer is None:
            return False
        if answer.refuse:
            return answer.confidence >= self.confidence_threshold
        return answer.tool in self.catalog and answer.confidence >= self.confidence_threshold

    async def _model_tier(
        self,
        tier: Tier,
        runner: ClassifierTier | ReasoningTier,
        layer: Layer | None,
        query: str,
        escalations: list[str],
        hints: list[str],
    ) -> TierAnswer | None:
        """Run a model tier; a timeout, outage or malformed answer escalates. LayerWaking propagates (503)."""
        started = time.perf_counter()
        try:
            with self.metrics.holding(layer.name if layer is not None else TIER_LAYERS[tier]):
                if layer is not None and self.waker is not None:
                    await self.waker.ensure_awake(layer)
                return await runner.answer(query, hints)
        except ModelTimeout as exc:
            self._escalate(tier, str(exc), escalations, "timeout")
        except ModelUnavailable as exc:
            self._escalate(tier, str(exc), escalations, "unavailable")
        except ModelOutputError as exc:
            self._escalate(tier, f"unusable model output: {exc}", escalations, "malformed")
        finally:
            self.metrics.latency.labels(tier=tier.value).observe(time.perf_counter() - started)
        return None

    async def route(self, query: str, namespace: str | None = None) -> tuple[RouteDecision, RouteContext]:
        started = time.perf_counter()
        original, query = query, correct_typos(query)
        complexity = score_request(query)
        escalations: list[str] = []
        context = RouteContext()
        # Tools that similar stored requests went to: the model tiers are offered these first.
        hints: list[str] = []

        def decide(tier: Tier, answer: TierAnswer | None, reason: str = "") -> RouteDecision:
            tool = answer.tool if answer and not answer.refuse else None
            arguments = dict(answer.arguments) if answer and tool else {}
            spec = self.catalog.get(tool)
            if spec is not None and namespace and "namespace" in spec.parameters and "namespace" not in arguments:
                arguments["namespace"] = namespace
            decision = RouteDecision(
                query=original,
                tier=tier,
                tool=tool,
                arguments=arguments,
                confidence=round(answer.confidence, 4) if answer else 0.0,
                complexity=complexity.score,
                mode=complexity.mode,
                requires_confirmation=self._needs_confirmation(tier, answer),
                plan=answer.plan if answer else [],
                missing_arguments=missing_required(spec, arguments) if spec else [],
                escalations=escalations,
                reason=reason or (answer.reason if answer else ""),
                latency_ms=round((time.perf_counter() - started) * 1000, 3),
            )
            self.metrics.queries.labels(tier=tier.value, outcome="routed" if tool else "no_route").inc()
            return decision

        if not query.strip():
            return decide(Tier.NONE, None, "empty request"), context
        if complexity.mode is Mode.EXPERT:
            reason = f"EXPERT request ({', '.join(complexity.signals)}): escalated to a human, never executed"
            return decide(Tier.NONE, None, reason), context

        # Diagnosis and multi-step requests need a plan, which only the reasoning tier makes.
        needs_plan = complexity.mode is Mode.COMPLEX
        if needs_plan:
            escalations.append(f"tiers 1-3 skipped: {complexity.mode.value} request needs a plan")
        else:
            tick = time.perf_counter()
            # Network requests go to the UniFi layers, not to k3s_mcp; a bad or missing MAC raises
            # UnifiRequestError, which the caller answers as a bad request.
            unifi = match_unifi_request(query)
            if unifi is not None:
                self.metrics.latency.labels(tier=Tier.KEYWORD.value).observe(time.perf_counter() - tick)
                self.metrics.queries.labels(tier=Tier.KEYWORD.value, outcome="routed").inc()
                return self._layer_decision(original, unifi, complexity.score, complexity.mode, started), context
            answer = self.keyword.answer(query)
            self.metrics.latency.labels(tier=Tier.KEYWORD.value).observe(time.perf_counter() - tick)
            if self._accept(answer):
                return decide(Tier.KEYWORD, answer), context
            self._escalate(Tier.KEYWORD, "no rule matched", escalations, "no_match")

            if self.similarity is not None:
                tick = time.perf_counter()
                try:
                    result = await asyncio.to_thread(self.similarity.answer, query)
                except (MemoryUnavailable, EmbeddingUnavailable) as exc:
                    self._escalate(Tier.SIMILARITY, str(exc), escalations, "unavailable")
                else:
                    context.vector = result.vector
                    hints = [hit.route for hit in result.hits if hit.route in self.catalog]
                    if self._accept(result.answer):
                        context.routed_by = result.routed_by
                        self.metrics.latency.labels(tier=Tier.SIMILARITY.value).observe(time.perf_counter() - tick)
                        return decide(Tier.SIMILARITY, result.answer), context
                    kind = "failed_before" if "failed before" in result.reason else "low_confidence"
                    self._escalate(Tier.SIMILARITY, result.reason, escalations, kind)
                self.metrics.latency.labels(tier=Tier.SIMILARITY.value).observe(time.perf_counter() - tick)

            if self.classifier is not None:
                answer = await self._model_tier(
                    Tier.CLASSIFIER, self.classifier, self.classifier_layer, query, escalations, hints
                )
                if self._accept(answer):
                    return decide(Tier.CLASSIFIER, answer), context
                if answer is not None:
                    self._escalate(
                        Tier.CLASSIFIER,
                        f"confidence {answer.confidence:.2f} too low",
                        escalations,
                        "low_confidence",
                    )

        if self.reasoning is not None:
            answer = await self._model_tier(
                Tier.REASONING, self.reasoning, self.reasoning_layer, query, escalations, hints
            )
            if self._accept(answer):
                return decide(Tier.REASONING, answer), context
        elif needs_plan:
            escalations.append("reasoning tier is not configured")
        return decide(Tier.NONE, None, "no tier was confident enough to act"), context
