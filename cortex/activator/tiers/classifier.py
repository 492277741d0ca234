"""Tier 3: a small instruct model picks one tool, constrained by a JSON schema built from the catalog."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from cortex.activator.arguments import coerce_arguments, extract_arguments, grounded
from cortex.activator.catalog import ToolCatalog, ToolSpec
from cortex.activator.decision import TierAnswer
from cortex.activator.learning import NO_ROUTE, RouteHit
from cortex.activator.shortlist import ToolShortlist
from cortex.activator.tiers.grounding import refusal, support
from cortex.activator.tiers.model_endpoint import ChatEndpoint, ModelOutputError, parse_json_object

NONE_CHOICE = "none"


# Arguments a model must never set on its own: switches that change what a call is allowed to do, and the
# kubeconfig context (Qwen set context "prod" because the request said "in prod": that is a namespace).
PROTECTED_ARGUMENTS = frozenset({"confirm", "dry_run", "force", "force_conflicts", "context"})
# Arguments no model tier is offered: paging, plus the protected ones.
HIDDEN_ARGUMENTS = frozenset({"continue_token", "limit", *PROTECTED_ARGUMENTS})
_NAME_PATTERN = "^[a-z0-9][a-z0-9.=,/-]{0,62}$"
_KIND_PATTERN = "^[A-Za-z][A-Za-z0-9.]{0,62}$"


def merge_arguments(query: str, spec: ToolSpec, proposed: Any) -> dict[str, Any]:
    """Arguments read from the request, plus model proposals that the request actually contains."""
    arguments = extract_arguments(query, spec)
    if isinstance(proposed, dict):
        for key, value in coerce_arguments(spec, proposed).items():
            if key in arguments or key in HIDDEN_ARGUMENTS or isinstance(value, bool):
                continue
            if grounded(value, query):
                arguments[key] = value
    return arguments


def _value_schema(spec: ToolSpec, name: str) -> dict[str, Any] | None:
    """A model-facing schema for one argument: short name-like strings, bounded integers; None = not offered."""
    declared = spec.parameters.get(name) or {}
    options = [declared, *(declared.get("anyOf") or [])]
    enum = next((option["enum"] for option in options if option.get("enum")), None)
    if enum:
        return {"type": "string", "enum": [str(value) for value in enum]}
    kind = spec.parameter_kind(name)
    if kind == "string":
        return {"type": "string", "pattern": _KIND_PATTERN if name == "kind" else _NAME_PATTERN}
    if kind in {"integer", "number"}:
        return {"type": "integer", "minimum": 0, "maximum": 100000}
    if kind == "array":
        return {"type": "array", "items": {"type": "string", "pattern": "^[^\\s]{1,64}$"}, "maxItems": 8}
    # Booleans are switches the request sets (merge_arguments ignores a model's); objects are whole documents.
    return None


# The arguments a model tier is asked for: the object a call is about. Namespaces, counts, label selectors, line
# counts and durations are read from the request by arguments.py, which finds them as well as the 0.5B model did;
# asking the model for them only made it write (and the grammar check) three times the tokens per answer.
MODEL_ARGUMENTS = frozenset(
    {"name", "pod_name", "deployment_name", "release", "release_name", "cronjob", "chart", "kind", "container"}
)


def tool_arguments_schema(
    spec: ToolSpec, hidden: frozenset[str] = HIDDEN_ARGUMENTS, offered: frozenset[str] = MODEL_ARGUMENTS
) -> dict[str, Any]:
    """The tool's object arguments as a model may fill them; none is required, since a forced value is invented."""
    properties: dict[str, Any] = {}
    for name in spec.parameters:
        if name in hidden or name not in offered:
            continue
        schema = _value_schema(spec, name)
        if schema is not None:
            properties[name] = schema
    return {"type": "object", "properties": properties, "additionalProperties": False}


def route_schema(catalog: ToolCatalog) -> dict[str, Any]:
    """JSON schema of the classifier's answer: one branch per offered tool (its name and its own arguments), and
    an explicit {"tool": "none"} branch for a request that is not an operation. No confidence is asked for: a
    small model's own figure is not evidence (see grounding.py)."""
    branches: list[dict[str, Any]] = [
        {
            "type": "object",
            "properties": {"tool": {"const": spec.name}, "arguments": tool_arguments_schema(spec)},
            "required": ["tool", "arguments"],
            "additionalProperties": False,
        }
        for spec in sorted(catalog, key=lambda s: s.name)
    ]
    branches.append(
        {
            "type": "object",
            "properties": {"tool": {"const": NONE_CHOICE}},
            "required": ["tool"],
            "additionalProperties": False,
        }
    )
    return {"anyOf": branches}


