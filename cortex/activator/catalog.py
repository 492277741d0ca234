"""The tool catalog the router chooses from: names, descriptions, input schemas, destructive flags."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cortex.mcp_adapter import needs_confirmation, tool_safety

if TYPE_CHECKING:
    # Only for annotations: the offline router never needs the MCP package's 30 MB of models.
    import mcp_types


@dataclass(frozen=True)
class ToolSpec:
    """One k3s_mcp tool as the router sees it."""

    name: str
    description: str
    input_schema: dict[str, Any]
    destructive: bool = False
    read_only: bool = False
    title: str | None = None

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        props = self.input_schema.get("properties") or {}
        return {str(k): dict(v) for k, v in props.items()}

    @property
    def required(self) -> list[str]:
        return [str(name) for name in self.input_schema.get("required") or []]

    @property
    def needs_confirmation(self) -> bool:
        """Whether a call runs only with the user's consent (cortex.mcp_adapter's one rule)."""
        return needs_confirmation(self.destructive, self.parameters)

    def parameter_kind(self, name: str) -> str:
        """The JSON type of a parameter ("string", "integer", ...), with nullable unions collapsed."""
        schema = self.parameters.get(name) or {}
        if "type" in schema:
            return str(schema["type"])
        for option in schema.get("anyOf") or []:
            kind = option.get("type")
            if kind and kind != "null":
                return str(kind)
        return "string"

    def summary(self) -> str:
        """The first sentence of the description, short enough to fit many tools in a small model's prompt."""
        first = self.description.strip().split("\n", 1)[0]
        return first[:160]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "input_schema": self.input_schema,
            "destructive": self.destructive,
            "read_only": self.read_only,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ToolSpec:
        return cls(
            name=str(data["name"]),
            title=data.get("title"),
            description=str(data.get("description") or ""),
            input_schema=dict(data.get("input_schema") or {"type": "object", "properties": {}}),
            destructive=bool(data.get("destructive", False)),
            read_only=bool(data.get("read_only", False)),
        )

    @classmethod
    def from_mcp(cls, tool: mcp_types.Tool) -> ToolSpec:
        annotations = tool.annotations
        safety = tool_safety(annotations)
        return cls(
            name=tool.name,
            title=tool.title or (annotations.title if annotations else None),
            description=tool.description or "",
            input_schema=dict(tool.input_schema or {"type": "object", "properties": {}}),
            destructive=safety.destructive,
            read_only=safety.read_only,
        )


@dataclass
class ToolCatalog:
    """The set of tools the router may name; anything else a tier proposes is discarded."""

    tools: dict[str, ToolSpec] = field(default_factory=dict)
    source: str = "empty"

    @classmethod
    def of(cls, specs: Iterable[ToolSpec], source: str) -> ToolCatalog:
        return cls({spec.name: spec for spec in specs}, source)

    @classmethod
    def from_mcp_tools(cls, tools: Iterable[mcp_types.Tool], source: str = "mcp") -> ToolCatalog:
        return cls.of((ToolSpec.from_mcp(tool) for tool in tools), source)

    @classmethod
    def from_snapshot(cls, path: Path) -> ToolCatalog:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls.of((ToolSpec.from_json(item) for item in data["tools"]), f"snapshot:{path.name}")

    def write_snapshot(self, path: Path) -> None:
        payload = {"tools": [spec.to_json() for spec in sorted(self.tools.values(), key=lambda s: s.name)]}
        path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    def get(self, name: str | None) -> ToolSpec | None:
        return self.tools.get(name) if name else None

    def __contains__(self, name: object) -> bool:
        return name in self.tools

    def __iter__(self) -> Iterator[ToolSpec]:
        return iter(self.tools.values())

    def __len__(self) -> int:
        return len(self.tools)

    def names(self) -> list[str]:
        return sorted(self.tools)
