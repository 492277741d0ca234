"""The access policy: kinds the server never touches (K3S_DENIED_KINDS) and the namespaces it may work in
(K3S_ALLOWED_NAMESPACES), enforced by the session on every API request after the kind is resolved.

The rule of each request is read from its path, which only :mod:`k3s_mcp.kube.requests` builds, and from the
resource type discovery knows for it, so no tool can go around it:

* a denied kind is refused for every verb, matched by every name of its resource type (kind, plural, singular,
  short names, ``plural.group``, ``Kind.group``), the same matching the confirmation policy uses;
* under a namespace allow-list, namespaced kinds are reached only in an allowed namespace, and a list across all
  namespaces is refused (narrowing it would need one request per namespace and could not keep one continue token);
  a Namespace object is read or written only when its name is allowed; other cluster-scoped kinds (Nodes,
  StorageClasses, CRDs, ClusterRoles, ...) may be read but never written, since every namespace shares them.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from k3s_mcp.kube.discovery import ResourceInfo
from k3s_mcp.kube.errors import KubeError

READ_METHODS = frozenset({"GET", "HEAD"})
_RESOURCE_PATH = re.compile(
    r"^/(?:api/(?P<core_version>[^/]+)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))"
    r"(?:/namespaces/(?P<namespace>[^/]+))?(?:/(?P<resource>[^/]+)(?:/(?P<name>[^/]+))?)?(?:/.*)?$"
)


class AccessDeniedError(KubeError):
    """A request the server's access policy refuses (K3S_DENIED_KINDS, K3S_ALLOWED_NAMESPACES)."""


def split_patterns(value: str) -> list[str]:
    """The comma-separated patterns of a setting, blanks dropped."""
    return [part.strip() for part in value.split(",") if part.strip()]


def normalised_kind(name: str) -> str:
    """Kind names compared without case, underscores, dashes or a plural 's' ('scaled_objects' = 'ScaledObject')."""
    flat = name.replace("_", "").replace("-", "").lower()
    return flat[:-1] if flat.endswith("s") and len(flat) > 1 else flat


def matching_pattern(value: str, patterns: Sequence[str], *, kind: bool = False) -> str | None:
    """The first pattern `value` matches (shell wildcards; kinds compared by :func:`normalised_kind`), or None."""
    for pattern in patterns:
        if kind:
            if fnmatch.fnmatchcase(normalised_kind(value), normalised_kind(pattern)):
                return pattern
        elif fnmatch.fnmatchcase(value, pattern):
            return pattern
    return None


# Resource types the API server serves from one store under two groups: a rule naming either reaches both.
_SAME_OBJECTS = {("", "events"): "events.k8s.io", ("events.k8s.io", "events"): ""}


def kind_names(info: ResourceInfo) -> tuple[str, ...]:
    """Every name of a resource type: kind, plural, singular, short names, ``plural.group`` and ``Kind.group``
    (and those of the other group serving the same objects: core ``events`` are ``events.events.k8s.io``)."""
    names = [info.kind, info.resource, info.singular, info.qualified, *info.short_names]
    for group in (info.group, _SAME_OBJECTS.get((info.group, info.resource))):
        if group:
            names += [f"{info.resource}.{group}", f"{info.kind}.{group}"]
    return tuple(dict.fromkeys(name for name in names if name))


def matching_kind_pattern(names: Iterable[str], patterns: Sequence[str]) -> str | None:
    """The first kind pattern any of `names` matches, or None."""
    for name in names:
        found = matching_pattern(name, patterns, kind=True)
        if found is not None:
            return found
    return None


def plural_kind(kind: str) -> str:
    """'Secret' -> 'Secrets', 'Ingress' -> 'Ingresses', 'NetworkPolicy' -> 'NetworkPolicies' (for messages)."""
    if kind.endswith(("s", "x", "ch", "sh")):
        return kind + "es"
    if kind.endswith("y") and kind[-2:-1].lower() not in "aeiou":
        return kind[:-1] + "ies"
    return kind + "s"


