"""Command line of the layer services: `cortex-layer <k3s|unifi-api|unifi-ssh|telemetry> --host --port`."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

import uvicorn
from pydantic import ValidationError
from starlette.applications import Starlette

from cortex.layers import names
from cortex.layers.contract import ExecutionLayer
from cortex.layers.service import (
    LayerRunner,
    build_layer_app,
    describe_validation_error,
    layer_host_policy,
    served_layer_app,
)
from cortex.layers.settings import LayerServiceSettings
from k3s_mcp.bind_rules import UnsafeBindError
from k3s_mcp.http_origin import HostPolicyError

LAYER_NAMES = names.SERVED_LAYERS


def _execution_layer(name: str) -> ExecutionLayer:
    # Imported on demand: the k3s layer pulls in fastmcp and the SSH layer asyncssh, which the
    # other services have no use for.
    if name == names.K3S:
        from cortex.layers.k3s import K3sLayer

        return K3sLayer()
    if name == names.UNIFI_API:
        from cortex.layers.unifi_api import UnifiApiLayer

        return UnifiApiLayer()
    from cortex.layers.unifi_ssh import UnifiSshLayer

    return UnifiSshLayer()


def build_app(name: str) -> Starlette:
    """The HTTP app of the layer called `name`, configured from the environment."""
    if name == names.TELEMETRY:
        from cortex.layers.telemetry import build_telemetry_app

        return build_telemetry_app()
    return build_layer_app(LayerRunner(_execution_layer(name)))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="cortex-layer", description="Serve one Cortex execution or telemetry layer over HTTP."
    )
    parser.add_argument("layer", choices=LAYER_NAMES, help="which layer to serve")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    parser.add_argument(
        "--log-level", default="info", choices=("debug", "info", "warning", "error"), help="log verbosity"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, serve: Callable[..., None] = uvicorn.run) -> int:
    """Parse `argv` and serve the chosen layer until interrupted; returns the exit status (2: refused to start)."""
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        policy = layer_host_policy(LayerServiceSettings(), args.host)
    except ValidationError as exc:
        print(f"error: invalid CORTEX_LAYER_* setting: {describe_validation_error(exc)}", file=sys.stderr)
        return 2
    except (UnsafeBindError, HostPolicyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app = served_layer_app(build_app(args.layer), args.layer, policy)
    serve(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
