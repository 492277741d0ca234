"""The confirmation policy: destructive calls matched by tool, verb, kind or namespace run only when confirmed.

Works with every client: a held-back call answers "needs confirmation: call again with confirm=true" and
executes nothing; the same call with ``confirm=true`` runs. A client that declares the MCP elicitation
capability is asked instead, and the call runs when the person accepts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fastmcp.tools.base import Tool

from k3s_mcp.kube import KubeSession, ResourceInfo, UnknownKindError
from k3s_mcp.kube.access import kind_names, matching_pattern, split_patterns
from k3s_mcp.kube.requests import check_namespace
from k3s_mcp.settings import Settings
from k3s_mcp.tools import DISPATCH_TAG

log = logging.getLogger(__name__)

CONFIRM_ARGUMENT = "confirm"
# A tool module may name the kind its destructive tools act on (meta={KIND_META: "ScaledObject"}).
KIND_META = "k3s_kind"
CONFIRM_PARAMETER_SCHEMA: dict[str, Any] = {
    "type": "boolean",
    "default": False,
    "description": "Set true to confirm a destructive call the server's confirmation policy holds back "
    "(the first call without it explains what would happen and runs nothing).",
}


@dataclass(frozen=True)
class CallFacts:
    """What the policy looks at in one call, after the kind is resolved: `kinds` holds every name of the resolved
    resource type (:func:`k3s_mcp.kube.access.kind_names`), so 'ns', 'namespaces' and 'Namespace' are one kind;
    `namespaces` holds the call's namespace and, for a Namespace object, its own name."""

    tool: str
    verb: str
    kind: str | None
    namespace: str | None
    destructive: bool
    kinds: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConfirmationPolicy:
    """Patterns from K3S_CONFIRM_TOOLS / _VERBS / _KINDS / _NAMESPACES; a call matching any one is held back."""

    tools: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> ConfirmationPolicy:
        return cls(
            tools=tuple(split_patterns(settings.confirm_tools)),
            verbs=tuple(v.lower() for v in split_patterns(settings.confirm_verbs)),
            kinds=tuple(split_patterns(settings.confirm_kinds)),
            namespaces=tuple(split_patterns(settings.confirm_namespaces)),
        )

    @property
    def active(self) -> bool:
        return bool(self.tools or self.verbs or self.kinds or self.namespaces)

    def covers(self, tool: Tool) -> bool:
        """Whether calls of `tool` can be held back, so it gets the `confirm` parameter."""
        if not self.active or "read" in tool.tags or DISPATCH_TAG in tool.tags:
            # A dispatcher's call is held back (or not) as the call of the tool it runs.
            return False
        return "destructive" in tool.tags or matching_pattern(tool.name, self.tools) is not None

    def reason(self, facts: CallFacts) -> str | None:
        """Why this call needs confirmation, or None when it may run."""
        named = matching_pattern(facts.tool, self.tools)
        if named is not None:
            return f"tool {facts.tool!r} matches K3S_CONFIRM_TOOLS pattern {named!r}"
        if not facts.destructive:
            return None
        if facts.verb in self.verbs:
            return f"verb {facts.verb!r} is listed in K3S_CONFIRM_VERBS"
        for kind_name in facts.kinds or ((facts.kind,) if facts.kind else ()):
            kind = matching_pattern(kind_name, self.kinds, kind=True)
            if kind is not None:
                return f"kind {facts.kind!r} matches K3S_CONFIRM_KINDS pattern {kind!r}"
        for namespace_name in facts.namespaces or ((facts.namespace,) if facts.namespace else ()):
            namespace = matching_pattern(namespace_name, self.namespaces)
            if namespace is not None:
                return f"namespace {namespace_name!r} matches K3S_CONFIRM_NAMESPACES pattern {namespace!r}"
        return None


async def call_facts(tool: Tool, arguments: dict[str, Any], session: KubeSession) -> CallFacts:
    """The verb (first word of the tool name), resolved kind and namespaces of a call, as the policy sees them."""
    verb, _, rest = tool.name.partition("_")
    kind = arguments.get("kind")
    if not isinstance(kind, str) or not kind:
        meta_kind = (tool.meta or {}).get(KIND_META)
        kind = meta_kind if isinstance(meta_kind, str) else rest or None
    api_version = arguments.get("api_version")
    info: ResourceInfo | None = None
    if kind:
        try:
            info = await session.resolve(kind, api_version if isinstance(api_version, str) and api_version else None)
        except UnknownKindError:
            info = None  # a tool-level kind such as 'helm_release': its literal name is what the patterns match
    namespace = arguments.get("namespace")
    if not isinstance(namespace, str) or not namespace:
        namespace = session.default_namespace
    check_namespace(namespace)
    kinds: tuple[str, ...] = (kind,) if kind else ()
    namespaces: tuple[str, ...] = (namespace,)
    if info is not None:
        kinds = kind_names(info)
        kind = info.kind
        if not info.namespaced:
            namespaces = ()
        name = arguments.get("name")
        if info.group == "" and info.resource == "namespaces" and isinstance(name, str) and name:
            # A rule about namespace 'foo' also covers the Namespace object 'foo' itself.
            namespaces = (*namespaces, name)
    return CallFacts(
        tool=tool.name,
        verb=verb.lower(),
        kind=kind,
        namespace=namespaces[0] if namespaces else None,
        destructive="destructive" in tool.tags,
        kinds=kinds,
        namespaces=namespaces,
    )
