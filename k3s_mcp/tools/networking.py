"""Networking tools: Ingresses with the class that serves them (K3s ships Traefik) and IngressClasses."""

from __future__ import annotations

from typing import Any

from fastmcp import FastMCP
from pydantic import BaseModel, Field

from k3s_mcp.kube import KubeError, KubeSession, current_session
from k3s_mcp.tools import READ_ONLY, tool
from k3s_mcp.tools.lists import list_rows
from k3s_mcp.tools.parameters import ContinueToken, Labels, Limit, ListNamespace, Name, Namespace
from k3s_mcp.views import (
    IngressClassRow,
    IngressRow,
    IngressRule,
    RowPage,
    ingress_class_row,
    ingress_row,
    ingress_rules,
    page,
    trim,
)

networking: FastMCP = FastMCP("networking")


class IngressDetail(BaseModel):
    summary: IngressRow
    rules: list[IngressRule] = Field(description="Each host/path and the backend it routes to.")
    ingress_class: IngressClassRow | None = Field(description="The IngressClass object, when it exists.")
    note: str | None = None
    object: dict[str, Any] = Field(description="The Ingress without managedFields and last-applied.")


async def _ingress_classes(session: KubeSession) -> list[dict[str, Any]]:
    """Every IngressClass; an empty list when they cannot be read (RBAC), since the class is a detail."""
    try:
        info = await session.resolve("ingressclasses.networking.k8s.io")
        listing = await session.list_page(info, None, limit=500)
    except KubeError:
        return []
    return list(listing.get("items") or [])


def _default_class(classes: list[dict[str, Any]]) -> str | None:
    defaults = [row.name for row in map(ingress_class_row, classes) if row.default]
    return defaults[0] if len(defaults) == 1 else None


@tool(networking, title="List Ingresses", safety=READ_ONLY)
async def get_ingresses(
    namespace: ListNamespace = None,
    labels: Labels = None,
    limit: Limit = None,
    continue_token: ContinueToken = None,
) -> RowPage[IngressRow]:
    """List Ingresses: class (and where it came from), hosts, address, ports, age."""
    session = current_session()
    info = await session.resolve("ingresses.networking.k8s.io")
    size = limit or session.settings.list_limit
    listing = await session.list_page(info, namespace, label_selector=labels, limit=size, continue_token=continue_token)
    default = _default_class(await _ingress_classes(session))
    return page(listing, lambda ingress: ingress_row(ingress, default), limit=size)


@tool(networking, title="Show an Ingress", safety=READ_ONLY)
async def get_ingress(name: Name, namespace: Namespace = None) -> IngressDetail:
    """Show one Ingress: its rules (host, path, backend service:port), its IngressClass and controller
    (K3s's is Traefik), and the trimmed object."""
    session = current_session()
    info = await session.resolve("ingresses.networking.k8s.io")
    ingress = await session.get(info, name, session.namespace_or_default(namespace))
    classes = await _ingress_classes(session)
    summary = ingress_row(ingress, _default_class(classes))
    found = next((c for c in classes if (c.get("metadata") or {}).get("name") == summary.ingress_class), None)
    note = None
    if summary.ingress_class is None:
        note = "No class is set and the cluster has no single default IngressClass: no controller may serve it."
    elif found is None:
        note = f"IngressClass {summary.ingress_class!r} does not exist (or cannot be read); no controller may serve it."
    return IngressDetail(
        summary=summary,
        rules=ingress_rules(ingress),
        ingress_class=ingress_class_row(found) if found else None,
        note=note,
        object=trim(ingress),
    )


@tool(networking, title="List IngressClasses", safety=READ_ONLY)
async def get_ingress_classes(limit: Limit = None, continue_token: ContinueToken = None) -> RowPage[IngressClassRow]:
    """List IngressClasses: controller (K3s's Traefik is 'traefik.io/ingress-controller'), default, parameters."""
    return await list_rows(
        "ingressclasses.networking.k8s.io", ingress_class_row, None, limit=limit, continue_token=continue_token
    )
