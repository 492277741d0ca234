"""Tiers 3 and 4 on the real models they run in production, behind llama.cpp's server, and the model-fault paths.

Tier 3 is Qwen2.5-Coder-0.5B-Instruct and tier 4 Qwen2.5-Coder-1.5B-Instruct (both Q4_K_M, 2 threads). One answer
takes seconds on two cores, so each request here is chosen to prove one thing: requests the rules and the
embeddings leave reach the right tool, small talk is refused, a model-chosen change waits for confirmation and
names its action, tier 4's prompt fits its token budget, and a diagnosis gets a read-only plan inside tier 4's
timeout. Accuracy over the labelled set is measured in bench/activator.py, not here.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import pytest

from bench.llama import chat_prompt_tokens
from cortex.activator.arguments import grounded, without_namespace
from cortex.activator.catalog import ToolCatalog
from cortex.activator.decision import Tier
from cortex.activator.embedding import MiniLMEmbedder
from cortex.activator.learning import RouteHit
from cortex.activator.service import Activator, QueryRequest
from cortex.activator.settings import ActivatorSettings
from cortex.activator.shortlist import DIAGNOSIS_TOOLS, ToolShortlist
from cortex.activator.tiers.classifier import ClassifierTier
from cortex.activator.tiers.model_endpoint import ChatEndpoint
from cortex.activator.tiers.reasoning import ReasoningTier
from tests.cortex.activator.conftest import running

pytestmark = pytest.mark.model

# Clear requests that no rule matches and whose nearest seeded utterance is too far to trust.
PICKS = [
    (
        "I need to see what went wrong in the last hour in namespace shop, events only",
        "get_events",
        {"namespace": "shop"},
    ),
    ("which TLS hosts are on the storefront ingress in shop", "get_ingress", {"namespace": "shop"}),
]
# Small talk Qwen 0.5B routed when its own confidence was trusted: get_pods(namespace="lisbon"), get_logs(pod_name=
# "write"). Every value is in the request, so only the evidence check (grounding.py) can refuse them.
CHIT_CHAT = ["what's the weather in Lisbon", "write a poem"]
DELETE = "the secret db-password in shop is not needed anymore, remove it"
DIAGNOSIS = "why is my pod web-1 crashlooping in shop"
# A vague request for a change that names no object (a train request of the labelled set).
VAGUE_CHANGE = "upgrade all of it to the latest version"
# An ordinary request for the fault tests below: they check what happens around the model, not its choice.
UNSEEN = "could the checkout thing get beefier please, 4 replicas in shop"
# The tier-3 tests judge the choice, not the speed, and other work may share the two cores: they wait longer than
# tier 3's 20 s default. The diagnosis test keeps tier 4's own timeout, since answering within it is its point.
CHOICE_TIMEOUT_SECONDS = 120.0
# The most tokens tier 4's prompt may take, so the 1.5B model reads it well inside its timeout on two cores.
REASONING_PROMPT_TOKENS = 1000


def nearest(activator: Activator, query: str) -> list[RouteHit]:
    """Tier 2's stored requests nearest `query`, as the router hands them to the model tiers."""
    return activator.memory.nearest(activator.embedder.embed_one(without_namespace(query)), 5)


def assert_grounded(query: str, arguments: dict[str, object]) -> None:
    for key, value in arguments.items():
        assert grounded(value, query), f"{key}={value!r} does not appear in {query!r}"


def report(tier: str, query: str, seconds: float, outcome: object) -> None:
    print(f"\n{tier} answered in {seconds:.1f} s: {query!r} -> {outcome}", file=sys.stderr)


@pytest.fixture
def choosing_settings(
    classifier_server: str, reasoning_server: str, make_settings: Callable[..., ActivatorSettings]
) -> ActivatorSettings:
    """Both model tiers on, tier 3 given time to choose (CHOICE_TIMEOUT_SECONDS)."""
    return make_settings(
        classifier_url=classifier_server,
        reasoning_url=reasoning_server,
        classifier_timeout_seconds=CHOICE_TIMEOUT_SECONDS,
    )


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
            answer = await tier.answer(query, nearest=nearest(offline_activator, query))
            report("tier 3", query, time.perf_counter() - started, (answer.tool, answer.arguments))
            assert answer.tool == tool, (query, answer)
            assert answer.confidence >= ActivatorSettings().confidence_threshold, answer
            assert arguments.items() <= answer.arguments.items(), answer.arguments
            assert_grounded(query, answer.arguments)
    finally:
        await endpoint.aclose()


async def test_classifier_refuses_small_talk(
    classifier_server: str, snapshot_catalog: ToolCatalog, shortlist: ToolShortlist, offline_activator: Activator
) -> None:
    endpoint = ChatEndpoint(classifier_server, "classifier", CHOICE_TIMEOUT_SECONDS)
    tier = ClassifierTier(endpoint, snapshot_catalog, shortlist=shortlist)
    try:
        for query in CHIT_CHAT:
            assert (await offline_activator.route(query)).tool is None
            started = time.perf_counter()
            answer = await tier.answer(query, nearest=nearest(offline_activator, query))
            report("tier 3", query, time.perf_counter() - started, answer)
            # Refused, and final: the router stops on a refusal at or above the threshold.
            assert answer.refuse and answer.tool is None, answer
            assert answer.confidence >= ActivatorSettings().confidence_threshold, answer
    finally:
        await endpoint.aclose()


