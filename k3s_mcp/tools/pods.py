"""Pod tools: list pods, read logs, restart a pod, run a command in a container.

This module is the pattern for every tool module: its own ``FastMCP`` server (``pods``), mounted by
``k3s_mcp.server`` without a prefix; each tool takes typed ``Annotated`` parameters, gets the shared
session with ``current_session()``, lets the session raise worded errors, and returns
``k3s_mcp.views`` models so every answer is structured JSON.
"""

from __future__ import annotations

from typing import Annotated

from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from pydantic import BaseModel, Field

from k3s_mcp.kube import Target, current_session
from k3s_mcp.tools import DESTRUCTIVE, READ_ONLY, tool
from k3s_mcp.tools.lists import list_rows
from k3s_mcp.tools.parameters import ContinueToken, Limit, Namespace
from k3s_mcp.views import PodRow, RowPage, pod_row, tail_text

pods: FastMCP = FastMCP("pods")


class LogsResult(BaseModel):
    """The tail of a container's log."""

    pod: str
    namespace: str
    container: str | None
    lines: int = Field(description="Number of lines returned.")
    truncated: bool = Field(description="True when the log was cut to the byte limit (K3S_LOG_MAX_BYTES).")
    log: str


class RestartResult(BaseModel):
    pod: str
    namespace: str
    owner: str = Field(description="The controller that will recreate the pod, as Kind/name.")
    message: str


class ExecOutput(BaseModel):
    """Separated output of a command run in a container."""

    pod: str
    namespace: str
    container: str | None
    command: list[str]
    exit_code: int | None = Field(description="0 on success; None when the runtime reported no code.")
    stdout: str
    stderr: str
    failure: str | None = Field(default=None, description="The runtime's message when the command failed.")
    truncated: bool = Field(description="True when stdout or stderr was cut to K3S_EXEC_MAX_OUTPUT_BYTES.")


@tool(pods, title="List pods", safety=READ_ONLY)
async def get_pods(
    namespace: Annotated[str | None, Field(description="Namespace to list; omitted = all namespaces.")] = None,
    labels: Annotated[str | None, Field(description="Label selector, e.g. 'app=web,tier!=db'.")] = None,
    limit: Limit = None,
    continue_token: ContinueToken = None,
) -> RowPage[PodRow]:
    """List pods as compact rows (name, namespace, ready, status, restarts, age, node, IP).

    Use it to find pods, check whether they run, or get names for get_logs/execute_command.
    Without a namespace it lists every namespace. Returns a continue_token when more remain.
    """
    return await list_rows("pods", pod_row, namespace, labels=labels, limit=limit, continue_token=continue_token)


@tool(pods, title="Read pod logs", safety=READ_ONLY)
async def get_logs(
    pod_name: Annotated[str, Field(min_length=1, description="Name of the pod.")],
    namespace: Namespace = None,
    container: Annotated[str | None, Field(description="Container name; needed only when the pod has several.")] = None,
    tail_lines: Annotated[
        int | None, Field(ge=1, le=10000, description="Lines from the end (default K3S_LOG_TAIL_LINES, 100).")
    ] = None,
    previous: Annotated[bool, Field(description="Logs of the previous, crashed instance of the container.")] = False,
    since_seconds: Annotated[int | None, Field(ge=1, description="Only lines newer than this many seconds.")] = None,
) -> LogsResult:
    """Return the last lines of a pod's container log (bounded in lines and bytes).

    Use it to see why a pod fails or what it is doing; use previous=true after a crash.
    """
    session = current_session()
    ns = session.namespace_or_default(namespace)
    tail = tail_lines or session.settings.log_tail_lines
    query = [("tailLines", str(tail)), ("limitBytes", str(session.settings.log_max_bytes + 1))]
    if container:
        query.append(("container", container))
    if previous:
        query.append(("previous", "true"))
    if since_seconds:
        query.append(("sinceSeconds", str(since_seconds)))
    info = await session.resolve("pods")
    text = await session.request_text(
        info.path(ns, pod_name, "log"), target=Target("Pod", pod_name, ns, action="read logs of"), query=query
    )
    text, truncated = tail_text(text, session.settings.log_max_bytes)
    return LogsResult(
        pod=pod_name,
        namespace=ns,
        container=container,
        lines=len(text.splitlines()),
        truncated=truncated,
        log=text,
    )


@tool(pods, title="Restart a pod", safety=DESTRUCTIVE)
async def restart_pod(
    name: Annotated[str, Field(min_length=1, description="Name of the pod to restart.")],
    namespace: Namespace = None,
) -> RestartResult:
    """Restart a pod by deleting it so its controller (ReplicaSet, StatefulSet, DaemonSet, Job) recreates it.

    Refuses pods no controller owns, since deleting those would lose them.
    """
    session = current_session()
    ns = session.namespace_or_default(namespace)
    info = await session.resolve("pods")
    pod = await session.get(info, name, ns)
    owners = (pod.get("metadata") or {}).get("ownerReferences") or []
    controller = next((o for o in owners if o.get("controller")), owners[0] if owners else None)
    if controller is None:
        raise ToolError(
            f"Pod {name!r} in namespace {ns!r} has no controller, so deleting it would not bring it back. "
            "Restart its workload instead, or delete it with delete_resource if that is what you want."
        )
    await session.delete(info, name, ns)
    owner = f"{controller.get('kind')}/{controller.get('name')}"
    return RestartResult(
        pod=name,
        namespace=ns,
        owner=owner,
        message=f"Deleted pod {name}; {owner} will create a replacement.",
    )


@tool(pods, title="Run a command in a container", safety=DESTRUCTIVE)
async def execute_command(
    pod_name: Annotated[str, Field(min_length=1, description="Name of the pod.")],
    command: Annotated[
        list[str],
        Field(
            min_length=1,
            description="argv list, e.g. ['ls', '-l', '/tmp']. No shell is added; pass ['sh', '-c', '...'] "
            "yourself if you need one.",
        ),
    ],
    namespace: Namespace = None,
    container: Annotated[str | None, Field(description="Container name; needed only when the pod has several.")] = None,
) -> ExecOutput:
    """Run a command in a pod's container (like kubectl exec) and return stdout, stderr and exit code.

    The command is an argv list executed directly, never through a shell unless you pass one.
    """
    if not command[0].strip():
        raise ToolError("command[0] must be the program to run, e.g. ['ls', '/'].")
    session = current_session()
    ns = session.namespace_or_default(namespace)
    result = await session.execute(pod_name, ns, command, container)
    return ExecOutput(
        pod=pod_name,
        namespace=ns,
        container=container,
        command=command,
        exit_code=result.exit_code,
        stdout=result.stdout_bytes.decode("utf-8", "replace"),
        stderr=result.stderr_bytes.decode("utf-8", "replace"),
        failure=result.failure,
        truncated=result.truncated,
    )
