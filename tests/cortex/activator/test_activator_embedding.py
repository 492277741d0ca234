"""The MiniLM embedder: the compact re-quantized model agrees with the packaged one and costs less memory."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from cortex.activator.embedding import DIMENSIONS, MiniLMEmbedder, weights_path

SENTENCES = [
    "scale web to 3 in shop",
    "increase the replicas of the web deployment",
    "show me the logs of the api pod",
    "tell me a joke",
    "which secrets are there",
]

# Loads one variant in a fresh interpreter and prints how far it raised the peak resident memory
# (VmHWM: the figure a container memory limit meets; the current RSS moves with allocator timing).
MEASURE = """
import sys
from cortex.activator.embedding import MiniLMEmbedder
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
import numpy, onnxruntime, tokenizers
before = status("VmHWM:")
MiniLMEmbedder(variant=sys.argv[1]).embed(["warm up"])
print(status("VmHWM:") - before)
"""


def test_compact_and_packaged_vectors_agree() -> None:
    compact = MiniLMEmbedder(variant="compact")
    packaged = MiniLMEmbedder(variant="packaged")
    a = compact.embed(SENTENCES)
    b = packaged.embed(SENTENCES)
    assert a.shape == (len(SENTENCES), DIMENSIONS)
    assert compact.model_file is not None and "compact" in compact.model_file.name
    # The weights are external data beside the model (mapped by onnxruntime, not copied into the heap).
    assert weights_path(compact.model_file).stat().st_size > 20 * 2**20 > 50 * compact.model_file.stat().st_size
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)
    cosines = (a * b).sum(axis=1)
    assert cosines.min() > 0.97, cosines
    # Meaning survives: the paraphrase is nearer than the joke.
    assert a[0] @ a[1] > a[0] @ a[3] + 0.2


def test_compact_model_needs_far_less_memory() -> None:
    def added_mb(variant: str) -> float:
        out = subprocess.run(
            [sys.executable, "-c", MEASURE, variant], capture_output=True, text=True, timeout=120, check=True
        )
        return float(out.stdout.strip().splitlines()[-1])

    compact, packaged = added_mb("compact"), added_mb("packaged")
    print(f"\nMiniLM session peak memory: compact {compact:.0f} MB, packaged {packaged:.0f} MB")
    assert compact < 70 and compact < packaged / 2, (compact, packaged)
