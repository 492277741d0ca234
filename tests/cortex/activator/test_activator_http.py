"""The HTTP service without a cluster: health, readiness, metrics, OpenAPI, validation and safety gates."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from cortex.activator.http_app import create_app
from cortex.activator.service import Activator
from cortex.layers.names import GAUGED_LAYERS


@pytest.fixture
async def http(offline_activator: Activator) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(offline_activator.settings, activator=offline_activator)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://activator") as client:
        yield client


async def test_health_ready_and_openapi(http: httpx.AsyncClient) -> None:
    assert (await http.get("/health")).json() == {"status": "ok"}
    ready = await http.get("/ready")
    assert ready.status_code == 200 and ready.json()["tools"] >= 13
    document = (await http.get("/openapi.json")).json()
    assert {"/query", "/feedback", "/health", "/ready", "/metrics"} <= set(document["paths"])
    schema = document["paths"]["/query"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "query" in schema["required"]


async def test_pending_requests_exist_for_every_layer_from_start(http: httpx.AsyncClient) -> None:
    text = (await http.get("/metrics")).text
    for layer in GAUGED_LAYERS:
        assert f'cortex_activator_pending_requests{{layer="{layer}"}} 0.0' in text


async def test_bad_bodies_get_clear_errors(http: httpx.AsyncClient) -> None:
    not_json = await http.post("/query", content=b"{nope", headers={"content-type": "application/json"})
    assert not_json.status_code == 400 and "not valid JSON" in not_json.json()["error"]
    missing = await http.post("/query", json={"namespace": "shop"})
    assert missing.status_code == 422 and "query is required" in missing.json()["error"]
    wrong_type = await http.post("/query", json={"query": "list pods", "confirm": "maybe"})
    assert wrong_type.status_code == 422
    assert wrong_type.json()["error"] == 'invalid request: confirm must be a JSON boolean (true or false), not "maybe"'
    number = await http.post("/query", json={"query": "list pods", "execute": 0})
    assert number.status_code == 422 and "execute must be a JSON boolean" in number.json()["error"]
    unknown_field = await http.post("/query", json={"query": "list pods", "confirmed": True})
    assert unknown_field.status_code == 422 and "confirmed is not a field" in unknown_field.json()["error"]
    bad_namespace = await http.post("/query", json={"query": "list pods", "namespace": "../kube-system"})
    assert bad_namespace.status_code == 422 and "namespace" in bad_namespace.json()["error"]
    plain = await http.post("/query", content=b'{"query": "list pods"}', headers={"content-type": "text/plain"})
    assert plain.status_code == 415 and "application/json" in plain.json()["error"]
    feedback = await http.post("/feedback", json={"decision_id": "made-up", "success": True})
    assert feedback.status_code == 404 and "no decision 'made-up' is known" in feedback.json()["error"]
    old_contract = await http.post("/feedback", json={"query": "x", "tool": "rm_rf", "success": True})
    assert old_contract.status_code == 422 and "decision_id is required" in old_contract.json()["error"]
    responses = (not_json, missing, wrong_type, number, unknown_field, bad_namespace, plain, feedback, old_contract)
    for response in responses:
        assert "Traceback" not in response.text


async def test_query_answers_carry_the_decision(http: httpx.AsyncClient) -> None:
    body = (await http.post("/query", json={"query": "scale web to 3 in shop"})).json()
    assert body["tier"] == "keyword" and body["tool"] == "scale_deployment"
    again = (await http.post("/query", json={"query": "scale web to 3 in shop"})).json()
    assert len(body["decision_id"]) >= 24 and again["decision_id"] != body["decision_id"]
    assert body["arguments"] == {"name": "web", "namespace": "shop", "replicas": 3}
    assert body["mode"] == "SIMPLE" and not body["executed"]
    chat = (await http.post("/query", json={"query": "write me a poem about the sea"})).json()
    assert chat["tool"] is None and chat["status"] == "no_route" and not chat["executed"]
    expert = (await http.post("/query", json={"query": "delete all pods in every namespace"})).json()
    assert expert["mode"] == "EXPERT" and expert["status"] == "escalated_to_human" and not expert["executed"]


async def test_destructive_route_without_confirmation_is_held(http: httpx.AsyncClient) -> None:
    body = (await http.post("/query", json={"query": "delete pod api-0 in shop"})).json()
    assert body["tool"] == "delete_resource" and body["requires_confirmation"]
    assert body["status"] == "needs_confirmation" and not body["executed"]
    missing = (await http.post("/query", json={"query": "show logs", "confirm": True})).json()
    assert missing["status"] in {"missing_arguments", "no_route"} and not missing["executed"]
