"""Per-user identity: the API server, not this server, decides what each caller may do (K3S_IMPERSONATE).

The cluster's admin kubeconfig (system:masters) may impersonate anyone. In a namespace of its own the test binds
`alice` to listing pods and `bob` to listing pods and deleting ConfigMaps (and the group `cm-operators` to the
ConfigMap role); the same request then gets different answers for each, as the real API server judges them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.server.auth import AccessToken
from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser

from devcluster.api import ClusterAPI
from k3s_mcp.kube import KubeError, KubeSession
from k3s_mcp.kube.identity import MAX_VALUE_LENGTH, Identity, IdentityError, current_identity, identity_scope
from k3s_mcp.middleware.identity import NO_CALLER
from k3s_mcp.server import build_server
from k3s_mcp.settings import Settings
from tests.k3s_mcp.conftest import call, call_error, create

CONFIGMAP = "shared-settings"


def role(name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": name}, "rules": rules}


def binding(name: str, role_name: str, subject_kind: str, subject: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role_name},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": subject_kind, "name": subject}],
    }


@pytest.fixture
def rbac_namespace(namespace: str, cluster_api: ClusterAPI) -> Iterator[str]:
    """`namespace` with alice (list pods), bob (list pods, get/delete ConfigMaps), the group cm-operators
    (get/delete ConfigMaps) and one ConfigMap."""
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}"
    create(
        cluster_api,
        f"{rbac}/roles",
        role("pod-lister", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]),
    )
    create(
        cluster_api,
        f"{rbac}/roles",
        role("configmap-deleter", [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "delete"]}]),
    )
    create(cluster_api, f"{rbac}/rolebindings", binding("alice-pods", "pod-lister", "User", "alice"))
    create(cluster_api, f"{rbac}/rolebindings", binding("bob-pods", "pod-lister", "User", "bob"))
    create(cluster_api, f"{rbac}/rolebindings", binding("bob-configmaps", "configmap-deleter", "User", "bob"))
    create(cluster_api, f"{rbac}/rolebindings", binding("operators", "configmap-deleter", "Group", "cm-operators"))
    add_configmap(cluster_api, namespace)
    yield namespace


def add_configmap(cluster_api: ClusterAPI, namespace: str) -> None:
    create(
        cluster_api,
        f"/api/v1/namespaces/{namespace}/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": CONFIGMAP}, "data": {"k": "v"}},
    )


def configmap_status(cluster_api: ClusterAPI, namespace: str) -> int:
    status, _ = cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/{CONFIGMAP}")
    return status


@pytest.fixture
async def session(kubeconfig: str) -> AsyncIterator[KubeSession]:
    kube = KubeSession(Settings(kubeconfig=kubeconfig))
    await kube.open()
    yield kube
    await kube.close()


# -- the kube layer -------------------------------------------------------------------------------------------


async def test_the_same_request_gets_each_users_answer(
    session: KubeSession, rbac_namespace: str, cluster_api: ClusterAPI
) -> None:
    pods = await session.resolve("pods")
    configmaps = await session.resolve("configmaps")
    with identity_scope(Identity("alice")):
        listing = await session.list_page(pods, rbac_namespace)
        assert listing["kind"] == "PodList"
        with pytest.raises(KubeError) as refused:
            await session.delete(configmaps, CONFIGMAP, rbac_namespace)
    message = str(refused.value)
    assert message.startswith("Forbidden: alice is not allowed to delete configmaps"), message
    assert configmap_status(cluster_api, rbac_namespace) == 200  # Kubernetes refused it: still there
    with identity_scope(Identity("carol")), pytest.raises(KubeError, match=r"^Forbidden: carol is not allowed to list"):
        await session.list_page(pods, rbac_namespace)
    with identity_scope(Identity("bob")):
        await session.delete(configmaps, CONFIGMAP, rbac_namespace)
    assert configmap_status(cluster_api, rbac_namespace) == 404
    # Outside the scope the kubeconfig's own identity (system:masters) is used again.
    assert current_identity() is None
    names = [item["metadata"]["name"] for item in (await session.list_page(configmaps, rbac_namespace))["items"]]
    assert CONFIGMAP not in names and "kube-root-ca.crt" in names


async def test_every_group_is_sent_as_its_own_header(
    session: KubeSession, rbac_namespace: str, cluster_api: ClusterAPI
) -> None:
    configmaps = await session.resolve("configmaps")
    viewer = Identity("dave", ("viewers",))
    with identity_scope(viewer), pytest.raises(KubeError, match=r"^Forbidden: dave is not allowed to get configmaps"):
        await session.get(configmaps, CONFIGMAP, rbac_namespace)
    # Only the second group is bound: joined into one header value, it would name no group the API server knows.
    with identity_scope(Identity("dave", ("viewers", "cm-operators"))):
        found = await session.get(configmaps, CONFIGMAP, rbac_namespace)
        assert found["data"] == {"k": "v"}
        await session.delete(configmaps, CONFIGMAP, rbac_namespace)
    assert configmap_status(cluster_api, rbac_namespace) == 404


async def test_exec_is_sent_as_the_caller(session: KubeSession, rbac_namespace: str, cluster_api: ClusterAPI) -> None:
    """The websocket request of exec carries the impersonation headers too: alice may list pods, not exec."""
    create(
        cluster_api,
        f"/api/v1/namespaces/{rbac_namespace}/pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "shell"},
            "spec": {"containers": [{"name": "main", "image": "busybox"}]},
        },
    )
    with identity_scope(Identity("alice")), pytest.raises(KubeError) as refused:
        await session.execute("shell", rbac_namespace, ["echo", "hi"], None)
    assert str(refused.value).startswith("Forbidden: alice is not allowed to create pods/exec"), str(refused.value)


@pytest.mark.parametrize(
    ("user", "groups", "problem"),
    [
        ("alice\r\nImpersonate-Group: system:masters", (), "control character"),
        ("alice\n", (), "control character"),
        ("alice", ("ok", "bad\x00"), "control character"),
        ("", (), "empty"),
        ("a" * (MAX_VALUE_LENGTH + 1), (), "longer than"),
        ("alice", tuple(f"g{i}" for i in range(65)), "more than 64 groups"),
    ],
)
def test_unsafe_header_values_are_refused(user: str, groups: tuple[str, ...], problem: str) -> None:
    with pytest.raises(IdentityError, match=problem):
        Identity(user, groups)


def test_headers_repeat_the_group_header() -> None:
    assert Identity("erin", ("a", "b")).headers() == [
        ("Impersonate-User", "erin"),
        ("Impersonate-Group", "a"),
        ("Impersonate-Group", "b"),
    ]


# -- through the MCP app ----------------------------------------------------------------------------------------


async def test_tools_answer_per_identity_through_the_app(
    kubeconfig: str, rbac_namespace: str, cluster_api: ClusterAPI
) -> None:
    """The app's tools run under the identity the context variable holds (the one the middleware sets)."""
    app = build_server(Settings(kubeconfig=kubeconfig))
    with identity_scope(Identity("alice")):
        async with Client(app) as client:
            listed = await call(client, "get_pods", {"namespace": rbac_namespace})
            assert listed["items"] == []
            text = await call_error(client, "delete_configmap", {"name": CONFIGMAP, "namespace": rbac_namespace})
    assert "Forbidden: alice is not allowed to" in text and "configmaps" in text, text
    assert configmap_status(cluster_api, rbac_namespace) == 200
    with identity_scope(Identity("bob")):
        async with Client(app) as client:
            await call(client, "delete_configmap", {"name": CONFIGMAP, "namespace": rbac_namespace})
    assert configmap_status(cluster_api, rbac_namespace) == 404


