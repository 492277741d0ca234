"""Fit tier 2's per-route similarity thresholds on the train part of the labelled set: python -m cortex.activator.fit

Like semantic-router's `fit`: every train request that reaches tier 2 (no keyword rule answered it, it is not
refused or left to a plan first) is embedded, and its nearest seeded utterance names a route and a score. For
each route, the threshold kept is the one that scores best on the requests whose nearest utterance is that
route: right when a request of that route is at or above it, and when a request of any other route, or one
that must not be routed, is below it (escalated instead of misrouted). Of equally good thresholds the lowest
is kept, so a route keeps the requests its utterances were written for. A change the request does not name
(guards.py) never counts as routed, as in the router. Routes no train request reached get the threshold fitted
the same way over all of them.

The held-out part is never read here.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from cortex.activator.arguments import without_namespace
from cortex.activator.catalog import ToolCatalog
from cortex.activator.decision import Tier
from cortex.activator.evaluation import LabelledRequest, digest, load_labelled, route_or_refuse
from cortex.activator.guards import says_action
from cortex.activator.learning import NO_ROUTE
from cortex.activator.settings import ActivatorSettings
from cortex.activator.thresholds import THRESHOLDS_PATH, RouteThresholds, write_thresholds
from cortex.activator.tiers.similarity import SimilarityTier

# Thresholds tried, 0.01 apart; tier 2 never goes below the CORTEX_SEED_SIMILARITY_THRESHOLD floor anyway.
GRID_TOP = 0.95
# A threshold above every score means "never route from here".
NEVER = 1.0


@dataclass(frozen=True)
class Sample:
    """One train request tier 2 saw: its nearest route and score, and the route it should have taken."""

    route: str
    score: float
    expected: str


def _expected(item: LabelledRequest) -> str:
    return item.tool or NO_ROUTE


def best_threshold(samples: list[Sample], route: str | None, floor: float) -> tuple[float, int]:
    """The threshold (and how many samples it gets right) for samples nearest `route` (None: all samples)."""
    grid = [round(floor + i / 100, 2) for i in range(round((GRID_TOP - floor) * 100) + 1)] + [NEVER]
    best, best_right = NEVER, -1
    for threshold in grid:
        right = 0
        for sample in samples:
            routed = sample.score >= threshold
            target = sample.route if route is None else route
            right += (sample.expected == target) if routed else (sample.expected != target)
        if right > best_right:
            best, best_right = threshold, right
    return best, best_right


async def collect(split: str = "train") -> tuple[list[Sample], ToolCatalog, str]:
    """The tier-2 samples of `split`, the catalog, and the split's digest."""
    from cortex.activator.service import Activator

    settings = ActivatorSettings(
        mcp_url=None, qdrant_url=None, qdrant_path=None, classifier_url=None, reasoning_url=None
    )
    catalog = ToolCatalog.from_snapshot(settings.catalog_snapshot_path)
    # Tier 2 that trusts nothing: every request it sees escalates, so the cascade shows which ones reach it.
    closed = RouteThresholds(default=NEVER)
    activator = Activator(settings, execute=False)
    await activator.start(catalog)
    items = load_labelled(split=split)
    samples: list[Sample] = []
    try:
        assert activator.router is not None
        similarity = activator.router.similarity
        if similarity is None:
            raise RuntimeError("tier 2 is turned off (CORTEX_SIMILARITY_ENABLED); there is nothing to fit")
        open_thresholds = similarity.thresholds
        similarity.thresholds = closed
        for item in items:
            decision = await route_or_refuse(activator, item.query)
            if decision.tier is not Tier.NONE or not any(e.startswith("similarity:") for e in decision.escalations):
                continue
            hits = await asyncio.to_thread(_nearest, similarity, item.query)
            if not hits:
                continue
            route, score = hits
            spec = catalog.get(route)
            if spec is not None and not spec.read_only and not says_action(route, item.query):
                continue
            samples.append(Sample(route, score, _expected(item)))
        similarity.thresholds = open_thresholds
    finally:
        await activator.stop()
    return samples, catalog, digest(items)


def _nearest(similarity: SimilarityTier, query: str) -> tuple[str, float] | None:
    hits = similarity.memory.nearest(similarity.embedder.embed_one(without_namespace(query)), limit=1)
    return (hits[0].route, hits[0].score) if hits else None


def fit(samples: list[Sample], floor: float, train_digest: str, today: datetime.date) -> RouteThresholds:
    default, _ = best_threshold(samples, None, floor)
    by_route: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_route[sample.route].append(sample)
    routes = {route: best_threshold(group, route, floor)[0] for route, group in sorted(by_route.items())}
    return RouteThresholds(default=default, routes=routes, fitted=today.isoformat(), train_digest=train_digest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cortex.activator.fit", description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=THRESHOLDS_PATH, help="thresholds file to write")
    args = parser.parse_args(argv)
    samples, _, train_digest = asyncio.run(collect("train"))
    floor = ActivatorSettings().seed_similarity_threshold
    thresholds = fit(samples, floor, train_digest, datetime.datetime.now(datetime.UTC).date())
    write_thresholds(thresholds, args.output)
    print(f"{len(samples)} train requests reached tier 2; {len(thresholds.routes)} routes fitted -> {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
