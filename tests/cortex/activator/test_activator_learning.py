"""Learning from outcomes in real Qdrant local mode, and the cascade when Qdrant is unavailable."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from cortex.activator.catalog import ToolCatalog
from cortex.activator.decision import Tier
from cortex.activator.decisions import DecisionLog, FeedbackRefused, UnknownDecision
from cortex.activator.learning import OUTCOMES, QUERIES
from cortex.activator.service import Activator, FeedbackRequest, QueryRequest, QueryResponse
from cortex.activator.settings import ActivatorSettings
from tests.cortex.activator.conftest import running

# Routed by a seed utterance ("change the number of replicas") at a similarity well below the learned threshold.
NEW_PHRASING = "raise the checkout replica count in payments"
UNROUTED = "give the checkout app 4 more workers in payments"


async def decide(activator: Activator, query: str) -> QueryResponse:
    """A /query decision without execution: what feedback is about."""
    return await activator.handle(QueryRequest(query=query, execute=False))


@pytest.fixture
async def learning_activator(
    tmp_path: Path, snapshot_catalog: ToolCatalog, make_settings: Callable[..., ActivatorSettings]
) -> AsyncIterator[Activator]:
    async with running(make_settings(qdrant_path=tmp_path / "qdrant"), snapshot_catalog) as activator:
        yield activator


async def test_three_confirmations_teach_tier_two_a_new_phrasing(learning_activator: Activator) -> None:
    before = await learning_activator.route(NEW_PHRASING)
    assert before.tier is Tier.SIMILARITY and before.tool == "scale_deployment", before
    assert "seed" in before.reason and before.confidence < 0.92, before
    for count in range(3):
        decision = await decide(learning_activator, NEW_PHRASING)
        assert decision.tool == "scale_deployment", decision
        stored = await learning_activator.feedback(FeedbackRequest(decision_id=decision.decision_id, success=True))
        assert stored == {
            "recorded": True,
            "decision_id": decision.decision_id,
            "tool": "scale_deployment",
            "success": True,
        }
        learned = await learning_activator.route(NEW_PHRASING)
        if count < 2:
            # Fewer than three successes: the learned route is not trusted yet.
            assert "learned" not in learned.reason, learned
    assert learned.tier is Tier.SIMILARITY and learned.tool == "scale_deployment", learned
    assert "learned" in learned.reason and learned.confidence > before.confidence
    # Arguments come from the new request, never from the stored one.
    other = await learning_activator.route("raise the checkout replica count in billing")
    assert other.tier is Tier.SIMILARITY and other.arguments.get("namespace") == "billing", other
    assert learning_activator.memory.count(OUTCOMES) == 3
    assert learning_activator.router is not None and learning_activator.router.similarity is not None
    assert learning_activator.memory.count(QUERIES) == learning_activator.router.similarity.seeded + 1


async def test_a_similar_query_that_failed_escalates(learning_activator: Activator) -> None:
    query = "run five copies of the api in staging"
    first = await decide(learning_activator, query)
    assert first.tier == Tier.SIMILARITY.value and first.tool == "scale_deployment"
    await learning_activator.feedback(
        FeedbackRequest(decision_id=first.decision_id, tool="scale_deployment", success=False)
    )
    again = await learning_activator.route(query)
    assert again.tier is not Tier.SIMILARITY, again
    assert any("failed before" in reason for reason in again.escalations), again.escalations


async def test_feedback_must_be_about_a_decision_the_activator_made(learning_activator: Activator) -> None:
    memory = learning_activator.memory
    counts = (memory.count(QUERIES), memory.count(OUTCOMES))
    with pytest.raises(UnknownDecision, match="no decision 'made-up-id' is known"):
        await learning_activator.feedback(FeedbackRequest(decision_id="made-up-id", success=True))
    decision = await decide(learning_activator, NEW_PHRASING)
    assert decision.tool == "scale_deployment"
    # Feedback cannot teach another tool than the one the decision chose.
    with pytest.raises(FeedbackRefused, match="chose scale_deployment, not delete_resource"):
        await learning_activator.feedback(
            FeedbackRequest(decision_id=decision.decision_id, tool="delete_resource", success=True)
        )
    # A decision that chose no tool has nothing to confirm, so it cannot be turned into a route either.
    unrouted = await decide(learning_activator, UNROUTED)
    assert unrouted.tool is None
    with pytest.raises(FeedbackRefused, match="chose no tool"):
        await learning_activator.feedback(FeedbackRequest(decision_id=unrouted.decision_id, success=True))
    assert (memory.count(QUERIES), memory.count(OUTCOMES)) == counts
    # The refusals did not use up the decision: its one feedback is still open, and then closed.
    await learning_activator.feedback(FeedbackRequest(decision_id=decision.decision_id, success=True))
    assert memory.count(OUTCOMES) == counts[1] + 1
    with pytest.raises(FeedbackRefused, match="already given"):
        await learning_activator.feedback(FeedbackRequest(decision_id=decision.decision_id, success=True))
    assert memory.count(OUTCOMES) == counts[1] + 1


def test_the_decision_log_keeps_only_recent_decisions_under_unguessable_ids() -> None:
    log = DecisionLog(capacity=3)
    kept = [log.remember(f"list pods in ns{i}", "get_pods", "keyword") for i in range(5)]
    assert len(log) == 3
    assert len({decision.decision_id for decision in kept}) == 5
    assert all(len(decision.decision_id) >= 24 for decision in kept)
    with pytest.raises(UnknownDecision):
        log.claim(kept[0].decision_id, None)
    assert log.claim(kept[4].decision_id, "get_pods").query == "list pods in ns4"


async def test_qdrant_unavailable_falls_through_with_a_reason(
    snapshot_catalog: ToolCatalog, make_settings: Callable[..., ActivatorSettings]
) -> None:
    # Nothing listens on port 1 of the loopback interface.
    async with running(make_settings(qdrant_url="http://127.0.0.1:1"), snapshot_catalog) as activator:
        assert not activator.similarity_ready
        assert any("similarity tier not seeded" in problem for problem in activator.problems)
        paraphrase = await activator.route("run five copies of the api in staging")
        assert paraphrase.tool is None and paraphrase.tier is Tier.NONE
        assert any(reason.startswith("similarity: Qdrant") for reason in paraphrase.escalations), paraphrase
        keyword = await activator.route("scale web to 3 in shop")
        assert keyword.tier is Tier.KEYWORD and keyword.arguments["replicas"] == 3
