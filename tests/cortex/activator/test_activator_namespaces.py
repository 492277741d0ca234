"""A namespace the connected cluster does not have makes a decision not runnable; one it has passes."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from cortex.activator.namespaces import ClusterNamespaces
from cortex.activator.service import Activator, QueryRequest
from cortex.activator.settings import ActivatorSettings
from k3s_mcp.server import build_server
from k3s_mcp.settings import Settings


async def test_an_unknown_namespace_is_a_missing_argument_and_nothing_runs(
    kubeconfig: str, namespace: str, make_settings: Callable[..., ActivatorSettings]
) -> None:
    activator = Activator(make_settings(), mcp_app=build_server(Settings(kubeconfig=kubeconfig)))
    await activator.start()
    try:
        assert activator.executor is not None and activator.executor.connected, activator.problems
        assert activator.router is not None and isinstance(activator.router.namespaces, ClusterNamespaces)
        lookup = activator.router.namespaces
        missing = f"no-such-{uuid.uuid4().hex[:8]}"
        assert await lookup.exists(namespace) is True
        assert await lookup.exists(missing) is False

        known = await activator.route(f"list pods in {namespace}")
        assert known.tool == "get_pods" and known.missing_arguments == [], known
        unknown = await activator.route(f"list pods in {missing}")
        assert unknown.tool == "get_pods" and unknown.missing_arguments == ["namespace"], unknown
        assert missing in unknown.reason

        answer = await activator.handle(QueryRequest(query=f"scale deployment web to 2 in {missing}", confirm=True))
        assert answer.status == "missing_arguments" and not answer.executed, answer
        listed = await activator.handle(QueryRequest(query=f"list pods in {namespace}"))
        assert listed.status == "executed", listed
    finally:
        await activator.stop()
