"""Pod tools: list pods, read logs, restart a pod, run a command in a container.

This module is the pattern for every tool module: its own ``FastMCP`` server (``pods``), mounted by
``k3s_mcp.server`` without a prefix; each tool takes typed ``Annotated`` parameters, gets the shared
session with ``current_session()``, lets the session raise worded errors, and returns
``k3s_mcp.views`` models so every answer is structured JSON.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from fastmcp.tools.base import ToolResult
from pydantic import BaseModel, Field

from k3s_mcp.kube import KubeError, Target, current_session
from k3s_mcp.tools import DESTRUCTIVE, READ_ONLY, tool
from k3s_mcp.tools.lists import list_rows
from k3s_mcp.tools.logs import SEPARATOR, search, since_query
from k3s_mcp.tools.parameters import ContinueToken, Limit, Namespace
from k3s_mcp.views import PodRow, RowPage, page, pod_row, tail_text
from k3s_mcp.views.core import pod_rows_of_table
from k3s_mcp.views.pages import row_page
from k3s_mcp.views.summary import output_schema, text_answer

pods: FastMCP = FastMCP("pods")

_SEARCH_TAIL_LINES = 10_000
_SEARCH_SCAN_BYTES = 2_000_000  # read per container when searching; the answer stays within K3S_LOG_MAX_BYTES
_MAX_CONTAINERS = 20


class LogsResult(BaseModel):
    """The tail of a container's log, or the lines matching a pattern."""

    pod: str
    namespace: str
    container: str | None
    containers: list[str] | None = Field(default=None, description="all_containers: the containers read.")
    lines: int = Field(description="Number of log lines returned ('--' separators not counted).")
    matches: int | None = Field(default=None, description="pattern: lines that matched.")
    truncated: bool = Field(description="True when the log was cut to the byte limit (K3S_LOG_MAX_BYTES).")
    unavailable: list[str] | None = Field(
        default=None, description="all_containers: the containers whose log could not be read, and why."
    )
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
    session = current_session()
    info = await session.resolve("pods")
    size = limit or session.settings.list_limit
    # The API server's own Table of pods is a twentieth of the pods' JSON (10 of 200 KB for 50 pods) and its
    # printer computes the status and ready columns: decoding the objects was most of this tool's own time.
    table = await session.list_page(
        info,
        namespace,
        label_selector=labels,
        limit=size,
        continue_token=continue_token,
        table="None" if namespace else "Metadata",
    )
    if table.get("kind") != "Table":
        return page(table, pod_row, limit=size)  # a server without Tables answered the plain list
    rows = pod_rows_of_table(table, namespace)
    if rows is not None:
        return row_page(rows, table.get("metadata"), limit=size)
    # A Table whose columns are not the pod printer's: the objects themselves, as for any other kind.
    return await list_rows("pods", pod_row, namespace, labels=labels, limit=limit, continue_token=continue_token)


