"""The `cortex` command: `route` decides without executing, `serve` runs the activator, `layer` one layer, `warm`
prepares the model cache (the compact embedding model and the seeded-routes cache) so that the first `cortex route`
of a new machine or image is as fast as the next."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from cortex.activator.catalog import ToolCatalog
from cortex.activator.service import Activator
from cortex.activator.settings import ActivatorSettings, load_settings
from cortex.activator.tiers.unifi_rules import UnifiRequestError
from cortex.layers.names import SERVED_LAYERS


async def _route(settings: ActivatorSettings, query: str, namespace: str | None) -> dict[str, object]:
    # Seeded on demand from a cached collection: a request the keyword rules answer loads no model at all.
    activator = Activator(settings, execute=False, seed_on_demand=True)
    await activator.start(ToolCatalog.from_snapshot(settings.catalog_snapshot_path))
    try:
        decision = await activator.route(query, namespace)
    finally:
        await activator.stop()
    return decision.model_dump(mode="json")


async def _warm(settings: ActivatorSettings) -> int:
    from cortex.activator.embedding import compact_model_path
    from cortex.activator.seed_cache import SeededOnDemand

    if not settings.similarity_enabled:
        print("error: tier 2 is disabled (CORTEX_SIMILARITY_ENABLED=false): nothing to prepare", file=sys.stderr)
        return 2
    model = compact_model_path(settings.model_cache_dir) if settings.embedding_variant == "compact" else None
    activator = Activator(settings, execute=False, seed_on_demand=True)
    await activator.start(ToolCatalog.from_snapshot(settings.catalog_snapshot_path))
    try:
        tier = activator.router.similarity if activator.router is not None else None
        assert isinstance(tier, SeededOnDemand)
        await asyncio.to_thread(tier.ensure_seeded)
        where = activator.memory.describe()
        state = "already cached" if tier.from_cache else "built"
        print(f"embedding model: {model or 'the packaged one'}; {tier.seeded} seeded routes {state} in {where}")
        return 0
    finally:
        await activator.stop()


async def _snapshot(settings: ActivatorSettings, path: Path) -> int:
    activator = Activator(settings)
    await activator.start()
    try:
        if activator.executor is None or not activator.executor.connected:
            print(f"error: {'; '.join(activator.problems)}", file=sys.stderr)
            return 1
        activator.catalog.write_snapshot(path)
        print(f"wrote {len(activator.catalog)} tools to {path}")
        return 0
    finally:
        await activator.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cortex", description="The Cortex activator.")
    commands = parser.add_subparsers(dest="command", required=True)
    route = commands.add_parser("route", help="decide which tool a request goes to, without running it")
    route.add_argument("query", help="the plain-language request")
    route.add_argument("--namespace", "-n", help="namespace to use when the request names none")
    route.add_argument("--json", action="store_true", help="print the decision as one JSON object")
    route.add_argument("--no-similarity", action="store_true", help="skip tier 2 (no embedding model load)")
    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", help="listen address (default CORTEX_HOST)")
    serve.add_argument("--port", type=int, help="listen port (default CORTEX_PORT)")
    snapshot = commands.add_parser("snapshot", help="write the live k3s_mcp tool catalog for offline routing")
    snapshot.add_argument("path", type=Path, nargs="?", help="output file (default: the packaged snapshot)")
    commands.add_parser(
        "warm", help="build the compact embedding model and the seeded-routes cache in CORTEX_MODEL_CACHE_DIR"
    )
    layer = commands.add_parser("layer", help="serve one execution or telemetry layer over HTTP")
    layer.add_argument("name", choices=SERVED_LAYERS, help="which layer to serve")
    layer.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    layer.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    layer.add_argument(
        "--log-level", default="info", choices=("debug", "info", "warning", "error"), help="log verbosity"
    )
    args = parser.parse_args(argv)
    if args.command == "layer":
        from cortex.layers.cli import main as serve_layer

        # The layers read their own CORTEX_LAYER_* / CORTEX_UNIFI_* settings, not the activator's.
        return serve_layer([args.name, "--host", args.host, "--port", str(args.port), "--log-level", args.log_level])
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    try:
        settings = load_settings()
    except Exception as exc:
        print(f"error: invalid CORTEX_* setting: {exc}", file=sys.stderr)
        return 2
    if args.command == "route":
        if args.no_similarity:
            settings.similarity_enabled = False
        try:
            decision = asyncio.run(_route(settings, args.query, args.namespace))
        except UnifiRequestError as exc:
            print(f"error: cannot run this network request: {exc}", file=sys.stderr)
            return 2
        except Exception as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        if args.json:
            print(json.dumps(decision, sort_keys=True))
        else:
            tool = decision["tool"] or "(no action)"
            if decision["layer"]:
                tool = f"{decision['layer']}/{tool}"
            print(
                f"{decision['tier']}: {tool} {json.dumps(decision['arguments'])} mode={decision['mode']} "
                f"confidence={decision['confidence']}"
            )
        return 0
    if args.command == "snapshot":
        return asyncio.run(_snapshot(settings, args.path or settings.catalog_snapshot_path))
    if args.command == "warm":
        try:
            return asyncio.run(_warm(settings))
        except Exception as exc:
            print(f"error: cannot prepare the model cache: {exc}", file=sys.stderr)
            return 1
    import uvicorn

    from cortex.activator.http_app import served_app
    from k3s_mcp.bind_rules import UnsafeBindError
    from k3s_mcp.http_origin import HostPolicyError

    host = args.host or settings.host
    try:
        app = served_app(settings, host)
    except (UnsafeBindError, HostPolicyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=host, port=args.port or settings.port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
