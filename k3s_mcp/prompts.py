"""MCP prompts: step-by-step diagnoses a model runs with this server's read tools.

Five prompts: ``diagnose_pod``, ``diagnose_deployment``, ``diagnose_node``, ``diagnose_namespace`` and
``cluster_health_check``. Each names the read tools to call by their real names, with the arguments filled in,
and what to look for (events, restarts, probes, scheduling, quotas, image pulls, OOMKilled, PDBs, node pressure).
Arguments are hostile like any tool argument: a namespace must be a DNS-1123 label and a name a DNS-1123
subdomain (the rules of :mod:`k3s_mcp.kube.requests`), so nothing but a valid name is ever written into the text;
anything else is refused with one sentence. :data:`PROMPT_TOOLS` lists the tools each prompt names, so a test
can check every one against the live tool list. (No ``from __future__ import annotations`` here: FastMCP reads
the argument types of the prompt functions, defined inside :func:`register_prompts`, when they are registered.)
"""

import logging
import re
from typing import TYPE_CHECKING, Annotated, Any

from fastmcp.exceptions import PromptError
from pydantic import Field

from k3s_mcp.kube import InvalidNameError
from k3s_mcp.kube.requests import SUBDOMAIN_RULE, check_namespace

if TYPE_CHECKING:
    from fastmcp import FastMCP

_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")

PROMPT_TOOLS: dict[str, tuple[str, ...]] = {
    "diagnose_pod": ("describe_object", "get_events", "get_logs", "get_resource", "top_pods"),
    "diagnose_deployment": (
        "get_deployment",
        "get_rollout_status",
        "describe_object",
        "get_pods",
        "get_events",
        "get_resources",
    ),
    "diagnose_node": ("describe_object", "get_pods", "get_events", "top_nodes", "get_resources"),
    "diagnose_namespace": ("get_pods", "get_events", "get_deployments", "get_resources", "describe_object"),
    "cluster_health_check": ("get_cluster_info", "get_nodes", "get_events", "get_pods", "get_resources", "top_nodes"),
}
"""The tools each prompt tells the model to call (all read-only)."""

NamespaceArgument = Annotated[str, Field(description="Namespace of the object (a DNS-1123 label).")]
NameArgument = Annotated[str, Field(description="Name of the object (a DNS-1123 subdomain).")]


def valid_namespace(namespace: str) -> str:
    try:
        return check_namespace(namespace)
    except InvalidNameError as error:
        raise PromptError(str(error), log_level=logging.DEBUG) from None


def valid_name(name: str, what: str) -> str:
    if not isinstance(name, str) or len(name) > 253 or not _SUBDOMAIN.fullmatch(name):
        shown = repr(name) if len(repr(name)) <= 80 else repr(name)[:77] + "...'"
        raise PromptError(f"Invalid {what} {shown}: it must be {SUBDOMAIN_RULE}.", log_level=logging.DEBUG)
    return name


def _steps(*lines: str) -> str:
    return "\n".join(f"{number}. {line}" for number, line in enumerate(lines, start=1))


def pod_text(namespace: str, name: str) -> str:
    return (
        f"Diagnose the pod {name!r} in namespace {namespace!r} (resource k8s://namespaces/{namespace}/pods/{name}). "
        "Use only read tools; change nothing unless I ask.\n"
        + _steps(
            f'describe_object(kind="Pod", name="{name}", namespace="{namespace}"): phase, conditions '
            "(PodScheduled, Initialized, ContainersReady, Ready), each container's state, last state and restart "
            "count, the owner chain, and the events.",
            f'get_events(namespace="{namespace}", kind="Pod", name="{name}", event_type="Warning"): FailedScheduling '
            "(insufficient cpu/memory, taints, node affinity, unbound PVCs), Failed/ErrImagePull/ImagePullBackOff "
            "(image name, tag, registry credentials), Unhealthy (liveness/readiness/startup probe failures), "
            "BackOff (CrashLoopBackOff), FailedMount.",
            f'get_logs(pod_name="{name}", namespace="{namespace}") and, when a container restarted, '
            f'get_logs(pod_name="{name}", namespace="{namespace}", previous=true): the error before the exit.',
            "Look for OOMKilled (last state reason, exit code 137): compare with the memory limit; exit code 1/2 is "
            "the application; probe failures right after start often mean the probe's initialDelaySeconds or "
            "startupProbe is too short.",
            f'get_resource(kind="Pod", name="{name}", namespace="{namespace}"): requests/limits, probes, image, '
            "nodeSelector/tolerations, volumes; top_pods(namespace=...) for actual usage when metrics are served.",
            "Check quotas and limits that refuse or throttle it: "
            f'get_resources(kind="ResourceQuota", namespace="{namespace}") and '
            f'get_resources(kind="LimitRange", namespace="{namespace}").',
        )
        + "\nAnswer with: the cause (or the most likely causes, with the evidence for each), then the fix."
    )


