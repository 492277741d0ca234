"""Which listen addresses stay on this machine, and the rule that any other listener needs a token.

Kept apart from the token and OAuth code (which import FastMCP) so that every HTTP server of the project, the
light Cortex layers included, can apply the rule and the Host/Origin guard without loading the MCP framework.
"""

from __future__ import annotations

import ipaddress

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class UnsafeBindError(RuntimeError):
    """HTTP was asked to listen beyond this machine with no token configured."""


def is_loopback(host: str) -> bool:
    """True when `host` only accepts connections from this machine (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        # A host name could resolve to anything: treat it as reachable from outside.
        return False
