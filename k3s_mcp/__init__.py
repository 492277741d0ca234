"""k3s-mcp: an MCP server that lets an AI assistant manage a K3s or Kubernetes cluster (see k3s_mcp.server)."""

from importlib.metadata import PackageNotFoundError, version


def package_version() -> str:
    """The installed distribution's version (what serverInfo and --version report)."""
    try:
        return version("k3s-mcp")
    except PackageNotFoundError:
        return "0+unknown"
