"""devcluster.build: the cache key is the pins' bytes, never their place; the cached binaries are the pinned ones."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from devcluster.build import BINARIES, KUBE_VERSION, PINS, bin_dir, build, pin_digest
from devcluster.cache import cache_root


def test_the_digest_follows_the_pins_bytes_not_their_place(tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere" / "pins"
    shutil.copytree(PINS, moved)
    assert pin_digest(moved) == pin_digest()

    go_sum = moved / "kube" / "go.sum"
    go_sum.write_bytes(go_sum.read_bytes() + b"\n")
    assert pin_digest(moved) != pin_digest(), "a changed pin builds into a fresh directory"


def test_build_answers_the_cached_directory_of_the_pinned_binaries() -> None:
    target = build()
    assert target == bin_dir() == cache_root() / "bin" / pin_digest()
    for binary in BINARIES:
        assert (target / binary.name).is_file(), binary.name
    reported = subprocess.run(
        [str(target / "kube-apiserver"), "--version"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert reported.strip() == f"Kubernetes {KUBE_VERSION}"
