"""Prometheus (``pins/prometheus``) on 127.0.0.1, scraping the static targets its caller names every 2 s.

Built with the tag ``remove_all_sd``, which leaves out every service-discovery plugin but the file and HTTP ones
(``plugins/plugin_*.go`` of the module), and without ``builtinassets``, so no generated web UI assets are needed
(the API answers; the UI pages would not). It keeps its TSDB in ``<state>/prometheus/data`` for 1 h and reloads
its configuration on ``POST /-/reload`` (``--web.enable-lifecycle``).

:func:`set_targets` (re)writes the scrape jobs and reloads, :func:`set_job` adds, changes or removes one job;
:func:`query` runs an instant PromQL query. A part of
the ``autoscaling`` profile (``devcluster.profiles``): :func:`build`, :func:`components`, :func:`install`.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from devcluster.api import ClusterAPI
from devcluster.build import Binary, binaries_digest, build_binaries
from devcluster.cache import cache_root, exclusive
from devcluster.messages import ClusterError
from devcluster.processes import Component, free_port, http_ok
from devcluster.profiles import launched

PROMETHEUS_VERSION = "3.16.0"
PROMETHEUS_BINARIES = (
    Binary(
        "prometheus",
        "prometheus",
        "github.com/prometheus/prometheus/cmd/prometheus",
        f"-s -w -X github.com/prometheus/common/version.Version={PROMETHEUS_VERSION}",
        tags="remove_all_sd",
    ),
)
SCRAPE_INTERVAL = "2s"
RETENTION = "1h"
LOOPBACK = "127.0.0.1"
_JOB = re.compile(r"[a-zA-Z_][a-zA-Z0-9_-]{0,62}")
_TARGET = re.compile(r"127\.0\.0\.1:([0-9]{1,5})")


def bin_dir() -> Path:
    return cache_root() / "bin" / binaries_digest(PROMETHEUS_BINARIES)


def build() -> Path:
    """Build Prometheus into the cache if it is missing; return the directory holding it."""
    return build_binaries(PROMETHEUS_BINARIES, bin_dir())


def home(state: Path) -> Path:
    return state / "prometheus"


def config_text(jobs: Mapping[str, Sequence[str]]) -> str:
    """prometheus.yml scraping each job's ``127.0.0.1:<port>`` targets at ``/metrics`` every 2 s.

    Job names and targets are checked (a job name Prometheus accepts; only loopback ``host:port`` targets), so a
    caller's value never becomes other YAML or a scrape of another host.
    """
    scrape_configs = []
    for job, targets in jobs.items():
        if not _JOB.fullmatch(job):
            raise ClusterError(f"job name {job!r} is not a letter or _ followed by up to 62 letters, digits, _ or -")
        for target in targets:
            found = _TARGET.fullmatch(target)
            if not found or not 0 < int(found[1]) < 65536:
                raise ClusterError(f"target {target!r} of job {job} is not 127.0.0.1:<port>")
        scrape_configs.append({"job_name": job, "static_configs": [{"targets": list(targets)}]})
    config: dict[str, Any] = {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "scrape_timeout": "1s", "evaluation_interval": SCRAPE_INTERVAL},
        "scrape_configs": scrape_configs,
    }
    return yaml.safe_dump(config, sort_keys=False)


def components(state: Path, bins: Path, kubeconfig: Path) -> list[Component]:
    """Prometheus on a free port of 127.0.0.1 with no scrape jobs yet (:func:`set_targets` adds them)."""
    directory = home(state)
    (directory / "data").mkdir(parents=True, exist_ok=True)
    config = directory / "prometheus.yml"
    if not config.exists():
        config.write_text(config_text({}))
    return [
        Component(
            "prometheus",
            [
                str(bins / "prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={directory / 'data'}",
                f"--storage.tsdb.retention.time={RETENTION}",
                f"--web.listen-address={LOOPBACK}:{free_port()}",
                "--web.enable-lifecycle",
                "--log.level=warn",
            ],
        )
    ]


def url(state: Path) -> str:
    """The base URL of the cluster's Prometheus (from its recorded command line)."""
    flag = next(a for a in launched(state, "prometheus").argv if a.startswith("--web.listen-address="))
    return f"http://{flag.split('=', 1)[1]}"


def ready(state: Path) -> bool:
    return http_ok(f"{url(state)}/-/ready")


def install(api: ClusterAPI, state: Path, within: float = 60.0) -> None:
    """Nothing to create in the cluster: wait until Prometheus reports ready."""
    deadline = time.monotonic() + within
    while not ready(state):
        if not launched(state, "prometheus").alive():
            raise ClusterError(f"Prometheus exited while starting; see {state / 'logs' / 'prometheus.log'}")
        if time.monotonic() > deadline:
            raise ClusterError(f"Prometheus was not ready within {within:.0f}s; see {state / 'logs'}")
        time.sleep(0.2)


def _post(address: str) -> tuple[int, str]:
    request = urllib.request.Request(address, data=b"", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode(errors="replace")
    except OSError as error:
        raise ClusterError(f"Prometheus at {address} did not answer: {error}") from error


def jobs(state: Path) -> dict[str, list[str]]:
    """The scrape jobs of the current configuration (job name -> targets)."""
    config = yaml.safe_load((home(state) / "prometheus.yml").read_text()) or {}
    return {
        str(job["job_name"]): [str(t) for c in job.get("static_configs") or [] for t in c.get("targets") or []]
        for job in config.get("scrape_configs") or []
    }


def _write_and_reload(state: Path, wanted: Mapping[str, Sequence[str]]) -> None:
    config = home(state) / "prometheus.yml"
    tmp = config.with_suffix(".tmp")
    tmp.write_text(config_text(wanted))
    tmp.replace(config)
    status, answer = _post(f"{url(state)}/-/reload")
    if status != 200:
        raise ClusterError(f"Prometheus refused the new configuration ({status}): {answer.strip()}")


def set_targets(state: Path, wanted: Mapping[str, Sequence[str]]) -> None:
    """Scrape exactly `wanted` (job name -> ``127.0.0.1:<port>`` targets) from now on: rewrite the config, reload."""
    with exclusive(home(state) / "config.lock"):
        _write_and_reload(state, wanted)


def set_job(state: Path, job: str, targets: Sequence[str]) -> None:
    """Scrape `targets` as `job` from now on, leaving the other jobs as they are; no targets removes the job.

    Callers sharing one Prometheus (tests running side by side) each use a job of their own.
    """
    with exclusive(home(state) / "config.lock"):
        current = jobs(state)
        if targets:
            current[job] = list(targets)
        else:
            current.pop(job, None)
        _write_and_reload(state, current)


def query(state: Path, promql: str) -> list[dict[str, Any]]:
    """The result vector of the instant query `promql` (each item has ``metric`` and ``value``)."""
    address = f"{url(state)}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    try:
        with urllib.request.urlopen(address, timeout=10) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise ClusterError(f"Prometheus refused the query {promql!r} ({error.code}): {error.read()[:500]!r}") from None
    except (OSError, ValueError) as error:
        raise ClusterError(f"Prometheus did not answer the query {promql!r}: {error}") from error
    if answer.get("status") != "success" or answer.get("data", {}).get("resultType") != "vector":
        raise ClusterError(f"Prometheus answered the query {promql!r} with {answer}")
    return list(answer["data"]["result"])
