"""field_diff on objects shaped as the API server answers: paths, named list items, bounds and Secret masking."""

from __future__ import annotations

from typing import Any

from k3s_mcp.views.diff import field_diff


def deployment(replicas: int, image: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web", **labels}, "resourceVersion": str(replicas)},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "main", "image": image}]}}},
        "status": {"replicas": replicas},
    }


def test_changes_additions_and_removals_by_path() -> None:
    before, after = deployment(2, "nginx:1.27"), deployment(3, "nginx:1.28", **{"app.kubernetes.io/part-of": "shop"})
    after["metadata"]["managedFields"] = [{"manager": "k3s-mcp"}]
    after["metadata"]["creationTimestamp"] = "2026-12-01T00:00:00Z"
    lines, total = field_diff(before, after)
    assert lines == [
        '+ metadata.labels."app.kubernetes.io/part-of": "shop"',
        "spec.replicas: 2 -> 3",
        'spec.template.spec.containers[name=main].image: "nginx:1.27" -> "nginx:1.28"',
    ]
    assert total == 3
    back, _ = field_diff(after, before)
    assert back[0] == '- metadata.labels."app.kubernetes.io/part-of"'


def test_unchanged_is_empty_and_timestamps_are_ignored() -> None:
    before, after = deployment(2, "a"), deployment(2, "a")
    after["status"] = {"conditions": [{"lastUpdateTime": "now"}]}
    after["metadata"]["generation"] = 9
    assert field_diff(before, after) == ([], 0)


def test_the_diff_is_bounded() -> None:
    before = {"kind": "ConfigMap", "metadata": {"name": "big"}, "data": {}}
    after = {"kind": "ConfigMap", "metadata": {"name": "big"}, "data": {f"k{i:03}": "x" * 500 for i in range(200)}}
    lines, total = field_diff(before, after, max_lines=10)
    assert total == 200 and len(lines) == 11
    assert lines[-1] == "... 190 more changed fields not shown"
    assert all(len(line) < 120 for line in lines)


def test_secret_values_never_show() -> None:
    before = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"password": "aHVudGVyMg==", "old": "eA=="}}
    after = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"password": "c3dvcmRmaQ==", "new": "eQ=="}}
    lines, _ = field_diff(before, after)
    assert lines == ["+ data.new", "- data.old", "data.password: (hidden) changed"]
    created, _ = field_diff(None, after)
    assert "+ data.password" in created and not any("c3dvcmRmaQ" in line for line in created)
