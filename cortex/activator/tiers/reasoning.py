"""Tier 4: a larger model sees the tools as function definitions and may answer with a short plan."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from cortex.activator.catalog import ToolCatalog
from cortex.activator.decision import PlanStep, TierAnswer
from cortex.activator.shortlist import ToolShortlist
from cortex.activator.tiers.classifier import ModelTier, argument_properties, merge_arguments
from cortex.activator.tiers.model_endpoint import ChatEndpoint, ModelOutputError, parse_json_object

SYSTEM = (
    "You operate a Kubernetes cluster through the given functions. Call the functions needed to answer the "
    "request, in order, at most {steps} calls. Use only values that appear in the request. If the request is "
    "not a cluster operation, call nothing and say so."
)
# Fixed, because a tool-using model has no calibrated confidence; the plan is still checked step by step.
PLAN_CONFIDENCE = 0.7


def function_definitions(catalog: ToolCatalog) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {"name": spec.name, "description": spec.summary(), "parameters": spec.input_schema},
        }
        for spec in catalog
    ]


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
                {"role": "system", "content": SYSTEM.format(steps=self.max_steps)},
                {"role": "user", "content": query},
            ],
            max_tokens=self.max_tokens,
            tools=function_definitions(offered),
            # Models with a tool-calling template answer with tool_calls; others are held to the JSON plan.
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