async def test_a_change_the_classifier_chose_waits_for_confirmation(
    choosing_settings: ActivatorSettings, snapshot_catalog: ToolCatalog
) -> None:
    async with running(choosing_settings, snapshot_catalog) as activator:
        started = time.perf_counter()
        response = await activator.handle(QueryRequest(query=DELETE))
        report("cascade", DELETE, time.perf_counter() - started, (response.tier, response.tool, response.arguments))
        assert response.tier == Tier.CLASSIFIER.value and response.tool == "delete_secret", response
        assert {"name": "db-password", "namespace": "shop"}.items() <= response.arguments.items(), response
        assert response.requires_confirmation and response.status == "needs_confirmation" and not response.executed
        assert response.message.startswith("delete Secret db-password in shop (destructive)"), response.message
        assert any(e.startswith("keyword:") for e in response.escalations), response.escalations
        assert any(e.startswith("similarity:") for e in response.escalations), response.escalations


async def test_a_model_never_decides_a_change_whose_object_the_request_does_not_name(
    choosing_settings: ActivatorSettings, snapshot_catalog: ToolCatalog
) -> None:
    async with running(choosing_settings, snapshot_catalog) as activator:
        started = time.perf_counter()
        decision = await activator.route(VAGUE_CHANGE)
        report("cascade", VAGUE_CHANGE, time.perf_counter() - started, (decision.tier, decision.tool))
        # Qwen 0.5B read it as upgrade_helm_release with no release: not a decision, whichever tier answers.
        spec = snapshot_catalog.get(decision.tool)
        assert spec is None or spec.read_only, decision


async def test_reasoning_plans_a_diagnosis_within_its_timeout(
    classifier_server: str,
    reasoning_server: str,
    snapshot_catalog: ToolCatalog,
    make_settings: Callable[..., ActivatorSettings],
) -> None:
    settings = make_settings(classifier_url=classifier_server, reasoning_url=reasoning_server)
    async with running(settings, snapshot_catalog) as activator:
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


def test_the_reasoning_prompt_of_a_diagnosis_fits_its_budget(
    reasoning_server: str, snapshot_catalog: ToolCatalog, shortlist: ToolShortlist
) -> None:
    tier = ReasoningTier(ChatEndpoint(reasoning_server, "reasoning", 5.0), snapshot_catalog, 4, shortlist=shortlist)
    offered = tier.offered(DIAGNOSIS, ["restart_pod", "delete_resource"])
    assert set(DIAGNOSIS_TOOLS) <= set(offered.names()), offered.names()
    tokens = chat_prompt_tokens(reasoning_server, tier.prompt(offered, DIAGNOSIS))
    print(f"\ntier 4 prompt for {DIAGNOSIS!r}: {tokens} tokens, {len(offered)} tools", file=sys.stderr)
    assert 100 < tokens <= REASONING_PROMPT_TOKENS


async def test_slow_model_times_out_and_falls_through(
    classifier_server: str, snapshot_catalog: ToolCatalog, make_settings: Callable[..., ActivatorSettings]
) -> None:
    settings = make_settings(classifier_url=classifier_server, classifier_timeout_seconds=0.01)
    async with running(settings, snapshot_catalog) as activator:
        decision = await activator.route(UNSEEN)
        assert decision.tool is None and decision.tier is Tier.NONE
        assert any("did not answer" in e for e in decision.escalations), decision.escalations
        text = activator.metrics.exposition().decode()
        assert 'cortex_activator_escalations_total{reason="timeout",tier="classifier"} 1.0' in text


async def test_malformed_model_output_is_never_executed(
    classifier_server: str, snapshot_catalog: ToolCatalog, make_settings: Callable[..., ActivatorSettings]
) -> None:
    settings = make_settings(classifier_url=classifier_server)
    async with running(settings, snapshot_catalog) as activator:
        assert activator.router is not None and activator.router.classifier is not None
        # Three tokens cannot hold a complete JSON object: the real model's answer is cut off mid-way.
        activator.router.classifier.max_tokens = 3
        response = await activator.handle(QueryRequest(query=UNSEEN, confirm=True))
        assert response.tool is None and not response.executed and response.status == "no_route"
        assert any("unusable model output" in e for e in response.escalations), response.escalations


async def test_model_server_down_falls_through(
    snapshot_catalog: ToolCatalog, make_settings: Callable[..., ActivatorSettings]
) -> None:
    # Nothing listens on port 9 of the loopback interface.
    settings = make_settings(classifier_url="http://127.0.0.1:9", reasoning_url="http://127.0.0.1:9")
    async with running(settings, snapshot_catalog) as activator:
        decision = await activator.route(UNSEEN)
        assert decision.tool is None
        assert any(e.startswith("classifier:") and "down" in e for e in decision.escalations), decision.escalations
        assert any(e.startswith("reasoning:") for e in decision.escalations)
        still = await activator.route("scale web to 3 in shop")
        assert still.tier is Tier.KEYWORD
