"""kubeconfig contexts: one cached session per context, the active one, and the `context` parameter's schema.

:class:`k3s_mcp.middleware.context.ContextMiddleware` runs each call with the session of the context its ``context``
argument names (created once and cached), or with the active session when the argument is omitted.
``switch_context`` (``k3s_mcp.tools.contexts``) changes the active session only after the new context's API server
has answered."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from fastmcp.exceptions import ToolError

from k3s_mcp.kube import KubeError, KubeSession, Target
from k3s_mcp.kube.config import KubeconfigContexts, read_contexts
from k3s_mcp.settings import Settings

log = logging.getLogger(__name__)

CONTEXT_ARGUMENT = "context"
# Tools that manage contexts themselves carry this meta flag and get no `context` argument.
CONTEXT_FREE_META = "k3s_context_free"
CONTEXT_PARAMETER_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "string", "minLength": 1}, {"type": "null"}],
    "default": None,
    "description": "kubeconfig context to run this call against (see list_contexts); omitted = the active context.",
}


class ContextSessions:
    """The active session plus one cached session per context asked for by name."""

    def __init__(self, settings: Settings, active: KubeSession) -> None:
        self.settings = settings
        self._active = active
        self._original = active
        # None means "whatever the kubeconfig's current-context is" until a switch names one.
        self._active_name: str | None = settings.context
        self._sessions: dict[str, KubeSession] = {}
        self._lock = asyncio.Lock()

    @property
    def active(self) -> KubeSession:
        return self._active

    async def contexts(self) -> KubeconfigContexts:
        return await asyncio.to_thread(read_contexts, self.settings)

    async def active_name(self) -> str | None:
        """Name of the active context (the kubeconfig's current-context unless a switch changed it)."""
        if self._active_name is not None:
            return self._active_name
        try:
            current = (await self.contexts()).current
        except KubeError:
            return None
        # The active session loaded this context at start-up and keeps it, whatever the file says later.
        self._active_name = current
        return current

    async def _known(self, name: str) -> KubeconfigContexts:
        available = await self.contexts()
        if name not in available.names():
            listed = ", ".join(available.names()) or "(none)"
            raise ToolError(
                f"Unknown context {name!r}: the kubeconfig defines {listed}. "
                "Fix: pick one of those (list_contexts shows them)."
            )
        return available

    async def session_for(self, name: str | None) -> KubeSession:
        """The session for context `name` (created once), or the active one when `name` is None."""
        if name is None or name == await self.active_name():
            return self._active
        if name in self._sessions:
            return self._sessions[name]
        await self._known(name)
        async with self._lock:
            if name not in self._sessions:
                session = KubeSession(self.settings.model_copy(update={"context": name}))
                # Loaded now, so the context's own namespace is known before the call picks its default.
                await session.open()
                self._sessions[name] = session
        return self._sessions[name]

    async def probe(self, session: KubeSession, name: str) -> str:
        """Ask the context's API server for its version; raises a ToolError naming the context when it fails."""
        target = Target(kind=f"the API server of context {name!r}", action="reach")
        try:
            async with asyncio.timeout(self.settings.context_probe_timeout_seconds):
                version = await session.request("GET", "/version", target=target)
        except TimeoutError as error:
            raise ToolError(
                f"The API server of context {name!r} ({session.server or 'unknown address'}) did not answer "
                f"within {self.settings.context_probe_timeout_seconds:g}s."
            ) from error
        return str(version.get("gitVersion") or "unknown version")

    async def switch(self, name: str) -> tuple[KubeSession, str, str | None]:
        """Make `name` the active context once its cluster answers; returns (session, version, previous)."""
        previous = await self.active_name()
        await self._known(name)
        session = await self.session_for(name)
        try:
            version = await self.probe(session, name)
        except (ToolError, KubeError) as error:
            kept = previous or "the kubeconfig's current context"
            raise ToolError(f"Not switched: {error} The active context stays {kept!r}.") from None
        async with self._lock:
            if session is not self._active:
                if previous is not None:
                    self._sessions.setdefault(previous, self._active)
                self._sessions.pop(name, None)
                self._active = session
            self._active_name = name
        return session, version, previous

    async def close(self) -> None:
        """Close every session this registry created; the first active one belongs to the app's lifespan."""
        created = {id(s): s for s in [*self._sessions.values(), self._active] if s is not self._original}
        for session in created.values():
            await session.close()
        self._sessions.clear()


_current_contexts: ContextVar[ContextSessions | None] = ContextVar("k3s_mcp_contexts", default=None)


def current_contexts() -> ContextSessions:
    """The context registry of the app serving this request (set by the context middleware)."""
    registry = _current_contexts.get()
    if registry is None:
        raise ToolError("No context registry is active: the tool must be called through the k3s-mcp server.")
    return registry


@asynccontextmanager
async def contexts_scope(registry: ContextSessions) -> AsyncIterator[ContextSessions]:
    token = _current_contexts.set(registry)
    try:
        yield registry
    finally:
        _current_contexts.reset(token)
