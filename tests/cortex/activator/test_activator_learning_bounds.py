"""The learned-route store stays bounded: near-duplicates merge, the least recently used routes are evicted first,
and the seeded examples are never evicted. Real Qdrant local mode, with vectors built to known similarities."""

from __future__ import annotations

import numpy as np

from cortex.activator.catalog import ToolCatalog
from cortex.activator.embedding import DIMENSIONS
from cortex.activator.learning import OUTCOMES, QUERIES, RouteMemory


def unit(seed: int) -> list[float]:
    vector = np.random.default_rng(seed).standard_normal(DIMENSIONS)
    return [float(x) for x in vector / np.linalg.norm(vector)]


def near(vector: list[float], seed: int, cosine: float) -> list[float]:
    """A unit vector at exactly `cosine` to `vector`."""
    base = np.array(vector)
    other = np.array(unit(seed))
    other -= other.dot(base) * base
    other /= np.linalg.norm(other)
    mixed = cosine * base + np.sqrt(1 - cosine**2) * other
    return [float(x) for x in mixed]


def seeded_memory(snapshot_catalog: ToolCatalog, **bounds: int) -> RouteMemory:
    memory = RouteMemory(**bounds)  # type: ignore[arg-type]
    memory.ensure_collections()
    memory.seed({"get_pods": ["show pods"], "none": ["hello"]}, [unit(1), unit(2)], snapshot_catalog)
    return memory


def test_the_oldest_learned_routes_are_evicted_and_the_seeds_kept(snapshot_catalog: ToolCatalog) -> None:
    memory = seeded_memory(snapshot_catalog, max_learned=20, max_outcomes=25)
    try:
        for index in range(45):
            memory.record(f"request {index}", unit(100 + index), "get_pods", True, "classifier")
        learned = memory.learned_count()
        assert 0 < learned <= 20, learned
        assert memory.count(QUERIES) == learned + 2  # both seeds are still there
        assert memory.count(OUTCOMES) <= 25
        assert memory.evicted == 45 - learned
        texts = {hit.text for hit in memory.nearest(unit(100 + 44), limit=1)}
        assert texts == {"request 44"}  # the newest is kept
        oldest = memory.nearest(unit(100), limit=1)[0]
        assert oldest.text != "request 0" and oldest.score < 0.5  # the oldest is gone
    finally:
        memory.close()


def test_a_reused_route_outlives_newer_unused_ones(snapshot_catalog: ToolCatalog) -> None:
    memory = seeded_memory(snapshot_catalog, max_learned=10)
    try:
        memory.record("the first request", unit(500), "get_pods", True, "classifier")
        for index in range(9):
            memory.record(f"request {index}", unit(600 + index), "get_pods", True, "classifier")
        # Confirmed again, the first route is in use: the next eviction takes others.
        memory.record("the first request", unit(500), "get_pods", True, "similarity")
        for index in range(5):
            memory.record(f"later {index}", unit(700 + index), "get_pods", True, "classifier")
        kept = memory.nearest(unit(500), limit=1)[0]
        assert kept.text == "the first request" and kept.successes == 2, kept
    finally:
        memory.close()


def test_near_duplicates_of_one_route_merge(snapshot_catalog: ToolCatalog) -> None:
    memory = seeded_memory(snapshot_catalog)
    try:
        first = unit(900)
        memory.record("scale web to 3", first, "scale_deployment", True, "classifier")
        memory.record("scale web to 4", near(first, 901, 0.97), "scale_deployment", True, "classifier")
        assert memory.learned_count() == 1 and memory.merged == 1
        assert memory.nearest(first, limit=1)[0].successes == 2
        # Far enough apart, or routed elsewhere, it is a route of its own.
        memory.record("scale api to 2", near(first, 902, 0.90), "scale_deployment", True, "classifier")
        memory.record("scale web to 5", near(first, 903, 0.97), "get_deployment", True, "classifier")
        assert memory.learned_count() == 3
    finally:
        memory.close()
