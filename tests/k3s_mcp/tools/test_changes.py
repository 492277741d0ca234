"""Telling created, configured and unchanged apart when controllers write the object between our read and write."""

from __future__ import annotations

from typing import Any

from k3s_mcp.tools.changes import outcome

APPLIED: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {"replicas": 2},
}


def stored(version: str, *, replicas: int = 2, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "labels": {"app": "web"},
            "annotations": annotations or {},
            "resourceVersion": version,
            "generation": 1,
        },
        "spec": {"replicas": replicas},
        "status": {"observedGeneration": int(version)},
    }


def test_same_resource_version_is_unchanged() -> None:
    assert outcome(stored("5"), stored("5"), dry_run=False, applied=APPLIED) == "unchanged"


def test_a_controller_writing_status_and_its_annotation_meanwhile_is_still_unchanged() -> None:
    before = stored("5")
    after = stored("7", annotations={"deployment.kubernetes.io/revision": "1"})
    assert outcome(before, after, dry_run=False, applied=APPLIED) == "unchanged"


def test_a_changed_field_of_ours_is_configured() -> None:
    assert outcome(stored("5"), stored("6", replicas=3), dry_run=False, applied=APPLIED) == "configured"
    named = {**APPLIED, "metadata": {**APPLIED["metadata"], "annotations": {"team": "b"}}}
    assert (
        outcome(
            stored("5", annotations={"team": "a"}), stored("6", annotations={"team": "b"}), dry_run=False, applied=named
        )
        == "configured"
    )


def test_no_object_before_is_created() -> None:
    assert outcome(None, stored("1"), dry_run=False, applied=APPLIED) == "created"
