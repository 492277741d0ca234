"""Tiers 3 and 4 on the real models they run in production, behind llama.cpp's server, and the model-fault paths.

Tier 3 is Qwen2.5-Coder-0.5B-Instruct and tier 4 Qwen2.5-Coder-1.5B-Instruct (both Q4_K_M, 2 threads). One answer
takes seconds on two cores, so each request here is chosen to prove one thing: requests the rules and the
embeddings leave reach the right tool, small talk is refused, a model-chosen change waits for confirmation, and a
diagnosis gets a read-only plan inside tier 4's timeout.
"""

from __future__ import annotations

import sys
import time
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
from cortex.activator.tiers.model_endpoint import ChatEndpoint

pytestmark = pytest.mark.model

# Clear requests that no rule matches and whose nearest seeded utterance is too far to trust.
PICKS = [
    (
        "I need to see what went wrong in the last hour in namespace shop, events only",
        "get_events",
        {"namespace": "shop"},
    ),
    ("what hostnames does the ingress storefront in shop answer to", "get_ingress", {"namespace": "shop"}),
]
CHIT_CHAT = "tell me a joke about cats"
DELETE = "throw away the secret db-password in shop"
DIAGNOSIS = "why is my pod web-1 crashlooping in shop"
# An ordinary request for the fault tests below: they check what happens around the model, not its choice.
UNSEEN = "could the checkout thing get beefier please, 4 replicas in shop"
# The tier-3 tests judge the choice, not the speed, and other work may share the two cores: they wait longer than
# tier 3's 20 s default. The diagnosis test keeps tier 4's own timeout, since answering within it is its point.
CHOICE_TIMEOUT_SECONDS = 120.0


def assert_grounded(query: str, arguments: dict[str, object]) -> None:
    for key, value in arguments.items():
        assert grounded(value, query), f"{key}={value!r} does not appear in {query!r}"


def report(tier: str, query: str, seconds: float, outcome: object) -> None:
    print(f"\n{tier} answered in {seconds:.1f} s: {query!r} -> {outcome}", file=sys.stderr)


@pytest.fixture(scope="module")
def shortlist(snapshot_catalog: ToolCatalog) -> ToolShortlist:
    return ToolShortlist(snapshot_catalog, MiniLMEmbedder(), ActivatorSettings().model_tool_limit)


async def test_classifier_picks_the_tool_for_requests_the_rules_and_embeddings_leave(
    classifier_server: str, snapshot_catalog: ToolCatalog, shortlist: ToolShortlist, offline_activator: Activator
) -> None:
    endpoint = ChatEndpoint(classifier_server, "classifier", CHOICE_TIMEOUT_SECONDS)
    tier = ClassifierTier(endpoint, snapshot_catalog, shortlist=shortlist)
    try:
        for query, tool, arguments in PICKS:
            unrouted = await offline_activator.route(query)
            assert unrouted.tool is None, f"tiers 1-2 already route {query!r}: {unrouted}"
            started = time.perf_counter()
            answer = await tier.answer(query)
            report("tier 3", query, time.perf_counter() - started, (answer.tool, answer.arguments))
            assert answer.tool == tool, (query, answer)
            assert arguments.items() <= answer.arguments.items(), answer.arguments
            assert_grounded(query, answer.arguments)
    finally:
        await endpoint.aclose()


async def test_classifier_refuses_small_talk(
    classifier_server: str, snapshot_catalog: ToolCatalog, shortlist: ToolShortlist, offline_activator: Activator
) -> None:
    assert (await offline_activator.route(CHIT_CHAT)).tool is None
    endpoint = ChatEndpoint(classifier_server, "classifier", CHOICE_TIMEOUT_SECONDS)
    tier = ClassifierTier(endpoint, snapshot_catalog, shortlist=shortlist)
    try:
        started = time.perf_counter()
        answer = await tier.answer(CHIT_CHAT)
        report("tier 3", CHIT_CHAT, time.perf_counter() - started, answer)
        assert answer.refuse and answer.tool is None, answer
    finally:
        await endpoint.aclose()


async def test_a_change_the_classifier_chose_waits_for_confirmation(
    classifier_server: str,
    reasoning_server: str,
    snapshot_catalog: ToolCatalog,
    make_settings: Callable[..., ActivatorSettings],
) -> None:
    settings = make_settings(
        classifier_url=classifier_server,
        reasoning_url=reasoning_server,
        classifier_timeout_seconds=CHOICE_TIMEOUT_SECONDS,
    )
    activator = Activator(settings, execute=False)
    await activator.start(snapshot_catalog)
    try:
        started = time.perf_counter()
        response = await activator.handle(QueryRequest(query=DELETE))
        report("cascade", DELETE, time.perf_counter() - started, (response.tier, response.tool, response.arguments))
        assert response.tier == Tier.CLASSIFIER.value and response.tool == "delete_secret", response
        assert {"name": "db-password", "namespace": "shop"}.items() <= response.arguments.items(), response
        assert response.requires_confirmation and response.status == "needs_confirmation" and not response.executed
        assert any(e.startswith("keyword:") for e in response.escalations), response.escalations
        assert any(e.startswith("similarity:") for e in response.escalations), response.escalations
    finally:
        await activator.stop()


async def test_reasoning_plans_a_diagnosis_within_its_timeout(
    classifier_server: str,
    reasoning_server: str,
    snapshot_catalog: ToolCatalog,
    make_settings: Callable[..., ActivatorSettings],
) -> None:
    settings = make_settings(classifier_url=classifier_server, reasoning_url=reasoning_server)
    activator = Activator(settings, execute=False)
    await activator.start(snapshot_catalog)
    try:
        started = time.perf_counter()
        decision = await activator.route(DIAGNOSIS)
        seconds = time.perf_counter() - started
        steps: list[tuple[str | None, dict[str, object]]] = [(s.tool, s.arguments) for s in decision.plan]
        steps = steps or [(decision.tool, decision.arguments)]
        report("tier 4", DIAGNOSIS, seconds, steps)
        assert any("tiers 1-3 skipped" in e for e in decision.escalations), decision.escalations
        # A timeout, an outage or an unusable answer would leave the request with tier "none".
        assert decision.tier is Tier.REASONING, decision
        assert seconds < settings.reasoning_timeout_seconds
        assert decision.tool is not None and len(decision.plan) <= settings.reasoning_max_steps
        for step in decision.plan or []:
            assert step.tool in snapshot_catalog
            assert_grounded(DIAGNOSIS, step.arguments)
        # A diagnosis looks before it changes anything.
        for tool in [step.tool for step in decision.plan] or [decision.tool]:
            assert snapshot_catalog.tools[tool].read_only, f"{tool} in a diagnosis plan: {decision}"
        assert_grounded(DIAGNOSIS, decision.arguments)
        assert not decision.requires_confirmation
    finally:
        await activator.stop()


async def test_slow_model_times_out_and_falls_through(
    classifier_server: str, snapshot_catalog: ToolCatalog, make_settings: Callable[..., ActivatorSettings]
) -> None:
    settings = make_settings(classifier_url=classifier_server, classifier_timeout_seconds=0.01)
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
    classifier_server: str, snapshot_catalog: ToolCatalog, make_settings: Callable[..., ActivatorSettings]
) -> None:
    settings = make_settings(classifier_url=classifier_server)
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
