"""The async Kubernetes session: config loading, discovery, requests and the one API-error translation.

How a tool module uses it:

* ``session = current_session()`` gives the session of the app serving the current request (the root
  server's middleware puts it in a context variable, so mounted tool servers need no wiring).
* ``info = await session.resolve("deploy")`` maps any kind, plural, short name or ``kind.group`` the
  cluster serves (CRDs included) to a :class:`ResourceInfo`.
* ``await session.get(info, name, namespace)``, ``session.list(...)``, ``session.apply(...)``,
  ``session.delete(...)``, ``session.request(...)`` return plain JSON dicts (camelCase, as kubectl -o json).
* Errors: these methods already raise :class:`fastmcp.exceptions.ToolError` with a message naming the
  object, the namespace and the fix. A tool that calls a typed ``kubernetes_asyncio`` API itself
  (``CoreV1Api(await session.api_client())``) wraps the call in ``with api_errors(target):`` so the same
  :func:`translate_api_error` speaks for it. Tools never catch ``ApiException`` themselves.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import yaml
from fastmcp.exceptions import ToolError
from kubernetes_asyncio.client import ApiClient, Configuration, CoreV1Api
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.config import ConfigException
from kubernetes_asyncio.config.incluster_config import load_incluster_config
from kubernetes_asyncio.config.kube_config import KubeConfigLoader, KubeConfigMerger
from kubernetes_asyncio.stream import WsApiClient

from k3s_mcp.kube.requests import InvalidNameError as InvalidNameError
from k3s_mcp.kube.requests import api_path, check_name, check_namespace, check_segment
from k3s_mcp.render import mask_secrets_in
from k3s_mcp.settings import Settings

log = logging.getLogger(__name__)

FIELD_MANAGER = "k3s-mcp"
APPLY_PATCH_UTF8 = "application/apply-patch+yaml; charset=utf-8"
_AGGREGATED_DISCOVERY = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
)


@dataclass(frozen=True)
class ResourceInfo:
    """What discovery says about one resource type: where it lives and whether it is namespaced."""

    group: str
    version: str
    resource: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...] = ()
    short_names: tuple[str, ...] = ()
    singular: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """`deployments.apps` style name used in messages and RBAC rules."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        """REST path of the collection, or of one object when `name` is given (see :mod:`k3s_mcp.kube.requests`)."""
        return api_path(self, namespace, name, subresource)


@dataclass(frozen=True)
class Target:
    """The object a request is about; used only to word error messages."""

    kind: str
    name: str | None = None
    namespace: str | None = None
    action: str = "access"

    def describe(self) -> str:
        what = f"{self.kind} {self.name!r}" if self.name else self.kind
        if self.namespace:
            what += f" in namespace {self.namespace!r}"
        return what


@dataclass
class _Discovery:
    fetched_at: float = 0.0
    by_name: dict[str, ResourceInfo] = field(default_factory=dict)
    by_gvk: dict[tuple[str, str, str], ResourceInfo] = field(default_factory=dict)
    by_group_kind: dict[tuple[str, str], ResourceInfo] = field(default_factory=dict)


class KubeconfigError(ToolError):
    """The kubeconfig is missing or cannot be loaded."""


class UnknownKindError(ToolError):
    """Discovery knows no resource type by that kind, plural, short name or `kind.group`."""


_SECRET_TARGETS = {"secret", "secrets"}
_QUOTED_VALUE = re.compile(r'Invalid value: "(?:[^"\\]|\\.)*"')


def _api_message(error: ApiException) -> str:
    body: Any = error.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body:
        try:
            status = json.loads(body)
        except ValueError:
            return body.strip()[:500]
        if isinstance(status, dict) and status.get("message"):
            return str(status["message"])
    return str(error.reason or "")


def _invalid_causes(error: ApiException) -> list[str]:
    try:
        status = json.loads(error.body) if isinstance(error.body, str | bytes) else {}
    except ValueError:
        return []
    causes = (status.get("details") or {}).get("causes") or []
    return [f"{c.get('field', '?')}: {c.get('message', '')}" for c in causes if isinstance(c, dict)]


def translate_api_error(
    error: BaseException, target: Target, *, server: str | None = None, kubeconfig: str | None = None
) -> ToolError:
    """Turn an API or connection failure into a ToolError that names the object and the fix."""
    if isinstance(error, ToolError):
        return error
    what = target.describe()
    where = f" (kubeconfig: {kubeconfig})" if kubeconfig else ""
    if isinstance(error, ApiException):
        status = error.status or 0
        message = _api_message(error)
        if target.kind.lower() in _SECRET_TARGETS:
            # A validation message may quote the refused value; for a Secret that value is the secret.
            message = _QUOTED_VALUE.sub("Invalid value: (hidden)", message)
        if status == 404:
            scope = f" in namespace {target.namespace!r}" if target.namespace else ""
            name = f" {target.name!r}" if target.name else ""
            return ToolError(
                f"{target.kind}{name} not found{scope}. "
                "Check the name and namespace (list them with the matching get_* tool), "
                "or pass the namespace the object lives in."
            )
        if status == 403:
            rbac = re.search(r'cannot (\S+) resource "([^"]+)"(?: in API group "([^"]*)")?', message)
            if rbac:
                verb, resource, group = rbac.group(1), rbac.group(2), rbac.group(3) or ""
                qualified = f"{resource}.{group}" if group else resource
                scope = f" in namespace {target.namespace!r}" if target.namespace else " cluster-wide"
                return ToolError(
                    f"Forbidden: not allowed to {verb} {qualified}{scope} ({message}). "
                    f"Fix: bind a Role/ClusterRole granting '{verb}' on '{qualified}' to this identity, "
                    "or use a kubeconfig with more rights."
                )
            # Not an RBAC denial: a protected object (kube-system), an admission check, a terminating namespace.
            return ToolError(
                f"The API server refused to {target.action} {what}: {message}. This is the API server's own "
                "rule (a protected object or an admission check), not a missing RBAC permission."
            )
        if status == 401:
            return ToolError(
                f"Unauthorized: the API server rejected the credentials{where} ({message}). "
                "Fix: refresh the token or certificate in the kubeconfig."
            )
        if status == 409:
            return ToolError(
                f"Conflict on {what}: {message}. Fix: re-read the object and retry, "
                "or apply again (server-side apply with force takes ownership of conflicting fields)."
            )
        if status == 422:
            causes = "; ".join(_invalid_causes(error))
            detail = f" Invalid fields: {causes}." if causes else ""
            return ToolError(f"Invalid {what}: {message}.{detail} Fix the manifest and retry.")
        if status == 400:
            return ToolError(f"Bad request for {what}: {message}.")
        if status == 405:
            return ToolError(f"The API server does not allow '{target.action}' on {what}: {message}.")
        if status in (408, 429, 500, 502, 503, 504):
            return ToolError(f"The API server failed to {target.action} {what} (HTTP {status}): {message}. Retry.")
        return ToolError(f"Failed to {target.action} {what} (HTTP {status}): {message}.")
    if isinstance(error, aiohttp.WSServerHandshakeError):
        fake = ApiException(status=error.status, reason=error.message)
        return translate_api_error(fake, target, server=server, kubeconfig=kubeconfig)
    if isinstance(error, aiohttp.ClientConnectorError | aiohttp.ServerDisconnectedError | ConnectionError):
        return ToolError(
            f"Cannot reach the Kubernetes API server at {server or 'the configured address'} "
            f"({type(error).__name__}: {error}). Fix: check that the cluster is running and that the "
            f"kubeconfig{where} points at it."
        )
    if isinstance(error, TimeoutError | asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return ToolError(
            f"The Kubernetes API server at {server or 'the configured address'} did not answer in time "
            f"while trying to {target.action} {what}. Retry, or check the cluster's health."
        )
    if isinstance(error, aiohttp.ClientError | OSError):
        return ToolError(
            f"Request to the Kubernetes API server at {server or 'the configured address'} failed "
            f"({type(error).__name__}: {error}) while trying to {target.action} {what}."
        )
    if isinstance(error, ConfigException):
        return KubeconfigError(f"kubeconfig problem{where}: {error}. Fix: point KUBECONFIG at a valid kubeconfig.")
    return ToolError(f"Failed to {target.action} {what}: {type(error).__name__}: {error}")


class KubeSession:
    """One shared API client per app, loaded lazily so a broken kubeconfig never stops start-up."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: ApiClient | None = None
        self._ws_client: WsApiClient | None = None
        self._configuration: Configuration | None = None
        self._load_lock = asyncio.Lock()
        self._discovery = _Discovery()
        self._discovery_lock = asyncio.Lock()
        self.source: str = ""

    # -- life cycle -------------------------------------------------------------------------------

    async def open(self) -> None:
        """Try to load the config at start-up; a failure is logged and reported by each tool later."""
        try:
            await self.api_client()
        except ToolError as error:
            log.warning("Kubernetes config not loaded: %s", error)

    async def close(self) -> None:
        if self._ws_client is not None:
            await self._ws_client.close()
            self._ws_client = None
        if self._client is not None:
            await self._client.close()
            self._client = None

    @property
    def server(self) -> str | None:
        return self._configuration.host if self._configuration else None

    def _kubeconfig_label(self) -> str:
        return self.source or self.settings.kubeconfig

    async def _load_configuration(self) -> Configuration:
        paths = self.settings.kubeconfig_paths
        existing = [p for p in paths if p.is_file()]
        configuration = Configuration()
        if not existing:
            if self.settings.kubernetes_service_host:
                try:
                    load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
                except ConfigException as error:
                    raise KubeconfigError(
                        f"In-cluster config could not be loaded: {error}. Fix: mount the service account "
                        "token, or set KUBECONFIG to a kubeconfig file."
                    ) from error
                self.source = "in-cluster service account"
                return configuration
            shown = ":".join(str(p) for p in paths) or "(empty)"
            raise KubeconfigError(
                f"No kubeconfig found at {shown} (from KUBECONFIG, default ~/.kube/config) and not running "
                "in a pod. Fix: set KUBECONFIG to the path of a valid kubeconfig file."
            )
        label = ":".join(str(p) for p in existing)
        self.source = label
        try:
            merger = await asyncio.to_thread(KubeConfigMerger, label)
            loader = KubeConfigLoader(
                config_dict=merger.config, config_base_path=None, active_context=self.settings.context
            )
            await loader.load_and_set(configuration)
        except (ConfigException, yaml.YAMLError, OSError, KeyError, TypeError, ValueError) as error:
            raise KubeconfigError(
                f"The kubeconfig at {label} could not be loaded: {type(error).__name__}: {error}. "
                "Fix: repair the file (check it with `kubectl config view`), or point KUBECONFIG at a "
                "valid one"
                + (f"; the context {self.settings.context!r} must exist" if self.settings.context else "")
                + "."
            ) from error
        return configuration

    async def api_client(self) -> ApiClient:
        """The shared ApiClient; loads the config on first use (and retries on later calls if it failed)."""
        if self._client is not None:
            return self._client
        async with self._load_lock:
            if self._client is None:
                configuration = await self._load_configuration()
                self._configuration = configuration
                self._client = ApiClient(configuration)
                self._client.user_agent = "k3s-mcp"
        return self._client

    async def ws_client(self) -> WsApiClient:
        """A websocket-capable client (exec, attach) sharing the same configuration."""
        await self.api_client()
        if self._ws_client is None:
            self._ws_client = WsApiClient(self._configuration)
        return self._ws_client

    # -- error translation ------------------------------------------------------------------------

    @contextmanager
    def errors(self, target: Target) -> Iterator[None]:
        """Translate any API or connection failure inside the block for `target`."""
        with api_errors(target, server=self.server, kubeconfig=self._kubeconfig_label()):
            yield

    # -- raw requests -----------------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        path: str,
        *,
        target: Target,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        accept: str = "application/json",
        missing_ok: bool = False,
    ) -> bytes | None:
        client = await self.api_client()
        with self.errors(target):
            response = await client.call_api(
                path,
                method,
                query_params=query or [],
                header_params={"Content-Type": content_type, "Accept": accept},
                body=body,
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=self.settings.request_timeout_seconds,
            )
            async with response:
                raw: bytes = await response.read()
                if missing_ok and response.status == 404:
                    return None
                if response.status >= 400:
                    failure = ApiException(status=response.status, reason=response.reason)
                    failure.body = raw.decode("utf-8", "replace")  # type: ignore[assignment]
                    raise failure
            return raw

    async def request(
        self,
        method: str,
        path: str,
        *,
        target: Target,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> dict[str, Any]:
        """Send one request and return the JSON answer as a dict (Secret values masked, see :meth:`decode`)."""
        raw = await self._send(
            method, path, target=target, query=query, body=body, content_type=content_type, accept=accept
        )
        return self.decode(raw, path)

    def decode(self, raw: bytes | None, path: str) -> dict[str, Any]:
        """The JSON answer of `path`; Secret values are masked here, at the source, for every caller: all
        objects of a Secret path (lists, Tables, apply and delete answers) and any object of kind Secret inside
        another answer. Only K3S_REVEAL_SECRETS=true lets values through."""
        decoded = _decode_object(raw)
        if not self.settings.reveal_secrets:
            mask_secrets_in(decoded, all_secrets=_is_secret_path(path))
        return decoded

    async def request_text(self, path: str, *, target: Target, query: list[tuple[str, str]] | None = None) -> str:
        """GET a plain-text endpoint (pod logs)."""
        raw = await self._send("GET", path, target=target, query=query, accept="*/*")
        return (raw or b"").decode("utf-8", "replace")

    # -- discovery --------------------------------------------------------------------------------

    async def _fetch_discovery(self) -> _Discovery:
        target = Target(kind="API discovery", action="discover resources of")
        fresh = _Discovery(fetched_at=time.monotonic())
        documents = []
        for root in ("/api", "/apis"):
            document = await self.request("GET", root, target=target, accept=_AGGREGATED_DISCOVERY)
            if document.get("kind") == "APIGroupDiscoveryList":
                documents.append(document)
            else:
                documents.append(await self._legacy_discovery(root, document, target))
        for document in documents:
            for group_entry in document.get("items") or []:
                group = (group_entry.get("metadata") or {}).get("name") or ""
                for version_entry in group_entry.get("versions") or []:
                    version = version_entry.get("version", "")
                    for res in version_entry.get("resources") or []:
                        kind = (res.get("responseKind") or {}).get("kind") or res.get("kind") or ""
                        info = ResourceInfo(
                            group=group,
                            version=version,
                            resource=res.get("resource", ""),
                            kind=kind,
                            namespaced=res.get("scope", "Namespaced") == "Namespaced",
                            verbs=tuple(res.get("verbs") or ()),
                            short_names=tuple(res.get("shortNames") or ()),
                            singular=res.get("singularResource") or kind.lower(),
                        )
                        _index(fresh, info)
        return fresh

    async def _legacy_discovery(self, root: str, document: dict[str, Any], target: Target) -> dict[str, Any]:
        """Shape old-style discovery (/api versions, /apis groups) like the aggregated list."""
        versions: list[tuple[str, str]] = []
        if root == "/api":
            versions = [("", v) for v in document.get("versions") or []]
        else:
            for group in document.get("groups") or []:
                versions += [(group["name"], v["version"]) for v in group.get("versions") or []]
        lists = await asyncio.gather(
            *(self.request("GET", f"/api/{v}" if not g else f"/apis/{g}/{v}", target=target) for g, v in versions)
        )
        items: dict[str, dict[str, Any]] = {}
        for (group, version), listing in zip(versions, lists, strict=True):
            resources = [
                {
                    "resource": r["name"],
                    "responseKind": {"kind": r.get("kind", "")},
                    "scope": "Namespaced" if r.get("namespaced") else "Cluster",
                    "verbs": r.get("verbs"),
                    "shortNames": r.get("shortNames"),
                    "singularResource": r.get("singularName"),
                }
                for r in listing.get("resources") or []
                if "/" not in r.get("name", "")
            ]
            entry = items.setdefault(group, {"metadata": {"name": group}, "versions": []})
            entry["versions"].append({"version": version, "resources": resources})
        return {"items": list(items.values())}

    async def _discovery_map(self, refresh: bool = False) -> _Discovery:
        age = time.monotonic() - self._discovery.fetched_at
        if refresh or not self._discovery.by_name or age > self.settings.discovery_ttl_seconds:
            async with self._discovery_lock:
                age = time.monotonic() - self._discovery.fetched_at
                if refresh or not self._discovery.by_name or age > self.settings.discovery_ttl_seconds:
                    self._discovery = await self._fetch_discovery()
        return self._discovery

    async def resolve(self, kind: str, api_version: str | None = None) -> ResourceInfo:
        """Find the resource type for a kind, plural, short name or `kind.group`; refreshes once on a miss."""
        for refresh in (False, True):
            discovery = await self._discovery_map(refresh=refresh)
            found = _lookup(discovery, kind, api_version)
            if found is not None:
                return found
        hint = f" with apiVersion {api_version!r}" if api_version else ""
        raise UnknownKindError(
            f"Unknown kind {kind!r}{hint}: the cluster serves no such resource. "
            "Check the spelling (kind, plural or short name, e.g. 'Deployment', 'deploy'), "
            "or install the CRD that defines it."
        )

    async def resource_types(self, refresh: bool = False) -> list[ResourceInfo]:
        """Every resource type the cluster serves, one entry per group/version/kind."""
        discovery = await self._discovery_map(refresh=refresh)
        return list(discovery.by_gvk.values())

    # -- object operations ------------------------------------------------------------------------

    async def get(self, info: ResourceInfo, name: str, namespace: str | None) -> dict[str, Any]:
        ns = namespace if info.namespaced else None
        return await self.request("GET", info.path(ns, name), target=Target(info.kind, name, ns, action="get"))

    async def get_optional(self, info: ResourceInfo, name: str, namespace: str | None) -> dict[str, Any] | None:
        """The object, or None when it does not exist (other failures still raise)."""
        ns = namespace if info.namespaced else None
        path = info.path(ns, name)
        raw = await self._send("GET", path, target=Target(info.kind, name, ns, action="get"), missing_ok=True)
        return None if raw is None else self.decode(raw, path)

    async def list_page(
        self,
        info: ResourceInfo,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> dict[str, Any]:
        """List one page; `namespace=None` (or empty) lists across all namespaces."""
        ns = (namespace or None) if info.namespaced else None
        query: list[tuple[str, str]] = []
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        if limit:
            query.append(("limit", str(limit)))
        if continue_token:
            query.append(("continue", continue_token))
        target = Target(info.resource, None, ns, action="list")
        try:
            return await self.request("GET", info.path(ns), target=target, query=query)
        except ToolError as error:
            if continue_token and ("HTTP 410" in str(error) or "expired" in str(error).lower()):
                raise ToolError(
                    "The continue token has expired (the list changed too much). Call again without it."
                ) from error
            raise

    async def apply(
        self,
        info: ResourceInfo,
        manifest: dict[str, Any],
        namespace: str | None,
        *,
        dry_run: bool,
        force: bool,
    ) -> dict[str, Any]:
        """Server-side apply with the `k3s-mcp` field manager."""
        name = (manifest.get("metadata") or {}).get("name")
        ns = namespace if info.namespaced else None
        query = [("fieldManager", FIELD_MANAGER)]
        if force:
            query.append(("force", "true"))
        if dry_run:
            query.append(("dryRun", "All"))
        return await self.request(
            "PATCH",
            info.path(ns, name),
            target=Target(info.kind, name, ns, action="apply"),
            query=query,
            # The client would send JSON with \\uXXXX escapes, and the server reads an apply patch as YAML, where
            # an escaped surrogate pair (any emoji) is invalid: send UTF-8 JSON, which is also YAML.
            body=json.dumps(manifest, ensure_ascii=False).encode(),
            content_type=APPLY_PATCH_UTF8,
        )

    async def patch(
        self, info: ResourceInfo, name: str, namespace: str | None, patch: dict[str, Any], *, action: str
    ) -> dict[str, Any]:
        """Merge-patch one object (small targeted edits such as scale or a restart annotation)."""
        ns = namespace if info.namespaced else None
        return await self.request(
            "PATCH",
            info.path(ns, name),
            target=Target(info.kind, name, ns, action=action),
            query=[("fieldManager", FIELD_MANAGER)],
            body=patch,
            content_type="application/merge-patch+json",
        )

    async def delete(
        self, info: ResourceInfo, name: str, namespace: str | None, *, dry_run: bool = False
    ) -> dict[str, Any]:
        ns = namespace if info.namespaced else None
        body: dict[str, Any] = {
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "propagationPolicy": "Background",
        }
        if dry_run:
            body["dryRun"] = ["All"]
        return await self.request(
            "DELETE", info.path(ns, name), target=Target(info.kind, name, ns, action="delete"), body=body
        )

    async def execute(
        self,
        pod: str,
        namespace: str,
        command: list[str],
        container: str | None,
    ) -> ExecResult:
        """Run argv in a container through the exec subresource (websocket); no shell is added."""
        check_namespace(namespace)
        check_name(await self.resolve("pods"), pod)
        if container is not None:
            check_segment(container, "container name")
        client = await self.ws_client()
        target = Target("Pod", pod, namespace, action="exec into")
        limit = self.settings.exec_max_output_bytes
        result = ExecResult()
        with self.errors(target):
            kwargs: dict[str, Any] = {
                "command": command,
                "stdout": True,
                "stderr": True,
                "stdin": False,
                "tty": False,
            }
            if container:
                kwargs["container"] = container
            connect: Any = await CoreV1Api(client).connect_get_namespaced_pod_exec(
                pod, namespace, _preload_content=False, **kwargs
            )
            limit_seconds = self.settings.exec_timeout_seconds
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


def _decode_object(raw: bytes | None) -> dict[str, Any]:
    if not raw:
        return {}
    decoded = json.loads(raw)
    return decoded if isinstance(decoded, dict) else {"items": decoded}


_SECRET_PATH = re.compile(r"^/api/v1/(?:namespaces/[^/]+/)?secrets(?:/|$)")


def _is_secret_path(path: str) -> bool:
    return bool(_SECRET_PATH.match(path))


def _index(discovery: _Discovery, info: ResourceInfo) -> None:
    discovery.by_gvk.setdefault((info.group, info.version, info.kind), info)
    # The first version a group lists is its preferred one.
    discovery.by_group_kind.setdefault((info.group, info.kind.lower()), info)
    names = {
        info.kind.lower(),
        info.resource.lower(),
        info.singular.lower(),
        *(s.lower() for s in info.short_names),
    }
    for name in names:
        if not name:
            continue
        # Core and earlier-listed groups win a bare name, matching kubectl's priority.
        discovery.by_name.setdefault(name, info)
        if info.group:
            discovery.by_name.setdefault(f"{name}.{info.group}", info)


def _lookup(discovery: _Discovery, kind: str, api_version: str | None) -> ResourceInfo | None:
    if api_version:
        group, _, version = api_version.rpartition("/")
        exact = discovery.by_gvk.get((group, version, kind))
        if exact is not None:
            return exact
        for (g, v, k), info in discovery.by_gvk.items():
            if g == group and v == version and k.lower() == kind.lower():
                return info
        return None
    return discovery.by_name.get(kind.strip().lower())


@contextmanager
def api_errors(target: Target, *, server: str | None = None, kubeconfig: str | None = None) -> Iterator[None]:
    """Translate failures raised inside the block with :func:`translate_api_error`."""
    try:
        yield
    except ToolError:
        raise
    except (ApiException, aiohttp.ClientError, OSError, TimeoutError, ConfigException) as error:
        raise translate_api_error(error, target, server=server, kubeconfig=kubeconfig) from error


_current_session: ContextVar[KubeSession | None] = ContextVar("k3s_mcp_session", default=None)


def current_session() -> KubeSession:
    """The session of the app serving this request (set by the root server's middleware)."""
    session = _current_session.get()
    if session is None:
        raise ToolError("No Kubernetes session is active: the tool must be called through the k3s-mcp server.")
    return session


@asynccontextmanager
async def session_scope(session: KubeSession) -> AsyncIterator[KubeSession]:
    """Make `session` the current one for the duration of a request."""
    token = _current_session.set(session)
    try:
        yield session
    finally:
        _current_session.reset(token)