@tool(pods, title="Read pod logs", safety=READ_ONLY, output_schema=output_schema(LogsResult))
async def get_logs(
    pod_name: Annotated[str, Field(min_length=1, description="Name of the pod.")],
    namespace: Namespace = None,
    container: Annotated[str | None, Field(description="Container name; needed only when the pod has several.")] = None,
    tail_lines: Annotated[
        int | None, Field(ge=1, le=10000, description="Lines from the end (default K3S_LOG_TAIL_LINES, 100).")
    ] = None,
    previous: Annotated[bool, Field(description="Logs of the previous, crashed instance of the container.")] = False,
    since_seconds: Annotated[int | None, Field(ge=1, description="Only lines newer than this many seconds.")] = None,
    pattern: Annotated[
        str | None,
        Field(min_length=1, max_length=256, description="Only lines containing this text (case-insensitive)."),
    ] = None,
    context_lines: Annotated[int, Field(ge=0, le=10, description="Lines shown around each match.")] = 0,
    all_containers: Annotated[bool, Field(description="Every container, lines prefixed [name].")] = False,
    since: Annotated[
        str | None, Field(max_length=64, description="Only newer lines: '15m', '2h' or an RFC 3339 time.")
    ] = None,
) -> ToolResult:
    """Return the last lines of a pod's container log (bounded in lines and bytes), or the lines matching pattern.

    Use it to see why a pod fails or what it is doing; use previous=true after a crash.
    """
    if all_containers and container:
        raise ToolError("Pass either container or all_containers=true, not both.")
    if since is not None and since_seconds is not None:
        raise ToolError("Pass either since or since_seconds, not both.")
    session = current_session()
    ns = session.namespace_or_default(namespace)
    # A search reads a longer window than it returns: the default tail is for reading, not for finding.
    tail = tail_lines or (_SEARCH_TAIL_LINES if pattern else session.settings.log_tail_lines)
    read_bytes = max(_SEARCH_SCAN_BYTES, session.settings.log_max_bytes) if pattern else session.settings.log_max_bytes
    query = [("tailLines", str(tail)), ("limitBytes", str(read_bytes + 1))]
    if previous:
        query.append(("previous", "true"))
    if since_seconds:
        query.append(("sinceSeconds", str(since_seconds)))
    if since is not None:
        query.append(since_query(since))
    info = await session.resolve("pods")
    names: list[str | None] = [container]
    if all_containers:
        pod = await session.get(info, pod_name, ns)
        spec = pod.get("spec") or {}
        names = [
            c["name"]
            for c in (*(spec.get("initContainers") or []), *(spec.get("containers") or []))
            if isinstance(c, dict) and isinstance(c.get("name"), str) and c["name"]
        ][:_MAX_CONTAINERS]
    budget = session.settings.log_max_bytes // max(len(names), 1)
    sections: list[str] = []
    unavailable: list[str] = []
    matches = 0
    truncated = False
    for name in names:
        try:
            text = await session.request_text(
                info.path(ns, pod_name, "log"),
                target=Target("Pod", pod_name, ns, action="read logs of"),
                query=[*query, ("container", name)] if name else query,
            )
        except KubeError as error:
            if not all_containers:
                raise
            # One container without a log (not started yet, its previous instance gone) does not cost the others.
            unavailable.append(f"{name}: {error}")
            continue
        truncated |= len(text.encode()) > read_bytes
        lines = text.splitlines()
        if pattern:
            lines, found = await asyncio.to_thread(search, lines, pattern, context_lines)
            matches += found
        if all_containers:
            lines = [line if line == SEPARATOR else f"[{name}] {line}" for line in lines]
        part, cut = tail_text("".join(f"{line}\n" for line in lines), budget)
        truncated |= cut
        sections.append(part)
    if unavailable and len(unavailable) == len(names):
        raise ToolError(f"No container of pod {pod_name!r} in {ns!r} has a log to read: " + "; ".join(unavailable))
    text = "".join(sections)
    result = LogsResult(
        pod=pod_name,
        namespace=ns,
        container=container,
        containers=[str(name) for name in names] if all_containers else None,
        lines=sum(1 for line in text.splitlines() if not (pattern and context_lines and line == SEPARATOR)),
        matches=matches if pattern else None,
        truncated=truncated,
        unavailable=unavailable or None,
        log=text,
    )
    return text_answer(result, logs_text(result))


def logs_text(result: LogsResult) -> str:
    """What a model reads of a log answer: the lines themselves, as the container wrote them (no JSON escaping),
    with a line before them only for what is not the plain case (a cut, a search, several containers)."""
    notes = []
    if result.containers is not None:
        notes.append(f"containers: {', '.join(result.containers) or '-'}")
    if result.matches is not None:
        notes.append(f"{result.matches} matching line{'' if result.matches == 1 else 's'}")
    if result.truncated:
        notes.append("cut to the last K3S_LOG_MAX_BYTES bytes")
    notes.extend(f"no log of {entry}" for entry in result.unavailable or [])
    body = result.log if result.log else "(no log lines)\n"
    return "".join(f"({note})\n" for note in notes) + body


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
