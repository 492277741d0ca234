"""Makes the app's Kubernetes session the current one while a request is handled."""

from __future__ import annotations

from typing import Any

from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext

from k3s_mcp.kube import KubeSession, session_scope


class KubeSessionMiddleware(Middleware):
    """Puts this app's session in the context variable the tools read with ``current_session()``."""

    def __init__(self, session: KubeSession) -> None:
        self.session = session

    async def on_request(self, context: MiddlewareContext[Any], call_next: CallNext[Any, Any]) -> Any:
        async with session_scope(self.session):
            return await call_next(context)
