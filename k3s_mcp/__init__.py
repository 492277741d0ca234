"""k3s-mcp: an MCP server that lets an AI assistant manage a K3s or Kubernetes cluster (see k3s_mcp.server)."""
