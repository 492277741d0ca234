"""kubeconfig: the files merged as kubectl does, parsed by one function for both the session and the contexts."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import yaml
from kubernetes_asyncio.client import Configuration
from kubernetes_asyncio.config import ConfigException
from kubernetes_asyncio.config.incluster_config import load_incluster_config
from kubernetes_asyncio.config.kube_config import KubeConfigLoader, KubeConfigMerger

from k3s_mcp.kube.errors import KubeconfigError
from k3s_mcp.settings import Settings

_PARSE_ERRORS = (ConfigException, yaml.YAMLError, OSError, KeyError, TypeError, ValueError)


@dataclass(frozen=True)
class KubeContext:
    """One context of the kubeconfig: its cluster, user, namespace and the cluster's server URL."""

    name: str
    cluster: str
    user: str
    namespace: str | None
    server: str | None


@dataclass(frozen=True)
class KubeconfigContexts:
    """Every context the kubeconfig files define, and the file's current-context."""

    contexts: list[KubeContext]
    current: str | None

    def names(self) -> list[str]:
        return [context.name for context in self.contexts]

    def get(self, name: str | None) -> KubeContext | None:
        return next((context for context in self.contexts if context.name == (name or self.current)), None)


@dataclass(frozen=True)
class LoadedConfig:
    """A client configuration, where it came from, and the namespace its context names (if any)."""

    configuration: Configuration
    source: str
    namespace: str | None


def _plain_entries(entries: Any) -> list[dict[str, Any]]:
    """List entries of a merged kubeconfig as plain dicts (the merger wraps each file's entries in ConfigNode)."""
    plain = []
    for entry in entries or []:
        value = getattr(entry, "value", entry)
        if isinstance(value, dict):
            plain.append(value)
    return plain


def _merge(settings: Settings) -> tuple[str, KubeConfigMerger] | None:
    """The existing kubeconfig files (as one label) merged; None when there is no file at all."""
    existing = [path for path in settings.kubeconfig_paths if path.is_file()]
    if not existing:
        return None
    label = ":".join(str(path) for path in existing)
    try:
        return label, KubeConfigMerger(label)
    except _PARSE_ERRORS as error:
        raise KubeconfigError(
            f"The kubeconfig at {label} could not be read: {type(error).__name__}: {error}. "
            "Fix: repair the file (check it with `kubectl config view`), or point KUBECONFIG at a valid one."
        ) from error


def _contexts_of(merger: KubeConfigMerger) -> KubeconfigContexts:
    merged = merger.config.value if merger.config is not None else {}
    servers = {
        str(entry.get("name")): (entry.get("cluster") or {}).get("server")
        for entry in _plain_entries(merged.get("clusters"))
    }
    contexts = []
    for entry in _plain_entries(merged.get("contexts")):
        if not entry.get("name"):
            continue
        body = entry.get("context") or {}
        cluster = str(body.get("cluster") or "")
        contexts.append(
            KubeContext(
                name=str(entry["name"]),
                cluster=cluster,
                user=str(body.get("user") or ""),
                namespace=body.get("namespace") or None,
                server=servers.get(cluster),
            )
        )
    current = merged.get("current-context") or None
    return KubeconfigContexts(contexts=contexts, current=str(current) if current else None)


def read_contexts(settings: Settings) -> KubeconfigContexts:
    """Every context of the kubeconfig files (merged as kubectl does)."""
    merged = _merge(settings)
    if merged is None:
        shown = ":".join(str(path) for path in settings.kubeconfig_paths) or "(empty)"
        raise KubeconfigError(
            f"No kubeconfig found at {shown}, so there are no contexts (in-cluster config has none). "
            "Fix: set KUBECONFIG to a kubeconfig file."
        )
    return _contexts_of(merged[1])


async def load_config(settings: Settings) -> LoadedConfig:
    """The client configuration for `settings`: the kubeconfig's context (K3S_CONTEXT or current-context), or
    the pod's service account when there is no kubeconfig file and the process runs in a pod."""
    merged = await asyncio.to_thread(_merge, settings)
    configuration = Configuration()
    if merged is None:
        if settings.kubernetes_service_host:
            try:
                load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            except ConfigException as error:
                raise KubeconfigError(
                    f"In-cluster config could not be loaded: {error}. Fix: mount the service account "
                    "token, or set KUBECONFIG to a kubeconfig file."
                ) from error
            return LoadedConfig(configuration, "in-cluster service account", _service_account_namespace())
        shown = ":".join(str(p) for p in settings.kubeconfig_paths) or "(empty)"
        raise KubeconfigError(
            f"No kubeconfig found at {shown} (from KUBECONFIG, default ~/.kube/config) and not running "
            "in a pod. Fix: set KUBECONFIG to the path of a valid kubeconfig file."
        )
    label, merger = merged
    try:
        loader = KubeConfigLoader(config_dict=merger.config, config_base_path=None, active_context=settings.context)
        await loader.load_and_set(configuration)
    except _PARSE_ERRORS as error:
        raise KubeconfigError(
            f"The kubeconfig at {label} could not be loaded: {type(error).__name__}: {error}. "
            "Fix: repair the file (check it with `kubectl config view`), or point KUBECONFIG at a "
            "valid one" + (f"; the context {settings.context!r} must exist" if settings.context else "") + "."
        ) from error
    context = _contexts_of(merger).get(settings.context)
    return LoadedConfig(configuration, label, context.namespace if context else None)


_SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


def _service_account_namespace() -> str | None:
    try:
        with open(_SERVICE_ACCOUNT_NAMESPACE, encoding="utf-8") as file:
            return file.read().strip() or None
    except OSError:
        return None
