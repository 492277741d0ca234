"""MCP resources: cluster objects addressed by ``k8s://`` URIs, read through the same path as the get tools.

The scheme (the host part says which of the two scopes a URI addresses, so no namespace name can be mistaken
for a keyword):

=============================================  =================================================================
``k8s://cluster/namespaces``                   the Namespaces (rows: name, status, age)
``k8s://cluster/nodes``                        the Nodes (rows: name, status, roles, version, age)
``k8s://cluster/api-resources``                the kinds the cluster serves (kind, plural, group/version, scope)
``k8s://cluster/{kind}/{name}``                one cluster-scoped object: ``k8s://cluster/nodes/node-1``
``k8s://namespaces/{namespace}/{kind}/{name}``  one namespaced object: ``k8s://namespaces/default/configmaps/app``
=============================================  =================================================================

``{kind}`` is anything get_resource takes (kind, plural, short name or ``plural.group``: ``Deployment``, ``deploy``,
``deployments.apps``); the URIs this server writes (completions, prompts) use ``plural`` or ``plural.group``. Each
value is decoded once and then validated as the request builder validates names (``%2F`` becomes ``/`` and is
refused, as are ``..``, control, zero-width and bidirectional characters and over-long values); a namespaced kind
under ``k8s://cluster/`` (and the reverse) is refused with the URI to use, and so is a URI with a query or fragment
(template matching would drop it silently) or over :data:`MAX_URI_LENGTH` characters.

A read is a GET built by :mod:`k3s_mcp.kube.requests`, so the access policy (K3S_DENIED_KINDS,
K3S_ALLOWED_NAMESPACES), Secret masking at the source, impersonation (K3S_IMPERSONATE) and the OAuth read scope
apply as to the get tools; the object is trimmed as get_resource trims it, redacted as the redaction middleware
redacts a tool answer (K3S_REDACT), and written as YAML. An object whose YAML is over :data:`MAX_TEXT_BYTES` is
answered with its metadata and a note pointing to get_resource. Failures are one sentence, never a traceback.
Reads use the active kubeconfig context: a URI has no ``context`` (call get_resource with one for another).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastmcp.exceptions import ResourceError
from fastmcp.resources import ResourceContent, ResourceResult
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from mcp_types import ReadResourceRequestParams

from k3s_mcp.kube import KubeError, KubeSession, ResourceInfo
from k3s_mcp.kube.identity import Identity, IdentityError, identity_scope
from k3s_mcp.kube.requests import check_name, check_namespace, check_segment
from k3s_mcp.settings import Settings
from k3s_mcp.views.masking import trim

if TYPE_CHECKING:
    from fastmcp import FastMCP

log = logging.getLogger(__name__)

SCHEME = "k8s://"
CLUSTER_OBJECT = "k8s://cluster/{kind}/{name}"
NAMESPACED_OBJECT = "k8s://namespaces/{namespace}/{kind}/{name}"
YAML = "application/yaml"
MAX_URI_LENGTH = 1024
MAX_TEXT_BYTES = 256 * 1024
"""Most YAML text one read answers; a larger object is answered with its metadata (get_resource has it all)."""
MAX_ROWS = 500
"""Most rows a listing resource (namespaces, nodes) holds; the rest is counted, not shown."""

_OBJECT_URI = re.compile(
    r"^k8s://(?:cluster/(?P<ckind>[^/]+)/(?P<cname>[^/]+)|namespaces/(?P<ns>[^/]+)/(?P<kind>[^/]+)/(?P<name>[^/]+))$"
)


@dataclass(frozen=True)
class ObjectRef:
    """One object a ``k8s://`` URI names: its kind as given, its name, and its namespace (None: cluster-scoped)."""

    kind: str
    name: str
    namespace: str | None


def check_kind_text(kind: str) -> str:
    """A kind as a URI or prompt gives it: one path segment (the cluster's discovery decides whether it exists)."""
    return check_segment(kind, "kind")


