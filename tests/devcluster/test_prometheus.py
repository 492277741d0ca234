"""The cluster's Prometheus scrapes the real activator's /metrics and answers the query KEDA's scalers run."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest

from cortex.activator.catalog import ToolCatalog
from cortex.activator.http_app import create_app
from cortex.activator.service import Activator
from cortex.activator.settings import ActivatorSettings
from cortex.layers.names import GAUGED_LAYERS
from devcluster import cluster, prometheus
from devcluster.messages import ClusterError
from tests.cortex.layers.local_server import serve_app
from tests.k3s_mcp.conftest import wait_until


@pytest.fixture
async def activator() -> AsyncIterator[Activator]:
    """A real activator (tier 1 only, nothing from CORTEX_* variables) with the tool catalog snapshot."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("CORTEX_")}
    for key in saved:
        del os.environ[key]
    try:
        settings = ActivatorSettings(similarity_enabled=False, mcp_url=None, classifier_url=None, reasoning_url=None)
    finally:
        os.environ.update(saved)
    served = Activator(settings)
    await served.start(ToolCatalog.from_snapshot(settings.catalog_snapshot_path))
    yield served
    await served.stop()


async def test_prometheus_scrapes_the_activators_pending_requests(
    autoscaling_kubeconfig: str, activator: Activator
) -> None:
    state, job = cluster.state_dir(), f"activator-{uuid.uuid4().hex[:8]}"
    # A layer name of this test's own: other runs sharing the Prometheus add nothing to the sum KEDA's query takes.
    layer = f"layer-{uuid.uuid4().hex[:8]}"
    promql = f'sum(cortex_activator_pending_requests{{layer="{layer}"}})'
    async with serve_app(create_app(activator.settings, activator=activator)) as base_url:
        target = base_url.removeprefix("http://")
        prometheus.set_job(state, job, [target])
        assert prometheus.jobs(state)[job] == [target]
        every_layer = f'cortex_activator_pending_requests{{job="{job}", layer="{GAUGED_LAYERS[0]}"}}'
        await wait_until(lambda: prometheus.query(state, every_layer), within=30, what=f"{every_layer} scraped")
        with activator.metrics.holding(layer), activator.metrics.holding(layer):

            def two_pending() -> bool:
                result = prometheus.query(state, promql)
                return bool(result) and result[0]["value"][1] == "2"

            await wait_until(two_pending, within=30, what=f"{promql} == 2 in Prometheus")
        await wait_until(
            lambda: prometheus.query(state, promql)[0]["value"][1] == "0", within=30, what=f"{promql} back to 0"
        )
        up = prometheus.query(state, f'up{{job="{job}", instance="{target}"}}')
        assert [r["value"][1] for r in up] == ["1"]
    prometheus.set_job(state, job, [])
    assert job not in prometheus.jobs(state)


def test_targets_are_loopback_ports_and_job_names_only() -> None:
    assert "127.0.0.1:9090" in prometheus.config_text({"activator": ["127.0.0.1:9090"]})
    for jobs, message in (
        ({"activator": ["10.0.0.1:9090"]}, "is not 127.0.0.1:<port>"),
        ({"activator": ["127.0.0.1:99999"]}, "is not 127.0.0.1:<port>"),
        ({"activator": ["127.0.0.1:80\nfoo: bar"]}, "is not 127.0.0.1:<port>"),
        ({"bad job\n": ["127.0.0.1:80"]}, "job name"),
    ):
        with pytest.raises(ClusterError, match=message):
            prometheus.config_text(jobs)


def test_a_bad_query_is_a_clear_error(autoscaling_kubeconfig: str) -> None:
    with pytest.raises(ClusterError, match="Prometheus refused the query 'sum\\(' \\(400\\)"):
        prometheus.query(cluster.state_dir(), "sum(")
