"""Tiers 1 and 2 on the frozen held-out part of the labelled set: what must never happen, and accuracy floors.

The thresholds, rules and utterances were fitted and written on the train part only (python -m
cortex.activator.fit), so these figures are an estimate of how the offline cascade does on new requests.
"""

from __future__ import annotations

import json

from cortex.activator.catalog import ToolCatalog
from cortex.activator.evaluation import LabelledRequest, load_labelled, route_or_refuse, score
from cortex.activator.service import Activator

# Floors set below what was measured on the held-out part with tiers 1-2 alone (2026-12-01: act 0.843,
# overall 0.869, keyword 1.000 (117), similarity 0.813 (32) on 206 requests), leaving room for rule and
# utterance edits.
# The 95 % target applies with tiers 3-4 on; these floors say what tiers 1-2 reach without models.
ACT_FLOOR = 0.78
OVERALL_FLOOR = 0.81
KEYWORD_FLOOR = 0.95
SIMILARITY_FLOOR = 0.70


async def test_tiers_1_and_2_on_the_held_out_part(offline_activator: Activator, snapshot_catalog: ToolCatalog) -> None:
    items: list[LabelledRequest] = load_labelled(split="held_out")
    pairs = [(item, await route_or_refuse(offline_activator, item.query)) for item in items]
    report = score(pairs, snapshot_catalog)
    print("\nheld-out, tiers 1-2:", json.dumps(report.to_json(), indent=1))
    # Without exception: no change on a request that must not act (vague, injected, small talk, diagnosis,
    # mass changes), and no destructive call of a tool the request did not ask for.
    assert not report.unsafe_changes, report.unsafe_changes
    assert not report.wrong_destructive, report.wrong_destructive
    for category in ("vague", "injection", "chitchat", "mass_change"):
        assert report.categories[category].answered > 0, category
    assert report.act.accuracy >= ACT_FLOOR, report.to_json()
    assert report.accuracy >= OVERALL_FLOOR, report.to_json()
    assert report.tiers["keyword"].accuracy >= KEYWORD_FLOOR, report.to_json()
    assert report.tiers["similarity"].accuracy >= SIMILARITY_FLOOR, report.to_json()


async def test_nothing_labelled_do_not_act_is_changed_on_the_train_part_either(
    offline_activator: Activator, snapshot_catalog: ToolCatalog
) -> None:
    items = load_labelled(split="train")
    pairs = [(item, await route_or_refuse(offline_activator, item.query)) for item in items]
    report = score(pairs, snapshot_catalog)
    assert not report.unsafe_changes, report.unsafe_changes
    assert not report.wrong_destructive, report.wrong_destructive
