"""Reading an HTTP request body with a size limit that holds while it streams in, for every Cortex HTTP service."""

from __future__ import annotations

from starlette.requests import Request


class BodyTooLarge(ValueError):
    """The body passed the limit; reading stopped there, so a long chunked body is never held whole."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is over {limit} bytes")
        self.limit = limit


async def bounded_body(request: Request, limit: int) -> bytes:
    """The request's body, read chunk by chunk; raises :class:`BodyTooLarge` as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(limit)
    return bytes(body)
