"""Idle and busy memory totals of the charts, summed from the requests in their rendered manifests."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.charts.helm_cli import Helm, stage_charts

UNITS = {
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
    "k": 1000,
    "M": 1000**2,
    "G": 1000**3,
    "T": 1000**4,
}


def quantity_bytes(quantity: str | int | float) -> int:
    """Bytes of a Kubernetes memory quantity such as 128Mi, 1G or 536870912."""
    text = str(quantity)
    for suffix in sorted(UNITS, key=len, reverse=True):
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * UNITS[suffix])
    return int(float(text))


@dataclass(frozen=True)
class Workload:
    """One Deployment or StatefulSet: its memory request per pod and its replica counts idle and busy."""

    name: str
    request_bytes: int
    idle_replicas: int
    busy_replicas: int

    @property
    def idle_bytes(self) -> int:
        return self.request_bytes * self.idle_replicas

    @property
    def busy_bytes(self) -> int:
        return self.request_bytes * self.busy_replicas


def _pod_request_bytes(pod_spec: dict[str, Any]) -> int:
    """A pod's effective memory request: its containers' sum, or its largest init container if more."""

    def request(container: dict[str, Any]) -> int:
        value = container.get("resources", {}).get("requests", {}).get("memory")
        return quantity_bytes(value) if value is not None else 0

    running = sum(request(c) for c in pod_spec.get("containers", []))
    init = max((request(c) for c in pod_spec.get("initContainers", [])), default=0)
    return max(running, init)


def workloads(objects: Iterable[dict[str, Any]]) -> list[Workload]:
    """Every Deployment/StatefulSet with idle replicas (what runs with nothing to do) and busy replicas (the
    ScaledObject's maximum for a layer KEDA scales, the fixed count otherwise). Hook pods are not counted."""
    objects = list(objects)
    ceilings = {
        o["spec"]["scaleTargetRef"]["name"]: int(o["spec"]["maxReplicaCount"])
        for o in objects
        if o["kind"] == "ScaledObject"
    }
    found = []
    for obj in objects:
        if obj["kind"] not in ("Deployment", "StatefulSet"):
            continue
        name = obj["metadata"]["name"]
        replicas = int(obj["spec"].get("replicas", 1))
        if name in ceilings:
            idle, busy = 0, ceilings[name]
        else:
            idle = busy = replicas
        found.append(Workload(name, _pod_request_bytes(obj["spec"]["template"]["spec"]), idle, busy))
    return found


def mebibytes(value: int) -> float:
    return value / 1024**2


def report(helm: Helm, chart: Path, values_files: list[Path]) -> str:
    """A markdown table of one rendering's workloads with idle and busy totals."""
    arguments: list[Path] = list(values_files)
    found = workloads(helm.template(chart, arguments))
    lines = [
        "| workload | request/pod | idle pods | busy pods |",
        "|---|---:|---:|---:|",
    ]
    for item in found:
        request = f"{mebibytes(item.request_bytes):.0f} Mi"
        lines.append(f"| {item.name} | {request} | {item.idle_replicas} | {item.busy_replicas} |")
    idle = sum(item.idle_bytes for item in found)
    busy = sum(item.busy_bytes for item in found)
    lines.append(f"| **total** | | **{mebibytes(idle):.0f} Mi** | **{mebibytes(busy):.0f} Mi** |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--values", action="append", default=[], help="values file(s) to render with")
    parser.add_argument("--chart", default="cortex", choices=["cortex", "k3s-mcp"])
    arguments = parser.parse_args(argv)
    helm = Helm.pinned()
    with tempfile.TemporaryDirectory() as scratch:
        charts = stage_charts(Path(scratch), helm)
        print(report(helm, charts[arguments.chart], [Path(v).resolve() for v in arguments.values]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
