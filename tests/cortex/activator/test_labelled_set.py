"""The labelled set: big and broad enough, split by hash once, and its held-out part frozen and unseen elsewhere."""

from __future__ import annotations

import re
from collections import Counter

import yaml

from cortex.activator.catalog import ToolCatalog
from cortex.activator.evaluation import (
    LABELLED_PATH,
    MUST_NOT_CHANGE,
    SPLITS,
    UNIFI_PREFIX,
    digest,
    load_labelled,
    split_of,
)
from cortex.activator.learning import load_utterances
from cortex.activator.settings import ActivatorSettings
from cortex.activator.tiers.unifi_rules import packaged_unifi_rules

# sha256 of the held-out rows (evaluation.digest). Changing the held-out part is a deliberate act: edit the rows,
# then this digest, in the same reviewed commit, and never to make a failing request pass.
HELD_OUT_DIGEST = "3d98edb03b420db31b9413dcea6aa1dd7586acb8112845666a6765a188c3ea68"
CATEGORIES = {"act", "typo", "unifi"} | MUST_NOT_CHANGE


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


def test_held_out_part_is_frozen() -> None:
    held_out = load_labelled(split="held_out")
    assert digest(held_out) == HELD_OUT_DIGEST, "the held-out part changed; see HELD_OUT_DIGEST"


def test_every_row_sits_in_the_part_its_hash_names() -> None:
    items = load_labelled()
    moved = [(item.query, item.split) for item in items if split_of(item.query) != item.split]
    assert not moved, moved
    share = sum(item.split == "held_out" for item in items) / len(items)
    assert 0.25 <= share <= 0.35, share


def test_held_out_shares_no_request_with_train_or_the_seed_utterances() -> None:
    train = {_key(item.query) for item in load_labelled(split="train")}
    held_out = [_key(item.query) for item in load_labelled(split="held_out")]
    utterances = {
        _key(text) for texts in load_utterances(ActivatorSettings().utterances_path).values() for text in texts
    }
    assert len(set(held_out)) == len(held_out)
    assert not set(held_out) & train
    assert not set(held_out) & utterances, sorted(set(held_out) & utterances)
    assert not train & utterances, sorted(train & utterances)


def test_set_is_large_and_covers_every_tool_category_and_network_action(snapshot_catalog: ToolCatalog) -> None:
    items = load_labelled()
    assert len(items) >= 600
    assert {item.split for item in items} == set(SPLITS)
    tools = {item.tool for item in items if item.tool}
    assert set(snapshot_catalog.names()) <= tools, sorted(set(snapshot_catalog.names()) - tools)
    routes = {rule.route for rule in packaged_unifi_rules()}
    assert all(route.startswith(UNIFI_PREFIX) for route in routes)
    assert routes <= tools, sorted(routes - tools)
    unknown = {t for t in tools if t not in snapshot_catalog and t not in routes}
    assert not unknown, unknown
    counts = Counter(item.category for item in items)
    assert set(counts) == CATEGORIES, counts
    for category in CATEGORIES:
        assert counts[category] >= 8, counts
    held_out = Counter(item.category for item in load_labelled(split="held_out"))
    assert all(held_out[category] >= 2 for category in CATEGORIES), held_out
    # A request that must not act is labelled null; one for a call names its tool.
    for item in items:
        assert (item.tool is None) == (item.category in MUST_NOT_CHANGE), item


def test_file_is_plain_rows() -> None:
    document = yaml.safe_load(LABELLED_PATH.read_text(encoding="utf-8"))
    assert set(document) == set(SPLITS)
    for split in SPLITS:
        for row in document[split]:
            assert isinstance(row, list) and len(row) == 4, row
