"""Cortex: the activator routing plain-language requests to k3s_mcp tools, and its execution and telemetry layers."""
