"""Chart-test fixtures: the pinned helm binary, and both charts staged with cortex's dependency built."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.charts.helm_cli import Helm, stage_charts


@pytest.fixture(scope="session")
def helm() -> Helm:
    return Helm.pinned()


@pytest.fixture(scope="session")
def charts(helm: Helm, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return stage_charts(tmp_path_factory.mktemp("charts"), helm)
