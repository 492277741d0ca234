"""``completion/complete`` for the prompts' and the ``k8s://`` templates' namespace, kind and name arguments.

Candidates come from the live cluster, read as the caller (the OAuth read scope and K3S_IMPERSONATE as for a
resource read) through the session's request builder and access policy: namespaces the allow-list admits, kinds
the deny-list leaves, names of one kind in the namespace already chosen (the completion context). A candidate
matches when it starts with the typed value; at most :data:`MAX_VALUES` are answered, sorted, with ``hasMore``
when more matched. Whatever fails (an unknown kind, a refused namespace, an unreachable cluster, a slow answer)
is an empty completion, never an error: completion is a convenience, and the read itself says what is wrong.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import mcp_types

from k3s_mcp.kube import KubeError, KubeSession, ResourceInfo, Target
from k3s_mcp.kube.identity import identity_scope
from k3s_mcp.kube.requests import check_namespace
from k3s_mcp.mcp_resources import CLUSTER_OBJECT, NAMESPACED_OBJECT, caller_identity, check_kind_text
from k3s_mcp.settings import Settings

if TYPE_CHECKING:
    from fastmcp import FastMCP

log = logging.getLogger(__name__)

MAX_VALUES = 50
"""Most candidates one completion answers (the protocol allows 100)."""
MAX_LISTED = 500
"""Most objects read from the cluster to find candidates."""
MAX_PREFIX = 253
COMPLETION_SECONDS = 5.0
"""A completion the cluster does not answer within this long is empty."""
_METADATA = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json"

# Prompt name -> the kind its `name` argument names (None: it takes no name).
PROMPT_NAME_KINDS: dict[str, str | None] = {
    "diagnose_pod": "pods",
    "diagnose_deployment": "deployments.apps",
    "diagnose_node": "nodes",
    "diagnose_namespace": None,
    "cluster_health_check": None,
}


def matching(candidates: Iterable[str], prefix: str) -> mcp_types.Completion:
    """The sorted candidates starting with `prefix`, at most :data:`MAX_VALUES` (``hasMore`` past that)."""
    found = sorted({value for value in candidates if value.startswith(prefix)})
    if len(found) > MAX_VALUES:
        return mcp_types.Completion(values=found[:MAX_VALUES], total=len(found), has_more=True)
    return mcp_types.Completion(values=found, total=len(found), has_more=False)


class Completer:
    """Answers completions from one app's session."""

    def __init__(self, session: KubeSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    async def names_of(self, info: ResourceInfo, namespace: str | None) -> list[str]:
        """Names of objects of `info` (in `namespace` when namespaced), read as metadata only."""
        ns = namespace if info.namespaced else None
        if info.namespaced and ns is None:
            return []
        answer = await self.session.request(
            "GET",
            info.path(ns),
            target=Target(info.resource, None, ns, action="list"),
            query=[("limit", str(MAX_LISTED))],
            accept=_METADATA,
        )
        return [str((item.get("metadata") or {}).get("name") or "") for item in answer.get("items") or []]

    async def namespaces(self) -> list[str]:
        info = await self.session.resolve("namespaces")
        names = await self.names_of(info, None)
        return [name for name in names if self.session.access.namespace_allowed(name)]

    async def kinds(self, *, namespaced: bool, prefix: str) -> list[str]:
        """Kind names (``plural`` or ``plural.group``) of one scope whose kind, plural or name starts with `prefix`."""
        lowered = prefix.lower()
        chosen = []
        for info in await self.session.resource_types():
            if info.namespaced != namespaced or (info.verbs and "get" not in info.verbs):
                continue
            try:
                self.session.access.check_kind(info)
            except KubeError:
                continue
            names = (info.resource, info.qualified, info.kind.lower(), *info.short_names)
            if any(name.startswith(lowered) for name in names):
                chosen.append(info.qualified)
        return chosen

    async def object_names(self, kind: str | None, namespace: str | None) -> list[str]:
        if not kind:
            return []
        info = await self.session.resolve(check_kind_text(kind))
        if info.namespaced:
            if not namespace:
                return []
            check_namespace(namespace)
        return await self.names_of(info, namespace)

    async def candidates(self, ref: Any, argument: str, value: str, context: dict[str, str]) -> mcp_types.Completion:
        if isinstance(ref, mcp_types.PromptReference):
            if ref.name not in PROMPT_NAME_KINDS:
                return matching((), value)
            if argument == "namespace":
                return matching(await self.namespaces(), value)
            if argument == "name" and PROMPT_NAME_KINDS[ref.name]:
                return matching(await self.object_names(PROMPT_NAME_KINDS[ref.name], context.get("namespace")), value)
            return matching((), value)
        if isinstance(ref, mcp_types.ResourceTemplateReference) and ref.uri in (CLUSTER_OBJECT, NAMESPACED_OBJECT):
            namespaced = ref.uri == NAMESPACED_OBJECT
            if argument == "namespace" and namespaced:
                return matching(await self.namespaces(), value)
            if argument == "kind":
                return matching(await self.kinds(namespaced=namespaced, prefix=value), "")
            if argument == "name":
                namespace = context.get("namespace") if namespaced else None
                return matching(await self.object_names(context.get("kind"), namespace), value)
        return matching((), value)

    async def complete(
        self,
        ref: mcp_types.PromptReference | mcp_types.ResourceTemplateReference,
        argument: mcp_types.CompletionArgument,
        context: mcp_types.CompletionContext | None,
    ) -> mcp_types.Completion:
        value = argument.value if isinstance(argument.value, str) else ""
        if len(value) > MAX_PREFIX:
            return matching((), value)
        known = {
            str(key): str(item)
            for key, item in ((context.arguments if context is not None else None) or {}).items()
            if isinstance(item, str) and len(item) <= MAX_PREFIX
        }
        try:
            identity = caller_identity(self.settings)
            with identity_scope(identity):
                async with asyncio.timeout(COMPLETION_SECONDS):
                    return await self.candidates(ref, argument.name, value, known)
        except (KubeError, TimeoutError) as error:
            log.debug("No completion for %s %s: %s", ref, argument.name, error)
        except Exception:
            log.exception("Completion of %s failed unexpectedly", argument.name)
        return matching((), value)


def register_completions(app: FastMCP[Any], session: KubeSession, settings: Settings) -> Completer:
    """Make `app` answer ``completion/complete`` (which also declares the completions capability)."""
    completer = Completer(session, settings)
    app.add_completion_handler(completer.complete)
    return completer
