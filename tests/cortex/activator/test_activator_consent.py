"""A decision that waits for consent names the exact action it would run, not only a tool name."""

from __future__ import annotations

from typing import Any

import pytest

from cortex.activator.consent import describe_action
from cortex.activator.service import Activator, QueryRequest


@pytest.mark.parametrize(
    ("tool", "arguments", "words"),
    [
        (
            "delete_resource",
            {"kind": "Deployment", "name": "api", "namespace": "prod"},
            "delete Deployment api in prod",
        ),
        ("delete_secret", {"name": "db-password", "namespace": "shop"}, "delete Secret db-password in shop"),
        (
            "scale_deployment",
            {"name": "web", "namespace": "shop", "replicas": 3},
            "scale Deployment web in shop to 3 replicas",
        ),
        ("restart_pod", {"name": "web-1"}, "restart Pod web-1"),
        (
            "execute_command",
            {"pod_name": "web-1", "command": ["rm", "-rf", "/data"]},
            "run `rm -rf /data` in Pod web-1",
        ),
        ("uninstall_helm_release", {"release": "redis", "namespace": "cache"}, "uninstall helm release redis in cache"),
        ("rollback_helm_release", {"release": "redis", "revision": 2}, "rollback helm release redis (revision=2)"),
    ],
)
def test_the_action_is_named_with_its_kind_object_and_namespace(
    tool: str, arguments: dict[str, Any], words: str
) -> None:
    assert describe_action(tool, arguments) == words


async def test_a_destructive_request_waits_and_names_what_it_would_delete(offline_activator: Activator) -> None:
    response = await offline_activator.handle(QueryRequest(query="delete deployment api in prod"))
    assert response.tool == "delete_resource" and response.status == "needs_confirmation", response
    assert not response.executed and response.requires_confirmation
    assert response.message.startswith("delete Deployment api in prod (destructive)"), response.message
    assert "confirm=true" in response.message
