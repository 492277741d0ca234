"""End to end over HTTP with OAuth (a real Ory Hydra) and K3S_IMPERSONATE=true: each caller's verified access token
names the Kubernetes user every API request of its calls is sent as, and the real API server's RBAC answers."""

from __future__ import annotations

from typing import Any

from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport

from devcluster.api import ClusterAPI
from devcluster.hydra import Hydra
from tests.k3s_mcp.auth.conftest import ALL_SCOPES, OAuthServer, client_for, serve_with_oauth
from tests.k3s_mcp.conftest import call, call_error, create
from tests.k3s_mcp.kube.test_identity import CONFIGMAP, add_configmap, binding, configmap_status, role


def bearer_client(server: OAuthServer, token: str) -> Client[Any]:
    return Client(StreamableHttpTransport(server.url, headers={"Authorization": f"Bearer {token}"}))


async def test_each_oauth_caller_acts_as_itself_in_kubernetes(
    kubeconfig: str, hydra: Hydra, namespace: str, cluster_api: ClusterAPI
) -> None:
    async with serve_with_oauth(kubeconfig, hydra.issuer, K3S_IMPERSONATE="true") as server:
        # Hydra's client-credentials tokens name the client as their subject (the `sub` claim by default).
        lister = client_for(hydra, server, *ALL_SCOPES)
        deleter = client_for(hydra, server, *ALL_SCOPES)
        rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}"
        pods_rule = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]
        configmaps_rule = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "delete"]}]
        create(cluster_api, f"{rbac}/roles", role("pod-lister", pods_rule))
        create(cluster_api, f"{rbac}/roles", role("configmap-deleter", configmaps_rule))
        create(cluster_api, f"{rbac}/rolebindings", binding("lister-pods", "pod-lister", "User", lister.client_id))
        create(cluster_api, f"{rbac}/rolebindings", binding("deleter-pods", "pod-lister", "User", deleter.client_id))
        create(
            cluster_api,
            f"{rbac}/rolebindings",
            binding("deleter-configmaps", "configmap-deleter", "User", deleter.client_id),
        )
        add_configmap(cluster_api, namespace)
        async with bearer_client(server, hydra.fetch_token(lister)) as client:
            listed = await call(client, "get_pods", {"namespace": namespace})
            assert listed["items"] == []
            refused = await call_error(client, "delete_configmap", {"name": CONFIGMAP, "namespace": namespace})
            assert refused.startswith(f"Forbidden: {lister.client_id} is not allowed to"), refused
            assert "configmaps" in refused
            # Not bound to anything in another namespace: the server's own rights are not lent out.
            elsewhere = await call_error(client, "get_pods", {"namespace": "kube-system"})
            assert elsewhere.startswith(f"Forbidden: {lister.client_id} is not allowed to list pods"), elsewhere
        assert configmap_status(cluster_api, namespace) == 200
        async with bearer_client(server, hydra.fetch_token(deleter)) as client:
            await call(client, "delete_configmap", {"name": CONFIGMAP, "namespace": namespace})
        assert configmap_status(cluster_api, namespace) == 404
