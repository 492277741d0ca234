"""Tier 1 rules, argument extraction, typo correction, complexity modes and the offline cascade."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cortex.activator.catalog import ToolCatalog
from cortex.activator.complexity import score_request
from cortex.activator.decision import Mode, Tier
from cortex.activator.service import Activator
from cortex.activator.settings import ActivatorSettings
from cortex.activator.spelling import correct_typos
from cortex.activator.tiers.keyword import KeywordTier, RuleFileError, load_rules


@pytest.fixture(scope="module")
def keyword(snapshot_catalog: ToolCatalog) -> KeywordTier:
    return KeywordTier(load_rules(ActivatorSettings().rules_path), snapshot_catalog)


@pytest.mark.parametrize(
    ("query", "tool", "arguments"),
    [
        ("scale web to 3 in shop", "scale_deployment", {"name": "web", "replicas": 3, "namespace": "shop"}),
        (
            "kubectl scale deployment/api --replicas=2 -n jobs",
            "scale_deployment",
            {"name": "api", "replicas": 2, "namespace": "jobs"},
        ),
        ("show the last 50 lines of logs from web-1", "get_logs", {"pod_name": "web-1", "tail_lines": 50}),
        ('run "ls -l /tmp" in pod web-1', "execute_command", {"pod_name": "web-1", "command": ["ls", "-l", "/tmp"]}),
        (
            "delete the configmap app-config in shop",
            "delete_configmap",
            {"name": "app-config", "namespace": "shop"},
        ),
        ("list pods with label app=web in shop", "get_pods", {"labels": "app=web", "namespace": "shop"}),
    ],
)
def test_keyword_rules_extract_arguments(
    keyword: KeywordTier, query: str, tool: str, arguments: dict[str, object]
) -> None:
    answer = keyword.answer(query)
    assert answer is not None and answer.tool == tool
    assert answer.arguments == arguments


def test_keyword_rule_rejects_ordinary_words_as_names(keyword: KeywordTier) -> None:
    answer = keyword.answer("recycle the stuck pod worker-4")
    assert answer is not None and answer.arguments["name"] == "worker-4"


def test_keyword_tier_answers_well_under_a_millisecond(keyword: KeywordTier) -> None:
    queries = ["scale web to 3 in shop", "tell me a joke about nodes and pods in the cluster"] * 500
    started = time.perf_counter()
    for query in queries:
        keyword.answer(query)
    per_query_ms = (time.perf_counter() - started) * 1000 / len(queries)
    assert per_query_ms < 0.5, per_query_ms


def test_bad_rules_file_names_the_rule(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - id: broken\n    tool: get_pods\n    patterns: ['(unclosed']\n")
    with pytest.raises(RuleFileError, match="broken"):
        load_rules(path)


def test_rules_for_unknown_tools_are_dropped(tmp_path: Path, snapshot_catalog: ToolCatalog) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - id: ghost\n    tool: no_such_tool\n    patterns: ['ghost']\n")
    tier = KeywordTier(load_rules(path), snapshot_catalog)
    assert tier.skipped == ["ghost"] and tier.answer("ghost") is None


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("lsit pods in shop", "list pods in shop"),
        ("get nodse", "get nodes"),
        ("sacle web to 3", "scale web to 3"),
        ("scale shop to 3", "scale shop to 3"),
        ("logs from the last 10 minutes", "logs from the last 10 minutes"),
        ("scale web to 2 in web-prod", "scale web to 2 in web-prod"),
    ],
)
def test_typos_in_vocabulary_are_fixed_but_names_are_not(typed: str, meant: str) -> None:
    assert correct_typos(typed) == meant


@pytest.mark.parametrize(
    ("query", "mode"),
    [
        ("list pods", Mode.SIMPLE),
        ("why is my pod crashlooping", Mode.COMPLEX),
        ("restart web-1 and then show me its logs", Mode.COMPLEX),
        ("delete all pods in every namespace", Mode.EXPERT),
        ("migrate the cluster to a new region", Mode.EXPERT),
    ],
)
def test_complexity_modes(query: str, mode: Mode) -> None:
    complexity = score_request(query)
    assert complexity.mode is mode, complexity
    assert 0 <= complexity.score <= 100


async def test_expert_request_is_never_routed(offline_activator: Activator) -> None:
    decision = await offline_activator.route("delete everything in the cluster")
    assert decision.mode is Mode.EXPERT and decision.tool is None and "human" in decision.reason


async def test_similarity_answers_a_paraphrase_with_arguments_from_the_new_request(
    offline_activator: Activator,
) -> None:
    decision = await offline_activator.route("run five copies of the api in staging")
    assert decision.tier is Tier.SIMILARITY and decision.tool == "scale_deployment"
    assert decision.arguments["replicas"] == 5 and decision.arguments["namespace"] == "staging"


async def test_chit_chat_is_not_acted_on(offline_activator: Activator) -> None:
    for query in ("tell me a story about dragons", "what's 17 times 23", ""):
        decision = await offline_activator.route(query)
        assert decision.tool is None, (query, decision)


async def test_request_namespace_fills_a_missing_namespace(offline_activator: Activator) -> None:
    decision = await offline_activator.route("list pods", namespace="payments")
    assert decision.arguments == {"namespace": "payments"}
    named = await offline_activator.route("list pods in shop", namespace="payments")
    assert named.arguments == {"namespace": "shop"}


async def test_destructive_route_requires_confirmation(offline_activator: Activator) -> None:
    decision = await offline_activator.route("delete secret db-password in shop")
    assert decision.tool == "delete_secret" and decision.requires_confirmation
    read = await offline_activator.route("list pods in shop")
    assert not read.requires_confirmation
