"""A client for an OpenAI-compatible chat-completions server (llama.cpp's server in production and tests)."""

from __future__ import annotations

import json
import re
import time
from typing import Any


class ModelUnavailable(RuntimeError):
    """The model server cannot be reached or refuses the request."""


class ModelTimeout(ModelUnavailable):
    """The model server did not answer within the tier's timeout."""


class ModelOutputError(ValueError):
    """The model answered something that is not the JSON the tier asked for."""


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def parse_json_object(text: str) -> dict[str, Any]:
    """The first JSON object in a model's text (bare, fenced, or embedded in prose)."""
    candidates = [text.strip()]
    candidates += [m.strip() for m in _FENCE.findall(text)]
    start = text.find("{")
    end = text.rfind("}")
    if start != -1 and end > start:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except (json.JSONDecodeError, ValueError):
            continue
        if isinstance(value, dict):
            return value
    raise ModelOutputError(f"model output is not a JSON object: {text[:200]!r}")


class ChatEndpoint:
    """POSTs /v1/chat/completions; remembers a recent successful health check to keep requests cheap."""

    HEALTH_TTL_SECONDS = 5.0

    def __init__(self, base_url: str, model: str, timeout_seconds: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout_seconds = timeout_seconds
        # httpx (with its command-line parts) is imported when a model tier is configured, not with the router.
        import httpx

        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout_seconds, connect=2.0))
        self._healthy_at = 0.0

    async def aclose(self) -> None:
        await self._client.aclose()

    async def healthy(self) -> bool:
        if time.monotonic() - self._healthy_at < self.HEALTH_TTL_SECONDS:
            return True
        import httpx

        try:
            response = await self._client.get(f"{self.base_url}/health", timeout=2.0)
        except httpx.HTTPError:
            return False
        if response.status_code == 200:
            self._healthy_at = time.monotonic()
            return True
        return False

    async def chat(
        self,
        messages: list[dict[str, Any]],
        *,
        max_tokens: int,
        response_format: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The assistant message of one completion (temperature 0)."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": max_tokens,
        }
        if response_format is not None:
            body["response_format"] = response_format
        if tools:
            body["tools"] = tools
            body["tool_choice"] = "auto"
        url = f"{self.base_url}/v1/chat/completions"
        import httpx

        try:
            response = await self._client.post(url, json=body)
        except httpx.TimeoutException as exc:
            raise ModelTimeout(f"model server {self.base_url} did not answer in {self.timeout_seconds:g}s") from exc
        except httpx.HTTPError as exc:
            self._healthy_at = 0.0
            raise ModelUnavailable(f"model server {self.base_url} is unreachable: {exc}") from exc
        if response.status_code != 200:
            self._healthy_at = 0.0
            raise ModelUnavailable(
                f"model server {self.base_url} answered HTTP {response.status_code}: {response.text[:200]}"
            )
        self._healthy_at = time.monotonic()
        try:
            payload = response.json()
            message = payload["choices"][0]["message"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ModelOutputError(f"model server sent an unexpected response: {response.text[:200]!r}") from exc
        if not isinstance(message, dict):
            raise ModelOutputError("model server sent a message that is not an object")
        return message
