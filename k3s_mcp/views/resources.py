"""Rows of any kind: from the API server's own Table (the columns `kubectl get` shows) or from plain objects."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from k3s_mcp.views.pages import age


class ResourceRow(BaseModel):
    """One object: its name, namespace and the columns `kubectl get` shows for its kind."""

    name: str
    namespace: str | None
    columns: dict[str, Any]


def table_rows(table: dict[str, Any], wide: bool) -> list[ResourceRow]:
    definitions = table.get("columnDefinitions") or []
    rows = []
    for row in table.get("rows") or []:
        metadata = (row.get("object") or {}).get("metadata") or {}
        columns: dict[str, Any] = {}
        for definition, cell in zip(definitions, row.get("cells") or [], strict=False):
            title = str(definition.get("name", ""))
            if title == "Name" or (int(definition.get("priority") or 0) > 0 and not wide):
                continue
            columns[title] = cell
        rows.append(
            ResourceRow(name=str(metadata.get("name", "")), namespace=metadata.get("namespace"), columns=columns)
        )
    return rows


def plain_rows(listing: dict[str, Any]) -> list[ResourceRow]:
    rows = []
    for item in listing.get("items") or []:
        metadata = item.get("metadata") or {}
        rows.append(
            ResourceRow(
                name=str(metadata.get("name", "")),
                namespace=metadata.get("namespace"),
                columns={"Age": age(metadata.get("creationTimestamp"))},
            )
        )
    return rows