def object_ref(kind: str, name: str, namespace: str | None) -> ObjectRef:
    """An :class:`ObjectRef` of already decoded values, each refused unless it is a safe single segment."""
    check_kind_text(kind)
    check_segment(name, "name")
    if namespace is not None:
        check_namespace(namespace)
    return ObjectRef(kind, name, namespace)


def parse_object_uri(uri: str) -> ObjectRef:
    """The object a ``k8s://`` object URI names (percent-decoded once, each part validated)."""
    from urllib.parse import unquote

    if not isinstance(uri, str) or len(uri) > MAX_URI_LENGTH:
        raise KubeError(f"Invalid resource URI: it must be a k8s:// URI of at most {MAX_URI_LENGTH} characters.")
    refusal = uri_refusal(uri)
    if refusal is not None:
        raise KubeError(refusal)
    found = _OBJECT_URI.match(uri)
    if found is None:
        raise KubeError(
            f"Invalid resource URI {_shown(uri)}: an object is k8s://cluster/<kind>/<name> or "
            "k8s://namespaces/<namespace>/<kind>/<name>."
        )
    if found.group("ckind") is not None:
        return object_ref(unquote(found.group("ckind")), unquote(found.group("cname")), None)
    return object_ref(unquote(found.group("kind")), unquote(found.group("name")), unquote(found.group("ns")))


def object_uri(info: ResourceInfo, name: str, namespace: str | None) -> str:
    """The URI this server writes for one object (``plural`` or ``plural.group`` as its kind)."""
    if info.namespaced and namespace:
        return f"k8s://namespaces/{namespace}/{info.qualified}/{name}"
    return f"k8s://cluster/{info.qualified}/{name}"


def _shown(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "...'"


async def resolve_ref(session: KubeSession, ref: ObjectRef) -> ResourceInfo:
    """The resource type of `ref`, its name checked by the kind's own rule and its scope matched to the URI's."""
    info = await session.resolve(ref.kind)
    check_name(info, ref.name)
    if info.namespaced and ref.namespace is None:
        raise KubeError(
            f"{info.kind} objects live in a namespace: use k8s://namespaces/<namespace>/{info.qualified}/{ref.name}."
        )
    if not info.namespaced and ref.namespace is not None:
        raise KubeError(f"{info.kind} objects are cluster-scoped: use k8s://cluster/{info.qualified}/{ref.name}.")
    return info


# -- the caller ------------------------------------------------------------------------------------


def caller_identity(settings: Settings) -> Identity | None:
    """Who a resource read, completion or subscription acts as, checked as the tool middleware checks a call: the
    OAuth read scope when there is a token, and the token's identity under K3S_IMPERSONATE (none: refused)."""
    from fastmcp.server.dependencies import get_access_token

    from k3s_mcp.middleware.identity import NO_CALLER, identity_from_token
    from k3s_mcp.middleware.scopes import SCOPE_READ, scope_allows

    token = get_access_token()
    if token is not None and settings.oauth_issuer.strip() and not scope_allows(token.scopes, SCOPE_READ):
        raise KubeError(f"Refused: reading cluster resources needs the OAuth scope {SCOPE_READ!r}.")
    if not settings.impersonate:
        return None
    if token is None:
        raise KubeError(NO_CALLER.replace("this call", "this request"))
    try:
        return identity_from_token(
            token, user_claim=settings.impersonate_user_claim, groups_claim=settings.impersonate_groups_claim
        )
    except IdentityError as error:
        raise KubeError(str(error)) from None


# -- answers ---------------------------------------------------------------------------------------


def redacted(value: dict[str, Any], settings: Settings) -> tuple[dict[str, Any], int]:
    """`value` redacted as the redaction middleware redacts a tool answer (K3S_REDACT=false: as it is)."""
    if not settings.redact:
        return value, 0
    from k3s_mcp.views.redaction import redact_structured

    return redact_structured(value, reveal_secrets=settings.reveal_secrets)


def redacted_message(message: str, settings: Settings) -> str:
    if not settings.redact:
        return message
    from k3s_mcp.views.redaction import redact, redaction_note

    text, count = redact(message)
    return f"{text} {redaction_note(count)}" if count else text


def yaml_text(value: Any) -> str:
    import yaml

    return str(yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=120))


