"""The README's generated tables are the truth: the server's tools and every setting of every component.

`K3S_MCP_UPDATE_README=1 uv run pytest tests/test_readme.py` rewrites the tables from the code.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from pydantic import AliasChoices, SecretStr
from pydantic_settings import BaseSettings

from cortex.activator.settings import ActivatorSettings
from cortex.layers import settings as layer_settings
from k3s_mcp.server import build_server
from k3s_mcp.settings import Settings

PROJECT = Path(__file__).resolve().parents[1]
README = PROJECT / "README.md"
# Parameters every tool (or every held-back tool) gains from middleware; the README explains them once.
UNIVERSAL = {"context", "confirm"}


def annotation_words(tool: Any) -> str:
    annotations = tool.annotations
    if annotations is None:
        return "none"
    if annotations.read_only_hint:
        return "read-only"
    words = ["destructive" if annotations.destructive_hint else "write"]
    if annotations.idempotent_hint:
        words.append("idempotent")
    return ", ".join(words)


def parameter_list(tool: Any) -> str:
    schema = tool.input_schema or {}
    required = set(schema.get("required") or [])
    names = [name for name in schema.get("properties") or {} if name not in UNIVERSAL]
    return ", ".join(name if name in required else f"{name}?" for name in names) or "—"


async def expected_table() -> str:
    # No kubeconfig is needed to list tools: the server starts without one and says so only when called. The
    # default listing's disclosure tools, then every toolset enabled through them: the whole catalog.
    app = build_server(Settings(kubeconfig="/nonexistent/kubeconfig"))
    async with Client(app) as client:
        await client.call_tool("enable_toolset", {"toolsets": ["all"]})
        tools = await client.list_tools()
    lines = [
        "| tool | title | annotations | parameters (`?` = optional) |",
        "|---|---|---|---|",
    ]
    for tool in sorted(tools, key=lambda t: t.name):
        title = tool.title or (tool.annotations.title if tool.annotations else "") or ""
        lines.append(f"| `{tool.name}` | {title} | {annotation_words(tool)} | {parameter_list(tool)} |")
    return "\n".join(lines)


def settings_table(*classes: type[BaseSettings]) -> str:
    home = str(Path.home())
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for cls in classes:
        prefix = str(cls.model_config.get("env_prefix") or "")
        for name, field in cls.model_fields.items():
            alias = field.validation_alias
            variable = alias.choices[0] if isinstance(alias, AliasChoices) else f"{prefix}{name}".upper()
            default = field.get_default(call_default_factory=True)
            if default is None or isinstance(default, SecretStr):
                shown = "unset"
            elif isinstance(default, Path) and default.is_relative_to(PROJECT):
                shown = f"`{default.name}` (packaged)"
            else:
                shown = f"`{str(default).replace(home, '~')}`" if default != "" else "empty"
            meaning = " ".join((field.description or "").split())
            lines.append(f"| `{variable}` | {shown} | {meaning} |")
    return "\n".join(lines)


def block(name: str) -> tuple[str, str]:
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def check_block(name: str, expected: str) -> None:
    begin, end = block(name)
    pattern = re.escape(begin) + r"(.*?)" + re.escape(end)
    text = README.read_text()
    if os.environ.get("K3S_MCP_UPDATE_README"):
        text = re.sub(pattern, lambda _: f"{begin}\n{expected}\n{end}", text, flags=re.S)
        README.write_text(text)
    match = re.search(pattern, text, re.S)
    assert match, f"README.md has no {begin} ... {end} block"
    assert match.group(1).strip() == expected, (
        f"README.md's {name} table differs from the code; "
        "run K3S_MCP_UPDATE_README=1 uv run pytest tests/test_readme.py"
    )


async def test_readme_lists_every_tool_with_its_annotations() -> None:
    check_block("tools", await expected_table())


@pytest.mark.parametrize(
    ("name", "classes"),
    [
        ("settings-k3s-mcp", (Settings,)),
        ("settings-activator", (ActivatorSettings,)),
        (
            "settings-layers",
            (
                layer_settings.LayerServiceSettings,
                layer_settings.K3sLayerSettings,
                layer_settings.UnifiApiSettings,
                layer_settings.UnifiSshSettings,
                layer_settings.TelemetrySettings,
                layer_settings.LayerClientSettings,
            ),
        ),
    ],
)
def test_readme_documents_every_setting(name: str, classes: tuple[type[BaseSettings], ...]) -> None:
    check_block(name, settings_table(*classes))
