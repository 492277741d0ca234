"""Tier 4: a larger model sees the tools as function definitions and may answer with a short plan."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from cortex.activator.catalog import ToolCatalog, ToolSpec
from cortex.activator.decision import PlanStep, TierAnswer
from cortex.activator.learning import RouteHit
from cortex.activator.shortlist import ToolShortlist, is_diagnosis
from cortex.activator.tiers.classifier import (
    HIDDEN_ARGUMENTS,
    MODEL_ARGUMENTS,
    ModelTier,
    merge_arguments,
    tool_arguments_schema,
)
from cortex.activator.tiers.grounding import NAMED, REFUSAL, Support, support
from cortex.activator.tiers.model_endpoint import ChatEndpoint, ModelOutputError, parse_json_object

SYSTEM = (
    "You operate a Kubernetes cluster through the functions below. Plan the calls needed to answer the request, in "
    "order, at most {steps} calls. Use only values that appear in the request. To find why something fails, read "
    "first (events, describe, logs, rollout status) and change nothing. If the request is not a cluster "
    'operation, answer {{"plan": []}}.'
)
# Arguments a plan never sets: paging, the switches and the kubeconfig context (merge_arguments drops them too).
# Also the tuning a request hardly ever states: the 1.5B model filled api_version "v1" and events_limit 10 into every
# describe step, tokens it spent on values the grounding check then dropped.
PLAN_HIDDEN = HIDDEN_ARGUMENTS | frozenset({"api_version", "events_limit", "wait_seconds", "max_revisions"})
# Characters of each tool's summary in the prompt: 12 tools then fit in about 700 tokens (bench/activator.py
# counts them with the model's own tokenizer), which the 1.5B model reads in a few seconds on two cores.
SUMMARY_CHARS = 90
REASONING_TOOL_LIMIT = 10


def system_prompt(catalog: ToolCatalog, max_steps: int) -> str:
    """The task and one line per offered tool with the arguments a plan may set (? = optional).

    Listed as text rather than sent as OpenAI function definitions: with the JSON plan held to a schema, the
    definitions only describe the tools, and their JSON Schema is about 7 times the tokens (3,500 instead of about
    500 for 12 tools), which the 1.5B model needed over a minute to read on two cores.
    """
    lines = [SYSTEM.format(steps=max_steps), "Functions:"]
    for spec in catalog:
        names = [name for name in spec.parameters if name not in PLAN_HIDDEN and name in MODEL_ARGUMENTS]
        signature = ", ".join(name + ("" if name in spec.required else "?") for name in names)
        lines.append(f"- {spec.name}({signature}): {spec.summary()[:SUMMARY_CHARS]}")
    lines.append('Answer with JSON: {"plan": [{"tool": ..., "arguments": {...}}, ...]}.')
    return "\n".join(lines)


def plan_schema(catalog: ToolCatalog, max_steps: int) -> dict[str, Any]:
    """The JSON plan a model answers with when its chat template cannot emit native function calls."""
    return {
        "type": "object",
        "properties": {
            "plan": {
                "type": "array",
                "minItems": 0,
                "maxItems": max_steps,
                # One branch per tool: its name and its own arguments, so a step cannot borrow another's.
                "items": {
                    "anyOf": [
                        {
                            "type": "object",
                            "properties": {
                                "tool": {"const": spec.name},
                                "arguments": tool_arguments_schema(spec, PLAN_HIDDEN),
                            },
                            "required": ["tool", "arguments"],
                            "additionalProperties": False,
                        }
                        for spec in sorted(catalog, key=lambda s: s.name)
                    ]
                },
            }
        },
        "required": ["plan"],
        "additionalProperties": False,
    }


def _raw_steps(message: dict[str, Any]) -> list[tuple[Any, Any]]:
    calls = message.get("tool_calls") or []
    if calls:
        steps: list[tuple[Any, Any]] = []
        for call in calls:
            function = (call or {}).get("function") or {}
            arguments = function.get("arguments")
            if isinstance(arguments, str):
                try:
                    arguments = json.loads(arguments) if arguments.strip() else {}
                except json.JSONDecodeError as exc:
                    raise ModelOutputError(f"function arguments are not JSON: {arguments[:120]!r}") from exc
            steps.append((function.get("name"), arguments))
        return steps
    content = str(message.get("content") or "").strip()
    if not content:
        raise ModelOutputError("reasoning model returned neither function calls nor text")
    data = parse_json_object(content)
    if isinstance(data.get("plan"), list):
        steps = [(step.get("tool"), step.get("arguments")) for step in data["plan"] if isinstance(step, dict)]
        return steps
    if "tool" in data or "name" in data:
        return [(data.get("tool") or data.get("name"), data.get("arguments") or data.get("parameters"))]
    raise ModelOutputError(f"reasoning output has no plan: {content[:160]!r}")


class ReasoningTier(ModelTier):
    """Turns function calls (or a JSON plan in the text) into checked plan steps."""

    def __init__(
        self,
        endpoint: ChatEndpoint,
        catalog: ToolCatalog,
        max_steps: int,
        max_tokens: int = 192,
        shortlist: ToolShortlist | None = None,
    ) -> None:
        super().__init__(endpoint, catalog, max_tokens, shortlist)
        self.max_steps = max_steps
        # A diagnosis's five reads and five more: about 500 prompt tokens, read in seconds by the 1.5B model.
        self.tool_limit = REASONING_TOOL_LIMIT

    def prompt(self, offered: ToolCatalog, query: str) -> list[dict[str, Any]]:
        return [
            {"role": "system", "content": system_prompt(offered, self.max_steps)},
            {"role": "user", "content": query},
        ]

    async def answer(self, query: str, hints: Sequence[str] = (), nearest: Sequence[RouteHit] = ()) -> TierAnswer:
        """A checked plan; an empty plan is the model's "not an operation". The confidence is the best support
        (grounding.support) any step has, since the model has no calibrated figure of its own."""
        offered = await asyncio.to_thread(self.offered, query, hints)
        schema = plan_schema(offered, self.max_steps)
        message = await self.endpoint.chat(
            self.prompt(offered, query),
            max_tokens=self.max_tokens,
            response_format={"type": "json_schema", "json_schema": {"name": "plan", "schema": schema}},
        )
        raw = _raw_steps(message)
        if not raw:
            return TierAnswer(tool=None, confidence=REFUSAL, refuse=True, reason="reasoning: not an operation")
        steps: list[PlanStep] = []
        specs: list[ToolSpec] = []
        unknown: list[str] = []
        for name, arguments in raw[: self.max_steps]:
            spec = offered.get(name if isinstance(name, str) else None)
            if spec is None:
                unknown.append(str(name))
                continue
            step = PlanStep(tool=spec.name, arguments=merge_arguments(query, spec, arguments))
            if step not in steps:
                steps.append(step)
                specs.append(spec)
        if not steps:
            raise ModelOutputError(f"reasoning plan names no known tool (got {unknown or 'nothing'})")
        weighed = [support(query, spec, nearest) for spec in specs]
        backed = [e for e in weighed if not e.refuse]
        if not backed:
            return TierAnswer(tool=None, confidence=REFUSAL, refuse=True, reason=f"reasoning: {weighed[0].why}")
        evidence = max(backed, key=lambda e: e.confidence)
        if is_diagnosis(query) and all(spec.read_only for spec in specs) and evidence.confidence < NAMED:
            # Asked why something fails, a plan that only reads (events, describe, logs) is what was asked for.
            evidence = Support(NAMED, False, "a diagnosis answered with reads only")
        first = steps[0]
        return TierAnswer(
            tool=first.tool,
            arguments=first.arguments,
            confidence=evidence.confidence,
            plan=steps if len(steps) > 1 else [],
            reason=f"reasoning model plan of {len(steps)} step(s): {evidence.why}"
            + (f"; dropped unknown tools {unknown}" if unknown else ""),
        )
