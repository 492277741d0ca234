"""The cascade: score the request, then ask the tiers cheapest first until one answers with confidence."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from cortex.activator.arguments import invalid_arguments, missing_required, missing_target
from cortex.activator.catalog import ToolCatalog, ToolSpec
from cortex.activator.complexity import score_request
from cortex.activator.decision import Mode, RouteDecision, Tier, TierAnswer
from cortex.activator.guards import action_verbs, injection, mass_change, says_action
from cortex.activator.metrics import ActivatorMetrics
from cortex.activator.spelling import correct_typos
from cortex.activator.tiers.base import Escalation, RouteContext, RouteRequest, RoutingTier, TierFailed, TierOutcome
from cortex.activator.tiers.classifier import ClassifierTier
from cortex.activator.tiers.keyword import KeywordTier
from cortex.activator.tiers.model_layer import ModelLayerTier
from cortex.activator.tiers.similarity import SimilarityTier
from cortex.activator.wake import LayerWaking

T = TypeVar("T")


class NamespaceLookup(Protocol):
    """Whether a namespace exists in the connected cluster: True, False, or None when that cannot be told."""

    async def exists(self, namespace: str) -> bool | None: ...


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
        # Set when a cluster is connected: a decision naming a namespace it does not have is not runnable.
        self.namespaces: NamespaceLookup | None = None

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

    def _unsaid_change(self, tier: RoutingTier, answer: TierAnswer | None, request: RouteRequest) -> Escalation | None:
        """Why a change chosen by similarity or a model is not accepted: the request never names its action.

        Keyword rules spell their verbs out; every other tier must find the tool's own verb in the request, so
        "roll back the api deployment" cannot become delete_resource because the two sentences embed alike."""
        if tier.tier is Tier.KEYWORD or answer is None or answer.refuse or answer.tool is None:
            return None
        for name in [step.tool for step in answer.plan] or [answer.tool]:
            spec = self.catalog.get(name)
            if spec is None or spec.read_only:
                continue
            if not (says_action(name, request.query) or says_action(name, request.original)):
                verbs = ", ".join(action_verbs(name)) or "no verb is listed for it"
                return Escalation(
                    f"{name} changes something and the request does not say so ({verbs})", "unsaid_change"
                )
        return None

    def _untargeted(self, tier: RoutingTier, answer: TierAnswer | None) -> Escalation | None:
        """Why a tool chosen by a model (tiers 3-4) is not accepted: the request names no object for it.

        "update everything to the new version" reached upgrade_helm_release with no release in it, "explain what a
        pod is" describe_object with no pod: a call whose object (its required name, release, pod) the request does
        not name is a guess, so it escalates (and, from the last tier, ends with no route) instead of becoming a
        decision with a missing argument. Documents (a manifest, data) are not objects: a request cannot spell
        them out. A change with an argument that cannot be right is not accepted either. Tier 2's pick without its
        object stays a decision with `missing_arguments`: it is near a seeded request for that very call."""
        if not tier.changes_need_consent or answer is None or answer.refuse or answer.tool is None:
            return None
        steps = [(step.tool, step.arguments) for step in answer.plan] or [(answer.tool, answer.arguments)]
        for name, arguments in steps:
            spec = self.catalog.get(name)
            if spec is None:
                continue
            missing = missing_target(spec, arguments)
            if missing:
                return Escalation(f"the request names no {', '.join(missing)} for {name}", "no_target")
            # A change whose arguments cannot be right ("restart pdo worker-2 in jobs" gave restart_rollout the
            # kind Job) is the wrong tool more often than a slip of one value.
            invalid = [] if spec.read_only else invalid_arguments(spec, arguments)
            if invalid:
                return Escalation(f"{name} would change something with invalid {', '.join(invalid)}", "no_target")
        return None

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
            missing_arguments=self._unusable(spec, arguments),
            escalations=escalations,
            reason=reason or (answer.reason if answer else ""),
            latency_ms=round((time.perf_counter() - request.started) * 1000, 3),
        )
        self.metrics.queries.labels(tier=name.value, outcome="routed" if tool else "no_route").inc()
        return decision

    @staticmethod
    def _unusable(spec: ToolSpec | None, arguments: dict[str, Any]) -> list[str]:
        """Required arguments not found, then arguments whose value cannot be right: either way nothing runs."""
        if spec is None:
            return []
        missing = missing_required(spec, arguments)
        return missing + [key for key in invalid_arguments(spec, arguments) if key not in missing]

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
        """The decision for `query`, its namespace checked against the cluster's when one is connected."""
        decision, context = await self._route(query, namespace)
        await self._check_namespace(decision)
        return decision, context

    async def _check_namespace(self, decision: RouteDecision) -> None:
        values = [decision.arguments.get("namespace")] + [step.arguments.get("namespace") for step in decision.plan]
        names = sorted({v for v in values if isinstance(v, str) and v})
        if self.namespaces is None or decision.tool is None or decision.layer is not None:
            return
        for name in names:
            if await self.namespaces.exists(name) is False:
                if "namespace" not in decision.missing_arguments:
                    decision.missing_arguments.append("namespace")
                decision.reason = f"namespace {name!r} does not exist in the cluster; nothing is run. {decision.reason}"

    async def _route(self, query: str, namespace: str | None = None) -> tuple[RouteDecision, RouteContext]:
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

        instructed = injection(request.original) or injection(corrected)
        if instructed is not None:
            reason = f"refused: the request tries to instruct the activator ({instructed!r}), so nothing is run"
            return self._decision(request, None, None, escalations, reason), context
        everything = mass_change(request.original) or mass_change(corrected)
        if everything is not None:
            reason = f"refused: a change to everything at once ({everything!r}) is never run; name each object"
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
            unsaid = self._unsaid_change(tier, outcome.answer, request) or self._untargeted(tier, outcome.answer)
            if unsaid is not None:
                self._escalate(tier.tier, unsaid, escalations)
                continue
            if self._accept(outcome.answer):
                context.routed_by = outcome.routed_by
                return self._decision(request, tier, outcome.answer, escalations), context
            if outcome.declined is not None:
                self._escalate(tier.tier, outcome.declined, escalations)
        if needs_plan and not any(tier.plans for tier in self.tiers):
            escalations.append("reasoning tier is not configured")
        return self._decision(request, None, None, escalations, "no tier was confident enough to act"), context