# The rules and examples come before the tool list, so llama.cpp's prompt cache keeps them from one request to the
# next. Without them Qwen2.5-Coder-0.5B named a tool for every piece of small talk it was given.
PREAMBLE = (
    "You route Kubernetes operations requests to exactly one tool, or to none.",
    "A request that does not ask to read or change something in the cluster gets the tool none: greetings, thanks, "
    "jokes, stories, poems, recipes, weather, questions about the world.",
    "Examples:",
    'good morning! -> {"tool": "none"}',
    'write a haiku about the sea -> {"tool": "none"}',
    'what is the weather in Paris? -> {"tool": "none"}',
    'show the logs of pod api-0 in prod -> {"tool": "get_logs", "arguments": {"pod_name": "api-0"}}',
)
# Tools offered to tier 3: fewer than tier 4's, since the 0.5B model reads the list on every request.
CLASSIFIER_TOOL_LIMIT = 8
# Characters of each tool's summary in tier 3's prompt, cut at a word.
SUMMARY_CHARS = 80
# Tier 2's nearest stored requests shown to the model as worked examples (after the tool list).
NEAREST_EXAMPLES = 3


def short_summary(spec: ToolSpec, chars: int | None = None) -> str:
    chars = SUMMARY_CHARS if chars is None else chars
    text = spec.summary()
    if len(text) <= chars:
        return text
    return text[:chars].rsplit(" ", 1)[0].rstrip(",;:") + " ..."


def fixed_order(offered: ToolCatalog) -> ToolCatalog:
    """The offered tools in one fixed order (by name), so two requests offered the same tools send the same prompt
    prefix and llama.cpp's prompt cache reuses it."""
    return ToolCatalog.of(sorted(offered, key=lambda spec: spec.name), offered.source)


def system_prompt(catalog: ToolCatalog) -> str:
    lines = [
        *PREAMBLE,
        "Tools:",
        *(f"- {spec.name}: {short_summary(spec)}" for spec in catalog),
        f"- {NONE_CHOICE}: the request is not a cluster operation, or you are unsure.",
        "Answer with JSON: the tool, and the name of the object the request is about when it states one.",
    ]
    return "\n".join(lines)


def examples_prompt(offered: ToolCatalog, nearest: Sequence[RouteHit], limit: int = NEAREST_EXAMPLES) -> str:
    """Stored requests near this one whose route is offered (or small talk), as `request -> tool` lines."""
    lines: list[str] = []
    for hit in nearest:
        if len(lines) >= limit:
            break
        if hit.route == NO_ROUTE:
            lines.append(f"{hit.text} -> {NONE_CHOICE}")
        elif hit.route in offered:
            lines.append(f"{hit.text} -> {hit.route}")
    return ("Similar requests:\n" + "\n".join(lines)) if lines else ""


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
        # Most tools offered; None: the shortlist's own limit.
        self.tool_limit: int | None = None

    def offered(self, query: str, hints: Sequence[str] = ()) -> ToolCatalog:
        """The shortlist's pick (at most `tool_limit` tools) in a fixed order, or the whole catalog."""
        if self.shortlist is None:
            return self.catalog
        return fixed_order(self.shortlist.select(query, hints, self.tool_limit))


class ClassifierTier(ModelTier):
    """Asks the model once; a malformed answer raises ModelOutputError and the router escalates."""

    def __init__(
        self,
        endpoint: ChatEndpoint,
        catalog: ToolCatalog,
        max_tokens: int = 96,
        shortlist: ToolShortlist | None = None,
        tool_limit: int = CLASSIFIER_TOOL_LIMIT,
    ) -> None:
        super().__init__(endpoint, catalog, max_tokens, shortlist)
        self.tool_limit = tool_limit

    def prompt(self, offered: ToolCatalog, query: str, nearest: Sequence[RouteHit] = ()) -> list[dict[str, Any]]:
        system = system_prompt(offered)
        examples = examples_prompt(offered, nearest)
        if examples:
            system = f"{system}\n{examples}"
        return [{"role": "system", "content": system}, {"role": "user", "content": query}]

    async def answer(self, query: str, hints: Sequence[str] = (), nearest: Sequence[RouteHit] = ()) -> TierAnswer:
        """The model's pick among the offered tools, with a confidence from `grounding.support`, not the model.

        `nearest` are tier 2's stored requests nearest this one (small talk included), best first.
        """
        offered = await asyncio.to_thread(self.offered, query, hints)
        message = await self.endpoint.chat(
            self.prompt(offered, query, nearest),
            max_tokens=self.max_tokens,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "route", "schema": route_schema(offered)},
            },
        )
        data = parse_json_object(str(message.get("content") or ""))
        tool = data.get("tool")
        if tool == NONE_CHOICE:
            verdict = refusal(query, list(offered), nearest)
            return TierAnswer(
                tool=None, confidence=verdict.confidence, refuse=True, reason=f"classifier: {verdict.why}"
            )
        spec = offered.get(tool if isinstance(tool, str) else None)
        if spec is None:
            raise ModelOutputError(f"classifier named a tool it was not offered: {tool!r}")
        evidence = support(query, spec, nearest)
        if evidence.refuse:
            return TierAnswer(
                tool=None, confidence=evidence.confidence, refuse=True, reason=f"classifier: {evidence.why}"
            )
        return TierAnswer(
            tool=spec.name,
            arguments=merge_arguments(query, spec, data.get("arguments")),
            confidence=evidence.confidence,
            reason=f"classifier model: {evidence.why}",
        )
