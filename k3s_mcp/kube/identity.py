"""The caller's Kubernetes identity: who the API server is asked to act as (impersonation), per request.

The MCP side (``k3s_mcp.middleware.identity``) reads the verified access token of a call and sets the identity
with :func:`identity_scope`; :class:`k3s_mcp.kube.session.KubeSession` adds ``Impersonate-User`` and one
``Impersonate-Group`` header per group to every API request sent while it is set. This module knows nothing of
MCP or OAuth: any caller can impersonate by entering the scope.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from k3s_mcp.kube.errors import KubeError

IMPERSONATE_USER = "Impersonate-User"
IMPERSONATE_GROUP = "Impersonate-Group"
MAX_VALUE_LENGTH = 256
MAX_GROUPS = 64
# Printable ASCII and any non-control character: no CR, LF, NUL or other control character can split a header.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class IdentityError(KubeError):
    """An identity that cannot be sent as impersonation headers (empty, too long, control characters)."""


def _header_value(value: str, what: str) -> str:
    if not value or not value.strip():
        raise IdentityError(f"Cannot impersonate: the {what} is empty.")
    if len(value) > MAX_VALUE_LENGTH:
        raise IdentityError(f"Cannot impersonate: the {what} is longer than {MAX_VALUE_LENGTH} characters.")
    if _CONTROL.search(value):
        raise IdentityError(f"Cannot impersonate: the {what} contains a control character (CR, LF, ...).")
    return value


@dataclass(frozen=True)
class Identity:
    """A Kubernetes user name and its groups, checked to be safe header values when built."""

    user: str
    groups: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _header_value(self.user, "user name")
        if len(self.groups) > MAX_GROUPS:
            raise IdentityError(f"Cannot impersonate: more than {MAX_GROUPS} groups.")
        for group in self.groups:
            _header_value(group, "group name")

    def headers(self) -> list[tuple[str, str]]:
        """The impersonation headers, one ``Impersonate-Group`` per group (a header may repeat)."""
        return [(IMPERSONATE_USER, self.user), *((IMPERSONATE_GROUP, group) for group in self.groups)]


_current_identity: ContextVar[Identity | None] = ContextVar("k3s_mcp_identity", default=None)


def current_identity() -> Identity | None:
    """The identity requests are sent as, or None to use the kubeconfig's own credentials."""
    return _current_identity.get()


@contextmanager
def identity_scope(identity: Identity | None) -> Iterator[Identity | None]:
    """Send every API request made inside the block as `identity` (None: as the kubeconfig's own user)."""
    token = _current_identity.set(identity)
    try:
        yield identity
    finally:
        _current_identity.reset(token)
