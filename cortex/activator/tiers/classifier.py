"""Tier 3: a small instruct model picks one tool, constrained by a JSON schema built from the catalog."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from cortex.activator.arguments import coerce_arguments, extract_arguments, grounded
from cortex.activator.catalog import ToolCatalog, ToolSpec
from cortex.activator.decision import TierAnswer
from cortex.activator.shortlist import ToolShortlist
from cortex.activator.tiers.model_endpoint import ChatEndpoint, ModelOutputError, parse_json_object

NONE_CHOICE = "none"


# Switches a model must never set on its own: they change what a call is allowed to do.
PROTECTED_ARGUMENTS = frozenset({"confirm", "dry_run", "force", "force_conflicts"})


def merge_arguments(query: str, spec: ToolSpec, proposed: Any) -> dict[str, Any]:
    """Arguments read from the request, plus model proposals that the request actually contains."""
    arguments = extract_arguments(query, spec)
    if isinstance(proposed, dict):
        for key, value in coerce_arguments(spec, proposed).items():
            if key in arguments or key in PROTECTED_ARGUMENTS or isinstance(value, bool):
                continue
            if grounded(value, query):
                arguments[key] = value
    return arguments


def argument_properties(catalog: ToolCatalog) -> dict[str, Any]:
    """Every argument a model may propose, typed; strings are short name-like tokens so it cannot ramble."""
    properties: dict[str, Any] = {}
    for spec in catalog:
        for name in spec.parameters:
            kind = spec.parameter_kind(name)
            if name in {"continue_token", "limit", *PROTECTED_ARGUMENTS}:
                continue
            if kind == "string":
                properties.setdefault(name, {"type": "string", "pattern": "^[a-z0-9][a-z0-9=,/-]{0,62}$"})
            elif kind == "integer":
                properties.setdefault(name, {"type": "integer", "minimum": 0, "maximum": 100000})
    return {"type": "object", "properties": properties, "additionalProperties": False, "maxProperties": 4}


def route_schema(catalog: ToolCatalog) -> dict[str, Any]:
    """JSON schema of the classifier's answer: a tool name from the catalog (or none) and its arguments."""
    return {
        "type": "object",
        "properties": {
            "tool": {"type": "string", "enum": [*catalog.names(), NONE_CHOICE]},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "arguments": argument_properties(catalog),
        },
        "required": ["tool", "confidence"],
        "additionalProperties": False,
    }


# The rules and examples come before the tool list, so llama.cpp's prompt cache keeps them from one request to the
# next. Without them Qwen2.5-Coder-0.5B named a tool for every piece of small talk it was given.
PREAMBLE = (
    "You route Kubernetes operations requests to exactly one tool, or to none.",
    "A request that does not ask to read or change something in the cluster gets the tool none: greetings, thanks, "
    "jokes, stories, poems, recipes, questions about the world.",
    "Examples:",
    'good morning! -> {"tool": "none", "confidence": 1.0}',
    'write a haiku about the sea -> {"tool": "none", "confidence": 1.0}',
    'what is the capital of France? -> {"tool": "none", "confidence": 1.0}',
    'show the logs of pod api-0 in prod -> {"tool": "get_logs", "confidence": 0.9, '
    '"arguments": {"pod_name": "api-0", "namespace": "prod"}}',
)


def system_prompt(catalog: ToolCatalog) -> str:
    lines = [
        *PREAMBLE,
        "Tools:",
        *(f"- {spec.name}: {spec.summary()}" for spec in catalog),
        f"- {NONE_CHOICE}: the request is not a cluster operation, or you are unsure.",
        "Answer with JSON: tool, confidence from 0 to 1, and only the arguments the request states.",
    ]
    return "\n".join(lines)


class ModelTier:
    """A tier that asks a chat model about the tools it offers: the shortlist's pick, or the whole catalog."""

    def __init__(
        self,
        endpoint: ChatEndpoint,
        catalog: ToolCatalog,
        max_tokens: int,
        shortlist: ToolShortlist | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.catalog = catalog
        self.max_tokens = max_tokens
        self.shortlist = shortlist

    def offered(self, query: str, hints: Sequence[str] = ()) -> ToolCatalog:
        return self.shortlist.select(query, hints) if self.shortlist is not None else self.catalog


class ClassifierTier(ModelTier):
    """Asks the model once; a malformed answer raises ModelOutputError and the router escalates."""

    def __init__(
        self,
        endpoint: ChatEndpoint,
        catalog: ToolCatalog,
        max_tokens: int = 96,
        shortlist: ToolShortlist | None = None,
    ) -> None:
        super().__init__(endpoint, catalog, max_tokens, shortlist)

    async def answer(self, query: str, hints: Sequence[str] = ()) -> TierAnswer:
        offered = await asyncio.to_thread(self.offered, query, hints)
        message = await self.endpoint.chat(
            [{"role": "system", "content": system_prompt(offered)}, {"role": "user", "content": query}],
            max_tokens=self.max_tokens,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "route", "schema": route_schema(offered)},
            },
        )
        data = parse_json_object(str(message.get("content") or ""))
        tool = data.get("tool")
        try:
            confidence = float(data.get("confidence", 0.0))
        except (TypeError, ValueError) as exc:
            raise ModelOutputError(f"classifier confidence is not a number: {data.get('confidence')!r}") from exc
        confidence = max(0.0, min(1.0, confidence))
        if tool == NONE_CHOICE:
            return TierAnswer(tool=None, confidence=confidence, refuse=True, reason="classifier: not an operation")
        spec = offered.get(tool if isinstance(tool, str) else None)
        if spec is None:
            raise ModelOutputError(f"classifier named a tool it was not offered: {tool!r}")
        return TierAnswer(
            tool=spec.name,
            arguments=merge_arguments(query, spec, data.get("arguments")),
            confidence=confidence,
            reason="classifier model",
        )
