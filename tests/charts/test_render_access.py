"""The k3s-mcp chart's per-user identity (rbac.impersonation) and access policy (server.deniedKinds,
server.allowedNamespaces): what helm template renders for them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.charts.helm_cli import Helm, schema_errors
from tests.charts.test_render import by_kind, container_env

pytestmark = pytest.mark.helm

IMPERSONATE_ROLE = "cortex-system-r-k3s-mcp-impersonate"
# Impersonation needs the callers' verified OAuth tokens, so the chart renders it only with OAuth on.
OAUTH = ["oauth.issuer=https://id.example.com/", "auth.enabled=false", "server.resourceUrl=https://k3s-mcp.example.com"]


def impersonate_rules(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        rule for o in objects if o["kind"] == "ClusterRole" for rule in o["rules"] if "impersonate" in rule["verbs"]
    ]


def test_nothing_may_be_impersonated_by_default(helm: Helm, charts: dict[str, Path]) -> None:
    objects = helm.template(charts["k3s-mcp"])
    assert impersonate_rules(objects) == []
    env = container_env(objects, "r-k3s-mcp")
    assert not {"K3S_IMPERSONATE", "K3S_DENIED_KINDS", "K3S_ALLOWED_NAMESPACES"} & set(env)


@pytest.mark.parametrize("kubernetes_version", ["1.33.0", "1.37.0"])
def test_impersonation_grants_users_and_groups_and_sets_the_server(
    helm: Helm, charts: dict[str, Path], kubernetes_version: str
) -> None:
    objects = helm.template(
        charts["k3s-mcp"],
        settings=[
            *OAUTH,
            "rbac.impersonation.enabled=true",
            "rbac.impersonation.userClaim=email",
            "rbac.clusterWide=false",
        ],
    )
    assert impersonate_rules(objects) == [
        {"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]},
        {"apiGroups": [""], "resources": ["groups"], "verbs": ["impersonate"]},
    ]
    binding = by_kind(objects, "ClusterRoleBinding")[IMPERSONATE_ROLE]
    assert binding["roleRef"]["name"] == IMPERSONATE_ROLE
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "r-k3s-mcp", "namespace": "cortex-system"}]
    env = {name: entry.get("value") for name, entry in container_env(objects, "r-k3s-mcp").items()}
    assert env["K3S_IMPERSONATE"] == "true"
    assert env["K3S_IMPERSONATE_USER_CLAIM"] == "email"
    assert env["K3S_IMPERSONATE_GROUPS_CLAIM"] == "groups"
    assert schema_errors(objects, kubernetes_version) == []


def test_impersonation_can_be_limited_to_named_users_and_groups(helm: Helm, charts: dict[str, Path]) -> None:
    objects = helm.template(
        charts["k3s-mcp"],
        settings=[
            *OAUTH,
            "rbac.impersonation.enabled=true",
            "rbac.impersonation.users={alice,bob}",
            "rbac.impersonation.groups={shop-operators}",
        ],
    )
    users, groups = impersonate_rules(objects)
    assert users["resources"] == ["users"] and users["resourceNames"] == ["alice", "bob"]
    assert groups["resources"] == ["groups"] and groups["resourceNames"] == ["shop-operators"]


def test_access_policy_values_become_the_settings(helm: Helm, charts: dict[str, Path]) -> None:
    objects = helm.template(
        charts["k3s-mcp"],
        settings=["server.deniedKinds={Secret,ClusterRole}", "server.allowedNamespaces={shop,shop-*}"],
    )
    env = {name: entry.get("value") for name, entry in container_env(objects, "r-k3s-mcp").items()}
    assert env["K3S_DENIED_KINDS"] == "Secret,ClusterRole"
    assert env["K3S_ALLOWED_NAMESPACES"] == "shop,shop-*"


@pytest.mark.parametrize(
    ("setting", "complaint"),
    [
        ("rbac.impersonation.enabled=maybe", "/rbac/impersonation/enabled"),
        ("server.deniedKinds=Secret", "/server/deniedKinds"),
        ("server.allowedNamespaces={a b}", "/server/allowedNamespaces/0"),
        ("rbac.impersonation.users={}", "/rbac/impersonation/users"),
        ("rbac.impersonation.userClaim=", "/rbac/impersonation/userClaim"),
        ("rbac.impersonation.everyone=true", "/rbac/impersonation"),
    ],
)
def test_wrong_values_fail_lint_and_template(helm: Helm, charts: dict[str, Path], setting: str, complaint: str) -> None:
    helm.assert_value_refused(charts["k3s-mcp"], setting, complaint)
