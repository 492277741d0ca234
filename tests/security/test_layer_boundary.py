"""The layer services (`cortex layer <name>`) as a web page or a stranger would attack them, as real processes.

Before: a page open in a browser could POST `{"action": "block_client", ...}` as text/plain to a layer on
127.0.0.1 (or rename itself to 127.0.0.1 and post as same-origin) and the controller blocked the client; and a
layer listened on 0.0.0.0 without a token. Now the layers sit behind the same Host/Origin guard as the other two
servers, take only JSON POST bodies, and refuse to listen beyond loopback without CORTEX_LAYER_TOKEN.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp

from cortex.layers import cli as layer_cli
from cortex.layers.client import HttpLayerClient, refusal_sentence
from cortex.layers.contract import LayerRequest
from tests.cortex.layers.local_server import serve_app
from tests.cortex.layers.unifi_controller_emulator import UnifiControllerEmulator
from tests.processes import free_port, listening, serve_program
from tests.security.boundary import RawAnswer, Served, cortex_command, cortex_env, raw_request, run_to_exit

TOKEN = "layer-boundary-token-4f1e8a2c9b"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SERVICE_HOST = "r-cortex-unifi-api.cortex-system.svc"
POD_IP = "10.42.0.9"
OPS_ORIGIN = "https://ops.example.com"
VICTIM = "3c:22:fb:10:20:30"
LIST_CLIENTS = json.dumps({"action": "list_clients"}).encode()
EVENT = json.dumps({"actor": "anna", "layer": "unifi-api", "action": "list_clients", "result": "ok"}).encode()
JSON_TYPE = ("Content-Type", "application/json")
BEARER = ("Authorization", f"Bearer {TOKEN}")


@contextlib.asynccontextmanager
async def serve_layer(name: str, env: Mapping[str, str]) -> AsyncIterator[Served]:
    """`cortex layer <name>` on 127.0.0.1 (uvicorn opens the port once the layer has started)."""
    port = free_port()
    command = cortex_command("layer", name, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning")
    async with serve_program(command, env, port, within=120):
        yield Served(port)


@pytest.fixture(scope="module")
async def controller() -> AsyncIterator[tuple[UnifiControllerEmulator, str]]:
    """The local UniFi controller the unifi-api layer drives, served in this process."""
    emulator = UnifiControllerEmulator()
    async with serve_app(emulator.app) as url:
        yield emulator, url


def api_env(url: str, emulator: UnifiControllerEmulator, **extra: str) -> dict[str, str]:
    return cortex_env(
        CORTEX_UNIFI_CONTROLLER_URL=url,
        CORTEX_UNIFI_USERNAME=emulator.username,
        CORTEX_UNIFI_PASSWORD=emulator.password,
        CORTEX_UNIFI_SITE=emulator.site,
        **extra,
    )


@pytest.fixture(scope="module")
async def api_layer(controller: tuple[UnifiControllerEmulator, str]) -> AsyncIterator[Served]:
    """unifi-api with a token, its Service name and pod IP as allowed hosts, and one allowed web origin."""
    emulator, url = controller
    env = api_env(
        url,
        emulator,
        CORTEX_LAYER_TOKEN=TOKEN,
        CORTEX_LAYER_ALLOWED_HOSTS=f"{SERVICE_HOST},{POD_IP}",
        CORTEX_LAYER_ALLOWED_ORIGINS=OPS_ORIGIN,
    )
    async with serve_layer("unifi-api", env) as served:
        yield served


@pytest.fixture(scope="module")
async def telemetry_layer(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    audit = tmp_path_factory.mktemp("layer-boundary") / "audit.jsonl"
    env = cortex_env(CORTEX_LAYER_TOKEN=TOKEN, CORTEX_TELEMETRY_AUDIT_LOG_PATH=str(audit))
    async with serve_layer("telemetry", env) as served:
        yield served


@pytest.fixture
def emulator(controller: tuple[UnifiControllerEmulator, str]) -> UnifiControllerEmulator:
    controller[0].reset()
    return controller[0]


def blocked(emulator: UnifiControllerEmulator) -> bool:
    return bool(emulator.stations[VICTIM].get("blocked"))


def layer_error(answer: RawAnswer) -> tuple[str, str]:
    """`code` and `message` of a layer's own error body."""
    error = json.loads(answer.body)["error"]
    return str(error["code"]), str(error["message"])


