"""Generic tools for any kind the cluster serves (CRDs included): list kinds, list objects, get one object."""

from __future__ import annotations

from typing import Annotated, Any

from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from fastmcp.tools.base import ToolResult
from pydantic import BaseModel, Field

from k3s_mcp.kube import TABLE_ACCEPT, ResourceInfo, Target, current_session
from k3s_mcp.tools import ANY_OBJECT, READ_ONLY, tool
from k3s_mcp.tools.parameters import ContinueToken, Detail, Labels, Limit, ListNamespace, Namespace
from k3s_mcp.views import RowPage, trim
from k3s_mcp.views.resources import ResourceRow, plain_rows, table_rows
from k3s_mcp.views.summary import full_answer, summary_answer

resources: FastMCP = FastMCP("resources")

# Server-side tables give `kubectl get` columns for every kind, CRD printer columns included, and carry only
# object metadata: a Secret's row has its key count, never its data (TABLE_ACCEPT).

Kind = Annotated[
    str,
    Field(
        min_length=1,
        description="Kind, plural, short name or kind.group of any resource the cluster serves, e.g. 'Pod', "
        "'cm', 'ingresses', 'scaledobjects.keda.sh', 'HelmChart'. get_api_resources lists them.",
    ),
]
ApiVersion = Annotated[
    str | None, Field(description="apiVersion, only to pick between kinds of the same name, e.g. 'apps/v1'.")
]


class ApiResource(BaseModel):
    kind: str
    resource: str = Field(description="Plural name used in URLs and RBAC.")
    api_version: str
    namespaced: bool
    short_names: list[str]
    verbs: list[str]


class ApiResources(BaseModel):
    count: int
    resources: list[ApiResource]


class ResourceObjects(BaseModel):
    """Whole (trimmed) objects of one kind; Secret values masked."""

    kind: str
    api_version: str
    items: list[dict[str, Any]]
    count: int
    continue_token: str | None = None
    note: str | None = None


@tool(resources, title="List resource kinds", safety=READ_ONLY)
async def get_api_resources(
    group: Annotated[
        str | None, Field(description="Only this API group, e.g. 'apps', 'keda.sh'; '' for the core group.")
    ] = None,
    namespaced: Annotated[bool | None, Field(description="Only namespaced (true) or cluster-scoped (false).")] = None,
) -> ApiResources:
    """List every resource kind the cluster serves (like `kubectl api-resources`), CRDs included.

    Use it to find the name to pass to get_resources / get_resource / describe_object.
    """
    session = current_session()
    infos = await session.resource_types(refresh=True)
    chosen = [
        ApiResource(
            kind=info.kind,
            resource=info.resource,
            api_version=info.api_version,
            namespaced=info.namespaced,
            short_names=list(info.short_names),
            verbs=list(info.verbs),
        )
        for info in infos
        if (group is None or info.group == group) and (namespaced is None or info.namespaced == namespaced)
    ]
    chosen.sort(key=lambda r: (r.api_version.split("/")[0] if "/" in r.api_version else "", r.kind))
    return ApiResources(count=len(chosen), resources=chosen)


def _list_query(
    labels: str | None, fields: str | None, limit: int, continue_token: str | None
) -> list[tuple[str, str]]:
    query = [("limit", str(limit))]
    if labels:
        query.append(("labelSelector", labels))
    if fields:
        query.append(("fieldSelector", fields))
    if continue_token:
        query.append(("continue", continue_token))
    return query


def _note(count: int, limit: int, metadata: dict[str, Any]) -> str | None:
    if not metadata.get("continue"):
        return None
    remaining = metadata.get("remainingItemCount")
    more = f"{remaining} more" if remaining else "more"
    return f"Showing {count} (limit {limit}); {more} remain: call again with continue_token."


def _check_listable(info: ResourceInfo) -> None:
    if info.verbs and "list" not in info.verbs:
        raise ToolError(f"{info.qualified} cannot be listed (the API serves only: {', '.join(info.verbs)}).")