def bounded_object_text(obj: dict[str, Any], count: int) -> str:
    """YAML of an object; over :data:`MAX_TEXT_BYTES`, its identity and a note instead."""
    text = yaml_text(obj)
    size = len(text.encode())
    if size > MAX_TEXT_BYTES:
        metadata = obj.get("metadata") or {}
        kept = {
            key: metadata[key]
            for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp", "labels")
            if key in metadata
        }
        text = yaml_text(
            {
                "apiVersion": obj.get("apiVersion"),
                "kind": obj.get("kind"),
                "metadata": kept,
                "note": f"The object is {size} bytes of YAML, over the {MAX_TEXT_BYTES} bytes a resource read "
                "answers: call get_resource for all of it.",
            }
        )
    if count:
        from k3s_mcp.views.redaction import redaction_note

        text = f"# {redaction_note(count)}\n{text}"
    return text


def text_result(text: str) -> ResourceResult:
    return ResourceResult([ResourceContent(text, mime_type=YAML)])


class ClusterResources:
    """Reads of ``k8s://`` URIs for one app: its session and settings, and the caller's identity per read."""

    def __init__(self, session: KubeSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    async def answer(self, read: Callable[[], Awaitable[str]]) -> ResourceResult:
        """Run one read as the caller; any failure is one sentence (redacted), the traceback only in the log."""
        try:
            identity = caller_identity(self.settings)
            with identity_scope(identity):
                return text_result(await read())
        except KubeError as error:
            # The caller's mistake or the policy's refusal, worded for the caller: no traceback in the log for it.
            raise ResourceError(redacted_message(str(error), self.settings), log_level=logging.DEBUG) from None
        except Exception as error:
            log.exception("Reading a k8s:// resource failed unexpectedly")
            from k3s_mcp.kube import Target, translate_api_error

            translated = translate_api_error(error, Target(kind="the cluster", action="read a resource of"))
            raise ResourceError(redacted_message(str(translated), self.settings)) from None

    async def object_text(self, ref: ObjectRef) -> str:
        info = await resolve_ref(self.session, ref)
        obj = await self.session.get(info, ref.name, ref.namespace)
        trimmed = trim({**obj, "kind": info.kind}, reveal_secrets=self.settings.reveal_secrets)
        shown, count = redacted(trimmed, self.settings)
        return bounded_object_text(shown, count)

    async def rows_text(self, kind: str, row: Callable[[dict[str, Any]], Any]) -> str:
        info = await self.session.resolve(kind)
        listing = await self.session.list_page(info, None, limit=MAX_ROWS)
        rows = [row(item).model_dump(mode="json") for item in listing.get("items") or []]
        answer: dict[str, Any] = {"count": len(rows), "items": rows}
        if (listing.get("metadata") or {}).get("continue"):
            answer["note"] = f"Showing the first {MAX_ROWS}; get_resources lists the rest with a continue_token."
        shown, count = redacted(answer, self.settings)
        return bounded_object_text(shown, count)

    async def kinds_text(self) -> str:
        infos = sorted(await self.session.resource_types(), key=lambda info: (info.group, info.kind))
        access = self.session.access
        kinds = [
            {
                "kind": info.kind,
                "resource": info.qualified,
                "apiVersion": info.api_version,
                "namespaced": info.namespaced,
            }
            for info in infos
            if not _denied(access, info)
        ]
        return yaml_text({"count": len(kinds), "kinds": kinds})


def _denied(access: Any, info: ResourceInfo) -> bool:
    try:
        access.check_kind(info)
    except KubeError:
        return True
    return False


def uri_refusal(uri: str) -> str | None:
    """Why a ``k8s://`` URI is refused before it is matched to a template, or None: template matching would drop a
    query or fragment silently (``.../configmaps/x?dryRun=All`` would read ``x``), so they are refused instead."""
    if not uri.startswith(SCHEME):
        return None
    if len(uri) > MAX_URI_LENGTH:
        return f"Invalid resource URI: a k8s:// URI is at most {MAX_URI_LENGTH} characters."
    if "?" in uri or "#" in uri:
        return f"Invalid resource URI {_shown(uri)}: a k8s:// URI takes no query or fragment."
    return None


class UriCheckMiddleware(Middleware):
    """Refuses what :func:`uri_refusal` refuses, with its sentence, before FastMCP matches the URI."""

    async def on_read_resource(
        self,
        context: MiddlewareContext[ReadResourceRequestParams],
        call_next: CallNext[ReadResourceRequestParams, ResourceResult],
    ) -> ResourceResult:
        refusal = uri_refusal(str(context.message.uri))
        if refusal is not None:
            raise ResourceError(refusal, log_level=logging.DEBUG)
        return await call_next(context)


def register_resources(app: FastMCP[Any], session: KubeSession, settings: Settings) -> ClusterResources:
    """Add the ``k8s://`` resources and templates to `app`; returns the reader they share."""
    from k3s_mcp.views.core import namespace_row, node_row

    reader = ClusterResources(session, settings)
    app.add_middleware(UriCheckMiddleware())
    read_only = {"readOnlyHint": True, "idempotentHint": True}

    @app.resource(
        "k8s://cluster/namespaces",
        name="namespaces",
        title="Namespaces",
        description="The cluster's Namespaces as rows (name, status, age), at most 500.",
        mime_type=YAML,
        annotations=read_only,
    )
    async def namespaces() -> ResourceResult:
        return await reader.answer(lambda: reader.rows_text("namespaces", namespace_row))

    @app.resource(
        "k8s://cluster/nodes",
        name="nodes",
        title="Nodes",
        description="The cluster's Nodes as rows (status, roles, version, addresses, age), at most 500.",
        mime_type=YAML,
        annotations=read_only,
    )
    async def nodes() -> ResourceResult:
        return await reader.answer(lambda: reader.rows_text("nodes", node_row))

    @app.resource(
        "k8s://cluster/api-resources",
        name="api-resources",
        title="Resource kinds",
        description="Every kind the cluster serves (CRDs included) that this server may read: kind, plural.group, "
        "apiVersion, scope. The {kind} of the object templates takes any of these names.",
        mime_type=YAML,
        annotations=read_only,
    )
    async def api_resources() -> ResourceResult:
        return await reader.answer(reader.kinds_text)

    @app.resource(
        CLUSTER_OBJECT,
        name="cluster-object",
        title="Cluster-scoped object",
        description="One cluster-scoped object (Node, Namespace, StorageClass, PersistentVolume, ClusterRole, CRD, "
        "...) as trimmed YAML, e.g. k8s://cluster/nodes/node-1. Subscribable: updates follow the object.",
        mime_type=YAML,
        annotations=read_only,
    )
    async def cluster_object(kind: str, name: str) -> ResourceResult:
        return await reader.answer(lambda: reader.object_text(object_ref(kind, name, None)))

    @app.resource(
        NAMESPACED_OBJECT,
        name="namespaced-object",
        title="Namespaced object",
        description="One namespaced object (Pod, Deployment, ConfigMap, Secret with values masked, any CRD) as "
        "trimmed YAML, e.g. k8s://namespaces/default/deployments.apps/web. Subscribable: updates follow the object.",
        mime_type=YAML,
        annotations=read_only,
    )
    async def namespaced_object(namespace: str, kind: str, name: str) -> ResourceResult:
        return await reader.answer(lambda: reader.object_text(object_ref(kind, name, namespace)))

    return reader
