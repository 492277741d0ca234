"""The official MCP conformance suite, pinned by package.json and package-lock.json in this folder."""
