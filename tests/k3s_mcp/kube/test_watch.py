"""The one-object watch of k3s_mcp.kube.watch against the real API server: events of the named object only,
Secret values masked in them as in every answer, the access policy applied, and a gone version reported as such."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from devcluster.api import ClusterAPI
from k3s_mcp.kube import InvalidNameError, KubeSession
from k3s_mcp.kube.access import AccessDeniedError
from k3s_mcp.kube.watch import WatchGoneError, list_version, watch_object
from k3s_mcp.settings import Settings
from tests.k3s_mcp.conftest import create

SECRET_VALUE = "watched-secret-value-0123456789"


async def test_events_name_the_object_and_mask_a_secret(
    kubeconfig: str, namespace: str, cluster_api: ClusterAPI
) -> None:
    session = KubeSession(Settings(kubeconfig=kubeconfig))
    try:
        info = await session.resolve("secrets")
        version = await list_version(session, info, namespace, "db")
        events: list[dict[str, Any]] = []

        async def collect() -> None:
            async for event in watch_object(session, info, namespace, "db", version):
                events.append(event)
                return

        task = asyncio.create_task(collect())
        await asyncio.sleep(0.2)
        other = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "other"}, "stringData": {"k": "v"}}
        create(cluster_api, f"/api/v1/namespaces/{namespace}/secrets", other)
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "stringData": {"pw": SECRET_VALUE}}
        create(cluster_api, f"/api/v1/namespaces/{namespace}/secrets", secret)
        await asyncio.wait_for(task, 10)
        [event] = events
        assert event["type"] == "ADDED" and event["object"]["metadata"]["name"] == "db"
        assert event["object"]["data"] == {"pw": f"(hidden, {len(SECRET_VALUE)} bytes)"}
    finally:
        await session.close()


async def test_a_gone_version_is_reported_as_such(kubeconfig: str, namespace: str, cluster_api: ClusterAPI) -> None:
    """The API server answers a watch from a compacted version with 410 (as status or as an ERROR event): the
    watcher's signal to list again."""
    create(
        cluster_api,
        f"/api/v1/namespaces/{namespace}/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "old"}, "data": {}},
    )
    session = KubeSession(Settings(kubeconfig=kubeconfig))
    try:
        info = await session.resolve("configmaps")
        with pytest.raises(WatchGoneError):
            async for _ in watch_object(session, info, namespace, "old", "1"):
                pass
    finally:
        await session.close()


async def test_the_policy_and_the_name_rule_apply(kubeconfig: str, namespace: str) -> None:
    session = KubeSession(Settings(kubeconfig=kubeconfig, denied_kinds="Secret"))
    try:
        with pytest.raises(AccessDeniedError):
            await list_version(session, await session.resolve("secrets"), namespace, "db")
        with pytest.raises(AccessDeniedError):
            async for _ in watch_object(session, await session.resolve("secrets"), namespace, "db", ""):
                pass
        with pytest.raises(InvalidNameError):
            async for _ in watch_object(session, await session.resolve("configmaps"), namespace, "a,b=c", ""):
                pass
    finally:
        await session.close()
