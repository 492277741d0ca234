"""The security tests use the k3s_mcp fixtures: in-memory clients of apps built for the test cluster."""

from tests.k3s_mcp.conftest import make_client, mcp_client

__all__ = ["make_client", "mcp_client"]
