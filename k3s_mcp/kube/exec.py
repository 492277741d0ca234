"""exec: run an argv in a container through the exec subresource (websocket), with our own time and size limits."""

from __future__ import annotations

import asyncio
import json
import re
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp

from k3s_mcp.kube.errors import KubeError, Target
from k3s_mcp.kube.identity import current_identity
from k3s_mcp.kube.requests import check_name, check_namespace, check_segment

if TYPE_CHECKING:
    from k3s_mcp.kube.session import KubeSession


async def execute(
    session: KubeSession,
    pod: str,
    namespace: str,
    command: list[str],
    container: str | None,
) -> ExecResult:
    """Run argv in a container through the exec subresource (websocket); no shell is added."""
    check_namespace(namespace)
    pods = await session.resolve("pods")
    check_name(pods, pod)
    if container is not None:
        check_segment(container, "container name")
    path = pods.path(namespace, pod, "exec")
    # Running a command creates pods/exec: checked by the access policy as a write in the pod's namespace.
    await session.check_access("POST", path)
    client = await session.ws_client()
    target = Target("Pod", pod, namespace, action="exec into")
    limit = session.settings.exec_max_output_bytes
    result = ExecResult()
    with session.errors(target):
        query: list[tuple[str, str]] = [("command", part) for part in command]
        query += [("stdout", "true"), ("stderr", "true"), ("stdin", "false"), ("tty", "false")]
        if container:
            query.append(("container", container))
        # The session's headers (credentials, impersonation) on the websocket request as on every other one.
        headers = await session.request_headers(client, query, content_type="application/json", accept="*/*")
        connect: Any = await client.request(
            "GET", f"{client.configuration.host}{path}", query_params=query, headers=headers, _preload_content=False
        )
        limit_seconds = session.settings.exec_timeout_seconds
        try:
            async with asyncio.timeout(limit_seconds):
                async with connect as socket:
                    async for message in socket:
                        if message.type not in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT):
                            break
                        data: bytes = message.data if isinstance(message.data, bytes) else message.data.encode()
                        if len(data) < 2:
                            continue
                        channel, payload = data[0], data[1:]
                        if channel == 1:
                            result.stdout_bytes += payload
                        elif channel == 2:
                            result.stderr_bytes += payload
                        elif channel == 3:
                            result.status_payload += payload
        except TimeoutError:
            # Our own limit, not a silent API server: the command was still running and its stream is closed.
            result.timed_out_after = limit_seconds
        except aiohttp.WSServerHandshakeError as error:
            if error.status != 403:
                raise
            # A refused websocket handshake carries no Status body to quote: name the identity ourselves.
            identity = current_identity()
            who = f"{identity.user} is" if identity else "this server's identity is"
            raise KubeError(
                f"Forbidden: {who} not allowed to create pods/exec in namespace {namespace!r} (exec into Pod "
                f"{pod!r}). Fix: bind a Role granting 'create' on 'pods/exec' to this identity."
            ) from None
    result.finish(limit)
    return result


@dataclass
class ExecResult:
    """What an exec returned: separated streams and the exit code from the status channel."""

    stdout_bytes: bytes = b""
    stderr_bytes: bytes = b""
    status_payload: bytes = b""
    exit_code: int | None = None
    failure: str | None = None
    truncated: bool = False
    timed_out_after: float | None = None

    def finish(self, limit: int) -> None:
        if self.timed_out_after is not None:
            self.failure = (
                f"Stopped after {self.timed_out_after:g} s: the command was still running at the exec time limit "
                "(K3S_EXEC_TIMEOUT); the output so far is shown."
            )
        if len(self.stdout_bytes) > limit or len(self.stderr_bytes) > limit:
            self.truncated = True
            self.stdout_bytes = self.stdout_bytes[-limit:]
            self.stderr_bytes = self.stderr_bytes[-limit:]
        if not self.status_payload:
            return
        try:
            status = json.loads(self.status_payload)
        except ValueError:
            self.failure = self.status_payload.decode("utf-8", "replace")
            return
        if status.get("status") == "Success":
            self.exit_code = 0
            return
        self.failure = status.get("message")
        for cause in (status.get("details") or {}).get("causes") or []:
            if cause.get("reason") == "ExitCode":
                with suppress(ValueError):
                    self.exit_code = int(cause.get("message", ""))
        if self.exit_code is None and self.failure:
            # Some runtimes (KWOK, older CRI shims) put the code only in the message text.
            found = re.search(r"exit (?:status|code)\D{0,3}(\d+)", self.failure)
            if found:
                self.exit_code = int(found.group(1))
