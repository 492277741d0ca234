"""Tier 2 seeded on first use from a collection kept on disk, so a cold `cortex route` does not re-embed.

Embedding the example utterances takes over a second on two cores, and a request the keyword rules answer
needs none of it: `SeededOnDemand` loads onnxruntime and Qdrant only when a request reaches tier 2. The seeded
collection is stored in Qdrant local mode under the model cache, in a directory named by a digest of everything
that decides its content (the utterances, the catalog's tool names, the embedding model and its variant, the
Qdrant client's version), so a changed input builds a new one and a stale one is never read. It is built in a
private directory and renamed into place, so a process never opens a half-written collection.

Beside the collection lies a snapshot of its points as Qdrant holds them (`seeds.npy`, the unit vectors, and the
ids and payloads in the marker), exported from the collection when it is built. A one-shot process answers tier 2's
lookups from that snapshot with the same cosine Qdrant local mode computes, so it neither imports qdrant-client
(about 0.7 s) nor loads the collection; the collection is opened only when the activator's own memory is asked (a
later tier's hints). The cache is never a learning store: writing to the snapshot is refused. When the snapshot
cannot be read, the collection is opened; when another process holds that open, this one seeds its own copy in
memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cortex.activator.catalog import ToolCatalog
from cortex.activator.embedding import DIMENSIONS, MAX_TOKENS, EmbeddingUnavailable, MiniLMEmbedder, model_path
from cortex.activator.learning import OUTCOMES, QUERIES, MemoryUnavailable, OutcomeHit, RouteHit, RouteMemory
from cortex.activator.settings import ActivatorSettings
from cortex.activator.tiers.base import Escalation, RouteContext, RouteRequest, TierFailed, TierOutcome
from cortex.activator.tiers.similarity import SimilarityTier

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

log = logging.getLogger(__name__)
MARKER = "seeded.json"
VECTORS = "seeds.npy"
# The layout of a cached collection directory; part of the digest, so a directory of another layout is not read.
LAYOUT = "qdrant-local+snapshot-2"
# Qdrant local mode's guard against a zero norm (qdrant_client.local.distances.EPSILON).
EPSILON = 1.1920929e-7


def seed_digest(utterances: Path, catalog: ToolCatalog, embedder: MiniLMEmbedder) -> str:
    """A digest of what the seeded collection is made of; any change names a different collection."""
    digest = hashlib.sha256()
    digest.update(utterances.read_bytes())
    digest.update("\0".join(catalog.names()).encode())
    model = model_path()
    stat = model.stat()
    digest.update(
        f"{model.name}:{stat.st_size}:{stat.st_mtime_ns}:{embedder.variant}:{DIMENSIONS}:{MAX_TOKENS}".encode()
    )
    digest.update(importlib.metadata.version("qdrant-client").encode())
    digest.update(LAYOUT.encode())
    return digest.hexdigest()[:16]


class SeedSnapshot:
    """The seeded points of a cached collection in numpy: ids, payloads and unit vectors, in Qdrant's order."""

    def __init__(self, ids: list[str], payloads: list[dict[str, Any]], vectors: npt.NDArray[np.float32]) -> None:
        if len(ids) != len(payloads) or vectors.shape != (len(ids), DIMENSIONS):
            raise ValueError(f"snapshot of {len(ids)} ids, {len(payloads)} payloads and vectors {vectors.shape}")
        self.ids = ids
        self.payloads = payloads
        self.vectors = vectors

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def export(cls, memory: RouteMemory) -> SeedSnapshot:
        """The points of a just-seeded collection as Qdrant returns them (it stored them unit-normalised)."""
        import numpy as np

        if memory.count(OUTCOMES):
            raise ValueError("a seeded collection holds no outcomes")
        ids, payloads, rows = [], [], []
        for point_id, payload, vector in memory.points(QUERIES):
            ids.append(point_id)
            payloads.append(payload)
            rows.append(vector)
        return cls(ids, payloads, np.array(rows, dtype=np.float32).reshape(len(rows), DIMENSIONS))

    def write(self, directory: Path) -> None:
        import numpy as np

        np.save(directory / VECTORS, self.vectors, allow_pickle=False)
        points = [{"id": i, "payload": p} for i, p in zip(self.ids, self.payloads, strict=True)]
        (directory / MARKER).write_text(json.dumps({"seeded": len(self), "points": points}), encoding="utf-8")

    @classmethod
    def read(cls, directory: Path) -> SeedSnapshot:
        """Raises OSError, ValueError or KeyError when the files are missing or do not agree."""
        import numpy as np

        marker = json.loads((directory / MARKER).read_text(encoding="utf-8"))
        points = marker["points"]
        vectors = np.load(directory / VECTORS, allow_pickle=False)
        if vectors.dtype != np.float32 or int(marker["seeded"]) != len(points):
            raise ValueError(f"snapshot of {marker['seeded']} points lists {len(points)}, vectors {vectors.dtype}")
        snapshot = cls([str(p["id"]) for p in points], [dict(p["payload"]) for p in points], vectors)
        # What Qdrant local mode does to the stored vectors before each search (a no-op on unit vectors, up to
        # rounding); done once here so the scores match its own.
        norms = np.linalg.norm(snapshot.vectors, axis=-1)[:, np.newaxis]
        snapshot.vectors /= np.where(norms != 0.0, norms, EPSILON)
        return snapshot

    def nearest(self, vector: list[float], limit: int = 5) -> list[RouteHit]:
        """The `limit` points of highest cosine, scored and ordered as Qdrant local mode's query_points does."""
        import numpy as np

        query = np.array(vector)
        norm = np.linalg.norm(query)
        scores = np.dot(self.vectors, query / np.where(norm != 0.0, norm, EPSILON))
        hits = []
        for index in np.argsort(scores)[::-1][:limit]:
            payload = self.payloads[index]
            hits.append(
                RouteHit(
                    point_id=self.ids[index],
                    score=float(scores[index]),
                    route=str(payload.get("route")),
                    text=str(payload.get("text", "")),
                    source=str(payload.get("source", "learned")),
                    successes=int(payload.get("successes", 0)),
                    failures=int(payload.get("failures", 0)),
                )
            )
        return hits


