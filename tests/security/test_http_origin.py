"""DNS rebinding and cross-site requests against a real `k3s-mcp-server --transport http` on 127.0.0.1.

A page on evil.example that renamed itself to 127.0.0.1 sends `Host: evil.example`; a page that posts across
sites sends `Origin: http://evil.example`. Both used to run a whole MCP session on a server without a token.
The guard is the same module `cortex serve` uses (tests/security/test_activator_api.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport

from k3s_mcp.http_origin import Authority, HostPolicy, HostPolicyError
from tests.k3s_mcp.conftest import SERVER_PROGRAM, server_env
from tests.processes import free_port
from tests.security.boundary import (
    NO_KUBECONFIG,
    RawAnswer,
    Served,
    mcp_initialize,
    raw_request,
    run_to_exit,
    serve_k3s_mcp,
)

TOKEN = "boundary-test-token-0c5e1f3a7b"


@pytest.fixture(scope="module")
async def open_server() -> AsyncIterator[Served]:
    """The server as a developer runs it: loopback, no token."""
    async with serve_k3s_mcp() as served:
        yield served


@pytest.fixture(scope="module")
async def configured_server() -> AsyncIterator[Served]:
    """A server that is also reached as its in-cluster Service name and serves one web console."""
    async with serve_k3s_mcp(
        K3S_MCP_ALLOWED_HOSTS="k3s-mcp.cortex-system.svc:8000, MCP.Example.com",
        K3S_MCP_ALLOWED_ORIGINS="https://ops.example.com",
    ) as served:
        yield served


def session_started(answer: RawAnswer) -> bool:
    """True when the answer is a successful MCP initialize that opened a session."""
    return (
        answer.status == 200
        and "mcp-session-id" in answer.headers
        and b'"protocolVersion"' in answer.body
        and b'"serverInfo"' in answer.body
    )


async def test_a_foreign_host_gets_421_and_no_session(open_server: Served) -> None:
    answer = await mcp_initialize(open_server.port, "evil.example")
    assert answer.status == 421 and not session_started(answer)
    assert answer.headers["content-type"] == "application/json"
    assert answer.error() == (
        'This server does not answer to the Host "evil.example"; add it to K3S_MCP_ALLOWED_HOSTS if clients '
        "reach the server under that name."
    )
    # The same request with the server's own Host opens a session, so the 421 is the guard's doing.
    assert session_started(await mcp_initialize(open_server.port, open_server.host))


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:{port}",
        "EVIL.EXAMPLE.",
        "127.0.0.1.evil.example",
        "127.0.0.1.evil.example:{port}",
        "localhost.evil.example",
        "localhost@evil",
        "localhost:{port}@evil.example",
        "user@127.0.0.1:{port}",
        "127.0.0.1:{port}:80",
        "127.0.0.1:notaport",
        "127.0.0.1:0",
        "127.0.0.1:99999",
        "127.0.0.1..",
        "127.1",
        "2130706433",
        "0x7f000001",
        "::1",
        "[::1",
        "[::1]evil",
        "[::ffff:7f00:1]:{port}",
        "[fe80::1%25lo]:{port}",
        "[::1]:{port}.evil.example",
        "10.42.0.7:{port}",
        "",
    ],
)
async def test_host_spellings_that_do_not_name_this_server_get_421(open_server: Served, host: str) -> None:
    answer = await mcp_initialize(open_server.port, host.format(port=open_server.port))
    assert answer.status == 421, answer
    assert not session_started(answer)
    assert "Host" in answer.error() and "Traceback" not in answer.body.decode()


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:{port}",
        "127.0.0.1",
        "127.9.9.9:{port}",
        "localhost:{port}",
        "LOCALHOST:{port}",
        "LocalHost.:{port}",
        "127.0.0.1.:{port}",
        "[::1]:{port}",
        "[0:0:0:0:0:0:0:1]:{port}",
        "[::1]",
    ],
)
async def test_loopback_host_spellings_open_a_session(open_server: Served, host: str) -> None:
    answer = await mcp_initialize(open_server.port, host.format(port=open_server.port))
    assert session_started(answer), answer


async def test_a_request_without_one_clear_host_is_refused(open_server: Served) -> None:
    # HTTP/1.0 may leave Host out; the guard cannot tell which name was meant, so it refuses.
    old = await mcp_initialize(open_server.port, None, version="HTTP/1.0")
    assert old.status == 421 and "no Host header" in old.error()
    # HTTP/1.1 requires Host: the server's HTTP parser refuses the request before the application sees it.
    new = await mcp_initialize(open_server.port, None)
    assert new.status == 400 and not session_started(new)
    doubled = await mcp_initialize(open_server.port, open_server.host, ("Host", "evil.example"))
    assert doubled.status in (400, 421) and not session_started(doubled)


async def test_a_foreign_origin_gets_403_and_no_session(open_server: Served) -> None:
    answer = await mcp_initialize(open_server.port, open_server.host, ("Origin", "http://evil.example"))
    assert answer.status == 403 and not session_started(answer)
    assert answer.error() == (
        'Requests from the web origin "http://evil.example" are refused; add it to K3S_MCP_ALLOWED_ORIGINS if '
        "pages of that site may use this server."
    )


@pytest.mark.parametrize(
    "origin",
    [
        "null",
        "http://evil.example",
        "https://evil.example:{port}",
        "http://127.0.0.1.evil.example:{port}",
        "http://localhost@evil.example",
        "http://evil.example@localhost:{port}",
        "http://localhost:{port}/path",
        "http://localhost:{port}#x",
        "file://",
        "chrome-extension://abcdefghijklmnop",
        "http://[::1",
        "localhost",
        "",
    ],
)
async def test_origin_spellings_that_are_not_this_machine_get_403(open_server: Served, origin: str) -> None:
    answer = await mcp_initialize(open_server.port, open_server.host, ("Origin", origin.format(port=open_server.port)))
    assert answer.status == 403, answer
    assert not session_started(answer) and "origin" in answer.error()


@pytest.mark.parametrize(
    "origin", ["http://127.0.0.1:{port}", "HTTP://LOCALHOST:{port}", "http://[::1]:{port}", "http://127.0.0.2:{port}"]
)
async def test_this_servers_own_loopback_origin_opens_a_session(open_server: Served, origin: str) -> None:
    answer = await mcp_initialize(open_server.port, open_server.host, ("Origin", origin.format(port=open_server.port)))
    assert session_started(answer), answer


@pytest.mark.parametrize(
    "origin", ["http://localhost:3000", "https://[::1]:8443", "http://127.0.0.1:{other}", "http://127.0.0.1"]
)
async def test_a_page_of_another_program_on_this_machine_gets_403(open_server: Served, origin: str) -> None:
    """A dev server or notebook on another loopback port is another site: its page cannot drive this server."""
    other = open_server.port + 1 if open_server.port < 65535 else open_server.port - 1
    answer = await mcp_initialize(open_server.port, open_server.host, ("Origin", origin.format(other=other)))
    assert answer.status == 403 and not session_started(answer), answer
    assert "K3S_MCP_ALLOWED_ORIGINS" in answer.error()


async def test_a_listed_loopback_origin_of_another_port_is_allowed() -> None:
    async with serve_k3s_mcp(K3S_MCP_ALLOWED_ORIGINS="http://localhost:6274") as served:
        listed = await mcp_initialize(served.port, served.host, ("Origin", "http://localhost:6274"))
        assert session_started(listed), listed
        unlisted = await mcp_initialize(served.port, served.host, ("Origin", "http://localhost:6275"))
        assert unlisted.status == 403


async def test_two_origin_headers_are_refused(open_server: Served) -> None:
    answer = await mcp_initialize(
        open_server.port,
        open_server.host,
        ("Origin", f"http://127.0.0.1:{open_server.port}"),
        ("Origin", "http://evil.example"),
    )
    assert answer.status == 403 and "more than one Origin" in answer.error()


async def test_an_mcp_client_on_an_allowed_host_and_origin_lists_the_tools(open_server: Served) -> None:
    transport = StreamableHttpTransport(
        f"{open_server.base}/mcp", headers={"Origin": f"http://localhost:{open_server.port}"}
    )
    async with Client(transport) as client:
        names = {tool.name for tool in await client.list_tools()}
    assert {"get_pods", "apply_manifest", "scale_deployment"} <= names


async def test_health_answers_a_probe_host_but_nothing_else_does(open_server: Served) -> None:
    probe = [("Host", f"10.42.0.7:{open_server.port}"), ("User-Agent", "kube-probe/1.37")]
    health = await raw_request(open_server.port, "GET", "/health", probe)
    assert health.status == 200 and b'"ok"' in health.body
    # Only GET /health is exempt, and only from the Host check.
    assert (await raw_request(open_server.port, "POST", "/health", probe)).status == 421
    assert (await raw_request(open_server.port, "GET", "/health/", probe)).status == 421
    assert (await raw_request(open_server.port, "GET", "/mcp", probe)).status == 421
    cross_site = await raw_request(open_server.port, "GET", "/health", [*probe, ("Origin", "http://evil.example")])
    assert cross_site.status == 403


async def test_allowed_hosts_and_origins_extend_the_defaults(configured_server: Served) -> None:
    port = configured_server.port
    for host in ("k3s-mcp.cortex-system.svc:8000", "mcp.example.com", "MCP.EXAMPLE.COM:1234", f"localhost:{port}"):
        assert session_started(await mcp_initialize(port, host)), host
    for host in ("k3s-mcp.cortex-system.svc:9000", "k3s-mcp.cortex-system.svc", "evil.example", "ops.example.com"):
        assert (await mcp_initialize(port, host)).status == 421, host
    for origin in ("https://ops.example.com", "https://ops.example.com:443", "https://mcp.example.com:8443"):
        assert session_started(await mcp_initialize(port, configured_server.host, ("Origin", origin))), origin
    for origin in ("http://ops.example.com", "https://ops.example.com:8443", "https://ops.example.com.evil.example"):
        assert (await mcp_initialize(port, configured_server.host, ("Origin", origin))).status == 403, origin


async def test_a_wildcard_host_setting_turns_off_only_the_host_check() -> None:
    async with serve_k3s_mcp(K3S_MCP_ALLOWED_HOSTS="*") as served:
        assert session_started(await mcp_initialize(served.port, "evil.example"))
        cross_site = await mcp_initialize(served.port, "evil.example", ("Origin", "http://evil.example"))
        assert cross_site.status == 403


async def test_the_token_does_not_open_the_server_to_a_foreign_host() -> None:
    async with serve_k3s_mcp(K3S_MCP_AUTH_TOKEN=TOKEN) as served:
        bearer = ("Authorization", f"Bearer {TOKEN}")
        assert (await mcp_initialize(served.port, "evil.example", bearer)).status == 421
        assert (await mcp_initialize(served.port, served.host, bearer, ("Origin", "http://evil.example"))).status == 403
        assert session_started(await mcp_initialize(served.port, served.host, bearer))
        assert (await mcp_initialize(served.port, served.host)).status == 401


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("K3S_MCP_ALLOWED_HOSTS", "http://mcp.example.com/"),
        ("K3S_MCP_ALLOWED_HOSTS", "mcp.example.com:http"),
        ("K3S_MCP_ALLOWED_ORIGINS", "*"),
        ("K3S_MCP_ALLOWED_ORIGINS", "ops.example.com"),
    ],
)
def test_a_malformed_allowed_entry_stops_the_server_at_start_up(variable: str, value: str) -> None:
    command = [SERVER_PROGRAM, "--transport", "http", "--host", "127.0.0.1", "--port", str(free_port())]
    result = run_to_exit(command, server_env(NO_KUBECONFIG, **{variable: value}))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0] and "Traceback" not in result.stderr, result.stderr


def test_the_bind_address_is_an_allowed_host_and_the_unspecified_address_is_not() -> None:
    bound = HostPolicy.build("10.1.2.3", hosts_setting="H", origins_setting="O")
    assert bound.host_problem(["10.1.2.3:8000"], "http") is None
    assert bound.origin_problem(["http://10.1.2.3:8000"], "10.1.2.3:8000") is None
    # A loopback origin is this server's own only with the port the request was sent to.
    assert bound.origin_problem(["http://127.0.0.1:8000"], "127.0.0.1:8000") is None
    assert bound.origin_problem(["http://127.0.0.1:8001"], "127.0.0.1:8000") is not None
    assert bound.origin_problem(["http://127.0.0.1:8000"]) is not None
    assert bound.host_problem(["10.1.2.4:8000"], "http") is not None
    everywhere = HostPolicy.build("0.0.0.0", hosts_setting="H", origins_setting="O")
    assert everywhere.hosts == ()
    assert everywhere.host_problem(["0.0.0.0:8000"], "http") is not None
    assert HostPolicy.build("::", hosts_setting="H", origins_setting="O").hosts == ()
    assert HostPolicy.build("[::1]", hosts_setting="H", origins_setting="O").hosts == (Authority("::1"),)
    with pytest.raises(HostPolicyError, match="H entry"):
        HostPolicy.build("127.0.0.1", "good.example, bad example", hosts_setting="H", origins_setting="O")


def test_a_bare_ipv6_pod_ip_is_an_allowed_host_entry() -> None:
    """The charts append `$(POD_IP)` to the allowed hosts; on an IPv6 cluster it arrives without brackets."""
    policy = HostPolicy.build("0.0.0.0", "svc.example,fd00:10:42::9", hosts_setting="H", origins_setting="O")
    assert policy.host_problem(["[fd00:10:42::9]:8080"], "http") is None
    assert policy.host_problem(["[fd00:10:42::8]:8080"], "http") is not None
    with pytest.raises(HostPolicyError, match="H entry"):
        HostPolicy.build("0.0.0.0", "fd00::1::2", hosts_setting="H", origins_setting="O")
