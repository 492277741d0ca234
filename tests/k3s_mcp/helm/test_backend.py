"""The Helm backend chooser: each route's backend, and one clear sentence for what a route cannot do."""

from __future__ import annotations

import pytest
from fastmcp.exceptions import ToolError

from k3s_mcp.helm import ChartRequest, backend_for, revision_backend_for
from k3s_mcp.helm.backend import RevisionOperation
from k3s_mcp.helm.command import HelmCommandBackend
from k3s_mcp.helm.helmchart import HelmChartBackend
from k3s_mcp.kube import KubeSession
from k3s_mcp.settings import Settings


@pytest.fixture
def session() -> KubeSession:
    # Choosing a backend reaches no cluster, so a session that never loads a kubeconfig is enough.
    return KubeSession(Settings(kubeconfig="/nonexistent/kubeconfig"))


def test_each_route_has_its_backend(session: KubeSession) -> None:
    assert isinstance(backend_for(session, "helm"), HelmCommandBackend)
    assert isinstance(backend_for(session, "helmchart"), HelmChartBackend)
    assert backend_for(session, "helm").route == "helm"
    assert backend_for(session, "helmchart").route == "helmchart"
    assert isinstance(revision_backend_for(session, "helm", "rollback"), HelmCommandBackend)


@pytest.mark.parametrize(
    ("operation", "words"), [("history", "show a release's history"), ("rollback", "roll a release back")]
)
def test_the_helmchart_route_says_it_keeps_no_revisions(
    session: KubeSession, operation: RevisionOperation, words: str
) -> None:
    with pytest.raises(ToolError) as refused:
        revision_backend_for(session, "helmchart", operation)
    message = str(refused.value)
    assert message.startswith(f"route='helmchart' cannot {words}: a HelmChart object keeps no revisions")
    assert message.endswith("Use route='helm' for releases the helm command installed.")


@pytest.mark.parametrize(
    ("chart", "repo_url", "version", "words"),
    [
        ("--post-renderer=/bin/sh", None, None, "a chart reference cannot start with '-'"),
        ("nginx", "-https://charts.example", None, "it cannot start with '-'"),
        ("nginx", None, "1.0\n--set=x", "it cannot contain control characters"),
    ],
)
def test_a_chart_request_cannot_hold_a_value_helm_would_read_as_an_option(
    chart: str, repo_url: str | None, version: str | None, words: str
) -> None:
    with pytest.raises(ToolError, match=words):
        ChartRequest("web", "shop", chart, repo_url, version)
