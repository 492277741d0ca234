"""All cluster access, usable without MCP: session, kubeconfig, discovery, the request builder, writes, exec, errors.

Data flows one way: a tool passes validated parameters to the session, the session builds every path with
:mod:`k3s_mcp.kube.requests`, sends it, masks Secret values in the answer and returns plain JSON dicts; any
failure is a :class:`KubeError` already worded for the caller. This package re-exports what tools use.
"""

# First, before anything imports kubernetes_asyncio: its client and config pieces load, not its generated API.
from k3s_mcp.kube import lean_client  # noqa: F401
from k3s_mcp.kube.discovery import ResourceInfo
from k3s_mcp.kube.errors import (
    InvalidNameError,
    KubeconfigError,
    KubeError,
    Target,
    UnknownKindError,
    api_errors,
    observe_api_failures,
    translate_api_error,
)
from k3s_mcp.kube.exec import ExecResult
from k3s_mcp.kube.session import TABLE_ACCEPT, KubeSession, current_session, session_scope
from k3s_mcp.kube.writes import FIELD_MANAGER, deletion_note

__all__ = [
    "FIELD_MANAGER",
    "TABLE_ACCEPT",
    "ExecResult",
    "InvalidNameError",
    "KubeError",
    "KubeSession",
    "KubeconfigError",
    "ResourceInfo",
    "Target",
    "UnknownKindError",
    "api_errors",
    "current_session",
    "deletion_note",
    "observe_api_failures",
    "session_scope",
    "translate_api_error",
]