def deployment_text(namespace: str, name: str) -> str:
    return (
        f"Diagnose the deployment {name!r} in namespace {namespace!r} "
        f"(resource k8s://namespaces/{namespace}/deployments.apps/{name}). Use only read tools.\n"
        + _steps(
            f'get_deployment(name="{name}", namespace="{namespace}"): desired, updated, ready and available '
            "replicas, the conditions (Progressing with ProgressDeadlineExceeded, Available, ReplicaFailure).",
            f'get_rollout_status(kind="Deployment", name="{name}", namespace="{namespace}"): is a rollout stuck, '
            "and on which revision.",
            f'describe_object(kind="Deployment", name="{name}", namespace="{namespace}"): the events '
            "(FailedCreate from quotas or admission, scaling) and the strategy (maxUnavailable, maxSurge).",
            f'get_pods(namespace="{namespace}", labels="<the selector from step 1>"): pods not Ready, restarts, '
            "Pending pods; diagnose the worst one as diagnose_pod does (events, logs, OOMKilled, probes, image pulls).",
            f'get_events(namespace="{namespace}", event_type="Warning"): FailedScheduling, FailedCreate '
            "(exceeded quota), Unhealthy, BackOff.",
            f'get_resources(kind="PodDisruptionBudget", namespace="{namespace}"): a PDB that allows 0 disruptions '
            f'blocks drains; get_resources(kind="ResourceQuota", namespace="{namespace}"): a quota that is full '
            'stops new pods; get_resources(kind="HorizontalPodAutoscaler", ...) if replicas keep changing.',
        )
        + "\nAnswer with: what is wrong, the evidence, and the fix."
    )


def node_text(name: str) -> str:
    return (
        f"Diagnose the node {name!r} (resource k8s://cluster/nodes/{name}). Use only read tools.\n"
        + _steps(
            f'describe_object(kind="Node", name="{name}"): the Ready condition and the pressure conditions '
            "(MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable), taints (NoSchedule, NoExecute, "
            "unschedulable/cordoned), capacity vs allocatable, kubelet version, and the events.",
            f'get_events(kind="Node", name="{name}"): NodeNotReady, Rebooted, EvictionThresholdMet, '
            "FreeDiskSpaceFailed, ImageGCFailed.",
            f'get_pods(namespace=None) and look at the pods on "{name}" (the node column): Evicted, Pending, '
            'CrashLoopBackOff; get_resources(kind="Pod", fields="spec.nodeName=' + name + '") lists only them.',
            "top_nodes(): CPU and memory use against allocatable, when metrics are served.",
            'get_resources(kind="PodDisruptionBudget"): PDBs that would block draining this node.',
        )
        + "\nAnswer with: the node's health, what is wrong, and the fix (cordon/drain only if I ask)."
    )