# Every /v1 route of the two layer kinds, with a body the route would accept.
API_ROUTES = [("POST", "/v1/execute", LIST_CLIENTS), ("GET", "/v1/actions", b"")]
TELEMETRY_ROUTES = [
    ("POST", "/v1/events", EVENT),
    ("GET", "/v1/audit", b""),
    ("GET", "/v1/training-set", b""),
]


async def test_a_foreign_host_is_421_on_every_route_even_with_the_token(
    api_layer: Served, telemetry_layer: Served
) -> None:
    for served, routes in ((api_layer, API_ROUTES), (telemetry_layer, TELEMETRY_ROUTES)):
        port = served.port
        for method, path, body in [*routes, ("GET", "/ready", b""), ("GET", "/metrics", b"")]:
            for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1.evil.example:{port}", "10.42.0.77"):
                for auth in ([BEARER], []):
                    answer = await raw_request(port, method, path, [("Host", host), JSON_TYPE, *auth], body)
                    assert answer.status == 421, (port, method, path, host, answer.body)
                    assert "CORTEX_LAYER_ALLOWED_HOSTS" in answer.error(), answer.body
            missing = await raw_request(port, method, path, [JSON_TYPE, BEARER], body, version="HTTP/1.0")
            assert missing.status == 421, (path, missing.body)


async def test_a_foreign_origin_is_403_even_with_the_token_and_a_local_host(
    api_layer: Served, telemetry_layer: Served
) -> None:
    for served, routes in ((api_layer, API_ROUTES), (telemetry_layer, TELEMETRY_ROUTES)):
        for method, path, body in routes:
            for origin in ("http://evil.example", f"http://evil.example:{served.port}", "null", "https://ops.example"):
                headers = [("Host", served.host), ("Origin", origin), JSON_TYPE, BEARER]
                answer = await raw_request(served.port, method, path, headers, body)
                assert answer.status == 403, (method, path, origin, answer.body)
                assert "CORTEX_LAYER_ALLOWED_ORIGINS" in answer.error(), answer.body


async def test_allowed_hosts_and_origins_reach_the_layer(api_layer: Served, emulator: UnifiControllerEmulator) -> None:
    port = api_layer.port
    for host, origin in (
        (api_layer.host, None),
        (f"localhost:{port}", f"http://localhost:{port}"),
        (f"{SERVICE_HOST}:8080", None),
        (SERVICE_HOST.upper(), f"http://{SERVICE_HOST}:8080"),
        (f"{POD_IP}:8080", None),
        (api_layer.host, OPS_ORIGIN),
    ):
        headers = [("Host", host), *([("Origin", origin)] if origin else []), JSON_TYPE, BEARER]
        answer = await raw_request(port, "POST", "/v1/execute", headers, LIST_CLIENTS)
        assert answer.status == 200, (host, origin, answer.body)
        clients = json.loads(answer.body)["result"]
        assert VICTIM in json.dumps(clients), answer.body


async def test_only_health_answers_a_pod_ip_that_is_not_allowed(api_layer: Served, telemetry_layer: Served) -> None:
    for served in (api_layer, telemetry_layer):
        probe = [("Host", f"10.42.0.77:{served.port}")]
        health = await raw_request(served.port, "GET", "/health", probe)
        assert health.status == 200 and json.loads(health.body)["status"] == "ok", health.body
        for path in ("/ready", "/metrics"):
            assert (await raw_request(served.port, "GET", path, probe)).status == 421, path
    # The chart lists the pod's own IP, so the kubelet and Prometheus reach /ready and /metrics with it.
    scrape = await raw_request(api_layer.port, "GET", "/metrics", [("Host", f"{POD_IP}:8080")])
    assert scrape.status == 200 and b"cortex_layer_requests" in scrape.body
    ready = await raw_request(api_layer.port, "GET", "/ready", [("Host", f"{POD_IP}:8080")])
    assert ready.status == 200 and json.loads(ready.body)["ready"] is True, ready.body


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json-patch+json",
        "text/plain; x=application/json",
        None,
    ],
)
async def test_bodies_a_page_can_send_cross_site_get_415(
    api_layer: Served, telemetry_layer: Served, content_type: str | None
) -> None:
    headers = {**AUTH, **({"Content-Type": content_type} if content_type else {})}
    for served, path, body in ((api_layer, "/v1/execute", LIST_CLIENTS), (telemetry_layer, "/v1/events", EVENT)):
        async with httpx.AsyncClient(base_url=served.base, timeout=30) as http:
            response = await http.post(path, content=body, headers=headers)
        assert response.status_code == 415, (path, response.text)
        error = response.json()["error"]
        assert error["code"] == "unsupported_media_type", response.text
        assert "Content-Type: application/json" in error["message"], response.text


