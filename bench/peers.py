"""The contenders: how each is installed (pinned, into a throwaway directory), started, and asked to do each operation.

Every MCP server is driven by the same ``fastmcp.Client`` over stdio (ours also over streamable HTTP); kubectl runs
as one process per operation; the raw-API contender sends the API request our tool sends, on one keep-alive
connection with the kubeconfig's credentials, so ours minus it is our per-call overhead. Operation names are the keys
of ``OPERATIONS``; each peer maps them to its own tool and arguments, found by reading its tools/list.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.settings import BenchSettings
from bench.workload import Targets
from devcluster.helm import KUBECTL_VERSION, kubectl_path

OPERATIONS: dict[str, str] = {
    "list_pods_namespace": "list pods in a namespace of 50 pods",
    "list_pods_all": "list pods across all namespaces (~1,000 pods)",
    "get_deployment": "get one deployment",
    "logs_tail_100": "logs of one pod, last 100 lines",
    "scale_deployment": "scale a deployment (alternating 1 and 2 replicas)",
    "apply_manifest_3": "apply a 3-object manifest (ConfigMap, Service, Deployment)",
}
LIST_OPERATIONS = ("list_pods_namespace", "list_pods_all")


class PeerUnavailable(RuntimeError):
    """A peer that could not be installed or found; the report shows the message instead of numbers."""


@dataclass(frozen=True)
class ToolCall:
    """One MCP tools/call."""

    tool: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class KubectlRun:
    """One kubectl process: its arguments and what goes to its standard input."""

    argv: list[str]
    stdin: str | None = None


@dataclass(frozen=True)
class RawRequest:
    """One Kubernetes API request (path relative to the server, query pairs, JSON or YAML body)."""

    method: str
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    body: str | None = None
    content_type: str = "application/json"
    accept: str = "application/json"
    # A 404 is an answer, not a failure (apply's read of an object it may be about to create).
    missing_ok: bool = False


CallBuilder = Callable[[Targets, int], ToolCall]
RunBuilder = Callable[[Targets, int], KubectlRun]
# A raw-API operation is one or more requests, timed together (the manifest's three objects are three applies).
RawBuilder = Callable[[Targets, int], list[RawRequest]]


@dataclass
class Peer:
    """One contender; ``operations`` maps each operation to a call builder taking the targets and the call index."""

    key: str
    title: str
    language: str
    version: str
    install: Callable[[BenchSettings, str], list[str]]
    apply_per_object: bool = False
    env: dict[str, str] = field(default_factory=dict)
    operations: dict[str, CallBuilder] = field(default_factory=dict)
    runs: dict[str, RunBuilder] = field(default_factory=dict)
    raw: dict[str, RawBuilder] = field(default_factory=dict)
    # MCP peers: "stdio" or "http" (streamable HTTP, driven by `http_sessions` concurrent sessions as well).
    transport: str = "stdio"

    @property
    def is_mcp(self) -> bool:
        return not self.runs and not self.raw


def _replicas(index: int) -> int:
    return 1 + index % 2


def peer_environment(kubeconfig: str) -> dict[str, str]:
    """The environment every contender runs in: the bench cluster's kubeconfig and the pinned kubectl first."""
    kubectl_dir = str(kubectl_path().parent)
    return {
        **os.environ,
        "KUBECONFIG": kubeconfig,
        "PATH": f"{kubectl_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def _run(command: list[str], timeout: float, what: str) -> None:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PeerUnavailable(f"{what}: {error}") from error
    if result.returncode != 0:
        raise PeerUnavailable(f"{what} failed ({result.returncode}): {result.stderr.strip()[-800:]}")


def _npm_install(settings: BenchSettings, package: str, version: str, entry: str) -> Path:
    """Install ``package@version`` into its own npm prefix (once) and return the path of ``entry`` inside it."""
    prefix = settings.cache_dir / "npm" / f"{package}-{version}"
    target = prefix / "node_modules" / package / entry
    if target.exists():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise PeerUnavailable("npm is not on PATH (install Node.js >= 20)")
    prefix.mkdir(parents=True, exist_ok=True)
    command = [npm, "install", "--no-audit", "--no-fund", "--prefix", str(prefix), f"{package}@{version}"]
    _run(command, settings.install_timeout_seconds, f"npm install {package}@{version}")
    if not target.exists():
        raise PeerUnavailable(f"npm installed {package}@{version} but {entry} is missing")
    return target


def uv_venv_install(settings: BenchSettings, package: str, version: str) -> Path:
    """Install ``package==version`` into a throwaway virtual environment (once); return that environment."""
    venv = settings.cache_dir / f"{package}-{version}"
    marker = venv / ".installed"
    if marker.exists():
        return venv
    uv = shutil.which("uv")
    if uv is None:
        raise PeerUnavailable("uv is not on PATH")
    _run([uv, "venv", "--quiet", "--clear", "-p", "3.11", str(venv)], settings.install_timeout_seconds, "uv venv")
    python = venv / "bin" / "python"
    command = [uv, "pip", "install", "--quiet", "--python", str(python), f"{package}=={version}"]
    _run(command, settings.install_timeout_seconds, f"uv pip install {package}=={version}")
    marker.touch()
    return venv


def _install_ours(settings: BenchSettings, kubeconfig: str) -> list[str]:
    server = Path(sys.executable).parent / "k3s-mcp-server"
    if not server.exists():
        raise PeerUnavailable(f"{server} is missing: run `uv sync` first")
    return [str(server)]


def _install_go(settings: BenchSettings, kubeconfig: str) -> list[str]:
    binary = _npm_install(
        settings,
        settings.go_server_package,
        settings.go_server_version,
        f"bin/{settings.go_server_package}",
    )
    # The Go server picks up KUBECONFIG too, but the flag keeps it from probing in-cluster first.
    return [str(binary), "--kubeconfig", kubeconfig]


def _install_ts(settings: BenchSettings, kubeconfig: str) -> list[str]:
    entry = _npm_install(settings, settings.ts_server_package, settings.ts_server_version, "dist/index.js")
    node = shutil.which("node")
    if node is None:
        raise PeerUnavailable("node is not on PATH")
    return [node, str(entry)]


def _install_py(settings: BenchSettings, kubeconfig: str) -> list[str]:
    venv = uv_venv_install(settings, settings.py_server_package, settings.py_server_version)
    return [str(venv / "bin" / "kubectl-mcp")]


def _install_ours_http(settings: BenchSettings, kubeconfig: str) -> list[str]:
    return [*_install_ours(settings, kubeconfig), "--transport", "http", "--host", "127.0.0.1"]


def _install_raw(settings: BenchSettings, kubeconfig: str) -> list[str]:
    if not Path(kubeconfig).exists():
        raise PeerUnavailable(f"no kubeconfig at {kubeconfig}")
    return []


def _install_kubectl(settings: BenchSettings, kubeconfig: str) -> list[str]:
    try:
        return [str(kubectl_path())]
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        raise PeerUnavailable(f"fetching the pinned kubectl failed: {error}") from error


def build_peers(settings: BenchSettings) -> list[Peer]:
    """Every contender with its operation mapping; the order is the order of the report."""
    ours = Peer(
        key="k3s-mcp",
        title="k3s-mcp (ours)",
        language="Python",
        version="working tree",
        install=_install_ours,
        operations={
            "list_pods_namespace": lambda t, i: ToolCall("get_pods", {"namespace": t.namespace}),
            # Our list pages at 100 rows by default; ask for every row so the comparison holds the same content.
            "list_pods_all": lambda t, i: ToolCall("get_pods", {"limit": 5000}),
            "get_deployment": lambda t, i: ToolCall("get_deployment", {"name": t.deployment, "namespace": t.namespace}),
            "logs_tail_100": lambda t, i: ToolCall(
                "get_logs", {"pod_name": t.log_pod, "namespace": t.namespace, "tail_lines": 100}
            ),
            # The peers return once the API server accepted the change; wait=false asks ours for the same.
            "scale_deployment": lambda t, i: ToolCall(
                "scale_deployment",
                {
                    "name": t.scale_target("k3s-mcp"),
                    "namespace": t.ops_namespace,
                    "replicas": _replicas(i),
                    "wait": False,
                },
            ),
            "apply_manifest_3": lambda t, i: ToolCall(
                "apply_manifest", {"manifest_yaml": t.manifest("k3s-mcp", i), "namespace": t.ops_namespace}
            ),
        },
    )
    core = Peer(
        key="k3s-mcp-core",
        title="k3s-mcp, K3S_TOOLSETS=core",
        language="Python",
        version="working tree",
        install=_install_ours,
        env={"K3S_TOOLSETS": "core"},
        operations={name: renamed(build, "k3s-mcp", "k3s-mcp-core") for name, build in ours.operations.items()},
    )
    http = Peer(
        key="k3s-mcp-http",
        title="k3s-mcp over streamable HTTP",
        language="Python",
        version="working tree",
        install=_install_ours_http,
        transport="http",
        operations={name: renamed(build, "k3s-mcp", "k3s-mcp-http") for name, build in ours.operations.items()},
    )
    raw = Peer(
        key=RAW_API,
        title="raw API request (keep-alive aiohttp)",
        language="HTTP",
        version="kubeconfig credentials",
        install=_install_raw,
        raw=_raw_operations(settings),
    )
    go = Peer(
        key="kubernetes-mcp-server",
        title="kubernetes-mcp-server",
        language="Go",
        version=settings.go_server_version,
        install=_install_go,
        apply_per_object=True,
        operations={
            "list_pods_namespace": lambda t, i: ToolCall("pods_list_in_namespace", {"namespace": t.namespace}),
            "list_pods_all": lambda t, i: ToolCall("pods_list", {}),
            "get_deployment": lambda t, i: ToolCall(
                "resources_get",
                {"apiVersion": "apps/v1", "kind": "Deployment", "name": t.deployment, "namespace": t.namespace},
            ),
            "logs_tail_100": lambda t, i: ToolCall(
                "pods_log", {"name": t.log_pod, "namespace": t.namespace, "tail": 100}
            ),
            "scale_deployment": lambda t, i: ToolCall(
                "resources_scale",
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": t.scale_target("kubernetes-mcp-server"),
                    "namespace": t.ops_namespace,
                    "scale": _replicas(i),
                },
            ),
            # It takes one object per call: the three objects are three calls, timed together.
            "apply_manifest_3": lambda t, i: ToolCall(
                "resources_create_or_update", {"resource": t.manifest("kubernetes-mcp-server", i)}
            ),
        },
    )
    ts = Peer(
        key="mcp-server-kubernetes",
        title="mcp-server-kubernetes",
        language="TypeScript",
        version=settings.ts_server_version,
        install=_install_ts,
        operations={
            "list_pods_namespace": lambda t, i: ToolCall(
                "kubectl_get", {"resourceType": "pods", "namespace": t.namespace}
            ),
            "list_pods_all": lambda t, i: ToolCall("kubectl_get", {"resourceType": "pods", "allNamespaces": True}),
            "get_deployment": lambda t, i: ToolCall(
                "kubectl_get", {"resourceType": "deployments", "name": t.deployment, "namespace": t.namespace}
            ),
            "logs_tail_100": lambda t, i: ToolCall(
                "kubectl_logs", {"resourceType": "pod", "name": t.log_pod, "namespace": t.namespace, "tail": 100}
            ),
            "scale_deployment": lambda t, i: ToolCall(
                "kubectl_scale",
                {
                    "name": t.scale_target("mcp-server-kubernetes"),
                    "namespace": t.ops_namespace,
                    "replicas": _replicas(i),
                },
            ),
            "apply_manifest_3": lambda t, i: ToolCall(
                "kubectl_apply", {"manifest": t.manifest("mcp-server-kubernetes", i), "namespace": t.ops_namespace}
            ),
        },
    )
    py = Peer(
        key="kubectl-mcp-server",
        title="kubectl-mcp-server",
        language="Python",
        version=settings.py_server_version,
        install=_install_py,
        operations={
            "list_pods_namespace": lambda t, i: ToolCall(
                "kubectl_get", {"resource_type": "pods", "namespace": t.namespace}
            ),
            "list_pods_all": lambda t, i: ToolCall("kubectl_get", {"resource_type": "pods", "all_namespaces": True}),
            "get_deployment": lambda t, i: ToolCall(
                "kubectl_get", {"resource_type": "deployments", "name": t.deployment, "namespace": t.namespace}
            ),
            "logs_tail_100": lambda t, i: ToolCall(
                "kubectl_logs", {"pod_name": t.log_pod, "namespace": t.namespace, "tail": 100}
            ),
            "scale_deployment": lambda t, i: ToolCall(
                "kubectl_scale",
                {
                    "resource_type": "deployment",
                    "name": t.scale_target("kubectl-mcp-server"),
                    "namespace": t.ops_namespace,
                    "replicas": _replicas(i),
                },
            ),
            "apply_manifest_3": lambda t, i: ToolCall(
                "kubectl_apply", {"manifest": t.manifest("kubectl-mcp-server", i), "namespace": t.ops_namespace}
            ),
        },
    )
    kubectl = Peer(
        key="kubectl",
        title="kubectl (process per call)",
        language="Go",
        version=KUBECTL_VERSION,
        install=_install_kubectl,
        runs={
            "list_pods_namespace": lambda t, i: KubectlRun(["get", "pods", "-n", t.namespace]),
            "list_pods_all": lambda t, i: KubectlRun(["get", "pods", "--all-namespaces"]),
            "get_deployment": lambda t, i: KubectlRun(
                ["get", "deployment", t.deployment, "-n", t.namespace, "-o", "yaml"]
            ),
            "logs_tail_100": lambda t, i: KubectlRun(["logs", t.log_pod, "-n", t.namespace, "--tail", "100"]),
            "scale_deployment": lambda t, i: KubectlRun(
                ["scale", "deployment", t.scale_target("kubectl"), "-n", t.ops_namespace, f"--replicas={_replicas(i)}"]
            ),
            "apply_manifest_3": lambda t, i: KubectlRun(
                ["apply", "--server-side", "-n", t.ops_namespace, "-f", "-"], stdin=t.manifest("kubectl", i)
            ),
        },
    )
    return [ours, core, http, raw, go, ts, py, kubectl]


