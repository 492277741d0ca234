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
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastmcp import FastMCP
from fastmcp.tools.base import Tool
from fastmcp.utilities.json_schema import dereference_refs
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from k3s_mcp import package_version
from k3s_mcp.audit import AuditLog
from k3s_mcp.availability import served_tools_for
from k3s_mcp.confirmation import ConfirmationPolicy
from k3s_mcp.contexts import ContextSessions
from k3s_mcp.disclosure import disclosure_server
from k3s_mcp.kube import KubeSession
from k3s_mcp.mcp_features import register_features
from k3s_mcp.metrics import EXPOSITION_CONTENT_TYPE, ServerMetrics
from k3s_mcp.middleware.arguments import ArgumentErrorMiddleware
from k3s_mcp.middleware.audit import AuditMiddleware
from k3s_mcp.middleware.confirmation import ConfirmationMiddleware
from k3s_mcp.middleware.context import ContextMiddleware
from k3s_mcp.middleware.deferred import DeferredToolsets, DeferredToolsetsMiddleware
from k3s_mcp.middleware.errors import ErrorShieldMiddleware
from k3s_mcp.middleware.identity import IdentityMiddleware
from k3s_mcp.middleware.policy import ToolPolicyMiddleware
from k3s_mcp.middleware.redaction import RedactionMiddleware
from k3s_mcp.middleware.row_table import RowTableMiddleware
from k3s_mcp.middleware.scopes import ScopeMiddleware
from k3s_mcp.middleware.session import KubeSessionMiddleware
from k3s_mcp.settings import Settings, load_settings
from k3s_mcp.surface import ToolSurface
from k3s_mcp.toolsets import LISTED_BY_DEFAULT_TOOLSETS, discloses, selected_toolsets, toolset_server

INSTRUCTIONS = """\
Manage a K3s / Kubernetes cluster. Read tools (get_*) are safe; apply_manifest uses server-side apply \
and supports dry_run; delete/restart/exec are destructive. Lists return compact rows with a \
continue_token when more remain. Secret values are never shown, only keys and sizes. Every cluster tool \
takes an optional `context`: a kubeconfig context (see list_contexts) to run that one call against; \
omitted = the active context."""
# Under the default preset, said once in the instructions rather than in every tool's description.
DISCLOSURE_INSTRUCTIONS = """ tools/list shows the common tools; list_toolsets names all of them (configmaps, \
secrets, helm, keda, jobs, storage, ingresses, rollouts, autoscaling, events, metrics, nodes, contexts), \
enable_toolset adds a toolset to tools/list, and any tool can be called by name or through call_tool."""


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
            await subscriptions.close()
            await context_sessions.close()
            await session.close()
            if audit_log is not None:
                await asyncio.to_thread(audit_log.close, 2.0)

    app: FastMCP[dict[str, Any]] = FastMCP(
        name="k3s-mcp",
        # serverInfo names this project and its version, not the framework's.
        version=package_version(),
        instructions=INSTRUCTIONS + (DISCLOSURE_INSTRUCTIONS if discloses(settings.toolsets) else ""),
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
    surface = ToolSurface(settings)
    app.add_transform(surface)
    if surface.disclosure:
        # The default preset lists a few tools; list_toolsets, enable_toolset and call_tool reach the rest.
        app.add_provider(disclosure_server(surface).local_provider)
    # Tools whose API the cluster does not serve (KEDA, helm, metrics.k8s.io) are left out of tools/list.
    app.add_transform(served_tools_for(session))
    # Under the default preset only the toolsets of the listed tools load now; a call that may need another
    # loads the rest first (the outermost middleware, so every other one sees the whole catalog).
    eager = [t for t in toolsets if t in LISTED_BY_DEFAULT_TOOLSETS] if surface.disclosure else list(toolsets)
    deferred = DeferredToolsets(app, [t for t in toolsets if t not in eager], join_toolset)
    if deferred.pending:
        app.middleware.insert(0, DeferredToolsetsMiddleware(deferred))
    for toolset in eager:
        # The module's tools join the app's own provider rather than a mounted server or a provider each: same
        # tools, names and middleware, and a tool lookup (FastMCP makes two per call, asking every provider
        # concurrently) is one scan of one provider instead of a task per toolset.
        join_toolset(app, toolset_server(toolset))

    # Streamable HTTP checks a call's Mcp-Param-* headers against the tool's input schema; without a lookup the SDK
    # finds that schema by running a whole tools/list (middleware, transforms, every tool serialized) per call.
    app._mcp_server.get_tool_input_schema = input_schema_lookup(app, surface, deferred)

    # Prompts, k8s:// resources, completions and watch-backed subscriptions.
    subscriptions = register_features(app, session, settings)

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


def join_toolset(app: FastMCP[Any], server: FastMCP[Any]) -> None:
    """Add a toolset server's tools to `app`'s own provider, in registration order; a server that registers more
    than tools (resources, prompts) joins as a provider of its own, so nothing it serves is left out."""
    components = list(server.local_provider._components.values())
    tools = [component for component in components if isinstance(component, Tool)]
    if len(tools) == len(components):
        for tool in tools:
            app.add_tool(tool)
    else:
        app.add_provider(server.local_provider)


def input_schema_lookup(
    app: FastMCP[Any], surface: ToolSurface, deferred: DeferredToolsets
) -> Callable[[str], dict[str, Any] | None]:
    """The input schema of a tool of `app`'s own provider as tools/list shows it, shaped by the surface and with
    its $refs inlined (None: not one of them, or hidden by the settings; the SDK then validates no header, as for
    a tool its listing lacks). Worked out once per tool; a name not loaded yet loads the deferred toolsets."""
    tools: dict[str, Tool] = {}
    schemas: dict[str, dict[str, Any] | None] = {}

    def lookup(name: str) -> dict[str, Any] | None:
        if name not in schemas:
            if name not in tools:
                # A name not seen: the deferred toolsets join first (this runs before any middleware), then the
                # app's tools are read again.
                deferred.load()
                for component in app.local_provider._components.values():
                    if isinstance(component, Tool):
                        tools[component.name] = component
            tool = tools.get(name)
            if tool is None:
                return None  # not kept: the names a client sends are not bounded
            shaped = surface.shaped_once(tool)
            schema = shaped.parameters if shaped is not None else None
            schemas[name] = dereference_refs(schema) if schema is not None and "$defs" in schema else schema
        return schemas[name]

    return lookup


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
