"""Learning from outcomes in real Qdrant local mode, and the cascade when Qdrant is unavailable."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from cortex.activator.catalog import ToolCatalog
from cortex.activator.decision import Tier
from cortex.activator.learning import OUTCOMES, QUERIES
from cortex.activator.service import Activator, FeedbackRequest
from cortex.activator.settings import ActivatorSettings

NEW_PHRASING = "give the checkout app 4 more workers in payments"


@pytest.fixture
async def learning_activator(
    tmp_path: Path, snapshot_catalog: ToolCatalog, make_settings: Callable[..., ActivatorSettings]
) -> AsyncIterator[Activator]:
    activator = Activator(make_settings(qdrant_path=tmp_path / "qdrant"), execute=False)
    await activator.start(snapshot_catalog)
    yield activator
    await activator.stop()


async def test_three_successes_teach_tier_two_a_new_phrasing(learning_activator: Activator) -> None:
    before = await learning_activator.route(NEW_PHRASING)
    assert before.tier is not Tier.SIMILARITY or before.tool != "scale_deployment", before
    for count in range(3):
        await learning_activator.feedback(FeedbackRequest(query=NEW_PHRASING, tool="scale_deployment", success=True))
        learned = await learning_activator.route(NEW_PHRASING)
        if count < 2:
            # Fewer than three successes: the learned route is not trusted yet.
            assert not (learned.tier is Tier.SIMILARITY and "learned" in learned.reason), learned
    assert learned.tier is Tier.SIMILARITY and learned.tool == "scale_deployment", learned
    assert "learned" in learned.reason
    # Arguments come from the new request, never from the stored one.
    other = await learning_activator.route("give the checkout app 6 more workers in billing")
    if other.tier is Tier.SIMILARITY:
        assert other.arguments.get("namespace") == "billing"
    assert learning_activator.memory.count(OUTCOMES) == 3
    assert learning_activator.router is not None and learning_activator.router.similarity is not None
    assert learning_activator.memory.count(QUERIES) == learning_activator.router.similarity.seeded + 1


async def test_a_similar_query_that_failed_escalates(learning_activator: Activator) -> None:
    query = "run five copies of the api in staging"
    first = await learning_activator.route(query)
    assert first.tier is Tier.SIMILARITY and first.tool == "scale_deployment"
    await learning_activator.feedback(FeedbackRequest(query=query, tool="scale_deployment", success=False))
    again = await learning_activator.route(query)
    assert again.tier is not Tier.SIMILARITY, again
    assert any("failed before" in reason for reason in again.escalations), again.escalations


async def test_feedback_for_an_unknown_tool_is_refused(learning_activator: Activator) -> None:
    with pytest.raises(ValueError, match="unknown tool"):
        await learning_activator.feedback(FeedbackRequest(query="x", tool="no_such_tool", success=True))


async def test_qdrant_unavailable_falls_through_with_a_reason(
    snapshot_catalog: ToolCatalog, make_settings: Callable[..., ActivatorSettings]
) -> None:
    # Nothing listens on port 1 of the loopback interface.
    activator = Activator(make_settings(qdrant_url="http://127.0.0.1:1"), execute=False)
    await activator.start(snapshot_catalog)
    try:
        assert not activator.similarity_ready
        assert any("similarity tier not seeded" in problem for problem in activator.problems)
        paraphrase = await activator.route("run five copies of the api in staging")
        assert paraphrase.tool is None and paraphrase.tier is Tier.NONE
        assert any(reason.startswith("similarity: Qdrant") for reason in paraphrase.escalations), paraphrase
        keyword = await activator.route("scale web to 3 in shop")
        assert keyword.tier is Tier.KEYWORD and keyword.arguments["replicas"] == 3
    finally:
        await activator.stop()
