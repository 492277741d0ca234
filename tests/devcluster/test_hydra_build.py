"""devcluster.build for Hydra: a cache key of its own, so its pins never move the control plane's binaries."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from devcluster.build import BINARIES, HYDRA_BINARIES, HYDRA_VERSION, PINS, binaries_digest, build_hydra, pin_digest
from devcluster.cache import cache_root


def test_the_hydra_pins_have_their_own_digest(tmp_path: Path) -> None:
    moved = tmp_path / "pins"
    shutil.copytree(PINS, moved)
    go_sum = moved / "hydra" / "go.sum"
    go_sum.write_bytes(go_sum.read_bytes() + b"\n")
    assert pin_digest(moved) == pin_digest() == binaries_digest(BINARIES), "the control plane's cache key stays"
    assert binaries_digest(HYDRA_BINARIES, moved) != binaries_digest(HYDRA_BINARIES), "a Hydra pin change rebuilds"


def test_build_hydra_answers_the_cached_pinned_binary() -> None:
    binary = build_hydra()
    assert binary == cache_root() / "bin" / binaries_digest(HYDRA_BINARIES) / "hydra"
    reported = subprocess.run([str(binary), "version"], capture_output=True, text=True, check=True, timeout=60).stdout
    assert f"Version:    {HYDRA_VERSION}" in reported, reported
