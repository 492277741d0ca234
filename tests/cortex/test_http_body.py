"""The bounded body reader stops reading as soon as a body passes its limit, whatever the sender declares."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request

from cortex.http_body import BodyTooLarge, bounded_body

CHUNK = 65536


def streaming_request(chunks: int, headers: list[tuple[bytes, bytes]] | None = None) -> tuple[Request, list[int]]:
    """A Starlette request whose ASGI receive hands out `chunks` chunks, counting how many were taken."""
    taken = [0]

    async def receive() -> dict[str, Any]:
        taken[0] += 1
        more = taken[0] < chunks
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": more}

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers or []}
    return Request(scope, receive), taken


async def test_reading_stops_at_the_limit_of_a_chunked_body() -> None:
    request, taken = streaming_request(chunks=64)
    with pytest.raises(BodyTooLarge, match="over 200000 bytes"):
        await bounded_body(request, 200_000)
    assert taken[0] == 4  # 4 x 64 KiB passes 200,000: the other 60 chunks were never read


async def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    request, taken = streaming_request(chunks=64, headers=[(b"content-length", b"4194304")])
    with pytest.raises(BodyTooLarge):
        await bounded_body(request, 200_000)
    assert taken[0] == 0


async def test_a_body_within_the_limit_is_returned_whole() -> None:
    request, _ = streaming_request(chunks=3)
    assert len(await bounded_body(request, 200_000)) == 3 * CHUNK
