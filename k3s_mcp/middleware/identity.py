"""Sends each tool call's API requests as its caller (K3S_IMPERSONATE): the verified OAuth access token's claims
become the Kubernetes identity of :mod:`k3s_mcp.kube.identity`, which the session turns into impersonation headers.
"""

from __future__ import annotations

from typing import Any

from fastmcp.exceptions import ToolError
from fastmcp.server.auth import AccessToken
from fastmcp.server.dependencies import get_access_token
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import ToolResult
from mcp_types import CallToolRequestParams

from k3s_mcp.kube.identity import Identity, IdentityError, identity_scope
from k3s_mcp.settings import Settings

NO_CALLER = (
    "Refused: this server acts as each caller in Kubernetes (K3S_IMPERSONATE=true), and this call carries no "
    "verified OAuth access token (stdio, or HTTP without OAuth), so there is no one to act as."
)


def identity_from_token(token: AccessToken, *, user_claim: str, groups_claim: str) -> Identity:
    """The Kubernetes user and groups named by a verified token's claims (the groups claim may be missing)."""
    claims: dict[str, Any] = dict(token.claims or {})
    user = claims.get(user_claim)
    if not isinstance(user, str) or not user:
        raise IdentityError(
            f"Refused: the access token has no string claim {user_claim!r} to name the Kubernetes user "
            "(K3S_IMPERSONATE_USER_CLAIM)."
        )
    raw_groups = claims.get(groups_claim)
    if raw_groups is None:
        groups: tuple[str, ...] = ()
    elif isinstance(raw_groups, str):
        groups = (raw_groups,)
    elif isinstance(raw_groups, list) and all(isinstance(group, str) for group in raw_groups):
        groups = tuple(raw_groups)
    else:
        raise IdentityError(
            f"Refused: the access token's claim {groups_claim!r} is not a list of group names "
            "(K3S_IMPERSONATE_GROUPS_CLAIM)."
        )
    return Identity(user, groups)


class IdentityMiddleware(Middleware):
    """Runs each tool call under the identity of its access token; a call without one is refused."""

    def __init__(self, settings: Settings) -> None:
        self.user_claim = settings.impersonate_user_claim
        self.groups_claim = settings.impersonate_groups_claim

    async def on_call_tool(
        self,
        context: MiddlewareContext[CallToolRequestParams],
        call_next: CallNext[CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        token = get_access_token()
        if token is None:
            raise ToolError(NO_CALLER)
        try:
            identity = identity_from_token(token, user_claim=self.user_claim, groups_claim=self.groups_claim)
        except IdentityError as error:
            raise ToolError(str(error)) from None
        with identity_scope(identity):
            return await call_next(context)
