"""Tier 2: embed the request and reuse the route of the nearest trusted stored query."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from cortex.activator.arguments import extract_arguments, missing_target, without_namespace
from cortex.activator.catalog import ToolCatalog
from cortex.activator.decision import Tier, TierAnswer
from cortex.activator.embedding import EmbeddingUnavailable, MiniLMEmbedder
from cortex.activator.learning import NO_ROUTE, MemoryUnavailable, RouteHit, RouteMemory, load_utterances
from cortex.activator.settings import ActivatorSettings
from cortex.activator.thresholds import RouteThresholds, load_thresholds
from cortex.activator.tiers.base import Escalation, RouteContext, RouteRequest, TierFailed, TierOutcome


@dataclass
class SimilarityResult:
    """The tier's answer (None to escalate), the point that chose it, and why it passed if it did."""

    answer: TierAnswer | None
    vector: list[float] | None = None
    routed_by: str | None = None
    reason: str = ""
    hits: list[RouteHit] = field(default_factory=list)


class SimilarityTier:
    """Seeds the example utterances once, then answers from the nearest stored query it may trust."""

    tier = Tier.SIMILARITY
    plans = False
    changes_need_consent = False

    def __init__(
        self,
        settings: ActivatorSettings,
        catalog: ToolCatalog,
        embedder: MiniLMEmbedder,
        memory: RouteMemory,
        thresholds: RouteThresholds | None = None,
    ) -> None:
        """`thresholds`: the seed threshold per route; the fitted ones of data/thresholds.yaml by default."""
        self.settings = settings
        self.catalog = catalog
        self.embedder = embedder
        self.memory = memory
        self.thresholds = thresholds if thresholds is not None else load_thresholds()
        self.seeded = 0

    def seed(self) -> int:
        """Embed and store every example utterance whose tool the catalog offers."""
        utterances = load_utterances(self.settings.utterances_path)
        texts = [text for texts in utterances.values() for text in texts]
        vectors = [list(map(float, row)) for row in self.embedder.embed_many(texts)]
        self.memory.ensure_collections()
        self.seeded = self.memory.seed(utterances, vectors, self.catalog)
        return self.seeded

    def threshold(self, route: str) -> float:
        """The similarity a seeded utterance of `route` needs: its fitted threshold, never below the setting."""
        return max(self.thresholds.for_route(route), self.settings.seed_similarity_threshold)

    def trusted(self, hit: RouteHit) -> bool:
        s = self.settings
        if hit.source == "seed":
            # Curated examples are trusted, above their route's fitted threshold, until their record says otherwise.
            tried = hit.successes + hit.failures
            return hit.score >= self.threshold(hit.route) and (
                tried < s.min_route_successes or hit.success_rate >= s.min_route_success_rate
            )
        return (
            hit.score >= s.learned_similarity_threshold
            and hit.successes >= s.min_route_successes
            and hit.success_rate >= s.min_route_success_rate
        )

    def requires_confirmation(self, tool: str) -> bool:
        return False

    async def decide(self, request: RouteRequest, context: RouteContext) -> TierOutcome:
        """Leaves the query vector and the routes of similar stored requests in `context` for later tiers."""
        try:
            result = await asyncio.to_thread(self.answer, request.query)
        except (MemoryUnavailable, EmbeddingUnavailable) as exc:
            raise TierFailed(Escalation(str(exc), "unavailable")) from exc
        context.vector = result.vector
        context.hints = [hit.route for hit in result.hits if hit.route in self.catalog]
        kind = "failed_before" if "failed before" in result.reason else "low_confidence"
        return TierOutcome(answer=result.answer, declined=Escalation(result.reason, kind), routed_by=result.routed_by)

    def answer(self, query: str) -> SimilarityResult:
        """Raises MemoryUnavailable / EmbeddingUnavailable when its parts are down; the router escalates."""
        vector = self.embedder.embed_one(without_namespace(query))
        hits = self.memory.nearest(vector, limit=5)
        if not hits:
            return SimilarityResult(None, vector, reason="no stored queries", hits=hits)
        best = hits[0]
        trusted = [hit for hit in hits if self.trusted(hit)]
        if not trusted:
            return SimilarityResult(
                None,
                vector,
                reason=f"nearest stored query {best.score:.2f} ({best.route}, threshold "
                f"{self.threshold(best.route):.2f}) not trusted",
                hits=hits,
            )
        choice = trusted[0]
        if choice.route != best.route:
            return SimilarityResult(
                None,
                vector,
                reason=f"nearest query routes to {best.route} but the trusted one to {choice.route}",
                hits=hits,
            )
        if choice.route != NO_ROUTE:
            failed = [
                o
                for o in self.memory.similar_outcomes(vector, self.settings.learned_similarity_threshold)
                if o.tool == choice.route and not o.success
            ]
            if failed:
                return SimilarityResult(
                    None, vector, reason=f"a similar query routed to {choice.route} failed before", hits=hits
                )
        if choice.route == NO_ROUTE:
            answer = TierAnswer(
                tool=None,
                confidence=choice.score,
                refuse=True,
                reason=f"like {choice.text!r}: not an operation",
            )
            return SimilarityResult(answer, vector, choice.point_id, hits=hits)
        spec = self.catalog.get(choice.route)
        if spec is None:
            return SimilarityResult(None, vector, reason=f"route {choice.route} is not in the catalog", hits=hits)
        arguments = extract_arguments(query, spec)
        untargeted = missing_target(spec, arguments) if spec.read_only else []
        if untargeted:
            # "deployments in team-a" sits near get_deployment's examples; a read whose object the request does not
            # name is likely the wrong tool (or the request is vague): a model tier weighs it with the shortlist.
            return SimilarityResult(
                None,
                vector,
                reason=f"nearest query routes to {spec.name}, but the request names no {', '.join(untargeted)}",
                hits=hits,
            )
        answer = TierAnswer(
            tool=spec.name,
            arguments=arguments,
            confidence=choice.score,
            reason=f"similar to {choice.source} query {choice.text!r} ({choice.score:.2f})",
        )
        return SimilarityResult(answer, vector, choice.point_id, hits=hits)
