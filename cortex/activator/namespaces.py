"""Which namespaces the connected cluster has, asked through k3s_mcp, so a decision never runs in one it lacks.

A namespace a request names ("in prod") is looked up with one read of that Namespace object; the answer is kept
for a short while when it exists. An unknown namespace makes the decision not runnable (missing_arguments names it); a
lookup that fails for another reason (no permission, the server is down) decides nothing.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Only its type: the MCP client stack loads where an executor is made, not with the router.
    from cortex.activator.execution import ToolExecutor

KEEP_SECONDS = 30.0
_NOT_FOUND = ("not found", "notfound", "does not exist", "no such")


class ClusterNamespaces:
    """Namespace existence through k3s_mcp's get_resource, answers kept `keep_seconds`."""

    def __init__(self, executor: ToolExecutor, keep_seconds: float = KEEP_SECONDS) -> None:
        self.executor = executor
        self.keep_seconds = keep_seconds
        self._known: dict[str, tuple[float, bool]] = {}

    async def exists(self, namespace: str) -> bool | None:
        now = time.monotonic()
        kept = self._known.get(namespace)
        if kept is not None and now - kept[0] < self.keep_seconds:
            return kept[1]
        if not self.executor.connected:
            return None
        result = await self.executor.call("get_resource", {"kind": "Namespace", "name": namespace, "api_version": "v1"})
        if result.ok:
            # Only a namespace seen is kept: one created a moment after a miss is found at once.
            self._known[namespace] = (now, True)
            return True
        if any(words in (result.error or "").lower() for words in _NOT_FOUND):
            return False
        return None
