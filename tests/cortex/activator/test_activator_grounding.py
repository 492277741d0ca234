"""What the model tiers are offered and how their picks are weighed, on real MiniLM vectors and Qdrant local mode.

No model runs here: the schema and prompt a model gets, the read tools a diagnosis is always offered, and the
evidence (grounding.support) that replaces a model's own confidence, fed with the stored requests tier 2 finds.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from cortex.activator.arguments import without_namespace
from cortex.activator.catalog import ToolCatalog
from cortex.activator.learning import RouteHit
from cortex.activator.service import Activator
from cortex.activator.settings import ActivatorSettings
from cortex.activator.shortlist import DIAGNOSIS_TOOLS, ToolShortlist
from cortex.activator.tiers.classifier import NONE_CHOICE, merge_arguments, route_schema, system_prompt
from cortex.activator.tiers.grounding import support
from cortex.activator.tiers.reasoning import plan_schema


def nearest(activator: Activator, query: str) -> list[RouteHit]:
    return activator.memory.nearest(activator.embedder.embed_one(without_namespace(query)), 5)


def mentions(schema: Any, key: str) -> bool:
    return f'"{key}"' in json.dumps(schema)


def test_the_classifier_schema_has_one_branch_per_tool_and_an_explicit_none(snapshot_catalog: ToolCatalog) -> None:
    offered = ToolCatalog.of([snapshot_catalog.tools[n] for n in ("get_logs", "scale_deployment")], "two tools")
    branches = route_schema(offered)["anyOf"]
    assert [b["properties"]["tool"]["const"] for b in branches] == ["get_logs", "scale_deployment", NONE_CHOICE]
    logs, scale, none = branches
    # Each tool's branch holds its own object arguments, never another tool's; the rest is read from the request.
    assert set(logs["properties"]["arguments"]["properties"]) == {"pod_name", "container"}
    assert set(scale["properties"]["arguments"]["properties"]) == {"name"}
    assert scale["properties"]["arguments"]["properties"]["name"]["type"] == "string"
    assert none["properties"] == {"tool": {"const": NONE_CHOICE}} and not none["additionalProperties"]


@pytest.mark.parametrize("key", ["context", "confirm", "dry_run", "continue_token", "confidence"])
def test_no_model_schema_lets_a_model_choose_a_context_a_switch_or_its_confidence(
    snapshot_catalog: ToolCatalog, key: str
) -> None:
    assert not mentions(route_schema(snapshot_catalog), key)
    assert not mentions(plan_schema(snapshot_catalog, 4), key)
    assert f"{key}?" not in system_prompt(snapshot_catalog)


def test_a_context_the_model_proposes_is_dropped(snapshot_catalog: ToolCatalog) -> None:
    query = "show the pods in prod"
    arguments = merge_arguments(query, snapshot_catalog.tools["get_pods"], {"context": "prod", "namespace": "prod"})
    assert arguments == {"namespace": "prod"}


def test_a_diagnosis_is_always_offered_the_reads_it_needs(
    snapshot_catalog: ToolCatalog, offline_activator: Activator
) -> None:
    for name in DIAGNOSIS_TOOLS:
        assert name in snapshot_catalog, f"{name} is not a k3s_mcp tool"
    shortlist = ToolShortlist(snapshot_catalog, offline_activator.embedder, ActivatorSettings().model_tool_limit)
    for query in ("why is my pod web-1 crashlooping in shop", "figure out what's wrong with checkout in payments"):
        offered = shortlist.select(query, hints=["restart_pod"])
        assert set(DIAGNOSIS_TOOLS) <= set(offered.names()), (query, offered.names())
        assert len(offered) == ActivatorSettings().model_tool_limit
    plain = shortlist.select("list the secrets in payments")
    assert not set(DIAGNOSIS_TOOLS) <= set(plain.names())


@pytest.mark.parametrize(
    ("query", "tool"),
    [
        ("what's the weather in Lisbon", "get_pods"),
        ("write a poem", "get_logs"),
        ("tell me a joke about cats", "get_events"),
    ],
)
def test_small_talk_a_model_routed_is_refused(
    snapshot_catalog: ToolCatalog, offline_activator: Activator, query: str, tool: str
) -> None:
    # The argument a model would get is in the request ("lisbon"), so grounding the values alone cannot stop it.
    evidence = support(query, snapshot_catalog.tools[tool], nearest(offline_activator, query))
    assert evidence.refuse, evidence


@pytest.mark.parametrize(
    ("query", "tool"),
    [
        ("what hostnames does the ingress storefront in shop answer to", "get_ingress"),
        ("I need to see what went wrong in the last hour in namespace shop, events only", "get_events"),
        ("could the checkout thing get beefier please, 4 replicas in shop", "scale_deployment"),
        ("throw away the secret db-password in shop", "delete_secret"),
    ],
)
def test_a_pick_the_request_bears_out_is_accepted(
    snapshot_catalog: ToolCatalog, offline_activator: Activator, query: str, tool: str
) -> None:
    evidence = support(query, snapshot_catalog.tools[tool], nearest(offline_activator, query))
    assert not evidence.refuse and evidence.confidence >= ActivatorSettings().confidence_threshold, evidence


def test_a_pick_nothing_bears_out_is_below_the_threshold(
    snapshot_catalog: ToolCatalog, offline_activator: Activator
) -> None:
    query = "what hostnames does the ingress storefront in shop answer to"
    evidence = support(query, snapshot_catalog.tools["get_cronjobs"], nearest(offline_activator, query))
    assert not evidence.refuse and evidence.confidence < ActivatorSettings().confidence_threshold, evidence
