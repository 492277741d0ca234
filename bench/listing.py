"""Tokens of our tools/list answer per toolset and listing mode: ``python -m bench.listing [--json FILE]``.

The listing is taken in memory from the app built with each configuration and serialised as the bench serialises
every peer's listing, so the numbers compare with the report's "tools/list" column.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from fastmcp import Client

from bench.settings import BenchSettings
from bench.tokens import Tokenizer
from devcluster import cluster
from k3s_mcp.server import build_server
from k3s_mcp.settings import Settings
from k3s_mcp.toolsets import TOOLSET_MODULES, TOOLSET_PRESETS


@dataclass
class ListingSize:
    """One configuration's tools/list: how many tools, bytes and tokens."""

    toolsets: str
    compact: bool
    tools: int
    bytes: int
    tokens: int = 0


async def listing_text(kubeconfig: str, toolsets: str, compact: bool) -> tuple[int, str]:
    app = build_server(Settings(kubeconfig=kubeconfig, toolsets=toolsets, compact_tool_schemas=compact))
    async with Client(app) as client:
        listing = await client.list_tools_mcp()
    return len(listing.tools), listing.model_dump_json(by_alias=True, exclude_none=True)


async def measure(kubeconfig: str, tokenizer: Tokenizer) -> list[ListingSize]:
    configurations = [(name, compact) for name in TOOLSET_PRESETS for compact in (False, True)]
    configurations += [(name, True) for name in TOOLSET_MODULES]
    sizes: list[ListingSize] = []
    texts: list[str] = []
    for toolsets, compact in configurations:
        tools, text = await listing_text(kubeconfig, toolsets, compact)
        sizes.append(ListingSize(toolsets, compact, tools, len(text.encode())))
        texts.append(text)
    for size, tokens in zip(sizes, tokenizer.count(texts), strict=True):
        size.tokens = tokens
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.listing", description=__doc__)
    parser.add_argument("--json", type=Path, help="also write the sizes to this JSON file")
    args = parser.parse_args(argv)
    settings = BenchSettings()
    kubeconfig = str(cluster.up().kubeconfig)
    sizes = asyncio.run(measure(kubeconfig, Tokenizer(settings)))
    print("| toolsets | listing | tools | bytes | tokens |")
    print("|---|---|---:|---:|---:|")
    for size in sizes:
        mode = "compact" if size.compact else "full"
        print(f"| {size.toolsets} | {mode} | {size.tools} | {size.bytes:,} | {size.tokens:,} |")
    if args.json:
        args.json.write_text(json.dumps([asdict(size) for size in sizes], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
