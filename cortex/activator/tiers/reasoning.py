"""Tier 4: a larger model sees the tools as function definitions and may answer with a short plan."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from cortex.activator.catalog import ToolCatalog
from cortex.activator.decision import PlanStep, TierAnswer
from cortex.activator.shortlist import ToolShortlist
from cortex.activator.tiers.classifier import PROTECTED_ARGUMENTS, ModelTier, argument_properties, merge_arguments
from cortex.activator.tiers.model_endpoint import ChatEndpoint, ModelOutputError, parse_json_object

SYSTEM = (
    "You operate a Kubernetes cluster through the functions below. Plan the calls needed to answer the request, in "
    "order, at most {steps} calls. Use only values that appear in the request. If the request is not a cluster "
    "operation, plan nothing."
)
# Fixed, because a tool-using model has no calibrated confidence; the plan is still checked step by step.
PLAN_CONFIDENCE = 0.7
# Arguments a plan never sets: paging, and the switches merge_arguments drops from any model proposal.
PLAN_HIDDEN = frozenset({"continue_token", "limit", *PROTECTED_ARGUMENTS})


def system_prompt(catalog: ToolCatalog, max_steps: int) -> str:
    """The task and one line per offered tool with the arguments a plan may set (? = optional).

    Listed as text rather than sent as OpenAI function definitions: with the JSON plan held to a schema, the
    definitions only describe the tools, and their JSON Schema is about 7 times the tokens (3,500 instead of about
    500 for 12 tools), which the 1.5B model needed over a minute to read on two cores.
    """
    lines = [SYSTEM.format(steps=max_steps), "Functions:"]
    for spec in catalog:
        names = [name for name in spec.parameters if name not in PLAN_HIDDEN]
        signature = ", ".join(name + ("" if name in spec.required else "?") for name in names)
        lines.append(f"- {spec.name}({signature}): {spec.summary()}")
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
                "items": {
                    "type": "object",
                    "properties": {
                        "tool": {"type": "string", "enum": catalog.names()},
                        "arguments": argument_properties(catalog),
                    },
                    "required": ["tool", "arguments"],
                    "additionalProperties": False,
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
        if not steps:
            raise ModelOutputError("reasoning model returned an empty plan")
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

    async def answer(self, query: str, hints: Sequence[str] = ()) -> TierAnswer:
        offered = await asyncio.to_thread(self.offered, query, hints)
        schema = plan_schema(offered, self.max_steps)
        message = await self.endpoint.chat(
            [
                {"role": "system", "content": system_prompt(offered, self.max_steps)},
                {"role": "user", "content": query},
            ],
            max_tokens=self.max_tokens,
            response_format={"type": "json_schema", "json_schema": {"name": "plan", "schema": schema}},
        )
        steps: list[PlanStep] = []
        unknown: list[str] = []
        for name, arguments in _raw_steps(message)[: self.max_steps]:
            spec = offered.get(name if isinstance(name, str) else None)
            if spec is None:
                unknown.append(str(name))
                continue
            step = PlanStep(tool=spec.name, arguments=merge_arguments(query, spec, arguments))
            if step not in steps:
                steps.append(step)
        if not steps:
            raise ModelOutputError(f"reasoning plan names no known tool (got {unknown or 'nothing'})")
        first = steps[0]
        return TierAnswer(
            tool=first.tool,
            arguments=first.arguments,
            confidence=PLAN_CONFIDENCE,
            plan=steps if len(steps) > 1 else [],
            reason=f"reasoning model plan of {len(steps)} step(s)"
            + (f"; dropped unknown tools {unknown}" if unknown else ""),
        )
