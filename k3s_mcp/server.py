"""The k3s-mcp FastMCP app `mcp`: lifespan, middleware, and every enabled tool module composed in without a prefix.

How a tool module plugs in (see k3s_mcp/tools/pods.py for a complete example):

1. ``k3s_mcp/tools/<area>.py`` creates its own ``FastMCP("<area>")`` server and registers async tools on it
   with ``@tool(server, title=..., safety=READ_ONLY | WRITE | WRITE_AGAIN | DESTRUCTIVE)`` from
   ``k3s_mcp.tools``: the safety is declared once and the policy's tags derive from it.
2. Inside a tool, ``session = current_session()`` (``k3s_mcp.kube``) is the shared Kubernetes session
   and ``session.settings`` the configuration; the session validates names, masks Secrets and raises errors
   already worded for the user; output is shaped by ``k3s_mcp.views``.
3. Add the module to ``TOOLSET_MODULES`` in ``k3s_mcp/toolsets.py`` under the server's name (its toolset
   name in K3S_TOOLSETS); it is imported only when its toolset is enabled, composed in with no name prefix, and
   the policy middleware hides its tools in read-only mode unless they are read-only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastmcp import FastMCP
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from k3s_mcp import package_version
from k3s_mcp.audit import AuditLog
from k3s_mcp.availability import served_tools_for
from k3s_mcp.confirmation import ConfirmationPolicy
from k3s_mcp.contexts import ContextSessions
from k3s_mcp.kube import KubeSession
from k3s_mcp.metrics import EXPOSITION_CONTENT_TYPE, ServerMetrics
from k3s_mcp.middleware.arguments import ArgumentErrorMiddleware
from k3s_mcp.middleware.audit import AuditMiddleware
from k3s_mcp.middleware.confirmation import ConfirmationMiddleware
from k3s_mcp.middleware.context import ContextMiddleware
from k3s_mcp.middleware.errors import ErrorShieldMiddleware
from k3s_mcp.middleware.identity import IdentityMiddleware
from k3s_mcp.middleware.policy import ToolPolicyMiddleware
from k3s_mcp.middleware.redaction import RedactionMiddleware
from k3s_mcp.middleware.row_table import RowTableMiddleware
from k3s_mcp.middleware.scopes import ScopeMiddleware
from k3s_mcp.middleware.session import KubeSessionMiddleware
from k3s_mcp.settings import Settings, load_settings
from k3s_mcp.surface import ToolSurface
from k3s_mcp.toolsets import selected_toolsets, toolset_server

INSTRUCTIONS = """\
Manage a K3s / Kubernetes cluster. Read tools (get_*) are safe; apply_manifest uses server-side apply \
and supports dry_run; delete/restart/exec are destructive. Lists return compact rows with a \
continue_token when more remain. Secret values are never shown, only keys and sizes. Every cluster tool \
takes an optional `context`: a kubeconfig context (see list_contexts) to run that one call against; \
omitted = the active context."""


def build_server(settings: Settings | None = None) -> FastMCP[dict[str, Any]]:
    """A k3s-mcp app for `settings` (read from the environment when omitted)."""
    settings = settings or load_settings()
    toolsets = selected_toolsets(settings.toolsets)
    session = KubeSession(settings)
    context_sessions = ContextSessions(settings, session)
    metrics = ServerMetrics()
    audit_log = audit_log_for(settings, metrics)

    @asynccontextmanager
    async def lifespan(_: FastMCP[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
        await session.open()
        try:
            yield {"kube": session}
        finally:
            await context_sessions.close()
            await session.close()
            if audit_log is not None:
                await asyncio.to_thread(audit_log.close, 2.0)

    app: FastMCP[dict[str, Any]] = FastMCP(
        name="k3s-mcp",
        # serverInfo names this project and its version, not the framework's.
        version=package_version(),
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        middleware=[
            # Outermost of all: every call is audited and counted as the client sees it, refusals and errors
            # included, and timed with redaction and table rendering (it redacts the arguments it writes itself).
            AuditMiddleware(metrics, audit_log),
            # Outermost of the answer path: it redacts the final answer (the row table's text included) and every
            # error, those the error shield and the argument wording raise as well (K3S_REDACT=false: left out).
            *([RedactionMiddleware(reveal_secrets=settings.reveal_secrets)] if settings.redact else []),
            *([RowTableMiddleware()] if settings.list_text == "table" else []),
            ErrorShieldMiddleware(),
            # Inside the shield: FastMCP's argument validation errors become one sentence for every tool.
            ArgumentErrorMiddleware(redact_values=settings.redact),
            KubeSessionMiddleware(session),
            ToolPolicyMiddleware(settings, toolsets),
            # K3S_IMPERSONATE: every API request of the call is sent as the access token's user and groups.
            *([IdentityMiddleware(settings)] if settings.impersonate else []),
            # With OAuth, the access token's scopes decide which tools are listed and callable.
            *([ScopeMiddleware()] if settings.oauth_issuer.strip() else []),
            ContextMiddleware(context_sessions),
            ConfirmationMiddleware(ConfirmationPolicy.from_settings(settings)),
        ],
        mask_error_details=False,
    )
    # What is listed, and each listed tool's schema, is decided once here rather than by middleware per listing.
    app.add_transform(ToolSurface(settings))
    # Tools whose API the cluster does not serve (KEDA, helm, metrics.k8s.io) are left out of tools/list.
    app.add_transform(served_tools_for(session))
    for toolset in toolsets:
        # The module's tools join the app as a provider rather than a mounted server: same tools, names and
        # middleware, without a second server's call path per call (about 35 % more calls/s with 17 modules).
        app.add_provider(toolset_server(toolset).local_provider)

    @app.custom_route("/health", methods=["GET"])
    async def health(_: Request) -> JSONResponse:
        """Liveness for probes over HTTP: the process serves. Cluster trouble is reported per tool call, not here,
        so a slow API server never takes the MCP endpoint out of a Service."""
        return JSONResponse({"status": "ok"})

    @app.custom_route("/metrics", methods=["GET"])
    async def metrics_endpoint(request: Request) -> Response:
        """Prometheus metrics of this app. Host-checked like every route but /health; the bearer token is needed
        only with K3S_MCP_METRICS_REQUIRE_TOKEN=true (annotation-driven scrapes cannot send one)."""
        if settings.metrics_require_token and app.auth is not None and not await has_valid_token(app, request):
            return Response("Unauthorized", status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return Response(metrics.exposition(), media_type=EXPOSITION_CONTENT_TYPE)

    return app


def audit_log_for(settings: Settings, metrics: ServerMetrics) -> AuditLog | None:
    """The audit log K3S_AUDIT_LOG asks for (None when it is empty), counting its drops in `metrics`."""
    if not settings.audit_log:
        return None
    return AuditLog(
        settings.audit_log,
        max_bytes=settings.audit_max_bytes,
        backups=settings.audit_backups,
        queue_size=settings.audit_queue_size,
        on_drop=metrics.count_audit_drop,
    )


async def has_valid_token(app: FastMCP[dict[str, Any]], request: Request) -> bool:
    """Whether `request` carries a bearer token the app's verifier accepts."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if app.auth is None or scheme.lower() != "bearer" or not token.strip():
        return False
    return await app.auth.verify_token(token.strip()) is not None


mcp = build_server()
