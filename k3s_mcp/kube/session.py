"""The Kubernetes session: lifecycle and transport of one API client, and the object operations tools call.

How a tool module uses it:

* ``session = current_session()`` gives the session of the app serving the current request (the root
  server's middleware puts it in a context variable, so tool modules need no wiring).
* ``info = await session.resolve("deploy")`` maps any kind, plural, short name or ``kind.group`` the
  cluster serves (CRDs included) to a :class:`ResourceInfo`.
* ``ns = session.namespace_or_default(namespace)`` is the namespace of a call that may omit it.
* ``await session.get(info, name, ns)``, ``list_page``, ``apply``, ``patch``, ``create``, ``delete``,
  ``execute`` return plain JSON dicts (camelCase, as kubectl -o json), Secret values masked.
* Failures raise :class:`k3s_mcp.kube.errors.KubeError` already worded with the object, namespace and fix.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any, Literal

from kubernetes_asyncio.client import ApiClient, Configuration
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.stream import WsApiClient
from multidict import CIMultiDict

from k3s_mcp.kube import exec as exec_
from k3s_mcp.kube import writes
from k3s_mcp.kube.access import AccessPolicy, request_scope
from k3s_mcp.kube.config import load_config
from k3s_mcp.kube.discovery import Discovery, ResourceInfo
from k3s_mcp.kube.errors import KubeError, Target, api_errors
from k3s_mcp.kube.identity import current_identity
from k3s_mcp.settings import Settings
from k3s_mcp.views.masking import mask_secrets_in

# A server-side Table (the printer columns `kubectl get` shows), with a plain list as the fallback for a server
# that has no Table for the kind; `TableObjects` says what each row carries besides its cells.
TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
TableObjects = Literal["None", "Metadata"]

log = logging.getLogger(__name__)


def skip_environment_lookups(client: ApiClient) -> None:
    """Turn off aiohttp's `trust_env` on the client's HTTP session when no proxy variable is set.

    kubernetes_asyncio opens its session with trust_env=True, so aiohttp reads the proxy variables and parses
    ~/.netrc again for every request (about 0.4 ms of each API call here). With no proxy variable set, what is
    left to find there is .netrc credentials, which no Kubernetes client sends (client-go honours the proxy
    variables, never .netrc). With a proxy variable set, nothing changes.
    """
    if urllib.request.getproxies():
        return
    http = client.rest_client.pool_manager
    if hasattr(http, "_trust_env"):
        http._trust_env = False


class KubeSession:
    """One shared API client per app, loaded lazily so a broken kubeconfig never stops start-up."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: ApiClient | None = None
        self._ws_client: WsApiClient | None = None
        self._configuration: Configuration | None = None
        self._load_lock = asyncio.Lock()
        self._discovery = Discovery(self.request, settings.discovery_ttl_seconds)
        self.source: str = ""
        self.context_namespace: str | None = None
        self.access = AccessPolicy.from_text(settings.denied_kinds, settings.allowed_namespaces)

    # -- life cycle -------------------------------------------------------------------------------

    async def open(self) -> None:
        """Try to load the config at start-up; a failure is logged and reported by each tool later."""
        try:
            await self.api_client()
        except KubeError as error:
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

    async def api_client(self) -> ApiClient:
        """The shared ApiClient; loads the config on first use (and retries on later calls if it failed)."""
        if self._client is not None:
            return self._client
        async with self._load_lock:
            if self._client is None:
                loaded = await load_config(self.settings)
                self.source = loaded.source
                self.context_namespace = loaded.namespace
                self._configuration = loaded.configuration
                self._client = ApiClient(loaded.configuration)
                self._client.user_agent = "k3s-mcp"
                skip_environment_lookups(self._client)
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
        await self.check_access(method, path, body)
        query = list(query or [])
        headers = await self.request_headers(client, query, content_type=content_type, accept=accept)
        with self.errors(target):
            # The REST client directly rather than call_api, which keeps headers in a dict: impersonation sends
            # one Impersonate-Group header per group.
            response = await client.rest_client.request(
                method,
                f"{client.configuration.host}{path}",
                query_params=query,  # type: ignore[arg-type]  # the client's hints say dict; it url-encodes pairs
                headers=headers,  # type: ignore[arg-type]  # a multidict, so a header can repeat
                body=client.sanitize_for_serialization(body) if body is not None else None,
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

    async def request_headers(
        self, client: ApiClient, query: list[tuple[str, str]], *, content_type: str, accept: str
    ) -> CIMultiDict[str]:
        """Headers of one request: content types, the client's defaults, credentials, and the impersonation
        headers of the current identity (``k3s_mcp.kube.identity``) when there is one."""
        headers: CIMultiDict[str] = CIMultiDict({"Content-Type": content_type, "Accept": accept})
        headers.update(client.default_headers)
        await client.update_params_for_auth(headers, query, ["BearerToken"])  # type: ignore[arg-type]
        identity = current_identity()
        if identity is not None:
            for name, value in identity.headers():
                headers.add(name, value)
        return headers

    async def check_access(self, method: str, path: str, body: Any = None) -> None:
        """Refuse a request the access policy (K3S_DENIED_KINDS, K3S_ALLOWED_NAMESPACES) forbids; see
        :mod:`k3s_mcp.kube.access`. Discovery and other non-resource paths always pass."""
        if not self.access.active:
            return
        scope = request_scope(path)
        if scope is None:
            return
        self.access.check(method, scope, await self._discovery.served(scope.group, scope.resource), body)

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
        if not self.settings.reveal_secrets and _may_hold_secrets(raw, path):
            mask_secrets_in(decoded, all_secrets=_is_secret_path(path), fingerprints=_fingerprint_secrets.get())
        return decoded

    @contextmanager
    def secret_fingerprints(self) -> Iterator[None]:
        """Inside the block (this task only), masked Secret values also carry a keyed fingerprint, so a diff of two
        reads sees a changed value of the same size; the value itself still never leaves the session."""
        token = _fingerprint_secrets.set(True)
        try:
            yield
        finally:
            _fingerprint_secrets.reset(token)

    async def request_text(self, path: str, *, target: Target, query: list[tuple[str, str]] | None = None) -> str:
        """GET a plain-text endpoint (pod logs)."""
        raw = await self._send("GET", path, target=target, query=query, accept="*/*")
        return (raw or b"").decode("utf-8", "replace")

    # -- discovery and namespaces ----------------------------------------------------------------

    async def resolve(self, kind: str, api_version: str | None = None) -> ResourceInfo:
        """The resource type for a kind, plural, short name or `kind.group` (see :mod:`k3s_mcp.kube.discovery`)."""
        return await self._discovery.resolve(kind, api_version)

    async def resource_types(self, refresh: bool = False) -> list[ResourceInfo]:
        """Every resource type the cluster serves, one entry per group/version/kind."""
        return await self._discovery.resource_types(refresh)

    @property
    def default_namespace(self) -> str:
        """K3S_DEFAULT_NAMESPACE when set, else the kubeconfig context's namespace, else `default`."""
        if "default_namespace" in self.settings.model_fields_set or not self.context_namespace:
            return self.settings.default_namespace
        return self.context_namespace

    def namespace_or_default(self, namespace: str | None) -> str:
        """The namespace of a call: the one given, or the default when it was omitted (or empty)."""
        return namespace or self.default_namespace

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
        table: TableObjects | None = None,
    ) -> dict[str, Any]:
        """List one page; `namespace=None` (or empty) lists across all namespaces.

        With `table`, the API server's own Table of the page is asked for ("None": cells only, "Metadata": each
        row also carries its object's metadata); a server that has no Table for the kind answers a plain list.
        """
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
        accept = "application/json"
        if table is not None:
            query.append(("includeObject", table))
            accept = TABLE_ACCEPT
        target = Target(info.resource, None, ns, action="list")
        try:
            return await self.request("GET", info.path(ns), target=target, query=query, accept=accept)
        except KubeError as error:
            if continue_token and ("HTTP 410" in str(error) or "expired" in str(error).lower()):
                raise KubeError(
                    "The continue token has expired (the list changed too much). Call again without it."
                ) from error
            raise

    async def apply(
        self, info: ResourceInfo, manifest: dict[str, Any], namespace: str | None, *, dry_run: bool, force: bool
    ) -> dict[str, Any]:
        """Server-side apply with the `k3s-mcp` field manager (see :mod:`k3s_mcp.kube.writes`)."""
        return await writes.apply(self, info, manifest, namespace, dry_run=dry_run, force=force)

    async def patch(
        self,
        info: ResourceInfo,
        name: str,
        namespace: str | None,
        patch: Any,
        *,
        action: str,
        dry_run: bool = False,
        subresource: str | None = None,
        content_type: str = writes.MERGE_PATCH,
    ) -> dict[str, Any]:
        """Patch one object or its subresource (a merge patch unless `content_type` says otherwise)."""
        return await writes.patch(
            self,
            info,
            name,
            namespace,
            patch,
            action=action,
            dry_run=dry_run,
            subresource=subresource,
            content_type=content_type,
        )

    async def create(
        self, info: ResourceInfo, namespace: str | None, body: dict[str, Any], *, dry_run: bool
    ) -> dict[str, Any]:
        return await writes.create(self, info, namespace, body, dry_run=dry_run)

    async def delete(
        self, info: ResourceInfo, name: str, namespace: str | None, *, dry_run: bool = False
    ) -> dict[str, Any]:
        return await writes.delete(self, info, name, namespace, dry_run=dry_run)

    async def execute(self, pod: str, namespace: str, command: list[str], container: str | None) -> exec_.ExecResult:
        """Run argv in a container (see :mod:`k3s_mcp.kube.exec`); no shell is added."""
        return await exec_.execute(self, pod, namespace, command, container)


