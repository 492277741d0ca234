"""Start, reuse, repair and stop the local K3s-compatible cluster the tests and benchmarks run against; its CLI.

The cluster is an upstream kube-apiserver, kube-controller-manager and kube-scheduler, etcd, and KWOK simulating three
Ready nodes whose pods reach Running and answer ``logs`` and ``exec`` through the API server (built by
``devcluster.build`` from the pins in ``pins/``). Everything binds to 127.0.0.1. The running cluster's state lives in
``<cache>/cluster/`` (``$K3S_MCP_CLUSTER_DIR`` moves it); one lock makes concurrent launchers share one cluster.

Usage: ``python -m devcluster.cluster {build,up,down,status,env} [--profile NAME]``; ``up --profile autoscaling`` (or
``$K3S_MCP_CLUSTER_PROFILE``) adds metrics-server, Prometheus and KEDA to the cluster, running or not
(``devcluster.profiles``).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from devcluster.api import ClusterAPI
from devcluster.build import BINARIES, HELM_CONTROLLER_MODULE, KEDA_MODULE, KUBE_VERSION, build, module_dir
from devcluster.cache import cache_root, exclusive
from devcluster.components import NODE_NAMES, components, node_object
from devcluster.messages import ClusterError, log
from devcluster.pki import kubeconfig_text, write_pki
from devcluster.processes import Component, http_ok, launch, port_free, wait_for
from devcluster.profiles import (
    PLAIN,
    PROFILE_ENV,
    PROFILES,
    apply_profile,
    build_profile,
    profile_name,
    recorded_profiles,
)

# Where the state lives, re-exported: callers (tests, bench, make) ask the launcher.
from devcluster.state import api_port as api_port
from devcluster.state import kubeconfig_path as kubeconfig_path
from devcluster.state import load_components as load_components
from devcluster.state import read_port as read_port
from devcluster.state import save_components as save_components
from devcluster.state import state_dir as state_dir

CONTROL_PLANE = frozenset(binary.name for binary in BINARIES)
"""The plain cluster's components (each named after its binary); the rest belong to profiles."""


@dataclass
class UpResult:
    kubeconfig: Path
    started: bool
    seconds: float


def up(profile: str | None = None) -> UpResult:
    """Start the cluster, or reuse (and repair) the one already running; return its kubeconfig.

    `profile` (else ``$K3S_MCP_CLUSTER_PROFILE``, else ``plain``) adds the parts of ``devcluster.profiles`` it names
    that the cluster lacks; the plain cluster is the same either way.
    """
    name = profile_name(profile)
    bins = build_profile(name)  # outside the lock: a cold build holds up no other launcher
    with exclusive(cache_root() / "cluster.lock"):
        result = _up()
        if name != PLAIN:
            started_at = time.monotonic()
            state = state_dir()
            launched = apply_profile(state, ClusterAPI(state, read_port(state)), name, bins)
            if launched:
                log(f"profile {name}: started {', '.join(launched)} in {time.monotonic() - started_at:.1f}s")
                result = UpResult(result.kubeconfig, True, result.seconds + time.monotonic() - started_at)
        return result


def _up() -> UpResult:
    started_at = time.monotonic()
    state = state_dir()
    existing = load_components(state)
    if existing:
        port = read_port(state)
        # A dead profile part does not make the plain cluster damaged: its profile relaunches it.
        dead = [c for c in existing if not c.alive() and c.name in CONTROL_PLANE]
        if not dead and ClusterAPI(state, port).ready():
            log(f"a cluster is already running on https://127.0.0.1:{port}; reusing it")
            return UpResult(kubeconfig_path(state), False, 0.0)
        if (state / "ready").exists():
            names = ", ".join(c.name for c in dead) or "none (API not ready)"
            log(f"the running cluster is damaged (dead: {names}); restarting those components")
            bins = build()
            for component in existing:
                if not component.alive() and component.name in CONTROL_PLANE:
                    component.argv[0] = str(bins / Path(component.argv[0]).name)
                    launch(state, component)
            save_components(state, existing)
            _wait_ready(state, port, existing)
            return UpResult(kubeconfig_path(state), True, time.monotonic() - started_at)
    if state.exists():
        log(f"removing stale cluster state in {state}")
        _stop(state)
    port = api_port()
    if not port_free(port):
        raise ClusterError(
            f"port {port} on 127.0.0.1 is already taken by another process, so the API server cannot bind it. "
            f"Stop that process or choose another port: K3S_MCP_CLUSTER_PORT=<free port> make cluster"
        )
    bins = build()
    log(f"starting kube-apiserver {KUBE_VERSION}, etcd and KWOK on 127.0.0.1:{port} ...")
    t0 = time.monotonic()
    (state / "logs").mkdir(parents=True)
    (state / "port").write_text(str(port))
    write_pki(state / "pki")
    kubeconfig_path(state).write_text(kubeconfig_text(state / "pki", port, embed=True))
    (state / "admin-files.kubeconfig").write_text(kubeconfig_text(state / "pki", port, embed=False))
    kubeconfig_path(state).chmod(0o600)
    items = components(state, bins, port)
    save_components(state, items)
    try:
        for component in items:
            launch(state, component)
            save_components(state, items)
            if component.name == "etcd":
                client_url = next(a for a in component.argv if a.startswith("--advertise-client-urls="))
                url = client_url.split("=", 1)[1] + "/health"
                wait_for("etcd", functools.partial(http_ok, url), 30, state, component)
            elif component.name == "kube-apiserver":
                api = ClusterAPI(state, port)
                wait_for("the API server's /readyz", api.ready, 90, state, component)
                _bootstrap(state, api)
        _wait_ready(state, port, items)
    except BaseException:
        for component in items:
            if component.alive():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(component.pid, signal.SIGKILL)
        log(f"start failed and was undone; logs are kept in {state / 'logs'} until the next start")
        raise
    (state / "ready").write_text(str(time.time()))
    log(f"cluster ready in {time.monotonic() - t0:.1f}s (all {len(NODE_NAMES)} nodes Ready)")
    return UpResult(kubeconfig_path(state), True, time.monotonic() - started_at)