RAW_API = "raw-api"
# What the API server is asked to apply as, the field manager of the raw contender's server-side applies.
RAW_FIELD_MANAGER = "bench-raw-api"
# Kind of each object in the bench manifest -> (API group path, plural).
_MANIFEST_KINDS = {"ConfigMap": ("/api/v1", "configmaps"), "Service": ("/api/v1", "services")}
_MANIFEST_KINDS["Deployment"] = ("/apis/apps/v1", "deployments")


# The server-side Table get_pods asks for (cells only in one namespace, with each row's metadata across them).
RAW_TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def _raw_operations(settings: BenchSettings) -> dict[str, RawBuilder]:
    """The API requests our tools send for each operation, request for request: the list page size is our default
    list limit, pod lists are the server's Table, scale reads the replica count it reports as "from" before its
    merge patch, and apply reads each object (created, configured or unchanged) before applying it."""
    page = str(settings.raw_list_limit)
    write = [("fieldManager", RAW_FIELD_MANAGER)]

    def apply_three(targets: Targets, index: int) -> list[RawRequest]:
        requests = []
        for document in split_documents(targets.manifest(RAW_API, index)):
            kind = next(line.split(":", 1)[1].strip() for line in document.splitlines() if line.startswith("kind:"))
            prefix, plural = _MANIFEST_KINDS[kind]
            name = f"applied-{RAW_API}"
            path = f"{prefix}/namespaces/{targets.ops_namespace}/{plural}/{name}"
            query = [*write, ("force", "true")]
            requests.append(RawRequest("GET", path, missing_ok=True))
            requests.append(RawRequest("PATCH", path, query, document, "application/apply-patch+yaml"))
        return requests

    def scale(targets: Targets, index: int) -> list[RawRequest]:
        path = f"/apis/apps/v1/namespaces/{targets.ops_namespace}/deployments/{targets.scale_target(RAW_API)}"
        body = f'{{"spec": {{"replicas": {_replicas(index)}}}}}'
        return [RawRequest("GET", path), RawRequest("PATCH", path, write, body, "application/merge-patch+json")]

    return {
        "list_pods_namespace": lambda t, i: [
            RawRequest(
                "GET",
                f"/api/v1/namespaces/{t.namespace}/pods",
                [("limit", page), ("includeObject", "None")],
                accept=RAW_TABLE,
            )
        ],
        "list_pods_all": lambda t, i: [
            RawRequest("GET", "/api/v1/pods", [("limit", "5000"), ("includeObject", "Metadata")], accept=RAW_TABLE)
        ],
        "get_deployment": lambda t, i: [
            RawRequest("GET", f"/apis/apps/v1/namespaces/{t.namespace}/deployments/{t.deployment}")
        ],
        "logs_tail_100": lambda t, i: [
            RawRequest("GET", f"/api/v1/namespaces/{t.namespace}/pods/{t.log_pod}/log", [("tailLines", "100")])
        ],
        "scale_deployment": scale,
        "apply_manifest_3": apply_three,
    }


def renamed(build: CallBuilder, old: str, new: str) -> CallBuilder:
    """The same call on this peer's own objects (its own scale target and applied names)."""

    def call(targets: Targets, index: int) -> ToolCall:
        made = build(targets, index)
        arguments = {
            key: value.replace(f"-{old}", f"-{new}") if isinstance(value, str) else value
            for key, value in made.arguments.items()
        }
        return ToolCall(made.tool, arguments)

    return call


def split_documents(manifest: str) -> list[str]:
    """The YAML documents of a multi-document manifest, for a server whose apply takes one object per call."""
    return [part.strip() for part in manifest.split("\n---\n") if part.strip()]
