"""The request builder: names validated as the API server would, every segment escaped, selectors escaped."""

from __future__ import annotations

import pytest

from k3s_mcp.kube import ResourceInfo
from k3s_mcp.kube.errors import InvalidNameError
from k3s_mcp.kube.requests import api_path, field_selector

SECRETS = ResourceInfo(group="", version="v1", resource="secrets", kind="Secret", namespaced=True)
SERVICES = ResourceInfo(group="", version="v1", resource="services", kind="Service", namespaced=True)
NAMESPACES = ResourceInfo(group="", version="v1", resource="namespaces", kind="Namespace", namespaced=False)
CLUSTER_ROLES = ResourceInfo(
    group="rbac.authorization.k8s.io", version="v1", resource="clusterroles", kind="ClusterRole", namespaced=False
)
SCALED_OBJECTS = ResourceInfo(
    group="keda.sh", version="v1alpha1", resource="scaledobjects", kind="ScaledObject", namespaced=True
)


def test_valid_paths() -> None:
    assert api_path(SECRETS, "ns", "db.creds") == "/api/v1/namespaces/ns/secrets/db.creds"
    assert api_path(SECRETS, "ns") == "/api/v1/namespaces/ns/secrets"
    assert api_path(SECRETS) == "/api/v1/secrets"
    assert api_path(SCALED_OBJECTS, "a", "b", "status") == "/apis/keda.sh/v1alpha1/namespaces/a/scaledobjects/b/status"
    # RBAC names follow only the path-segment rule; what a URL would reinterpret is still escaped.
    assert (
        api_path(CLUSTER_ROLES, None, "system:node") == "/apis/rbac.authorization.k8s.io/v1/clusterroles/system%3Anode"
    )


@pytest.mark.parametrize(
    "name",
    [".", "..", "../secrets/x", "x/y", "x?dryRun=All", "x#y", "%2e", "X", "x\n", "x\x00", " x", "", "a" * 254, "-x"],
)
def test_object_names_that_leave_their_segment_or_break_the_rule_are_refused(name: str) -> None:
    with pytest.raises(InvalidNameError) as refused:
        api_path(SECRETS, "ns", name)
    message = str(refused.value)
    assert message.startswith("Invalid Secret name")
    assert "\n" not in message
    assert "DNS-1123 subdomain" in message or "path segment" in message
    if name and len(name) < 60:
        assert repr(name) in message


@pytest.mark.parametrize("namespace", [".", "..", "a/../b", "a.b", "A", "x" * 64, "ns?x=1", "", "-a"])
def test_namespaces_are_dns_labels(namespace: str) -> None:
    with pytest.raises(InvalidNameError, match=r"Invalid namespace .*DNS-1123 label"):
        api_path(SECRETS, namespace, "x")


def test_per_kind_rules() -> None:
    with pytest.raises(InvalidNameError, match="DNS-1035 label"):
        api_path(SERVICES, "ns", "1web")
    with pytest.raises(InvalidNameError, match="DNS-1123 label"):
        api_path(NAMESPACES, None, "a.b")
    for breaker in (".", "..", "a/b", "a%2fb", "a?b"):
        with pytest.raises(InvalidNameError, match="path segment"):
            api_path(CLUSTER_ROLES, None, breaker)


def test_subresource_needs_a_name_and_is_a_segment() -> None:
    with pytest.raises(InvalidNameError):
        api_path(SECRETS, "ns", None, "status")
    with pytest.raises(InvalidNameError):
        api_path(SECRETS, "ns", "x", "../../configmaps")


def test_field_selector_values_cannot_add_terms() -> None:
    assert field_selector(involvedObject__name="web", type=None) == "involvedObject.name=web"
    assert field_selector(reason="x,type=Normal") == "reason=x\\,type\\=Normal"
    assert field_selector(reason="a\\") == "reason=a\\\\"
    assert field_selector(reason=None) is None


@pytest.mark.parametrize("mark", ["\u202e", "\u200b", "\u2066", "\u0085", "\ufeff"])
def test_path_segment_names_cannot_carry_invisible_or_bidi_marks(mark: str) -> None:
    """RBAC names follow only the path-segment rule; none of them may spoof how an answer reads."""
    with pytest.raises(InvalidNameError, match="path segment"):
        api_path(CLUSTER_ROLES, None, f"admin{mark}x")
