"""One page of rows of one kind, the body of every plain list tool."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from k3s_mcp.kube import current_session
from k3s_mcp.views import RowPage, page

RowT = TypeVar("RowT", bound=BaseModel)


async def list_rows(
    kind: str,
    to_row: Callable[[dict[str, Any]], RowT],
    namespace: str | None,
    *,
    labels: str | None = None,
    limit: int | None = None,
    continue_token: str | None = None,
) -> RowPage[RowT]:
    """List `kind` in `namespace` (None: all namespaces) as rows, `limit` (default K3S_LIST_LIMIT) to a page."""
    session = current_session()
    info = await session.resolve(kind)
    size = limit or session.settings.list_limit
    listing = await session.list_page(info, namespace, label_selector=labels, limit=size, continue_token=continue_token)
    return page(listing, to_row, limit=size)