def namespace_text(namespace: str) -> str:
    return (
        f"Check the health of namespace {namespace!r} (resource k8s://cluster/namespaces/{namespace}). "
        "Use only read tools.\n"
        + _steps(
            f'get_pods(namespace="{namespace}"): pods not Running/Ready, high restart counts, Pending, Evicted.',
            f'get_events(namespace="{namespace}", event_type="Warning"): FailedScheduling, BackOff, Unhealthy '
            "(probes), Failed (image pulls), FailedMount, OOMKilling.",
            f'get_deployments(namespace="{namespace}"): deployments with fewer ready than desired replicas.',
            f'get_resources(kind="ResourceQuota", namespace="{namespace}") and '
            f'get_resources(kind="LimitRange", namespace="{namespace}"): quotas near their hard limits.',
            f'get_resources(kind="PodDisruptionBudget", namespace="{namespace}"): PDBs allowing 0 disruptions.',
            f'describe_object(kind=..., name=..., namespace="{namespace}") on each failing object: its events '
            "and owner chain.",
        )
        + "\nAnswer with: a short list of problems ordered by severity, each with its evidence and fix."
    )


def cluster_text(namespace: str | None) -> str:
    scope = f'namespace="{namespace}"' if namespace else "namespace=None (all namespaces)"
    return (
        "Run a health check of the cluster (resources k8s://cluster/nodes and k8s://cluster/namespaces). "
        "Use only read tools.\n"
        + _steps(
            "get_cluster_info(): API server version, node and pod counts, pods not running.",
            "get_nodes(): every node Ready; none with MemoryPressure, DiskPressure or PIDPressure; cordoned nodes.",
            f'get_events({scope}, event_type="Warning"): the recurring reasons (FailedScheduling, BackOff, '
            "Unhealthy, Failed image pulls, OOMKilling, Evicted, NodeNotReady).",
            f"get_pods({scope}): pods Pending, CrashLoopBackOff, Error or with many restarts.",
            'get_resources(kind="PodDisruptionBudget") and get_resources(kind="ResourceQuota"): PDBs with 0 allowed '
            "disruptions, quotas near their limits.",
            "top_nodes(): nodes near their CPU or memory allocatable, when metrics are served.",
        )
        + "\nAnswer with: overall status (healthy / degraded / failing), then each problem with its evidence."
    )


def register_prompts(app: "FastMCP[Any]") -> None:
    """Add the diagnosis prompts to `app`."""

    @app.prompt(name="diagnose_pod", title="Diagnose a pod", tags={"read"})
    def diagnose_pod(namespace: NamespaceArgument, name: NameArgument) -> str:
        """Find why a pod is not running or not ready: events, restarts, probes, image pulls, OOMKilled, scheduling,
        quotas."""
        return pod_text(valid_namespace(namespace), valid_name(name, "pod name"))

    @app.prompt(name="diagnose_deployment", title="Diagnose a deployment", tags={"read"})
    def diagnose_deployment(namespace: NamespaceArgument, name: NameArgument) -> str:
        """Find why a deployment has fewer ready replicas than desired or a stuck rollout: rollout status, pods,
        events, quotas, PDBs."""
        return deployment_text(valid_namespace(namespace), valid_name(name, "deployment name"))

    @app.prompt(name="diagnose_node", title="Diagnose a node", tags={"read"})
    def diagnose_node(name: Annotated[str, Field(description="Name of the node.")]) -> str:
        """Find what is wrong with a node: Ready and pressure conditions, taints, evictions, its pods, PDBs."""
        return node_text(valid_name(name, "node name"))

    @app.prompt(name="diagnose_namespace", title="Diagnose a namespace", tags={"read"})
    def diagnose_namespace(namespace: NamespaceArgument) -> str:
        """Check every workload of a namespace: failing pods, warning events, deployments short of replicas,
        quotas, PDBs."""
        return namespace_text(valid_namespace(namespace))

    @app.prompt(name="cluster_health_check", title="Cluster health check", tags={"read"})
    def cluster_health_check(
        namespace: Annotated[
            str | None, Field(description="Only this namespace's pods and events; omitted = all namespaces.")
        ] = None,
    ) -> str:
        """Check the whole cluster: nodes and their pressure conditions, failing pods, warning events, PDBs,
        quotas, resource use."""
        return cluster_text(valid_namespace(namespace) if namespace else None)