def _decode_object(raw: bytes | None) -> dict[str, Any]:
    if not raw:
        return {}
    decoded = json.loads(raw, object_hook=_without_managed_fields)
    return decoded if isinstance(decoded, dict) else {"items": decoded}


def _without_managed_fields(value: dict[str, Any]) -> dict[str, Any]:
    """An object's metadata without managedFields, dropped while the answer is decoded.

    No tool shows managedFields (every view trims them), and they are most of an object's metadata: dropping them
    as each object is decoded halves the time and the memory of decoding a list (a 1,000-pod Table: 89 -> 42 ms,
    peak 11.5 -> 4.7 MB). Only a list of managed-fields entries (each with `manager` and `fieldsType`) next to
    other ObjectMeta fields is dropped, so a ConfigMap key or a custom field that merely has the name stays.
    """
    entries = value.get("managedFields")
    if (
        isinstance(entries, list)
        and ("name" in value or "generateName" in value)
        and all(isinstance(entry, dict) and "manager" in entry and "fieldsType" in entry for entry in entries)
    ):
        del value["managedFields"]
    return value


_SECRET_PATH = re.compile(r"^/api/v1/(?:namespaces/[^/]+/)?secrets(?:/|$)")


def _is_secret_path(path: str) -> bool:
    return bool(_SECRET_PATH.match(path))


def _may_hold_secrets(raw: bytes | None, path: str) -> bool:
    """Whether the answer needs the masking walk: every answer of a Secret path, and any other whose JSON holds the
    string "Secret" (a kind), which JSON writes either literally or with \\u escapes, so an answer without
    either cannot hold an object of kind Secret and is not walked."""
    if _is_secret_path(path):
        return True
    if not raw:
        return False
    return b'"Secret"' in raw or b"\\u" in raw


_current_session: ContextVar[KubeSession | None] = ContextVar("k3s_mcp_session", default=None)
_fingerprint_secrets: ContextVar[bool] = ContextVar("k3s_mcp_secret_fingerprints", default=False)


def current_session() -> KubeSession:
    """The session of the app serving this request (set by the root server's middleware)."""
    session = _current_session.get()
    if session is None:
        raise KubeError("No Kubernetes session is active: the tool must be called through the k3s-mcp server.")
    return session


@asynccontextmanager
async def session_scope(session: KubeSession) -> AsyncIterator[KubeSession]:
    """Make `session` the current one for the duration of a request."""
    token = _current_session.set(session)
    try:
        yield session
    finally:
        _current_session.reset(token)
