"""Tool modules, one FastMCP server per area, and the annotation presets every tool uses."""

from __future__ import annotations

from mcp_types import ToolAnnotations

# openWorldHint is true throughout: every tool talks to a cluster outside this process.
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
DESTRUCTIVE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True)

READ_TAGS = {"read"}
WRITE_TAGS = {"write"}
DESTRUCTIVE_TAGS = {"write", "destructive"}
# A write whose repetition does something again (a new Job, one more rollback step).
WRITE_AGAIN = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
