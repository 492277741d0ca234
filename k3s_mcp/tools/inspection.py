"""Inspection tools: events filtered by object and type, and a `describe` view of any object."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastmcp import FastMCP
from pydantic import BaseModel, Field

from k3s_mcp.kube import KubeError, KubeSession, current_session
from k3s_mcp.kube.requests import check_segment, field_selector
from k3s_mcp.tools import READ_ONLY, tool
from k3s_mcp.tools.parameters import ContinueToken, Limit, ListNamespace, Namespace
from k3s_mcp.views import EventRow, RowPage, event_row, event_time, page, trim

inspection: FastMCP = FastMCP("inspection")

MAX_OWNER_DEPTH = 10

Kind = Annotated[
    str,
    Field(
        min_length=1,
        description="Kind, plural or short name of any resource the cluster serves, e.g. 'Pod', 'deploy', "
        "'ingress', 'scaledobjects.keda.sh'.",
    ),
]
EventType = Annotated[
    Literal["Warning", "Normal"] | None, Field(description="Only events of this type; 'Warning' shows problems.")
]


class Owner(BaseModel):
    kind: str
    name: str
    found: bool = Field(description="False when the owner no longer exists or cannot be read.")


class DescribeView(BaseModel):
    """An object with what `kubectl describe` adds: its events and who owns it."""

    kind: str
    api_version: str
    name: str
    namespace: str | None
    owner_chain: list[Owner] = Field(description="Controller owners from the direct one up to the top.")
    events: list[EventRow] = Field(description="Events about this object, newest first.")
    object: dict[str, Any] = Field(description="The trimmed object; Secret values are masked.")


def _newest_first(listing: dict[str, Any]) -> dict[str, Any]:
    items = sorted(listing.get("items") or [], key=event_time, reverse=True)
    return {**listing, "items": items}


@tool(inspection, title="List events", safety=READ_ONLY)
async def get_events(
    namespace: ListNamespace = None,
    kind: Annotated[str | None, Field(description="Only events about objects of this kind, e.g. 'Pod'.")] = None,
    name: Annotated[str | None, Field(description="Only events about the object with this name.")] = None,
    event_type: EventType = None,
    reason: Annotated[str | None, Field(description="Only events with this reason, e.g. 'FailedScheduling'.")] = None,
    limit: Limit = None,
    continue_token: ContinueToken = None,
) -> RowPage[EventRow]:
    """List events (newest first within the page): type, reason, object, message, count, source.

    Filter by the object (kind and/or name), by type ('Warning' for problems) or by reason.
    Events live about an hour; an empty answer means nothing was reported recently.
    """
    session = current_session()
    info = await session.resolve("events")
    selector = field_selector(
        involvedObject__kind=(await session.resolve(kind)).kind if kind else None,
        involvedObject__name=check_segment(name, "object name") if name else None,
        type=event_type,
        reason=reason,
    )
    size = limit or session.settings.list_limit
    listing = await session.list_page(
        info, namespace, field_selector=selector, limit=size, continue_token=continue_token
    )
    return page(_newest_first(listing), event_row, limit=size)


async def _owner_chain(session: KubeSession, obj: dict[str, Any], namespace: str | None) -> list[Owner]:
    chain: list[Owner] = []
    seen: set[str] = set()
    current = obj
    for _ in range(MAX_OWNER_DEPTH):
        owners = (current.get("metadata") or {}).get("ownerReferences") or []
        owner = next((o for o in owners if o.get("controller")), owners[0] if owners else None)
        if owner is None or owner.get("uid") in seen:
            break
        seen.add(str(owner.get("uid")))
        kind, name = str(owner.get("kind", "")), str(owner.get("name", ""))
        try:
            info = await session.resolve(kind, owner.get("apiVersion"))
            parent = await session.get_optional(info, name, namespace)
        except KubeError:
            parent = None
        chain.append(Owner(kind=kind, name=name, found=parent is not None))
        if parent is None:
            break
        current = parent
    return chain


@tool(inspection, title="Describe an object", safety=READ_ONLY)
async def describe_object(
    kind: Kind,
    name: Annotated[str, Field(min_length=1, description="Name of the object.")],
    namespace: Namespace = None,
    api_version: Annotated[
        str | None, Field(description="apiVersion, only to pick between kinds of the same name, e.g. 'apps/v1'.")
    ] = None,
    events_limit: Annotated[int, Field(ge=0, le=200, description="Most events to include.")] = 20,
) -> DescribeView:
    """Describe any object like `kubectl describe`: the trimmed object, the events about it (newest first)
    and its owner chain (e.g. Pod -> ReplicaSet -> Deployment). Start here when something misbehaves.
    Secret values stay masked."""
    session = current_session()
    info = await session.resolve(kind, api_version)
    ns = session.namespace_or_default(namespace) if info.namespaced else None
    obj = await session.get(info, name, ns)
    uid = (obj.get("metadata") or {}).get("uid")
    events: list[EventRow] = []
    if events_limit:
        events_info = await session.resolve("events")
        # Events about cluster-scoped objects (nodes) are recorded in some namespace: search them all.
        listing = await session.list_page(
            events_info, ns, field_selector=field_selector(involvedObject__uid=uid), limit=500
        )
        events = [event_row(e) for e in _newest_first(listing)["items"][:events_limit]]
    return DescribeView(
        kind=info.kind,
        api_version=info.api_version,
        name=name,
        namespace=ns,
        owner_chain=await _owner_chain(session, obj, ns),
        events=events,
        object=trim({**obj, "kind": info.kind}, reveal_secrets=session.settings.reveal_secrets),
    )
