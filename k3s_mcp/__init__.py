"""k3s-mcp: an MCP server that lets an AI assistant manage a K3s or Kubernetes cluster (see k3s_mcp.server)."""


def package_version() -> str:
    """The installed distribution's version (what serverInfo and --version report)."""
    # Imported here: importlib.metadata costs tens of milliseconds, which a stdio start answering its handshake
    # from a snapshot (k3s_mcp.stdio_start) does not pay before its first answer.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("k3s-mcp")
    except PackageNotFoundError:
        return "0+unknown"
