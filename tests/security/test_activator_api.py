"""The activator API (`cortex serve`) as a web page or a stranger would attack it, against the real process.

Before: a page could POST `{"query": "delete deployment victim in X", "confirm": true}` as text/plain and the
Deployment was deleted; `"confirm": "yes"` counted as true; and five POST /feedback calls taught a query a tool
the activator had never chosen for it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from devcluster.api import ClusterAPI, deployment
from tests.k3s_mcp.conftest import create, wait_until
from tests.processes import free_port, listening
from tests.security.boundary import (
    RawAnswer,
    Served,
    cortex_command,
    cortex_env,
    raw_request,
    run_to_exit,
    serve_cortex,
)

TOKEN = "activator-boundary-token-7d2c4b9e1f"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Routed by tier 2 from a seed utterance ("list the pods"): a route feedback could move.
POD_QUESTION = "show me what pods exist in shop"


@pytest.fixture(scope="module")
async def activator() -> AsyncIterator[Served]:
    """`cortex serve` on 127.0.0.1 with CORTEX_API_TOKEN, in-memory route memory and no cluster."""
    async with serve_cortex(cortex_env(CORTEX_API_TOKEN=TOKEN)) as served:
        yield served


@pytest.fixture
async def http(activator: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=activator.base, timeout=60) as client:
        yield client


async def decide(http: httpx.AsyncClient, query: str) -> dict[str, Any]:
    """A decision without execution, as a client with the token gets it."""
    response = await http.post("/query", json={"query": query, "execute": False}, headers=AUTH)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def route_of(decision: dict[str, Any]) -> tuple[Any, ...]:
    return decision["tier"], decision["tool"], decision["confidence"], decision["arguments"]


async def test_query_and_feedback_need_the_token(http: httpx.AsyncClient) -> None:
    body = {"query": "list pods in shop", "execute": False}
    missing = await http.post("/query", json=body)
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert "CORTEX_API_TOKEN" in missing.json()["error"]
    for wrong in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer", f"Basic {TOKEN}", TOKEN, f"Token {TOKEN}"):
        refused = await http.post("/query", json=body, headers={"Authorization": wrong})
        assert refused.status_code == 401, wrong
        assert refused.headers["www-authenticate"].startswith("Bearer"), wrong
    feedback = await http.post("/feedback", json={"decision_id": "x", "success": True})
    assert feedback.status_code == 401
    right = await http.post("/query", json=body, headers={"Authorization": f"bearer {TOKEN}"})
    assert right.status_code == 200 and right.json()["tool"] == "get_pods"
    # Probes and scrapers need no token.
    assert (await http.get("/health")).status_code == 200
    assert (await http.get("/ready")).status_code == 200
    assert (await http.get("/metrics")).status_code == 200


@pytest.mark.parametrize(
    ("content_type", "payload"),
    [
        ("text/plain", b'{"query": "list pods in shop", "execute": false}'),
        ("text/plain;charset=UTF-8", b'{"query": "list pods in shop", "execute": false}'),
        ("application/x-www-form-urlencoded", b"query=list+pods+in+shop&execute=false"),
        ("multipart/form-data; boundary=x", b'--x\r\nContent-Disposition: form-data; name="query"\r\n\r\nhi\r\n--x--'),
        ("application/json-patch+json", b'{"query": "list pods in shop", "execute": false}'),
        ("text/plain; x=application/json", b'{"query": "list pods in shop", "execute": false}'),
        (None, b'{"query": "list pods in shop", "execute": false}'),
    ],
)
async def test_bodies_a_page_can_send_cross_site_get_415(
    http: httpx.AsyncClient, content_type: str | None, payload: bytes
) -> None:
    headers = {**AUTH, **({"Content-Type": content_type} if content_type else {})}
    for path in ("/query", "/feedback"):
        response = await http.post(path, content=payload, headers=headers)
        assert response.status_code == 415, (path, response.text)
        assert "Content-Type: application/json" in response.json()["error"]


async def test_json_with_parameters_and_any_case_is_json(http: httpx.AsyncClient) -> None:
    payload = b'{"query": "list pods in shop", "execute": false}'
    for content_type in ("application/json; charset=utf-8", "APPLICATION/JSON"):
        response = await http.post("/query", content=payload, headers={**AUTH, "Content-Type": content_type})
        assert response.status_code == 200 and response.json()["tool"] == "get_pods", content_type


@pytest.mark.parametrize(
    ("field", "value", "sentence"),
    [
        ("confirm", "yes", 'confirm must be a JSON boolean (true or false), not "yes"'),
        ("confirm", "true", 'confirm must be a JSON boolean (true or false), not "true"'),
        ("confirm", 1, "confirm must be a JSON boolean (true or false), not 1"),
        ("dry_run", None, "dry_run must be a JSON boolean (true or false), not null"),
        ("execute", "false", 'execute must be a JSON boolean (true or false), not "false"'),
        ("execute", 0, "execute must be a JSON boolean (true or false), not 0"),
        ("namespace", ["shop"], 'namespace must be a JSON string, not ["shop"]'),
        ("query", 42, "query must be a JSON string, not 42"),
        ("confirmed", True, "confirmed is not a field of this request"),
    ],
)
async def test_typed_query_fields_are_strict(http: httpx.AsyncClient, field: str, value: Any, sentence: str) -> None:
    body = {"query": "delete pod api-0 in shop", "execute": False, field: value}
    response = await http.post("/query", json=body, headers=AUTH)
    assert response.status_code == 422
    assert response.json() == {"error": f"invalid request: {sentence}"}


async def test_typed_feedback_fields_are_strict(http: httpx.AsyncClient) -> None:
    decision = await decide(http, POD_QUESTION)
    for body, sentence in (
        ({"decision_id": decision["decision_id"], "success": "yes"}, "success must be a JSON boolean"),
        ({"decision_id": 7, "success": True}, "decision_id must be a JSON string"),
        ({"query": POD_QUESTION, "tool": "scale_deployment", "success": True}, "decision_id is required"),
    ):
        response = await http.post("/feedback", json=body, headers=AUTH)
        assert response.status_code == 422 and sentence in response.json()["error"], response.text
    # None of these used up the decision's one feedback.
    accepted = await http.post(
        "/feedback", json={"decision_id": decision["decision_id"], "success": True}, headers=AUTH
    )
    assert accepted.status_code == 200


async def test_feedback_for_an_unknown_decision_is_404_and_changes_nothing(http: httpx.AsyncClient) -> None:
    before = await decide(http, POD_QUESTION)
    assert before["tier"] == "similarity" and before["tool"] == "get_pods", before
    # A real id with its last character changed (to "A", or to "B" when it already ends in "A": ids are random).
    near_miss = before["decision_id"][:-1] + ("B" if before["decision_id"].endswith("A") else "A")
    for body in (
        {"decision_id": "made-up-decision", "success": False},
        {"decision_id": "made-up-decision", "tool": "scale_deployment", "success": True},
        {"decision_id": near_miss, "success": False},
    ):
        for _ in range(5):
            response = await http.post("/feedback", json=body, headers=AUTH)
            assert response.status_code == 404 and "is known" in response.json()["error"], response.text
    assert route_of(await decide(http, POD_QUESTION)) == route_of(before)


async def test_feedback_can_not_teach_a_tool_the_activator_did_not_choose(http: httpx.AsyncClient) -> None:
    before = await decide(http, POD_QUESTION)
    for _ in range(5):
        decision = await decide(http, POD_QUESTION)
        body = {"decision_id": decision["decision_id"], "tool": "scale_deployment", "success": True}
        response = await http.post("/feedback", json=body, headers=AUTH)
        assert response.status_code == 409
        assert "chose get_pods, not scale_deployment" in response.json()["error"]
    after = await decide(http, POD_QUESTION)
    assert route_of(after) == route_of(before) and after["tool"] == "get_pods"


async def test_one_feedback_per_decision(http: httpx.AsyncClient) -> None:
    decision = await decide(http, POD_QUESTION)
    body = {"decision_id": decision["decision_id"], "success": True}
    first = await http.post("/feedback", json=body, headers=AUTH)
    assert first.status_code == 200
    assert first.json() == {
        "recorded": True,
        "decision_id": decision["decision_id"],
        "tool": "get_pods",
        "success": True,
    }
    for replay in (body, {**body, "success": False}, {**body, "tool": "get_pods"}):
        again = await http.post("/feedback", json=replay, headers=AUTH)
        assert again.status_code == 409 and "already given" in again.json()["error"], again.text


async def test_a_foreign_host_or_origin_is_refused_even_with_the_token(activator: Served) -> None:
    body = b'{"query": "list pods in shop", "execute": false}'
    json_auth = [("Content-Type", "application/json"), ("Authorization", f"Bearer {TOKEN}")]
    rebound = await raw_request(activator.port, "POST", "/query", [("Host", "evil.example"), *json_auth], body)
    assert rebound.status == 421 and "CORTEX_ALLOWED_HOSTS" in rebound.error()
    # Without the token too: the Host check comes first and says nothing about the token.
    anonymous = await raw_request(
        activator.port, "POST", "/query", [("Host", "evil.example"), ("Content-Type", "application/json")], body
    )
    assert anonymous.status == 421
    cross_site = await raw_request(
        activator.port,
        "POST",
        "/query",
        [("Host", activator.host), ("Origin", "http://evil.example"), *json_auth],
        body,
    )
    assert cross_site.status == 403 and "CORTEX_ALLOWED_ORIGINS" in cross_site.error()
    local = await raw_request(
        activator.port,
        "POST",
        "/query",
        [("Host", f"localhost:{activator.port}"), ("Origin", f"http://localhost:{activator.port}"), *json_auth],
        body,
    )
    assert local.status == 200 and b'"get_pods"' in local.body


async def test_a_local_activator_without_a_token_still_refuses_pages() -> None:
    # On loopback without CORTEX_API_TOKEN the API is open to this machine's programs, but not to web pages.
    env = cortex_env(CORTEX_SIMILARITY_ENABLED="false")
    async with serve_cortex(env) as served, httpx.AsyncClient(base_url=served.base, timeout=60) as http:
        body = b'{"query": "list pods in shop", "execute": false}'
        json_type = ("Content-Type", "application/json")
        rebound = await raw_request(served.port, "POST", "/query", [("Host", "evil.example"), json_type], body)
        assert rebound.status == 421
        page = [("Host", served.host), ("Origin", "https://evil.example"), ("Content-Type", "text/plain")]
        assert (await raw_request(served.port, "POST", "/query", page, body)).status == 403
        assert (await http.post("/query", content=body, headers={"Content-Type": "text/plain"})).status_code == 415
        local = await http.post("/query", content=body, headers=dict([json_type]))
        assert local.status_code == 200 and local.json()["tool"] == "get_pods"


async def test_only_health_answers_a_probe_host(activator: Served) -> None:
    probe = [("Host", f"10.42.0.9:{activator.port}")]
    health = await raw_request(activator.port, "GET", "/health", probe)
    assert health.status == 200 and b'"ok"' in health.body
    for path in ("/ready", "/metrics", "/openapi.json"):
        answer: RawAnswer = await raw_request(activator.port, "GET", path, probe)
        assert answer.status == 421, path


@pytest.mark.parametrize(
    ("arguments", "extra"),
    [
        (("--host", "0.0.0.0"), {}),
        (("--host", "::"), {}),
        (("--host", "192.0.2.10"), {}),
        (("--host", "activator.example.com"), {}),
        ((), {"CORTEX_HOST": "0.0.0.0"}),
        (("--host", "0.0.0.0"), {"CORTEX_API_TOKEN": "   "}),
    ],
)
def test_serving_beyond_loopback_without_a_token_exits_2(arguments: tuple[str, ...], extra: dict[str, str]) -> None:
    port = free_port()
    result = run_to_exit(cortex_command("serve", *arguments, "--port", str(port)), cortex_env(**extra))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "CORTEX_API_TOKEN" in lines[0] and "Traceback" not in result.stderr, result.stderr
    assert not listening(port)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("CORTEX_ALLOWED_HOSTS", "https://activator.example.com"), ("CORTEX_ALLOWED_ORIGINS", "activator.example.com")],
)
def test_a_malformed_allowed_entry_stops_cortex_serve(variable: str, value: str) -> None:
    result = run_to_exit(cortex_command("serve", "--port", str(free_port())), cortex_env(**{variable: value}))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0] and "Traceback" not in result.stderr, result.stderr


def deployment_alive(cluster_api: ClusterAPI, namespace: str, name: str) -> bool:
    status, answer = cluster_api.request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
    return status == 200 and not (answer.get("metadata") or {}).get("deletionTimestamp")


async def test_a_cross_site_delete_never_reaches_the_cluster(
    kubeconfig: str, cluster_api: ClusterAPI, namespace: str
) -> None:
    create(cluster_api, f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment("victim"))
    attack = {"query": f"delete deployment victim in {namespace}", "confirm": True}
    text = httpx.Request("POST", "http://x", json=attack).content
    env = cortex_env(KUBECONFIG=kubeconfig, CORTEX_API_TOKEN=TOKEN, CORTEX_SIMILARITY_ENABLED="false")
    async with serve_cortex(env) as served, httpx.AsyncClient(base_url=served.base, timeout=60) as http:
        port = served.port
        # The page's own request, as a browser sends it: cross-site, text/plain, no credentials.
        page = await raw_request(
            port,
            "POST",
            "/query",
            [("Host", served.host), ("Origin", "http://evil.example"), ("Content-Type", "text/plain")],
            text,
        )
        assert page.status == 403
        # The same page after renaming itself to 127.0.0.1 (its requests are then same-origin).
        rebound = await raw_request(
            port,
            "POST",
            "/query",
            [
                ("Host", f"evil.example:{port}"),
                ("Origin", f"http://evil.example:{port}"),
                ("Content-Type", "text/plain"),
            ],
            text,
        )
        assert rebound.status == 421
        assert (await http.post("/query", content=text, headers={"Content-Type": "text/plain"})).status_code == 401
        assert (await http.post("/query", json=attack)).status_code == 401
        assert (
            await http.post("/query", content=text, headers={**AUTH, "Content-Type": "text/plain"})
        ).status_code == 415
        form = f"query=delete+deployment+victim+in+{namespace}&confirm=true"
        form_headers = {**AUTH, "Content-Type": "application/x-www-form-urlencoded"}
        assert (await http.post("/query", content=form, headers=form_headers)).status_code == 415
        for value in ("yes", "true", 1):
            answer = await http.post("/query", json={**attack, "confirm": value}, headers=AUTH)
            assert answer.status_code == 422, answer.text
        assert deployment_alive(cluster_api, namespace, "victim")
        # The control: the activator can delete it, so every refusal above is what kept it alive.
        held = await http.post("/query", json={**attack, "confirm": False}, headers=AUTH)
        assert held.json()["status"] == "needs_confirmation" and deployment_alive(cluster_api, namespace, "victim")
        done = await http.post("/query", json=attack, headers=AUTH)
        assert done.status_code == 200 and done.json()["status"] == "executed", done.text
        await wait_until(
            lambda: not deployment_alive(cluster_api, namespace, "victim"), within=30, what="victim deleted"
        )
