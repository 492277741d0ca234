"""Route memory in Qdrant: seeded utterances, learned routes, and the outcome of every executed route."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cortex.activator.catalog import ToolCatalog
from cortex.activator.embedding import DIMENSIONS
from cortex.activator.yaml_file import load_yaml

QUERIES = "routing_queries"
OUTCOMES = "routing_outcomes"
NO_ROUTE = "none"
# A new executed query this close to a learned one of the same route updates that route's counters instead of
# adding a point: near-duplicates ("scale web to 3", "scale web to 4" once the namespace is stripped) are one route.
SAME_QUERY = 0.95
# Bounds of the store: the most learned routes and outcomes kept; past them the least recently used go first.
MAX_LEARNED = 2000
MAX_OUTCOMES = 2000
# Evicting a tenth more than needed at once keeps the scroll over the store rare (once per 200 new routes).
EVICT_SLACK = 0.1
_NAMESPACE = uuid.UUID("6f1d8d8e-2c55-4a57-9a55-1c7b0b3e2a10")


class MemoryUnavailable(RuntimeError):
    """Qdrant could not be reached or answered with an error."""


@dataclass(frozen=True)
class RouteHit:
    """One stored query near the new one."""

    point_id: str
    score: float
    route: str
    text: str
    source: str
    successes: int
    failures: int

    @property
    def success_rate(self) -> float:
        total = self.successes + self.failures
        return self.successes / total if total else 0.0


@dataclass(frozen=True)
class OutcomeHit:
    score: float
    tool: str | None
    success: bool


def load_utterances(path: Path) -> dict[str, list[str]]:
    document = load_yaml(path) or {}
    routes = document.get("routes") or {}
    return {str(route): [str(text) for text in texts or []] for route, texts in routes.items()}


class RouteMemory:
    """The two collections; every call is serialised because local-mode Qdrant is not thread-safe.

    Bounded: at most `max_learned` learned routes (seeds are never evicted) and `max_outcomes` outcomes. A route
    that is confirmed again is "used" and its `at` moves; the oldest `at` is evicted first.
    """

    def __init__(
        self,
        url: str | None = None,
        path: Path | None = None,
        *,
        max_learned: int = MAX_LEARNED,
        max_outcomes: int = MAX_OUTCOMES,
        same_query: float = SAME_QUERY,
    ) -> None:
        if max_learned < 1 or max_outcomes < 1:
            raise ValueError("the route memory must be allowed at least one learned route and one outcome")
        self.url = url
        self.path = path
        self.max_learned = max_learned
        self.max_outcomes = max_outcomes
        self.same_query = same_query
        self.evicted = 0
        self.merged = 0
        self._counts: dict[str, int] = {}
        self._client: Any = None
        self._lock = threading.Lock()

    def _connect(self) -> Any:
        if self._client is None:
            from qdrant_client import QdrantClient

            try:
                if self.url:
                    self._client = QdrantClient(url=self.url, timeout=5, check_compatibility=False)
                elif self.path:
                    self.path.mkdir(parents=True, exist_ok=True)
                    self._client = QdrantClient(path=str(self.path), force_disable_check_same_thread=True)
                else:
                    self._client = QdrantClient(location=":memory:")
            except Exception as exc:
                raise MemoryUnavailable(f"cannot open Qdrant ({self.describe()}): {exc}") from exc
        return self._client

    def describe(self) -> str:
        return self.url or (str(self.path) if self.path else ":memory:")

    def close(self) -> None:
        with self._lock:
            self._counts.clear()
            if self._client is not None:
                try:
                    self._client.close()
                finally:
                    self._client = None

    def _call(self, action: str, fn: Any) -> Any:
        with self._lock:
            try:
                return fn(self._connect())
            except MemoryUnavailable:
                raise
            except Exception as exc:
                raise MemoryUnavailable(f"Qdrant {action} failed ({self.describe()}): {exc}") from exc

    def ensure_collections(self) -> None:
        from qdrant_client import models

        def create(client: Any) -> None:
            for name in (QUERIES, OUTCOMES):
                if not client.collection_exists(name):
                    client.create_collection(
                        name,
                        vectors_config=models.VectorParams(size=DIMENSIONS, distance=models.Distance.COSINE),
                    )

        self._call("create collections", create)

    def seed(self, utterances: dict[str, list[str]], vectors: list[list[float]], catalog: ToolCatalog) -> int:
        """Store the example utterances (ids derived from the text, so re-seeding is idempotent)."""
        from qdrant_client import models

        points = []
        flat = [(route, text) for route, texts in utterances.items() for text in texts]
        for (route, text), vector in zip(flat, vectors, strict=True):
            if route != NO_ROUTE and route not in catalog:
                continue
            points.append(
                models.PointStruct(
                    id=str(uuid.uuid5(_NAMESPACE, f"seed:{route}:{text}")),
                    vector=vector,
                    payload={"route": route, "text": text, "source": "seed", "successes": 0, "failures": 0},
                )
            )
        if points:
            self._call("seed", lambda client: client.upsert(QUERIES, points=points))
        return len(points)

    def nearest(self, vector: list[float], limit: int = 5) -> list[RouteHit]:
        response = self._call(
            "search",
            lambda client: client.query_points(QUERIES, query=vector, limit=limit, with_payload=True),
        )
        hits = []
        for point in response.points:
            payload = point.payload or {}
            hits.append(
                RouteHit(
                    point_id=str(point.id),
                    score=float(point.score),
                    route=str(payload.get("route")),
                    text=str(payload.get("text", "")),
                    source=str(payload.get("source", "learned")),
                    successes=int(payload.get("successes", 0)),
                    failures=int(payload.get("failures", 0)),
                )
            )
        return hits

    def similar_outcomes(self, vector: list[float], threshold: float, limit: int = 10) -> list[OutcomeHit]:
        response = self._call(
            "search outcomes",
            lambda client: client.query_points(
                OUTCOMES, query=vector, limit=limit, with_payload=True, score_threshold=threshold
            ),
        )
        return [
            OutcomeHit(
                score=float(p.score),
                tool=(p.payload or {}).get("tool"),
                success=bool((p.payload or {}).get("success")),
            )
            for p in response.points
        ]

    def record(
        self,
        query: str,
        vector: list[float],
        tool: str,
        success: bool,
        tier: str,
        routed_by: str | None = None,
    ) -> None:
        """Learn from one executed route: log the outcome and update (or add) the learned route.

        `routed_by` is the stored point whose similarity chose the route; its counters move too, so a seed
        that keeps routing to failures stops being reused.
        """
        from qdrant_client import models

        outcome = models.PointStruct(
            id=str(uuid.uuid4()),
            vector=vector,
            payload={"query": query, "tool": tool, "success": success, "tier": tier, "at": time.time()},
        )
        self._call("record outcome", lambda client: client.upsert(OUTCOMES, points=[outcome]))
        self._added(OUTCOMES, self.max_outcomes)
        same = next(
            (
                hit
                for hit in self.nearest(vector, limit=3)
                if hit.source == "learned" and hit.route == tool and hit.score >= self.same_query
            ),
            None,
        )
        if routed_by is not None and (same is None or same.point_id != routed_by):
            self._bump(routed_by, success)
        if same is not None:
            self.merged += 1
            self._bump(same.point_id, success)
            return
        learned = models.PointStruct(
            id=str(uuid.uuid4()),
            vector=vector,
            payload={
                "route": tool,
                "text": query,
                "source": "learned",
                "successes": 1 if success else 0,
                "failures": 0 if success else 1,
                "at": time.time(),
            },
        )
        self._call("learn route", lambda client: client.upsert(QUERIES, points=[learned]))
        self._added(QUERIES, self.max_learned)

    def _learned_filter(self, collection: str) -> Any:
        from qdrant_client import models

        if collection != QUERIES:
            return None
        return models.Filter(must=[models.FieldCondition(key="source", match=models.MatchValue(value="learned"))])

    def _added(self, collection: str, limit: int) -> None:
        """Count one new point of `collection` (learned routes only, for QUERIES); evict past `limit`."""
        if collection not in self._counts:
            where = self._learned_filter(collection)
            self._counts[collection] = int(
                self._call("count", lambda client: client.count(collection, count_filter=where, exact=True).count)
            )
        else:
            self._counts[collection] += 1
        if self._counts[collection] > limit:
            self._evict(collection, self._counts[collection] - limit + int(limit * EVICT_SLACK))

    def _evict(self, collection: str, how_many: int) -> None:
        """Delete the `how_many` points of `collection` used longest ago (seeds are never candidates)."""
        from qdrant_client import models

        where = self._learned_filter(collection)

        def oldest(client: Any) -> list[tuple[float, Any]]:
            stamped: list[tuple[float, Any]] = []
            offset = None
            while True:
                points, offset = client.scroll(
                    collection, scroll_filter=where, limit=2048, offset=offset, with_payload=["at"], with_vectors=False
                )
                stamped += [(float((p.payload or {}).get("at") or 0.0), p.id) for p in points]
                if offset is None:
                    return sorted(stamped, key=lambda item: item[0])

        victims = [point_id for _, point_id in self._call("scan for eviction", oldest)[:how_many]]
        if victims:
            self._call(
                "evict", lambda client: client.delete(collection, points_selector=models.PointIdsList(points=victims))
            )
        self.evicted += len(victims) if collection == QUERIES else 0
        self._counts[collection] -= len(victims)

    def _bump(self, point_id: str, success: bool) -> None:
        points = self._call("read route", lambda client: client.retrieve(QUERIES, ids=[point_id]))
        if not points:
            return
        payload = points[0].payload or {}
        counters: dict[str, Any] = {
            "successes": int(payload.get("successes", 0)) + (1 if success else 0),
            "failures": int(payload.get("failures", 0)) + (0 if success else 1),
        }
        if payload.get("source") == "learned":
            # A route confirmed again is in use: eviction takes the least recently used first.
            counters["at"] = time.time()
        self._call("update route", lambda client: client.set_payload(QUERIES, payload=counters, points=[point_id]))

    def count(self, collection: str) -> int:
        return int(self._call("count", lambda client: client.count(collection).count))

    def points(self, collection: str) -> list[tuple[str, dict[str, Any], list[float]]]:
        """Every point of `collection`: id, payload and the vector as stored (for exporting the seeded routes)."""

        def everything(client: Any) -> list[tuple[str, dict[str, Any], list[float]]]:
            found: list[tuple[str, dict[str, Any], list[float]]] = []
            offset = None
            while True:
                points, offset = client.scroll(
                    collection, limit=2048, offset=offset, with_payload=True, with_vectors=True
                )
                found += [(str(p.id), dict(p.payload or {}), [float(x) for x in p.vector]) for p in points]
                if offset is None:
                    return found

        result: list[tuple[str, dict[str, Any], list[float]]] = self._call("export points", everything)
        return result

    def learned_count(self) -> int:
        """Learned routes stored now (the seeds not counted)."""
        where = self._learned_filter(QUERIES)
        return int(self._call("count", lambda client: client.count(QUERIES, count_filter=where, exact=True).count))