async def test_two_content_types_are_refused(api_layer: Served) -> None:
    headers = [("Host", api_layer.host), JSON_TYPE, ("Content-Type", "text/plain"), BEARER]
    answer = await raw_request(api_layer.port, "POST", "/v1/execute", headers, LIST_CLIENTS)
    assert answer.status == 415 and layer_error(answer)[0] == "unsupported_media_type", answer.body


async def test_json_with_parameters_and_any_case_is_json(api_layer: Served, telemetry_layer: Served) -> None:
    for content_type in ("application/json; charset=utf-8", "APPLICATION/JSON"):
        headers = {**AUTH, "Content-Type": content_type}
        async with httpx.AsyncClient(base_url=api_layer.base, timeout=30) as http:
            executed = await http.post("/v1/execute", content=LIST_CLIENTS, headers=headers)
        assert executed.status_code == 200 and executed.json()["ok"] is True, (content_type, executed.text)
        async with httpx.AsyncClient(base_url=telemetry_layer.base, timeout=30) as http:
            recorded = await http.post("/v1/events", content=EVENT, headers=headers)
        assert recorded.status_code == 202 and recorded.json() == {"ok": True, "accepted": 1}, recorded.text


async def test_v1_needs_the_token_and_probes_do_not(api_layer: Served, telemetry_layer: Served) -> None:
    wrong_tokens = (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer", f"Basic {TOKEN}", TOKEN)
    for served, routes in ((api_layer, API_ROUTES), (telemetry_layer, TELEMETRY_ROUTES)):
        async with httpx.AsyncClient(base_url=served.base, timeout=30) as http:
            for method, path, body in routes:
                headers = {"Content-Type": "application/json"}
                missing = await http.request(method, path, content=body, headers=headers)
                assert missing.status_code == 401, (path, missing.text)
                assert missing.json()["error"]["code"] == "unauthorized", missing.text
                for wrong in wrong_tokens:
                    refused = await http.request(
                        method, path, content=body, headers={**headers, "Authorization": wrong}
                    )
                    assert refused.status_code == 401, (path, wrong)
                right = await http.request(method, path, content=body, headers={**headers, **AUTH})
                assert right.status_code in (200, 202), (path, right.text)
            for path in ("/health", "/ready", "/metrics"):
                assert (await http.get(path)).status_code == 200, path


async def test_a_cross_site_block_never_reaches_the_controller(
    api_layer: Served, emulator: UnifiControllerEmulator
) -> None:
    attack = json.dumps({"action": "block_client", "params": {"mac": VICTIM}, "confirm": True}).encode()
    port = api_layer.port
    # The page's own request, as a browser sends it: cross-site, text/plain, no credentials.
    page = await raw_request(
        port,
        "POST",
        "/v1/execute",
        [("Host", api_layer.host), ("Origin", "http://evil.example"), ("Content-Type", "text/plain")],
        attack,
    )
    assert page.status == 403
    # The same page after renaming itself to 127.0.0.1 (its requests are then same-origin).
    rebound = await raw_request(
        port,
        "POST",
        "/v1/execute",
        [("Host", f"evil.example:{port}"), ("Origin", f"http://evil.example:{port}"), ("Content-Type", "text/plain")],
        attack,
    )
    assert rebound.status == 421
    async with httpx.AsyncClient(base_url=api_layer.base, timeout=30) as http:
        as_text = await http.post("/v1/execute", content=attack, headers={**AUTH, "Content-Type": "text/plain"})
        assert as_text.status_code == 415
        assert (await http.post("/v1/execute", content=attack, headers=dict([JSON_TYPE]))).status_code == 401
        assert not blocked(emulator) and ("POST", "/api/s/default/cmd/stamgr") not in emulator.requests
        # The control: the layer does block the client when asked properly, so every refusal above is what
        # kept the client online.
        done = await http.post("/v1/execute", content=attack, headers={**AUTH, "Content-Type": "application/json"})
    assert done.status_code == 200 and done.json()["result"] == {"mac": VICTIM, "blocked": True}, done.text
    assert blocked(emulator)


async def test_a_local_layer_without_a_token_still_refuses_pages(tmp_path: Path) -> None:
    # On loopback without CORTEX_LAYER_TOKEN the layer is open to this machine's programs, but not to web pages.
    env = cortex_env(CORTEX_TELEMETRY_AUDIT_LOG_PATH=str(tmp_path / "audit.jsonl"))
    async with serve_layer("telemetry", env) as served:
        rebound = await raw_request(served.port, "POST", "/v1/events", [("Host", "evil.example"), JSON_TYPE], EVENT)
        assert rebound.status == 421
        page = [("Host", served.host), ("Origin", "https://evil.example"), ("Content-Type", "text/plain")]
        assert (await raw_request(served.port, "POST", "/v1/events", page, EVENT)).status == 403
        async with httpx.AsyncClient(base_url=served.base, timeout=30) as http:
            as_text = await http.post("/v1/events", content=EVENT, headers={"Content-Type": "text/plain"})
            assert as_text.status_code == 415
            local = await http.post("/v1/events", content=EVENT, headers=dict([JSON_TYPE]))
            assert local.status_code == 202, local.text
            audit = await http.get("/v1/audit")
        assert [record["actor"] for record in audit.json()["records"]] == ["anna"]


@pytest.mark.parametrize(
    ("layer", "host", "extra"),
    [
        ("telemetry", "0.0.0.0", {}),
        ("telemetry", "::", {}),
        ("telemetry", "192.0.2.10", {}),
        ("telemetry", "layer.example.com", {}),
        ("telemetry", "0.0.0.0", {"CORTEX_LAYER_TOKEN": "   "}),
        # Every layer kind has the rule, not only telemetry.
        ("k3s", "0.0.0.0", {}),
        ("unifi-api", "0.0.0.0", {}),
        ("unifi-ssh", "0.0.0.0", {}),
    ],
)
def test_serving_beyond_loopback_without_a_token_exits_2(layer: str, host: str, extra: dict[str, str]) -> None:
    port = free_port()
    result = run_to_exit(cortex_command("layer", layer, "--host", host, "--port", str(port)), cortex_env(**extra))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "CORTEX_LAYER_TOKEN" in lines[0] and "Traceback" not in result.stderr, result.stderr
    assert repr(host) in lines[0], lines[0]
    assert not listening(port)


def test_the_charts_command_refuses_too() -> None:
    """The chart starts the layers as `python -m cortex.layers.cli`; that entry point has the same rule."""
    port = free_port()
    command = [sys.executable, "-m", "cortex.layers.cli", "telemetry", "--host", "0.0.0.0", "--port", str(port)]
    result = run_to_exit(command, cortex_env())
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "CORTEX_LAYER_TOKEN" in lines[0] and "Traceback" not in result.stderr, result.stderr
    assert not listening(port)


async def test_with_a_token_a_layer_serves_every_address_behind_the_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rule needs a token off loopback, not loopback itself; the app it then serves still checks Host.

    Tests never listen beyond 127.0.0.1, so `serve` hands back the app instead of binding 0.0.0.0.
    """
    monkeypatch.setenv("CORTEX_LAYER_TOKEN", TOKEN)
    monkeypatch.setenv("CORTEX_LAYER_ALLOWED_HOSTS", SERVICE_HOST)
    served: dict[str, Any] = {}

    def serve(app: ASGIApp, **options: Any) -> None:
        served.update(options, app=app)

    assert layer_cli.main(["telemetry", "--host", "0.0.0.0", "--port", "8080"], serve=serve) == 0
    assert (served["host"], served["port"]) == ("0.0.0.0", 8080)
    transport = httpx.ASGITransport(app=served["app"])
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{SERVICE_HOST}:8080") as http:
        assert (await http.get("/v1/audit", headers=AUTH)).status_code == 200
        assert (await http.get("/v1/audit")).status_code == 401
        foreign = await http.get("/v1/audit", headers={**AUTH, "Host": "evil.example"})
        assert foreign.status_code == 421 and "CORTEX_LAYER_ALLOWED_HOSTS" in foreign.json()["error"]
        as_text = await http.post("/v1/events", content=EVENT, headers={**AUTH, "Content-Type": "text/plain"})
        assert as_text.status_code == 415


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CORTEX_LAYER_ALLOWED_HOSTS", "https://layer.example.com"),
        ("CORTEX_LAYER_ALLOWED_ORIGINS", "layer.example.com"),
    ],
)
def test_a_malformed_allowed_entry_stops_the_layer(variable: str, value: str) -> None:
    port = free_port()
    result = run_to_exit(cortex_command("layer", "telemetry", "--port", str(port)), cortex_env(**{variable: value}))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0] and "Traceback" not in result.stderr, result.stderr
    assert not listening(port)


@pytest.mark.parametrize(
    "body", [b"[" * 20_000 + b"]" * 20_000, b'{"action": ' + b'{"a": ' * 10_000], ids=["deep list", "unclosed"]
)
async def test_json_nested_deeper_than_the_parser_recurses_is_a_400(
    api_layer: Served, telemetry_layer: Served, body: bytes
) -> None:
    for served, path in ((api_layer, "/v1/execute"), (telemetry_layer, "/v1/events")):
        async with httpx.AsyncClient(base_url=served.base, timeout=30) as http:
            response = await http.post(path, content=body, headers={**AUTH, "Content-Type": "application/json"})
        assert response.status_code == 400, (path, response.status_code, response.text[:200])
        assert "nested too deeply" in response.json()["error"]["message"], response.text


async def test_a_long_chunked_body_is_cut_off_at_the_limit(api_layer: Served, telemetry_layer: Served) -> None:
    """No Content-Length, so only a limit that holds while the body streams in can stop it (a layer must never
    hold an attacker's whole upload)."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(64):  # 4 MiB, far past both layers' limits
            yield b"[" * 65536

    for served, path, limit in ((api_layer, "/v1/execute", 256_000), (telemetry_layer, "/v1/events", 1_024_000)):
        async with httpx.AsyncClient(base_url=served.base, timeout=30) as http:
            response = await http.post(path, content=chunks(), headers={**AUTH, "Content-Type": "application/json"})
        assert response.status_code == 413, (path, response.status_code, response.text[:200])
        assert f"request body is over {limit} bytes" in response.json()["error"]["message"], response.text


async def test_the_activator_side_client_reports_the_layers_refusal_in_its_words(telemetry_layer: Served) -> None:
    """A layer behind a Service name it was not told about answers 421 with a sentence that says which setting to
    change; the client passes that sentence on instead of 'no layer response body'."""
    client = HttpLayerClient("telemetry", telemetry_layer.base, token=TOKEN, timeout=30)
    client._http.headers["Host"] = "r-cortex-telemetry.elsewhere.svc"  # as a misnamed Service would send it
    try:
        answer = await client.execute(LayerRequest(action="list_clients"))
    finally:
        await client.aclose()
    assert not answer.ok and answer.status == 421 and answer.error is not None
    assert answer.error.code == "layer_refused"
    assert (
        "CORTEX_LAYER_ALLOWED_HOSTS" in answer.error.message
        and "r-cortex-telemetry.elsewhere.svc" in answer.error.message
    )


def test_a_refusal_sentence_is_printable_and_bounded() -> None:
    said = refusal_sentence({"error": "bad\x1b[31m host\n" + "x" * 1000})
    assert said is not None and said.startswith("bad [31m host x") and said.endswith("...") and len(said) == 303
    assert refusal_sentence({"error": {"code": "unauthorized", "message": "token"}}) == "token"
    assert (
        refusal_sentence({"error": 3}) is None
        and refusal_sentence(["error"]) is None
        and refusal_sentence(None) is None
    )
