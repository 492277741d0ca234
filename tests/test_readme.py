"""The README's tool table is the server's real tool list: every tool, its annotations and its parameters.

`K3S_MCP_UPDATE_README=1 uv run pytest tests/k3s_mcp/test_readme.py` rewrites the table from the live server.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from fastmcp import Client

from k3s_mcp.server import build_server
from k3s_mcp.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN, END = "<!-- tools:begin -->", "<!-- tools:end -->"
# Parameters every tool (or every held-back tool) gains from middleware; the README explains them once.
UNIVERSAL = {"context", "confirm"}


def annotation_words(tool: Any) -> str:
    annotations = tool.annotations
    if annotations is None:
        return "none"
    if annotations.readOnlyHint:
        return "read-only"
    words = ["destructive" if annotations.destructiveHint else "write"]
    if annotations.idempotentHint:
        words.append("idempotent")
    return ", ".join(words)


def parameter_list(tool: Any) -> str:
    schema = tool.inputSchema or {}
    required = set(schema.get("required") or [])
    names = [name for name in schema.get("properties") or {} if name not in UNIVERSAL]
    return ", ".join(name if name in required else f"{name}?" for name in names) or "—"


async def expected_table() -> str:
    # No kubeconfig is needed to list tools: the server starts without one and says so only when called.
    app = build_server(Settings(kubeconfig="/nonexistent/kubeconfig"))
    async with Client(app) as client:
        tools = await client.list_tools()
    lines = [
        "| tool | title | annotations | parameters (`?` = optional) |",
        "|---|---|---|---|",
    ]
    for tool in sorted(tools, key=lambda t: t.name):
        title = tool.title or (tool.annotations.title if tool.annotations else "") or ""
        lines.append(f"| `{tool.name}` | {title} | {annotation_words(tool)} | {parameter_list(tool)} |")
    return "\n".join(lines)


def current_table(text: str) -> str:
    match = re.search(re.escape(BEGIN) + r"(.*?)" + re.escape(END), text, re.S)
    assert match, f"README.md has no {BEGIN} ... {END} block"
    return match.group(1).strip()


async def test_readme_lists_every_tool_with_its_annotations() -> None:
    expected = await expected_table()
    text = README.read_text()
    if os.environ.get("K3S_MCP_UPDATE_README"):
        text = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), f"{BEGIN}\n{expected}\n{END}", text, flags=re.S)
        README.write_text(text)
    assert current_table(text) == expected, (
        "README.md's tool table differs from the server's tools; "
        "run K3S_MCP_UPDATE_README=1 uv run pytest tests/k3s_mcp/test_readme.py"
    )
