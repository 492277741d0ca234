"""Route memory in Qdrant: seeded utterances, learned routes, and the outcome of every executed route."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cortex.activator.catalog import ToolCatalog
from cortex.activator.embedding import DIMENSIONS

QUERIES = "routing_queries"
OUTCOMES = "routing_outcomes"
NO_ROUTE = "none"
# A new executed query this close to a learned one updates that route's counters instead of adding a point.
SAME_QUERY = 0.985
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
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    routes = document.get("routes") or {}
    return {str(route): [str(text) for text in texts or []] for route, texts in routes.items()}


class RouteMemory:
    """The two collections; every call is serialised because local-mode Qdrant is not thread-safe."""

    def __init__(self, url: str | None = None, path: Path | None = None) -> None:
        self.url = url
        self.path = path
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
        same = next(
            (
                hit
                for hit in self.nearest(vector, limit=3)
                if hit.source == "learned" and hit.route == tool and hit.score >= SAME_QUERY
            ),
            None,
        )
        if routed_by is not None and (same is None or same.point_id != routed_by):
            self._bump(routed_by, success)
        if same is not None:
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
            },
        )
        self._call("learn route", lambda client: client.upsert(QUERIES, points=[learned]))

    def _bump(self, point_id: str, success: bool) -> None:
        points = self._call("read route", lambda client: client.retrieve(QUERIES, ids=[point_id]))
        if not points:
            return
        payload = points[0].payload or {}
        counters = {
            "successes": int(payload.get("successes", 0)) + (1 if success else 0),
            "failures": int(payload.get("failures", 0)) + (0 if success else 1),
        }
        self._call("update route", lambda client: client.set_payload(QUERIES, payload=counters, points=[point_id]))

    def count(self, collection: str) -> int:
        return int(self._call("count", lambda client: client.count(collection).count))
