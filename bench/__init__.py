"""Side-by-side benchmarks of the k3s-mcp server against kubectl and peer Kubernetes MCP servers."""
