"""Narrows a large tool catalog to the few tools nearest a request, so a small model's prompt stays small."""

from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from cortex.activator.catalog import ToolCatalog
from cortex.activator.embedding import MiniLMEmbedder


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

    def select(self, query: str, hints: Iterable[str] = ()) -> ToolCatalog:
        """Hinted tools (from similar past requests) first, then the nearest by embedding, up to `limit`."""
        if len(self.catalog) <= self.limit:
            return self.catalog
        chosen = [name for name in dict.fromkeys(hints) if name in self.catalog][: self.limit]
        try:
            vectors = self._tool_vectors()
            scores = vectors @ self.embedder.embed([query])[0]
            ranked = [self._names[i] for i in np.argsort(-scores)]
        except Exception:
            # Without embeddings the model still gets a usable, if blunter, list.
            ranked = self.catalog.names()
        for name in ranked:
            if len(chosen) >= self.limit:
                break
            if name not in chosen:
                chosen.append(name)
        return ToolCatalog.of((self.catalog.tools[name] for name in chosen), f"shortlist of {self.catalog.source}")
