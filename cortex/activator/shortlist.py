"""Narrows a large tool catalog to the few tools nearest a request, so a small model's prompt stays small."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from cortex.activator.catalog import ToolCatalog
from cortex.activator.complexity import score_request
from cortex.activator.embedding import MiniLMEmbedder

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

# The reads a diagnosis needs, offered for every request that asks why something fails, whatever the embedding
# ranks first: without them the model was left to "diagnose" with restart_pod or delete_resource.
DIAGNOSIS_TOOLS = ("get_events", "describe_object", "get_logs", "get_rollout_status", "top_pods")
DIAGNOSIS_SIGNALS = frozenset({"diagnosis", "failure"})


def is_diagnosis(query: str) -> bool:
    return bool(DIAGNOSIS_SIGNALS.intersection(score_request(query).signals))


class ToolShortlist:
    """Embeds each tool's name and summary once; a request gets the `limit` tools most similar to it."""

    def __init__(self, catalog: ToolCatalog, embedder: MiniLMEmbedder, limit: int) -> None:
        self.catalog = catalog
        self.embedder = embedder
        self.limit = limit
        self._names: list[str] = []
        self._vectors: npt.NDArray[np.float32] | None = None
        self._lock = threading.Lock()

    def _tool_vectors(self) -> npt.NDArray[np.float32]:
        with self._lock:
            if self._vectors is None:
                specs = list(self.catalog)
                self._names = [spec.name for spec in specs]
                texts = [f"{spec.name.replace('_', ' ')}: {spec.summary()}" for spec in specs]
                self._vectors = self.embedder.embed_many(texts)
            return self._vectors

    def select(self, query: str, hints: Iterable[str] = (), limit: int | None = None) -> ToolCatalog:
        """A diagnosis's read tools, then hinted tools (from similar past requests), then the nearest by
        embedding, up to `limit` (the shortlist's own when None)."""
        limit = self.limit if limit is None else limit
        if len(self.catalog) <= limit:
            return self.catalog
        first = [*(DIAGNOSIS_TOOLS if is_diagnosis(query) else ()), *hints]
        chosen = [name for name in dict.fromkeys(first) if name in self.catalog][:limit]
        import numpy as np

        try:
            vectors = self._tool_vectors()
            scores = vectors @ self.embedder.embed([query])[0]
            ranked = [self._names[i] for i in np.argsort(-scores)]
        except Exception:
            # Without embeddings the model still gets a usable, if blunter, list.
            ranked = self.catalog.names()
        for name in ranked:
            if len(chosen) >= limit:
                break
            if name not in chosen:
                chosen.append(name)
        return ToolCatalog.of((self.catalog.tools[name] for name in chosen), f"shortlist of {self.catalog.source}")
