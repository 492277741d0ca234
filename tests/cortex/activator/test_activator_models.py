"""Tiers 3 and 4 against a real llama.cpp server running SmolLM2-135M-Instruct, and the model-fault paths.

Each model call costs a second or more on two cores, so these tests make few of them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cortex.activator.arguments import grounded
from cortex.activator.catalog import ToolCatalog
from cortex.activator.decision import Tier
from cortex.activator.embedding import MiniLMEmbedder
from cortex.activator.service import Activator, QueryRequest
from cortex.activator.settings import ActivatorSettings
from cortex.activator.shortlist import ToolShortlist
from cortex.activator.tiers.classifier import ClassifierTier
from cortex.activator.tiers.model_endpoint import ChatEndpoint, ModelOutputError
from cortex.activator.tiers.reasoning import ReasoningTier

pytestmark = pytest.mark.model

# Phrasings no rule and no seeded utterance covers, so the cascade has to reach the model tiers.
UNSEEN = "could the checkout thing get beefier please, 4 replicas in shop"


def assert_grounded(query: str, arguments: dict[str, object]) -> None:
    for key, value in arguments.items():
        assert grounded(value, query), f"{key}={value!r} does not appear in {query!r}"


async def test_classifier_answers_inside_the_catalog_schema(model_server: str, snapshot_catalog: ToolCatalog) -> None:
    endpoint = ChatEndpoint(model_server, "smollm2", 120)
    tier = ClassifierTier(endpoint, snapshot_catalog, shortlist=ToolShortlist(snapshot_catalog, MiniLMEmbedder(), 12))
    try:
        chosen: list[tuple[str, str | None]] = []
        for query in (UNSEEN, "show me what is running in payments", "tell me a joke about cats"):
            try:
                answer = await tier.answer(query)
            except ModelOutputError:
                chosen.append((query, "malformed"))
                continue
            # The grammar built from the shortlisted catalog allows only those tools or "none".
            assert answer.refuse or answer.tool in tier.offered(query)
            assert 0.0 <= answer.confidence <= 1.0
            assert_grounded(query, answer.arguments)
            chosen.append((query, answer.tool))
        print("\nclassifier (SmolLM2-135M) chose:", chosen)
        assert any(tool != "malformed" for _, tool in chosen), chosen
    finally:
        await endpoint.aclose()


async def test_reasoning_returns_a_checked_plan_or_a_clear_failure(
    model_server: str, snapshot_catalog: ToolCatalog
) -> None:
    endpoint = ChatEndpoint(model_server, "smollm2", 120)
    shortlist = ToolShortlist(snapshot_catalog, MiniLMEmbedder(), 12)
    tier = ReasoningTier(endpoint, snapshot_catalog, max_steps=3, shortlist=shortlist)
    query = "why is my pod web-1 crashlooping in shop"
    try:
        try:
            answer = await tier.answer(query)
        except ModelOutputError as exc:
            assert str(exc)
            return
        steps = answer.plan or []
        assert answer.tool in snapshot_catalog and len(steps) <= 3
        for step in steps:
            assert step.tool in snapshot_catalog
            assert_grounded(query, step.arguments)
        print("\nreasoning (SmolLM2-135M) plan:", answer.tool, answer.arguments, [s.tool for s in steps])
    finally:
        await endpoint.aclose()


async def test_model_tiers_in_the_cascade_never_execute_a_model_chosen_change_unconfirmed(
    model_server: str, snapshot_catalog: ToolCatalog, make_settings: Callable[..., ActivatorSettings]
) -> None:
    settings = make_settings(classifier_url=model_server, reasoning_url=model_server)
    activator = Activator(settings, execute=False)
    await activator.start(snapshot_catalog)
    try:
        response = await activator.handle(QueryRequest(query=UNSEEN))
        assert not response.executed
        assert response.tier in {Tier.CLASSIFIER.value, Tier.REASONING.value, Tier.NONE.value}, response
        if response.tool is not None:
            spec = snapshot_catalog.tools[response.tool]
            assert response.requires_confirmation or spec.read_only
        assert any(e.startswith("keyword:") for e in response.escalations)
        diagnosis = await activator.route("why is my pod web-1 crashlooping in shop")
        assert diagnosis.tier in {Tier.REASONING, Tier.NONE}
        assert any("tiers 1-3 skipped" in e for e in diagnosis.escalations)
    finally:
        await activator.stop()


async def test_slow_model_times_out_and_falls_through(
    model_server: str, snapshot_catalog: ToolCatalog, make_settings: Callable[..., ActivatorSettings]
) -> None:
    settings = make_settings(classifier_url=model_server, classifier_timeout_seconds=0.01)
    activator = Activator(settings, execute=False)
    await activator.start(snapshot_catalog)
    try:
        decision = await activator.route(UNSEEN)
        assert decision.tool is None and decision.tier is Tier.NONE
        assert any("did not answer" in e for e in decision.escalations), decision.escalations
        text = activator.metrics.exposition().decode()
        assert 'cortex_activator_escalations_total{reason="timeout",tier="classifier"} 1.0' in text
    finally:
        await activator.stop()


async def test_malformed_model_output_is_never_executed(
    model_server: str, snapshot_catalog: ToolCatalog, make_settings: Callable[..., ActivatorSettings]
) -> None:
    settings = make_settings(classifier_url=model_server)
    activator = Activator(settings, execute=False)
    await activator.start(snapshot_catalog)
    try:
        assert activator.router is not None and activator.router.classifier is not None
        # Three tokens cannot hold a complete JSON object: the real model's answer is cut off mid-way.
        activator.router.classifier.max_tokens = 3
        response = await activator.handle(QueryRequest(query=UNSEEN, confirm=True))
        assert response.tool is None and not response.executed and response.status == "no_route"
        assert any("unusable model output" in e for e in response.escalations), response.escalations
    finally:
        await activator.stop()


async def test_model_server_down_falls_through(
    snapshot_catalog: ToolCatalog, make_settings: Callable[..., ActivatorSettings]
) -> None:
    # Nothing listens on port 9 of the loopback interface.
    settings = make_settings(classifier_url="http://127.0.0.1:9", reasoning_url="http://127.0.0.1:9")
    activator = Activator(settings, execute=False)
    await activator.start(snapshot_catalog)
    try:
        decision = await activator.route(UNSEEN)
        assert decision.tool is None
        assert any(e.startswith("classifier:") and "down" in e for e in decision.escalations), decision.escalations
        assert any(e.startswith("reasoning:") for e in decision.escalations)
        still = await activator.route("scale web to 3 in shop")
        assert still.tier is Tier.KEYWORD
    finally:
        await activator.stop()
