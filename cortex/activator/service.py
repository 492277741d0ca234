"""The activator: builds the tiers from settings, routes, runs tools through k3s_mcp, learns from outcomes."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from cortex.activator.api import FeedbackRequest, QueryRequest, QueryResponse
from cortex.activator.arguments import without_namespace
from cortex.activator.catalog import ToolCatalog
from cortex.activator.consent import describe_action
from cortex.activator.decision import Mode, PlanStep, RouteDecision, Tier
from cortex.activator.decisions import DecisionLog
from cortex.activator.embedding import MiniLMEmbedder
from cortex.activator.learning import MemoryUnavailable, RouteMemory
from cortex.activator.metrics import ActivatorMetrics
from cortex.activator.namespaces import ClusterNamespaces
from cortex.activator.router import Router
from cortex.activator.seed_cache import SeededOnDemand
from cortex.activator.settings import ActivatorSettings
from cortex.activator.shortlist import ToolShortlist
from cortex.activator.tiers.base import RoutingTier
from cortex.activator.tiers.classifier import ClassifierTier
from cortex.activator.tiers.keyword import KeywordTier, load_rules
from cortex.activator.tiers.model_endpoint import ChatEndpoint
from cortex.activator.tiers.model_layer import ModelLayerTier
from cortex.activator.tiers.reasoning import ReasoningTier
from cortex.activator.tiers.similarity import SimilarityTier
from cortex.activator.wake import Layer, LayerWaker
from cortex.layers.names import CLASSIFIER_LAYER, MCP_LAYER, REASONING_LAYER
from cortex.mcp_adapter import CONFIRM_ARGUMENT, McpUnavailable

if TYPE_CHECKING:
    # Imported where they are used: a one-shot `cortex route` executes nothing and loads no MCP or layer client.
    from cortex.activator.execution import ExecutionResult, ToolExecutor
    from cortex.activator.network import CountedDispatcher
    from cortex.layers.client import LayerDispatcher
    from cortex.layers.settings import LayerClientSettings

# The API bodies are part of what callers of the activator use, so they are importable from here too.
__all__ = ["Activator", "FeedbackRequest", "QueryRequest", "QueryResponse"]

log = logging.getLogger(__name__)


class Activator:
    """One replica's state; `start()` before use, `stop()` after."""

    def __init__(
        self,
        settings: ActivatorSettings,
        *,
        execute: bool = True,
        mcp_app: Any = None,
        layers: LayerClientSettings | LayerDispatcher | None = None,
        seed_on_demand: bool = False,
    ) -> None:
        """`mcp_app` replaces the in-process `k3s_mcp.server.mcp` (for example one built for another cluster).

        `layers` says how network requests reach the execution layers: settings (default: CORTEX_LAYERS_* from
        the environment) or a ready dispatcher. Without `execute` nothing is dispatched.

        `seed_on_demand` (for one-shot `cortex route`): tier 2 is seeded when a request first reaches it, from a
        seeded collection cached on disk when no Qdrant is configured (seed_cache.py), and `start()` loads neither
        the embedding model nor Qdrant.
        """
        self.settings = settings
        self.seed_on_demand = seed_on_demand
        self.metrics = ActivatorMetrics()
        token = settings.mcp_token.get_secret_value() if settings.mcp_token else None
        self.executor: ToolExecutor | None = None
        self.dispatcher: CountedDispatcher | None = None
        if execute:
            from cortex.activator.execution import ToolExecutor
            from cortex.activator.network import CountedDispatcher
            from cortex.layers.client import LayerDispatcher
            from cortex.layers.settings import LayerClientSettings

            self.executor = ToolExecutor(
                settings.mcp_url,
                settings.tool_timeout_seconds,
                app=mcp_app,
                token=token,
                credentials=settings.mcp_credentials(),
            )
            if isinstance(layers, LayerDispatcher):
                self.dispatcher = CountedDispatcher.wrap(layers, self.metrics)
            else:
                self.dispatcher = CountedDispatcher.configured(
                    layers or LayerClientSettings(), self.metrics, settings.wake_timeout_seconds
                )
        self.embedder = MiniLMEmbedder(
            threads=settings.embedding_threads,
            variant=settings.embedding_variant,
            cache_dir=settings.model_cache_dir,
        )
        self.memory = RouteMemory(settings.qdrant_url, settings.qdrant_path)
        self.endpoints: list[ChatEndpoint] = []
        self.catalog = ToolCatalog()
        self.router: Router | None = None
        self.decisions = DecisionLog()
        self.similarity_ready = False
        self.problems: list[str] = []

    async def start(self, catalog: ToolCatalog | None = None) -> None:
        """Connect to k3s_mcp, read its tools, compile rules, seed the route memory."""
        s = self.settings
        if catalog is None and self.executor is not None:
            try:
                await self.executor.start()
                catalog = await self.executor.catalog()
            except McpUnavailable as exc:
                self.problems.append(str(exc))
                log.warning("%s; using the catalog snapshot, execution disabled", exc)
        if catalog is None:
            catalog = ToolCatalog.from_snapshot(s.catalog_snapshot_path)
        self.catalog = catalog
        keyword = KeywordTier(load_rules(s.rules_path), catalog)
        similarity: SimilarityTier | None = None
        if s.similarity_enabled and self.seed_on_demand:
            similarity = SeededOnDemand(s, catalog, self.embedder, self.memory, s.model_cache_dir / "seeded-routes")
        elif s.similarity_enabled:
            similarity = SimilarityTier(s, catalog, self.embedder, self.memory)
            try:
                await asyncio.to_thread(similarity.seed)
                self.similarity_ready = True
            except Exception as exc:
                # The router still tries tier 2 per request, so a Qdrant that comes back is used again.
                self.problems.append(f"similarity tier not seeded: {exc}")
                log.warning("similarity tier not seeded: %s", exc)
        scaler = self._scale_through_mcp if self.executor is not None else None
        waker = LayerWaker(self.metrics, scaler, s.wake_timeout_seconds, s.retry_after_seconds)
        tiers: list[RoutingTier] = [keyword]
        if similarity is not None:
            tiers.append(similarity)
        shortlist = ToolShortlist(catalog, self.embedder, s.model_tool_limit)
        if s.classifier_url:
            endpoint = ChatEndpoint(s.classifier_url, s.classifier_model, s.classifier_timeout_seconds)
            self.endpoints.append(endpoint)
            layer = Layer(CLASSIFIER_LAYER, endpoint, s.classifier_deployment, s.layers_namespace)
            classifier = ClassifierTier(endpoint, catalog, shortlist=shortlist)
            tiers.append(
                ModelLayerTier(Tier.CLASSIFIER, classifier, layer, self.metrics, waker=waker, memory=self.memory)
            )
        if s.reasoning_url:
            endpoint = ChatEndpoint(s.reasoning_url, s.reasoning_model, s.reasoning_timeout_seconds)
            self.endpoints.append(endpoint)
            layer = Layer(REASONING_LAYER, endpoint, s.reasoning_deployment, s.layers_namespace)
            reasoning = ReasoningTier(endpoint, catalog, s.reasoning_max_steps, shortlist=shortlist)
            tiers.append(
                ModelLayerTier(
                    Tier.REASONING,
                    reasoning,
                    layer,
                    self.metrics,
                    waker=waker,
                    plans=True,
                    last=True,
                    memory=self.memory,
                )
            )
        self.router = Router(catalog, tiers, self.metrics, s.confidence_threshold)
        if self.executor is not None:
            # A namespace the connected cluster lacks makes a decision not runnable (missing_arguments).
            self.router.namespaces = ClusterNamespaces(self.executor)

    async def stop(self) -> None:
        for endpoint in self.endpoints:
            await endpoint.aclose()
        if self.executor is not None:
            await self.executor.stop()
        if self.dispatcher is not None:
            await self.dispatcher.aclose()
        await asyncio.to_thread(self.memory.close)

    @property
    def ready(self) -> bool:
        return self.router is not None

    async def _scale_through_mcp(self, name: str, namespace: str, replicas: int) -> str | None:
        assert self.executor is not None
        arguments: dict[str, Any] = {"name": name, "namespace": namespace, "replicas": replicas}
        spec = self.catalog.get("scale_deployment")
        if spec is not None and "wait" in spec.parameters:
            # The waker polls the model server itself; waiting on the rollout here would only add latency.
            arguments["wait"] = False
        with self.metrics.holding(MCP_LAYER):
            result = await self.executor.call("scale_deployment", arguments)
        return None if result.ok else result.error

    async def route(self, query: str, namespace: str | None = None) -> RouteDecision:
        if self.router is None:
            raise RuntimeError("the activator is not started")
        decision, _ = await self.router.route(query, namespace)
        return decision

    async def handle(self, request: QueryRequest) -> QueryResponse:
        """Route, then run the tool (or plan) when it is safe; raise LayerWaking for a 503."""
        if self.router is None:
            raise RuntimeError("the activator is not started")
        decision, context = await self.router.route(request.query, request.namespace)
        why_not_learnable = None
        if decision.layer is not None:
            why_not_learnable = "the activator does not learn routes of network requests"
        elif decision.plan:
            why_not_learnable = "the activator does not learn routes of multi-step plans"
        decision_id = self.decisions.remember(
            request.query,
            decision.tool,
            decision.tier.value,
            routed_by=context.routed_by,
            why_not_learnable=why_not_learnable,
        ).decision_id
        if decision.layer is not None:
            from cortex.activator.network import run_network_decision

            return await run_network_decision(self.dispatcher, self.metrics, decision, request, decision_id)
        spec = self.catalog.get(decision.tool)
        steps = decision.plan or ([PlanStep(tool=spec.name, arguments=decision.arguments)] if spec else [])
        for step in steps:
            step.arguments.pop(CONFIRM_ARGUMENT, None)
            step_spec = self.catalog.get(step.tool)
            # k3s_mcp's own confirmation policy adds a `confirm` parameter; pass the user's consent through.
            if request.confirm and step_spec is not None and CONFIRM_ARGUMENT in step_spec.parameters:
                step.arguments[CONFIRM_ARGUMENT] = True
        if request.dry_run:
            for step in steps:
                step_spec = self.catalog.get(step.tool)
                if step_spec is not None and "dry_run" in step_spec.parameters:
                    step.arguments["dry_run"] = True
        status, message = self._gate(decision, request, steps)
        results: list[ExecutionResult] = []
        if status == "execute":
            assert self.executor is not None
            for step in steps:
                with self.metrics.holding(MCP_LAYER):
                    outcome = await self.executor.call(step.tool, step.arguments)
                results.append(outcome)
                if not outcome.ok:
                    break
            ok = all(r.ok for r in results) and len(results) == len(steps)
            status = "executed" if ok else "failed"
            message = "done" if ok else (results[-1].error or "tool failed")
            self.metrics.queries.labels(tier=decision.tier.value, outcome=status).inc()
            await self._learn(request.query, decision, context.vector, context.routed_by, ok)
        result: Any = None
        if results:
            result = results[0].to_json() if len(results) == 1 else [r.to_json() for r in results]
        if steps:
            decision.arguments = steps[0].arguments
        return QueryResponse(
            decision_id=decision_id,
            tier=decision.tier.value,
            tool=decision.tool,
            arguments=decision.arguments,
            confidence=decision.confidence,
            complexity=decision.complexity,
            mode=decision.mode,
            requires_confirmation=decision.requires_confirmation,
            executed=bool(results),
            status=status,
            message=message,
            plan=decision.plan,
            missing_arguments=decision.missing_arguments,
            escalations=decision.escalations,
            result=result,
            latency_ms=decision.latency_ms,
        )

    def _gate(self, decision: RouteDecision, request: QueryRequest, steps: list[PlanStep]) -> tuple[str, str]:
        """Why a decision is not executed, or ("execute", "")."""
        if decision.mode is Mode.EXPERT:
            return "escalated_to_human", decision.reason
        if decision.tool is None:
            return "no_route", decision.reason or "no tool fits this request"
        if decision.missing_arguments:
            return (
                "missing_arguments",
                f"{decision.tool} needs {', '.join(decision.missing_arguments)}; name them in the request",
            )
        destructive = [s.tool for s in steps if (spec := self.catalog.get(s.tool)) and spec.needs_confirmation]
        if (destructive or decision.requires_confirmation) and not request.confirm:
            # Name each waiting call exactly, so the consent is given to that action and not to a tool name.
            waiting = [s for s in steps if s.tool in destructive] or [
                s for s in steps if (spec := self.catalog.get(s.tool)) is None or not spec.read_only
            ]
            actions = "; ".join(describe_action(s.tool, s.arguments) for s in waiting or steps)
            why = "destructive" if destructive else f"a change chosen by the {decision.tier.value} model"
            return "needs_confirmation", f"{actions} ({why}): send the request again with confirm=true to run it"
        if request.dry_run:
            unsafe = [
                s.tool
                for s in steps
                if (spec := self.catalog.get(s.tool)) is not None
                and not spec.read_only
                and "dry_run" not in spec.parameters
            ]
            if unsafe:
                return "dry_run", f"dry run: {', '.join(unsafe)} cannot dry-run, so nothing was run"
        if not request.execute:
            return "routed", "not executed (execute=false)"
        if self.executor is None or not self.executor.connected:
            why = f" ({'; '.join(self.problems)})" if self.problems else ""
            return "routed", f"execution is not available{why}; the decision is shown only"
        return "execute", ""

    async def _learn(
        self, query: str, decision: RouteDecision, vector: list[float] | None, routed_by: str | None, ok: bool
    ) -> None:
        if not self.similarity_ready or decision.tool is None or decision.plan:
            return
        try:
            vec = vector
            if vec is None:
                vec = await asyncio.to_thread(self.embedder.embed_one, without_namespace(query))
            await asyncio.to_thread(self.memory.record, query, vec, decision.tool, ok, decision.tier.value, routed_by)
        except MemoryUnavailable as exc:
            log.warning("could not record the outcome: %s", exc)

    async def feedback(self, request: FeedbackRequest) -> dict[str, Any]:
        """Confirm or reject the tool of one recent decision, once.

        Raises UnknownDecision (nothing is changed), FeedbackRefused (a second feedback, a decision without a
        learnable tool, or `tool` naming another tool than the decision chose) or MemoryUnavailable.
        """
        if not self.similarity_ready:
            raise MemoryUnavailable("route memory is not available, so feedback cannot be stored")
        # Claimed before the first await, so two concurrent feedbacks for one decision cannot both count.
        decision = self.decisions.claim(request.decision_id, request.tool)
        assert decision.tool is not None
        try:
            vector = await asyncio.to_thread(self.embedder.embed_one, without_namespace(decision.query))
            await asyncio.to_thread(
                self.memory.record,
                decision.query,
                vector,
                decision.tool,
                request.success,
                "feedback",
                decision.routed_by,
            )
        except Exception:
            self.decisions.release(decision)
            raise
        return {
            "recorded": True,
            "decision_id": decision.decision_id,
            "tool": decision.tool,
            "success": request.success,
        }