@dataclass(frozen=True)
class RequestScope:
    """What a resource path addresses: its group and resource, the namespace in the path, the object's name."""

    group: str
    resource: str
    namespace: str | None
    name: str | None


def request_scope(path: str) -> RequestScope | None:
    """The scope of a resource path, or None for discovery and other non-resource paths (/api, /version)."""
    found = _RESOURCE_PATH.match(path)
    if found is None:
        return None
    namespace, resource, name = found.group("namespace"), found.group("resource"), found.group("name")
    group = found.group("group") or ""
    if resource is None:
        if namespace is None:
            return None  # /api/v1, /apis/apps/v1: discovery
        # /api/v1/namespaces/<name>: the Namespace object itself.
        return RequestScope("", "namespaces", None, namespace) if not group else None
    if namespace is not None and not group and found.group("core_version") and resource in ("status", "finalize"):
        return RequestScope("", "namespaces", None, namespace)  # a Namespace object's subresource
    return RequestScope(group, resource, namespace, name)


@dataclass(frozen=True)
class AccessPolicy:
    """K3S_DENIED_KINDS and K3S_ALLOWED_NAMESPACES as patterns; empty = no restriction of that sort."""

    denied_kinds: tuple[str, ...] = ()
    allowed_namespaces: tuple[str, ...] = ()

    @classmethod
    def from_text(cls, denied_kinds: str, allowed_namespaces: str) -> AccessPolicy:
        return cls(tuple(split_patterns(denied_kinds)), tuple(split_patterns(allowed_namespaces)))

    @property
    def active(self) -> bool:
        return bool(self.denied_kinds or self.allowed_namespaces)

    def namespace_allowed(self, namespace: str) -> bool:
        return not self.allowed_namespaces or matching_pattern(namespace, self.allowed_namespaces) is not None

    def _namespace_refusal(self, namespace: str) -> AccessDeniedError:
        return AccessDeniedError(
            f"Refused: namespace {namespace!r} is not allowed on this server (K3S_ALLOWED_NAMESPACES="
            f"{','.join(self.allowed_namespaces)})."
        )

    def check_kind(self, info: ResourceInfo) -> None:
        """Refuse a denied kind, whatever the verb."""
        if self.denied_kinds and matching_kind_pattern(kind_names(info), self.denied_kinds) is not None:
            raise AccessDeniedError(f"Refused: {plural_kind(info.kind)} are denied on this server (K3S_DENIED_KINDS).")

    def check(self, method: str, scope: RequestScope, info: ResourceInfo | None, body: Any = None) -> None:
        """Refuse the request `method` on `scope` (whose resource type is `info`) when the policy forbids it."""
        if info is not None:
            self.check_kind(info)
        if not self.allowed_namespaces:
            return
        if scope.namespace is not None:
            if not self.namespace_allowed(scope.namespace):
                raise self._namespace_refusal(scope.namespace)
            return
        if scope.group == "" and scope.resource == "namespaces":
            name = scope.name
            if name is None and method == "POST" and isinstance(body, dict):
                name = (body.get("metadata") or {}).get("name")
            if name is not None and not self.namespace_allowed(str(name)):
                raise self._namespace_refusal(str(name))
            if name is None and method not in READ_METHODS:
                raise self._namespace_refusal("(unnamed)")
            return
        namespaced = info.namespaced if info is not None else True
        if namespaced:
            what = info.resource if info is not None else scope.resource
            raise AccessDeniedError(
                f"Refused: listing {what} across all namespaces is not allowed on this server "
                f"(K3S_ALLOWED_NAMESPACES={','.join(self.allowed_namespaces)}). Pass one of those namespaces."
            )
        if method not in READ_METHODS:
            kind = info.kind if info is not None else scope.resource
            raise AccessDeniedError(
                f"Refused: {plural_kind(kind)} are cluster-scoped and shared by every namespace, so they are "
                f"read-only on this server (K3S_ALLOWED_NAMESPACES={','.join(self.allowed_namespaces)})."
            )
