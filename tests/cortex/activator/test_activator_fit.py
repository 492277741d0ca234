"""Tier 2's thresholds: fitted on the train part only, reproducible, and what tier 2 actually uses."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from cortex.activator.evaluation import digest, load_labelled
from cortex.activator.fit import NEVER, Sample, best_threshold, main
from cortex.activator.learning import NO_ROUTE
from cortex.activator.service import Activator
from cortex.activator.thresholds import RouteThresholds, ThresholdFileError, load_thresholds

REFIT = "the committed thresholds are stale: run python -m cortex.activator.fit and commit data/thresholds.yaml"


def test_a_threshold_separates_a_route_from_its_near_misses() -> None:
    samples = [
        Sample("restart_pod", 0.82, "restart_pod"),
        Sample("restart_pod", 0.78, "restart_pod"),
        Sample("restart_pod", 0.70, NO_ROUTE),
        Sample("restart_pod", 0.67, "get_pods"),
    ]
    threshold, right = best_threshold(samples, "restart_pod", 0.5)
    assert 0.70 < threshold <= 0.78 and right == 4
    # Of equally good thresholds the lowest is kept.
    assert threshold == 0.71
    # Nothing but misses: the route is taken only above every one of them.
    assert best_threshold([Sample("get_pods", 0.9, NO_ROUTE)], "get_pods", 0.5)[0] > 0.9
    assert best_threshold([Sample("get_pods", 0.96, NO_ROUTE)], "get_pods", 0.5)[0] == NEVER


def test_committed_thresholds_were_fitted_on_the_current_train_part() -> None:
    thresholds = load_thresholds()
    assert thresholds.train_digest == digest(load_labelled(split="train")), REFIT
    assert datetime.date.fromisoformat(thresholds.fitted)
    assert thresholds.routes and all(0.0 <= value <= 1.0 for value in thresholds.routes.values())


def test_fitting_the_train_part_again_gives_the_committed_thresholds(tmp_path: Path) -> None:
    output = tmp_path / "thresholds.yaml"
    assert main(["--output", str(output)]) == 0
    written, committed = load_thresholds(output), load_thresholds()
    assert (written.default, written.routes) == (committed.default, committed.routes), REFIT
    assert written.train_digest == digest(load_labelled(split="train"))
    assert written.fitted == datetime.datetime.now(datetime.UTC).date().isoformat()


def test_a_malformed_thresholds_file_is_refused_with_its_place(tmp_path: Path) -> None:
    bad = tmp_path / "thresholds.yaml"
    bad.write_text("default: 0.7\nroutes: {get_pods: 1.5}\n")
    with pytest.raises(ThresholdFileError, match=r"routes\.get_pods"):
        load_thresholds(bad)


async def test_tier_2_uses_the_route_threshold(offline_activator: Activator) -> None:
    assert offline_activator.router is not None
    similarity = offline_activator.router.similarity
    assert similarity is not None
    query = "what deployments are there in staging"
    decision = await offline_activator.route(query)
    assert decision.tool == "get_deployments" and decision.confidence < 0.95, decision
    saved = similarity.thresholds
    try:
        similarity.thresholds = RouteThresholds(default=saved.default, routes={**saved.routes, "get_deployments": 0.95})
        assert (await offline_activator.route(query)).tool is None
    finally:
        similarity.thresholds = saved
