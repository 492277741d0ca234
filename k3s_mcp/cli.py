"""Console entry point `k3s-mcp-server`: serve the app over stdio (default) or streamable HTTP."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from k3s_mcp import package_version


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


def main(argv: Sequence[str] | None = None) -> None:
    arguments = parse_arguments(argv)
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
    if arguments.transport == "stdio":
        mcp.run(transport="stdio", show_banner=False)
    else:
        from starlette.middleware import Middleware

        from k3s_mcp.bind_rules import UnsafeBindError
        from k3s_mcp.http_auth import AuthModeError, http_auth_provider
        from k3s_mcp.http_oauth import OAuthSettingsError
        from k3s_mcp.http_origin import HostOriginGuard, HostPolicy, HostPolicyError

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
        )


if __name__ == "__main__":
    main()
