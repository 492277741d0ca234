"""Tokens of our answers beside kubectl's for the same objects: ``python -m bench.answers [--pods N] [--json FILE]``.

Creates the bench workload (KWOK pods, under its own namespace prefix), then reads through an in-memory MCP client:
one deployment (summary and detail="full"), the pods of one namespace and every pod across namespaces. kubectl
prints the same objects (``get pods -A``, ``get pods -n``, ``get deployment -o yaml``) and each text is counted
with the bench's tokenizer; the per-row figure compares lists that caught a different number of pods. The workload
is deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fastmcp import Client

from bench.peers import peer_environment
from bench.settings import BenchSettings
from bench.tokens import Tokenizer
from bench.workload import Targets, Workload
from devcluster import cluster
from devcluster.helm import kubectl_path
from k3s_mcp.server import build_server
from k3s_mcp.settings import Settings


@dataclass
class AnswerSize:
    """One answer: who gave it, how many rows it holds (0 for one object), its characters and tokens."""

    answer: str
    source: str
    rows: int
    chars: int
    tokens: int = 0
    head: str = ""

    @property
    def per_row(self) -> float | None:
        return self.tokens / self.rows if self.rows else None


def text_of(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


async def our_answers(kubeconfig: str, targets: Targets) -> list[tuple[str, int, str]]:
    app = build_server(Settings(kubeconfig=kubeconfig))
    deployment = {"name": targets.deployment, "namespace": targets.namespace}
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("one deployment", "get_deployment", deployment),
        ("one deployment, detail=full", "get_deployment", {**deployment, "detail": "full"}),
        ("pods of one namespace", "get_pods", {"namespace": targets.namespace}),
        ("pods of all namespaces", "get_pods", {"limit": 5000}),
    ]
    answers = []
    async with Client(app) as client:
        for label, tool, arguments in calls:
            result = await client.call_tool(tool, arguments, raise_on_error=True)
            structured = result.structured_content or {}
            rows = int(structured.get("count") or 0) if "items" in structured else 0
            answers.append((label, rows, text_of(result)))
    return answers


def kubectl_answers(kubeconfig: str, targets: Targets) -> list[tuple[str, int, str]]:
    runs = [
        ("one deployment", ["get", "deployment", targets.deployment, "-n", targets.namespace, "-o", "yaml"]),
        ("pods of one namespace", ["get", "pods", "-n", targets.namespace]),
        ("pods of all namespaces", ["get", "pods", "--all-namespaces"]),
    ]
    answers = []
    for label, argv in runs:
        done = subprocess.run(
            [str(kubectl_path()), *argv],
            env=peer_environment(kubeconfig),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        lines = done.stdout.count("\n")
        answers.append((label, 0 if "-o" in argv else max(lines - 1, 0), done.stdout))
    return answers


def measure(kubeconfig: str, targets: Targets, tokenizer: Tokenizer) -> list[AnswerSize]:
    texts = [("k3s-mcp", *answer) for answer in asyncio.run(our_answers(kubeconfig, targets))]
    texts += [("kubectl", *answer) for answer in kubectl_answers(kubeconfig, targets)]
    sizes = [
        AnswerSize(label, source, rows, len(text), head="\n".join(text.splitlines()[:25]))
        for source, label, rows, text in texts
    ]
    for size, tokens in zip(sizes, tokenizer.count([text for *_, text in texts]), strict=True):
        size.tokens = tokens
    return sorted(sizes, key=lambda size: (size.answer, size.source))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.answers", description=__doc__)
    parser.add_argument("--pods", type=int, default=1000, help="bench pods across namespaces (default 1000)")
    parser.add_argument("--json", type=Path, help="also write the sizes to this JSON file")
    parser.add_argument("--show", action="store_true", help="also print the first lines of every answer")
    args = parser.parse_args(argv)
    settings = BenchSettings(namespace_prefix="answers", pods_total=args.pods)
    kubeconfig = cluster.up().kubeconfig
    tokenizer = Tokenizer(settings)
    workload = Workload(kubeconfig, settings, ["k3s-mcp"])
    try:
        targets = workload.create(wide=True)
        sizes = measure(str(kubeconfig), targets, tokenizer)
    finally:
        workload.delete()
    print("| answer | source | rows | chars | tokens | tokens/row |")
    print("|---|---|---:|---:|---:|---:|")
    for size in sizes:
        per_row = f"{size.per_row:.1f}" if size.per_row is not None else ""
        print(f"| {size.answer} | {size.source} | {size.rows} | {size.chars:,} | {size.tokens:,} | {per_row} |")
    for size in sizes if args.show else []:
        print(f"\n--- {size.answer} ({size.source})\n{size.head}")
    if args.json:
        args.json.write_text(json.dumps([asdict(size) for size in sizes], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