@tool(resources, title="List objects of any kind", safety=READ_ONLY)
async def get_resources(
    kind: Kind,
    namespace: ListNamespace = None,
    labels: Labels = None,
    fields: Annotated[
        str | None,
        Field(
            description="Field selector, e.g. 'status.phase=Running' or 'spec.nodeName=node-1' (the kind decides "
            "which fields it supports; metadata.name and metadata.namespace always work)."
        ),
    ] = None,
    api_version: ApiVersion = None,
    wide: Annotated[bool, Field(description="Include the extra columns of `kubectl get -o wide`.")] = False,
    limit: Limit = None,
    continue_token: ContinueToken = None,
) -> RowPage[ResourceRow]:
    """List objects of any kind as rows with the columns `kubectl get` shows for it (CRD printer columns too),
    with label and field selectors, a limit and a continue_token. Secret rows show key counts, never values."""
    session = current_session()
    info = await session.resolve(kind, api_version)
    _check_listable(info)
    ns = namespace if info.namespaced else None
    size = limit or session.settings.list_limit
    query = [*_list_query(labels, fields, size, continue_token), ("includeObject", "Metadata")]
    target = Target(info.resource, None, ns, action="list")
    answer = await session.request("GET", info.path(ns), target=target, query=query, accept=TABLE_ACCEPT)
    rows = table_rows(answer, wide) if answer.get("kind") == "Table" else plain_rows(answer)
    metadata = answer.get("metadata") or {}
    return RowPage[ResourceRow](
        items=rows,
        count=len(rows),
        continue_token=metadata.get("continue") or None,
        note=_note(len(rows), size, metadata),
    )


@tool(resources, title="List whole objects of any kind", safety=READ_ONLY)
async def get_resource_objects(
    kind: Kind,
    namespace: ListNamespace = None,
    labels: Labels = None,
    fields: Annotated[str | None, Field(description="Field selector, e.g. 'metadata.name=web'.")] = None,
    api_version: ApiVersion = None,
    limit: Annotated[int, Field(ge=1, le=100, description="Most objects to return (they are large).")] = 20,
    continue_token: ContinueToken = None,
) -> ResourceObjects:
    """List whole objects of any kind (trimmed: no managedFields; Secret values masked). Larger than
    get_resources: use it when you need spec/status of several objects at once."""
    session = current_session()
    info = await session.resolve(kind, api_version)
    _check_listable(info)
    ns = namespace if info.namespaced else None
    target = Target(info.resource, None, ns, action="list")
    query = _list_query(labels, fields, limit, continue_token)
    listing = await session.request("GET", info.path(ns), target=target, query=query)
    reveal = session.settings.reveal_secrets
    # List items carry no kind of their own; set it so trim() recognises (and masks) Secrets.
    items = [
        trim({**item, "apiVersion": info.api_version, "kind": info.kind}, reveal_secrets=reveal)
        for item in listing.get("items") or []
    ]
    metadata = listing.get("metadata") or {}
    return ResourceObjects(
        kind=info.kind,
        api_version=info.api_version,
        items=items,
        count=len(items),
        continue_token=metadata.get("continue") or None,
        note=_note(len(items), limit, metadata),
    )


@tool(resources, title="Get one object of any kind", safety=READ_ONLY, output_schema=ANY_OBJECT)
async def get_resource(
    kind: Kind,
    name: Annotated[str, Field(min_length=1, description="Name of the object.")],
    namespace: Namespace = None,
    api_version: ApiVersion = None,
    detail: Detail = "summary",
) -> ToolResult:
    """Get one object of any kind (CRDs included): by default its key facts (status, replicas, images,
    conditions; a small object whole); detail='full' the trimmed JSON. Secret values masked unless
    K3S_REVEAL_SECRETS=true."""
    session = current_session()
    info = await session.resolve(kind, api_version)
    ns = session.namespace_or_default(namespace) if info.namespaced else None
    obj = await session.get(info, name, ns)
    trimmed = trim({**obj, "kind": info.kind}, reveal_secrets=session.settings.reveal_secrets)
    return summary_answer(trimmed) if detail == "summary" else full_answer(trimmed)
