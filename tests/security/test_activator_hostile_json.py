"""JSON nested deeper than Python's parser recurses, sent to the activator API (`cortex serve`, a real process),
is one 400 sentence, not a 500 from an uncaught RecursionError."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.security.boundary import Served, cortex_env, serve_cortex

TOKEN = "activator-json-token-3f8a1c5d7e"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
async def activator() -> AsyncIterator[Served]:
    async with serve_cortex(cortex_env(CORTEX_API_TOKEN=TOKEN)) as served:
        yield served


@pytest.mark.parametrize("route", ["/query", "/feedback"])
@pytest.mark.parametrize(
    "body",
    [
        b"[" * 20_000 + b"]" * 20_000,
        b'{"query": ' + b"[" * 20_000 + b"]" * 20_000 + b"}",
        b'{"query": "list pods", "execute": false, "x": ' + b'{"a": ' * 10_000,
    ],
    ids=["deep list", "deep field", "unclosed nesting"],
)
async def test_deeply_nested_json_is_a_400(activator: Served, route: str, body: bytes) -> None:
    async with httpx.AsyncClient(base_url=activator.base, timeout=60) as http:
        response = await http.post(route, content=body, headers=HEADERS)
    assert response.status_code == 400, (response.status_code, response.text[:200])
    assert "nested too deeply" in response.json()["error"]
