"""Profiles: optional groups of parts started on top of the plain cluster when asked (``up --profile NAME``).

A part is a module with three functions::

    def build() -> Path                                                   # build into the cache if missing; bin dir
    def components(state: Path, bins: Path, kubeconfig: Path) -> list[Component]  # processes, 127.0.0.1, free ports
    def install(api: ClusterAPI, state: Path) -> None                     # objects after launch; wait until served

Applying a profile is additive and idempotent: parts whose components are already recorded in ``components.json``
and alive are left alone, dead ones are relaunched, missing ones launched and recorded (so ``down`` stops them and
``status`` lists them); every part's ``install`` runs again, which only re-applies its objects and waits.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
from pathlib import Path
from types import ModuleType

from devcluster.api import ClusterAPI
from devcluster.cache import cache_root, exclusive
from devcluster.messages import ClusterError, log
from devcluster.processes import Component, launch
from devcluster.state import kubeconfig_path, load_components, save_components

PLAIN = "plain"
PROFILE_ENV = "K3S_MCP_CLUSTER_PROFILE"


PROFILES: dict[str, tuple[str, ...]] = {
    PLAIN: (),
    "autoscaling": ("devcluster.metrics_server", "devcluster.prometheus", "devcluster.keda"),
}


def profile_name(asked: str | None = None) -> str:
    """`asked`, else ``$K3S_MCP_CLUSTER_PROFILE``, else ``plain``; a :class:`ClusterError` for an unknown name."""
    name = asked or os.environ.get(PROFILE_ENV) or PLAIN
    if name not in PROFILES:
        raise ClusterError(f"unknown cluster profile {name!r}; the profiles are: {', '.join(sorted(PROFILES))}")
    return name


def parts(profile: str) -> list[ModuleType]:
    """The part modules of `profile`, in start order."""
    return [importlib.import_module(name) for name in PROFILES[profile_name(profile)]]


def part_name(part: ModuleType) -> str:
    return part.__name__.rsplit(".", 1)[-1].replace("_", "-")


def build_part(part: ModuleType) -> Path:
    """`part`'s ``build()`` under a lock of its own: two runs building the same part cold build it once."""
    with exclusive(cache_root() / f"build-{part_name(part)}.lock"):
        bins: Path = part.build()
    return bins


def launched(state: Path, name: str) -> Component:
    """The recorded component called `name` of the cluster in `state`."""
    for component in load_components(state):
        if component.name == name:
            return component
    raise ClusterError(f"no component {name!r} is recorded in {state / 'components.json'}; start it with `up`")


def record(state: Path, component: Component) -> None:
    """Record `component` in ``components.json``, replacing the one of the same name."""
    items = [c for c in load_components(state) if c.name != component.name]
    save_components(state, [*items, component])


def recorded_parts(state: Path) -> dict[str, list[str]]:
    """The parts applied to the cluster in `state` and the names of their components (``parts.json``)."""
    with contextlib.suppress(OSError, ValueError):
        loaded = json.loads((state / "parts.json").read_text())
        if isinstance(loaded, dict):
            return {str(k): [str(n) for n in v] for k, v in loaded.items() if isinstance(v, list)}
    return {}


def recorded_profiles(state: Path) -> list[str]:
    """The profiles whose every part is recorded as applied to the cluster in `state`."""
    applied = recorded_parts(state)
    return [name for name, members in PROFILES.items() if members and all(m in applied for m in members)]


def _record_part(state: Path, part: str, names: list[str]) -> None:
    applied = recorded_parts(state)
    applied[part] = names
    (state / "parts.json").write_text(json.dumps(applied, indent=1))


def build_profile(profile: str) -> dict[str, Path]:
    """Build every part of `profile` (module name -> bin dir); callers do it before taking the cluster's lock, so a
    cold build does not hold up other launchers."""
    return {part.__name__: build_part(part) for part in parts(profile)}


def apply_profile(state: Path, api: ClusterAPI, profile: str, bins: dict[str, Path] | None = None) -> list[str]:
    """Build, launch and install every part of `profile` missing from the running cluster in `state`.

    A part recorded before keeps its components (the dead ones are relaunched with their recorded command line, so
    their ports stay); a new part's :func:`components` are launched and recorded. Every part's ``install`` runs.
    Returns the names of the components launched by this call. A part that fails has the components this call
    launched for it stopped and unrecorded, then raises; the plain cluster stays up.
    """
    started: list[str] = []
    modules = parts(profile)
    if bins is None:
        bins = build_profile(profile)
    for part in modules:
        known = {c.name: c for c in load_components(state)}
        names = recorded_parts(state).get(part.__name__)
        if names is not None and all(n in known for n in names):
            wanted = [known[n] for n in names]
            new_part = False
        else:
            wanted = part.components(state, bins[part.__name__], kubeconfig_path(state))
            new_part = True
        fresh: list[Component] = []
        try:
            for component in wanted:
                if not new_part and component.alive():
                    continue
                launch(state, component)
                record(state, component)
                fresh.append(component)
                log(f"started {component.name} ({part_name(part)}, pid {component.pid})")
            if new_part:
                _record_part(state, part.__name__, [c.name for c in wanted])
            part.install(api, state)
        except BaseException:
            for component in fresh:
                _stop(component)
            if new_part:
                gone = {c.name for c in wanted}
                save_components(state, [c for c in load_components(state) if c.name not in gone])
                applied = recorded_parts(state)
                applied.pop(part.__name__, None)
                (state / "parts.json").write_text(json.dumps(applied, indent=1))
            raise
        started += [c.name for c in fresh]
    return started


def _stop(component: Component) -> None:
    if component.alive():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(component.pid, signal.SIGKILL)