async def test_impersonation_without_a_caller_is_refused(kubeconfig: str, rbac_namespace: str) -> None:
    """In memory (as over stdio) there is no access token: with K3S_IMPERSONATE=true nothing runs as the server."""
    app = build_server(Settings(kubeconfig=kubeconfig, impersonate=True))
    async with Client(app) as client:
        text = await call_error(client, "get_pods", {"namespace": rbac_namespace})
    assert text == NO_CALLER


def authenticated(claims: dict[str, Any]) -> AuthenticatedUser:
    """What the MCP SDK's HTTP auth middleware stores for a request whose token the verifier accepted."""
    token = AccessToken(token="verified-elsewhere", client_id="test-client", scopes=[], claims=claims)
    return AuthenticatedUser(token)


async def test_the_middleware_acts_as_the_access_tokens_subject(
    kubeconfig: str, rbac_namespace: str, cluster_api: ClusterAPI
) -> None:
    """End to end through the identity middleware: a real AccessToken where FastMCP's get_access_token() reads it
    (the SDK's auth context, set by its HTTP middleware once a token is verified), claims chosen by the settings."""
    app = build_server(Settings(kubeconfig=kubeconfig, impersonate=True, impersonate_user_claim="email"))
    user = auth_context_var.set(authenticated({"sub": "bob", "email": "alice"}))
    try:
        async with Client(app) as client:
            await call(client, "get_pods", {"namespace": rbac_namespace})
            text = await call_error(client, "delete_configmap", {"name": CONFIGMAP, "namespace": rbac_namespace})
    finally:
        auth_context_var.reset(user)
    assert "Forbidden: alice is not allowed to" in text, text
    assert configmap_status(cluster_api, rbac_namespace) == 200
    operator = auth_context_var.set(authenticated({"email": "frank", "groups": ["viewers", "cm-operators"]}))
    try:
        async with Client(app) as client:
            await call(client, "delete_configmap", {"name": CONFIGMAP, "namespace": rbac_namespace})
    finally:
        auth_context_var.reset(operator)
    assert configmap_status(cluster_api, rbac_namespace) == 404


@pytest.mark.parametrize(
    ("claims", "problem"),
    [
        ({"groups": ["viewers"]}, "no string claim 'sub'"),
        ({"sub": "alice", "groups": "viewers\r\nImpersonate-User: admin"}, "control character"),
        ({"sub": "alice", "groups": [1, 2]}, "not a list of group names"),
    ],
)
async def test_tokens_that_name_no_safe_identity_are_refused(
    kubeconfig: str, rbac_namespace: str, claims: dict[str, Any], problem: str
) -> None:
    app = build_server(Settings(kubeconfig=kubeconfig, impersonate=True))
    user = auth_context_var.set(authenticated(claims))
    try:
        async with Client(app) as client:
            text = await call_error(client, "get_pods", {"namespace": rbac_namespace})
    finally:
        auth_context_var.reset(user)
    assert problem in text and text.startswith(("Refused", "Cannot impersonate")), text
