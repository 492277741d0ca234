"""Console entry point `k3s-mcp-server`: serve the app over stdio (default) or streamable HTTP."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from k3s_mcp import package_version

if TYPE_CHECKING:
    from fastmcp import FastMCP


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="k3s-mcp-server",
        description="MCP server that manages a K3s/Kubernetes cluster. Configured by environment "
        "variables (KUBECONFIG, K3S_READ_ONLY, ...).",
    )
    parser.add_argument(
        "--transport",
        choices=["stdio", "http", "streamable-http"],
        default="stdio",
        help="stdio (default, for desktop clients) or streamable HTTP.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1).")
    parser.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000).")
    parser.add_argument("--path", default="/mcp", help="HTTP path of the MCP endpoint (default /mcp).")
    parser.add_argument("--version", action="version", version=f"k3s-mcp-server {package_version()}")
    return parser.parse_args(argv)


def load_app() -> FastMCP[Any]:
    """The app, built from the environment's settings, with logging set up; exits with status 2 on bad settings."""
    # Imported late so `--help` answers without paying for fastmcp's import time.
    from k3s_mcp.toolsets import ToolsetError

    try:
        from k3s_mcp.server import mcp
    except ToolsetError as error:
        print(f"k3s-mcp-server: {error}", file=sys.stderr)
        sys.exit(2)
    from k3s_mcp.settings import load_settings

    settings = load_settings()
    # stdout belongs to the MCP protocol on stdio; all logging goes to stderr.
    logging.basicConfig(
        level=logging.DEBUG if settings.debug else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return mcp


def one_malloc_arena() -> None:
    """Ask glibc for one malloc arena instead of one per thread (its default is eight per core): the server's
    threads (stdio, DNS, YAML parsing) each kept an arena of freed memory, 4 MB of resident memory after a run of
    large lists. Nothing on another C library; called before the first thread starts."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        # The process's own symbols: glibc's mallopt where glibc is the C library, absent (AttributeError) where not.
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, 1)
    except (OSError, AttributeError):
        return


_M_ARENA_MAX = -8  # glibc's mallopt parameter number


def main(argv: Sequence[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    one_malloc_arena()
    if arguments.transport == "stdio":
        from k3s_mcp.stdio_start import serve_stdio

        # The handshake may be answered from a snapshot while load_app imports and builds the server.
        serve_stdio(load_app)
        return
    mcp = load_app()
    from starlette.middleware import Middleware

    from k3s_mcp.bind_rules import UnsafeBindError
    from k3s_mcp.http_auth import AuthModeError, http_auth_provider
    from k3s_mcp.http_oauth import OAuthSettingsError
    from k3s_mcp.http_origin import HostOriginGuard, HostPolicy, HostPolicyError
    from k3s_mcp.settings import load_settings

    settings = load_settings()

    try:
        mcp.auth = http_auth_provider(settings, arguments.host, arguments.port, arguments.path)
        policy = HostPolicy.build(
            arguments.host,
            settings.allowed_hosts,
            settings.allowed_origins,
            hosts_setting="K3S_MCP_ALLOWED_HOSTS",
            origins_setting="K3S_MCP_ALLOWED_ORIGINS",
        )
    except (UnsafeBindError, AuthModeError, OAuthSettingsError, HostPolicyError) as error:
        print(f"k3s-mcp-server: {error}", file=sys.stderr)
        sys.exit(2)
    mcp.run(
        transport="http",
        show_banner=False,
        host=arguments.host,
        port=arguments.port,
        path=arguments.path,
        # Our guard replaces FastMCP's, so one policy (and one set of settings) covers both HTTP servers.
        host_origin_protection=False,
        middleware=[Middleware(HostOriginGuard, policy=policy)],
        json_response=settings.http_json_response,
        stateless_http=settings.http_stateless,
        # A log line per HTTP request only with K3S_DEBUG; /metrics counts calls, K3S_AUDIT_LOG audits them.
        uvicorn_config={"access_log": settings.debug},
    )


if __name__ == "__main__":
    main()
