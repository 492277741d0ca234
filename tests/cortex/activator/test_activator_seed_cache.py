"""`cortex route` from a cold process: tier 2 is seeded only when a request reaches it, from a collection cached on
disk under a digest of what it is made of, and answers from the snapshot exported from that collection. Real MiniLM,
real Qdrant local mode."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from cortex.activator.catalog import ToolCatalog
from cortex.activator.decision import Tier
from cortex.activator.embedding import MiniLMEmbedder
from cortex.activator.learning import QUERIES, MemoryUnavailable, RouteMemory, load_utterances
from cortex.activator.seed_cache import VECTORS, SeededOnDemand, SeedSnapshot, SnapshotMemory, seed_digest
from cortex.activator.service import Activator
from cortex.activator.settings import ActivatorSettings
from tests.cortex.activator.conftest import SettingsFactory, running

SIMILAR = "how much memory are the pods eating in payments"


def seeding_on_demand(settings: ActivatorSettings, catalog: ToolCatalog) -> AbstractAsyncContextManager[Activator]:
    """A started offline activator that seeds tier 2 only when a request reaches it, as `cortex route` does."""
    return running(settings, catalog, seed_on_demand=True)


@asynccontextmanager
async def second_while_another_holds_the_collection(
    settings: ActivatorSettings, catalog: ToolCatalog, *, drop_snapshot: bool
) -> AsyncIterator[Activator]:
    """Seed the cached collection with one activator, hold its local-mode lock, and start a second one."""
    async with seeding_on_demand(settings, catalog) as first:
        await first.route(SIMILAR)
        assert first.memory.path is not None
        if drop_snapshot:
            (first.memory.path / VECTORS).unlink()
        holder = RouteMemory(path=first.memory.path)
        first.memory.close()
        holder.count(QUERIES)  # holds the local-mode lock
        try:
            async with seeding_on_demand(settings, catalog) as second:
                yield second
        finally:
            holder.close()


async def test_the_seeded_collection_is_built_once_then_read_from_disk(
    tmp_path: Path, snapshot_catalog: ToolCatalog, make_settings: SettingsFactory
) -> None:
    settings = make_settings(model_cache_dir=tmp_path)
    seen: list[tuple[bool, int, str | None]] = []
    for _ in range(2):
        async with seeding_on_demand(settings, snapshot_catalog) as activator:
            assert activator.router is not None
            tier = activator.router.similarity
            assert isinstance(tier, SeededOnDemand) and not activator.embedder.loaded
            decision = await activator.route(SIMILAR)
            assert decision.tier is Tier.SIMILARITY and decision.tool == "top_pods", decision
            # Both times the lookups come from the snapshot; the collection (the activator's memory) holds the same.
            assert isinstance(tier.memory, SnapshotMemory) and tier.memory.snapshot is not None
            assert len(tier.memory.snapshot) == tier.seeded
            seen.append((tier.from_cache, activator.memory.count(QUERIES), decision.reason))
    (built, count, reason), (cached, cached_count, cached_reason) = seen
    assert not built and cached, seen
    assert count == cached_count > 100 and reason == cached_reason
    assert [p.name for p in (tmp_path / "seeded-routes").iterdir()] == [
        f"routes-{seed_digest(settings.utterances_path, snapshot_catalog, MiniLMEmbedder())}"
    ]


def test_the_digest_changes_with_the_utterances_and_the_catalog(tmp_path: Path, snapshot_catalog: ToolCatalog) -> None:
    embedder = MiniLMEmbedder()
    packaged = Path(__file__).parents[3] / "cortex" / "activator" / "data" / "utterances.yaml"
    copy = tmp_path / "utterances.yaml"
    shutil.copy(packaged, copy)
    digest = seed_digest(copy, snapshot_catalog, embedder)
    assert seed_digest(packaged, snapshot_catalog, embedder) == digest
    copy.write_text(packaged.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert seed_digest(copy, snapshot_catalog, embedder) != digest
    smaller = ToolCatalog.of(list(snapshot_catalog)[1:], "smaller")
    assert seed_digest(packaged, smaller, embedder) != digest


async def test_the_snapshot_answers_as_the_qdrant_collection_it_was_exported_from(
    tmp_path: Path, snapshot_catalog: ToolCatalog, make_settings: SettingsFactory
) -> None:
    settings = make_settings(model_cache_dir=tmp_path)
    async with seeding_on_demand(settings, snapshot_catalog) as activator:
        await activator.route(SIMILAR)
        assert activator.memory.path is not None
        snapshot = SeedSnapshot.read(activator.memory.path)
        queries = [text.upper() for texts in load_utterances(settings.utterances_path).values() for text in texts[:2]]
        queries += ["tell me a joke", "which pods are failing in kube-system", "delete everything now"]
        vectors = activator.embedder.embed_many(queries)
        compared = 0
        for query, row in zip(queries, vectors, strict=True):
            vector = [float(x) for x in row]
            ours, qdrants = snapshot.nearest(vector, 5), activator.memory.nearest(vector, 5)
            assert [(h.point_id, h.route, h.text, h.source) for h in ours] == [
                (h.point_id, h.route, h.text, h.source) for h in qdrants
            ], query
            assert all(abs(a.score - b.score) < 1e-6 for a, b in zip(ours, qdrants, strict=True)), query
            compared += 1
        assert compared > 100 and len(snapshot) == activator.memory.count(QUERIES)


async def test_the_cached_seeds_refuse_to_learn(
    tmp_path: Path, snapshot_catalog: ToolCatalog, make_settings: SettingsFactory
) -> None:
    settings = make_settings(model_cache_dir=tmp_path)
    async with seeding_on_demand(settings, snapshot_catalog) as activator:
        await activator.route(SIMILAR)
        assert activator.router is not None and activator.router.similarity is not None
        memory = activator.router.similarity.memory
        assert isinstance(memory, SnapshotMemory)
        vector = activator.embedder.embed_one("flip the frobnicator of web-7")
        with pytest.raises(MemoryUnavailable, match="read-only cache; learning needs a configured Qdrant"):
            memory.record("flip the frobnicator of web-7", vector, "get_pods", True, "classifier")
        assert memory.count(QUERIES) == len(memory.snapshot) == activator.memory.count(QUERIES)
        assert memory.learned_count() == 0 and memory.similar_outcomes(vector, 0.0) == []


async def test_a_collection_another_process_holds_open_still_answers_from_its_snapshot(
    tmp_path: Path, snapshot_catalog: ToolCatalog, make_settings: SettingsFactory
) -> None:
    settings = make_settings(model_cache_dir=tmp_path)
    async with second_while_another_holds_the_collection(settings, snapshot_catalog, drop_snapshot=False) as second:
        decision = await second.route(SIMILAR)
        assert decision.tier is Tier.SIMILARITY, decision
        assert second.router is not None and isinstance(second.router.similarity, SeededOnDemand)
        assert second.router.similarity.from_cache


async def test_without_its_snapshot_a_collection_another_process_holds_is_seeded_in_memory(
    tmp_path: Path, snapshot_catalog: ToolCatalog, make_settings: SettingsFactory
) -> None:
    settings = make_settings(model_cache_dir=tmp_path)
    async with second_while_another_holds_the_collection(settings, snapshot_catalog, drop_snapshot=True) as second:
        decision = await second.route(SIMILAR)
        assert decision.tier is Tier.SIMILARITY, decision
        assert second.memory.path is None  # its own in-memory copy


PROBE = """
import json, sys
from cortex.cli import main
code = main(["route", "--json", sys.argv[1]])
heavy = ("numpy", "onnxruntime", "qdrant_client")
print(json.dumps({"code": code, "loaded": sorted(m for m in heavy if m in sys.modules)}))
"""


def route_in_a_fresh_process(cache: Path, request: str, timeout: float) -> tuple[dict[str, object], list[str]]:
    """`cortex route --json REQUEST` in a new interpreter: the decision, and which heavy modules it loaded."""
    env = {"CORTEX_MODEL_CACHE_DIR": str(cache), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, request], capture_output=True, text=True, env=env, timeout=timeout
    )
    assert done.returncode == 0, done.stderr
    decision_line, probe_line = done.stdout.strip().splitlines()[-2:]
    probe = json.loads(probe_line)
    assert probe["code"] == 0, probe
    return json.loads(decision_line), probe["loaded"]


def test_a_request_the_rules_answer_loads_no_numpy_onnxruntime_or_qdrant(tmp_path: Path) -> None:
    decision, loaded = route_in_a_fresh_process(tmp_path, "scale web to 3 in shop", timeout=120)
    assert decision["tier"] == "keyword" and loaded == []
    assert not (tmp_path / "seeded-routes").exists()


def test_a_request_for_tier_2_reads_the_snapshot_and_loads_no_qdrant(tmp_path: Path) -> None:
    loaded = []
    for _ in range(2):
        decision, modules = route_in_a_fresh_process(tmp_path, SIMILAR, timeout=300)
        assert decision["tier"] == "similarity", decision
        loaded.append(modules)
    # The first process builds the collection in Qdrant; the second reads only its snapshot.
    assert loaded == [["numpy", "onnxruntime", "qdrant_client"], ["numpy", "onnxruntime"]]
