"""Resource reads, completions and subscriptions over HTTP with OAuth (a real Ory Hydra) and K3S_IMPERSONATE=true:
they act as the token's caller in Kubernetes, as tool calls do, and need the k3s:read scope."""

from __future__ import annotations

from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport
from mcp.shared.exceptions import MCPError
from mcp_types import ResourceTemplateReference

from devcluster.api import ClusterAPI
from devcluster.hydra import Hydra
from k3s_mcp.mcp_resources import NAMESPACED_OBJECT
from k3s_mcp.middleware.scopes import SCOPE_READ
from tests.k3s_mcp.auth.conftest import OAuthServer, client_for, serve_with_oauth
from tests.k3s_mcp.conftest import create
from tests.k3s_mcp.kube.test_identity import CONFIGMAP, add_configmap, binding, role

pytestmark = pytest.mark.filterwarnings("ignore:resources/(un)?subscribe is removed")


def bearer_client(server: OAuthServer, token: str) -> Client[Any]:
    return Client(StreamableHttpTransport(server.url, headers={"Authorization": f"Bearer {token}"}), mode="legacy")


async def test_reads_completions_and_subscriptions_act_as_the_caller(
    kubeconfig: str, hydra: Hydra, namespace: str, cluster_api: ClusterAPI
) -> None:
    async with serve_with_oauth(kubeconfig, hydra.issuer, K3S_IMPERSONATE="true") as server:
        reader = client_for(hydra, server, SCOPE_READ)
        unscoped = client_for(hydra, server)
        rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}"
        rule = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]
        create(cluster_api, f"{rbac}/roles", role("configmap-reader", rule))
        create(cluster_api, f"{rbac}/rolebindings", binding("reader", "configmap-reader", "User", reader.client_id))
        add_configmap(cluster_api, namespace)
        uri = f"k8s://namespaces/{namespace}/configmaps/{CONFIGMAP}"
        template = ResourceTemplateReference(type="ref/resource", uri=NAMESPACED_OBJECT)
        async with bearer_client(server, hydra.fetch_token(reader)) as client:
            [content] = (await client.session.read_resource(uri)).contents
            assert f"name: {CONFIGMAP}" in getattr(content, "text", "")
            with pytest.raises(MCPError) as raised:
                await client.session.read_resource("k8s://namespaces/kube-system/configmaps/kube-root-ca.crt")
            assert str(raised.value).startswith(f"Forbidden: {reader.client_id} is not allowed to"), raised.value
            names = await client.complete(
                template, {"name": "name", "value": ""}, {"namespace": namespace, "kind": "cm"}
            )
            assert set(names.values) == {CONFIGMAP, "kube-root-ca.crt"}
            # The server itself may list namespaces; its caller may not, so there is nothing to offer.
            assert (await client.complete(template, {"name": "namespace", "value": ""})).values == []
            await client.session.subscribe_resource(uri)
            with pytest.raises(MCPError) as raised:
                await client.session.subscribe_resource("k8s://namespaces/kube-system/configmaps/kube-root-ca.crt")
            assert str(raised.value).startswith("Forbidden: "), raised.value
        async with bearer_client(server, hydra.fetch_token(unscoped)) as client:
            with pytest.raises(MCPError) as raised:
                await client.session.read_resource(uri)
            assert "needs the OAuth scope 'k3s:read'" in str(raised.value)