class SnapshotMemory(RouteMemory):
    """Tier 2's store in a one-shot process: the cached seeded routes, read from their snapshot.

    The cached collection is a cache of the seeds, never a learning store (learning needs a configured Qdrant), so
    writing is refused; counts and lookups answer from the snapshot, which holds what the collection holds.
    """

    def __init__(self, path: Path, snapshot: SeedSnapshot) -> None:
        super().__init__(path=path)
        self.snapshot = snapshot

    def nearest(self, vector: list[float], limit: int = 5) -> list[RouteHit]:
        return self.snapshot.nearest(vector, limit)

    def similar_outcomes(self, vector: list[float], threshold: float, limit: int = 10) -> list[OutcomeHit]:
        return []  # a seeded collection holds no outcomes (SeedSnapshot.export checks it)

    def count(self, collection: str) -> int:
        return len(self.snapshot) if collection == QUERIES else 0

    def learned_count(self) -> int:
        return 0

    def record(
        self,
        query: str,
        vector: list[float],
        tool: str,
        success: bool,
        tier: str,
        routed_by: str | None = None,
    ) -> None:
        raise MemoryUnavailable(
            f"the seeded routes at {self.describe()} are a read-only cache; learning needs a configured Qdrant "
            "(CORTEX_QDRANT_URL or CORTEX_QDRANT_PATH)"
        )


class SeededOnDemand(SimilarityTier):
    """A similarity tier that seeds (or opens the cached seeded collection) when a request first reaches it."""

    def __init__(
        self,
        settings: ActivatorSettings,
        catalog: ToolCatalog,
        embedder: MiniLMEmbedder,
        memory: RouteMemory,
        cache_root: Path,
    ) -> None:
        super().__init__(settings, catalog, embedder, memory)
        self.cache_root = cache_root.expanduser()
        # True when the seeded collection was read from the cache rather than embedded by this process.
        self.from_cache = False
        self._ready = False
        self._lock = threading.Lock()

    def ensure_seeded(self) -> None:
        with self._lock:
            if self._ready:
                return
            if self.memory.url or self.memory.path:
                # A configured Qdrant is the store itself: seed it as the eager tier does.
                self.seed()
            else:
                self._open_cached()
            self._ready = True

    def _open_cached(self) -> None:
        digest = seed_digest(self.settings.utterances_path, self.catalog, self.embedder)
        final = self.cache_root / f"routes-{digest}"
        built = not (final / MARKER).is_file()
        if built:
            self._build(final)
        # The collection is the store (the activator's own memory, and this tier's once it leaves the snapshot).
        self.memory.path = final
        try:
            snapshot = SeedSnapshot.read(final)
            self.seeded = len(snapshot)
            self.memory = SnapshotMemory(final, snapshot)
            self.from_cache = not built
            return
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.info("snapshot of the cached seeded routes not usable (%s); opening the collection", exc)
        try:
            self.seeded = int(json.loads((final / MARKER).read_text(encoding="utf-8"))["seeded"])
            if self.memory.count(QUERIES) == self.seeded:
                self.from_cache = not built
                return
            log.warning("cached seeded routes at %s are incomplete; seeding in memory", final)
        except (MemoryUnavailable, OSError, ValueError, KeyError) as exc:
            log.info("cached seeded routes not usable (%s); seeding in memory", exc)
        self.memory.close()
        self.memory.path = None
        self.seed()

    def _build(self, final: Path) -> None:
        self.cache_root.mkdir(parents=True, exist_ok=True)
        partial = self.cache_root / f".{final.name}.{os.getpid()}.{threading.get_ident()}"
        shutil.rmtree(partial, ignore_errors=True)
        builder = RouteMemory(path=partial)
        saved, self.memory = self.memory, builder
        try:
            count = self.seed()
            snapshot = SeedSnapshot.export(builder)
        finally:
            self.memory = saved
            builder.close()
        if len(snapshot) != count:
            raise MemoryUnavailable(f"the seeded collection holds {len(snapshot)} points, {count} were stored")
        # The marker (written last, with the snapshot's ids and payloads) says the directory is complete.
        snapshot.write(partial)
        try:
            partial.rename(final)
        except OSError:
            # Another process finished the same collection first; theirs is as good as ours.
            shutil.rmtree(partial, ignore_errors=True)

    async def decide(self, request: RouteRequest, context: RouteContext) -> TierOutcome:
        try:
            await asyncio.to_thread(self.ensure_seeded)
        except (MemoryUnavailable, EmbeddingUnavailable, OSError) as exc:
            raise TierFailed(Escalation(f"similarity tier not seeded: {exc}", "unavailable")) from exc
        return await super().decide(request, context)