def _bootstrap(state: Path, api: ClusterAPI) -> None:
    for index, name in enumerate(NODE_NAMES):
        api.apply(f"/api/v1/nodes/{name}", node_object(name, index))
    crd_files = [
        *sorted((module_dir("crds", KEDA_MODULE) / "config/crd/bases").glob("keda.sh_*.yaml")),
        *sorted((module_dir("crds", HELM_CONTROLLER_MODULE) / "pkg/crds/yaml/generated").glob("*.yaml")),
    ]
    for path in crd_files:
        for document in yaml.safe_load_all(path.read_text()):
            if document and document.get("kind") == "CustomResourceDefinition":
                api.apply(
                    f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{document['metadata']['name']}",
                    document,
                )


def _nodes_ready(api: ClusterAPI) -> bool:
    try:
        status, answer = api.request("GET", "/api/v1/nodes", timeout=5)
    except OSError:
        return False
    if status != 200:
        return False
    ready = 0
    for item in answer.get("items", []):
        for condition in item.get("status", {}).get("conditions") or []:
            if condition.get("type") == "Ready" and condition.get("status") == "True":
                ready += 1
    return ready >= len(NODE_NAMES)


def _default_sa(api: ClusterAPI) -> bool:
    try:
        status, _ = api.request("GET", "/api/v1/namespaces/default/serviceaccounts/default", timeout=5)
    except OSError:
        return False
    return status == 200


def _wait_ready(state: Path, port: int, items: list[Component]) -> None:
    api = ClusterAPI(state, port)
    apiserver = next(c for c in items if c.name == "kube-apiserver")
    wait_for("the API server's /readyz", api.ready, 90, state, apiserver)
    wait_for("all nodes Ready", lambda: _nodes_ready(api), 60, state, next(c for c in items if c.name == "kwok"))
    manager = next(c for c in items if c.name == "kube-controller-manager")
    wait_for("the default ServiceAccount", lambda: _default_sa(api), 60, state, manager)


def _stop(state: Path) -> None:
    for component in reversed(load_components(state)):
        if component.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(component.pid, signal.SIGTERM)
    # Throwaway state: a short grace period, then SIGKILL, keeps `down` fast.
    deadline = time.monotonic() + 3
    for component in load_components(state):
        while component.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if component.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(component.pid, signal.SIGKILL)
    shutil.rmtree(state, ignore_errors=True)


def down() -> bool:
    """Stop the cluster and remove its state; return whether anything was running."""
    with exclusive(cache_root() / "cluster.lock"):
        state = state_dir()
        was_running = any(c.alive() for c in load_components(state))
        _stop(state)
        return was_running


def status() -> dict[str, Any]:
    state = state_dir()
    items = load_components(state)
    port = read_port(state)
    ready = bool(items) and ClusterAPI(state, port).ready()
    return {
        "state_dir": str(state),
        "kubeconfig": str(kubeconfig_path(state)) if items else None,
        "server": f"https://127.0.0.1:{port}" if items else None,
        "ready": ready,
        "profiles": recorded_profiles(state),
        "components": {c.name: {"pid": c.pid, "alive": c.alive()} for c in items},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cluster", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["build", "up", "down", "status", "env"])
    parser.add_argument(
        "--profile",
        help=f"with up: also start the parts of this profile ({', '.join(sorted(PROFILES))}; "
        f"default ${PROFILE_ENV} or {PLAIN})",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            started = time.monotonic()
            print(build())
            log(f"binaries ready in {time.monotonic() - started:.0f}s")
        elif args.command == "up":
            result = up(args.profile)
            path = result.kubeconfig
            print(f"\nThe local cluster is up. Use it with:\n  export KUBECONFIG={path}\n  kubectl get nodes\n")
            if result.started:
                print(f"Start took {result.seconds:.1f}s. Stop it with: make cluster-down")
        elif args.command == "down":
            print("cluster stopped and its state removed" if down() else "no cluster was running; state cleaned")
        elif args.command == "status":
            print(json.dumps(status(), indent=2))
        elif args.command == "env":
            print(f"export KUBECONFIG={kubeconfig_path()}")
    except ClusterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
