"""The one builder of API paths: names and namespaces validated as the API server would, every segment escaped.

Every path the server sends to the API server is made here, from a discovered resource type and validated
names, never by formatting an argument into a string. A name that is not a valid object name of its kind
(`.`, `..`, `a/b`, `x?dryRun=All`, `%2e`, control characters, ...) is refused before any request, so an
argument can never leave its path segment: URL normalisation cannot turn `secrets/.` into the collection,
and `../secrets/x` cannot reach another resource type.

Query parameters are not built here from text: callers pass typed values as (key, value) pairs, which the
HTTP client form-encodes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import quote

from k3s_mcp.kube.errors import InvalidNameError

if TYPE_CHECKING:
    from k3s_mcp.kube.discovery import ResourceInfo

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
# Characters the API server's path-segment rule refuses, plus what a URL or a terminal would reinterpret.
# C1 controls, zero-width and bidirectional marks too: a name must not be able to spoof how an answer reads.
_NEVER_IN_SEGMENT = re.compile(r"[/%?#\\\s\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
# API groups whose object names only follow the path-segment rule (e.g. ClusterRole `system:node`).
_PATH_SEGMENT_GROUPS = frozenset({"rbac.authorization.k8s.io", "certificates.k8s.io"})
_DNS1035_RESOURCES = frozenset({("", "services")})
_DNS1123_LABEL_RESOURCES = frozenset({("", "namespaces")})

LABEL_RULE = (
    "a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, "
    "at most 63 characters)"
)
DNS1035_RULE = (
    "a DNS-1035 label (lowercase letters, digits and '-', starting with a letter, ending with a letter or digit, "
    "at most 63 characters)"
)
SUBDOMAIN_RULE = (
    "a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', each part starting and ending with a letter "
    "or digit, at most 253 characters)"
)
SEGMENT_RULE = (
    "a path segment name (not '.' or '..', no '/', '%', '?', '#', '\\', whitespace or control characters, "
    "at most 253 characters)"
)


def _shown(value: str) -> str:
    """The value as received, quoted and cut, so control characters and huge inputs stay readable."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "...'"


def _refuse(what: str, value: str, rule: str) -> InvalidNameError:
    return InvalidNameError(f"Invalid {what} {_shown(value)}: it must be {rule}.")


def check_segment(value: str, what: str) -> str:
    """The universal floor for any name put in a path: one segment, nothing a URL would reinterpret."""
    if not isinstance(value, str) or not value:
        raise InvalidNameError(f"Invalid {what}: an empty name was given; it must be {SEGMENT_RULE}.")
    if value in (".", "..") or len(value) > 253 or _NEVER_IN_SEGMENT.search(value):
        raise _refuse(what, value, SEGMENT_RULE)
    return value


def check_namespace(namespace: str) -> str:
    """A namespace as the API server accepts it: a DNS-1123 label."""
    if not isinstance(namespace, str) or len(namespace) > 63 or not _DNS1123_LABEL.fullmatch(namespace):
        raise _refuse("namespace", namespace if isinstance(namespace, str) else str(namespace), LABEL_RULE)
    return namespace


def name_rule(group: str, resource: str) -> tuple[re.Pattern[str] | None, int, str]:
    """The pattern, length limit and wording of valid object names of one resource type."""
    if (group, resource) in _DNS1123_LABEL_RESOURCES:
        return _DNS1123_LABEL, 63, LABEL_RULE
    if (group, resource) in _DNS1035_RESOURCES:
        return _DNS1035_LABEL, 63, DNS1035_RULE
    if group in _PATH_SEGMENT_GROUPS:
        return None, 253, SEGMENT_RULE
    return _DNS1123_SUBDOMAIN, 253, SUBDOMAIN_RULE


def check_name(info: ResourceInfo, name: str) -> str:
    """An object name of `info`'s kind as the API server validates it (and always a single path segment)."""
    what = f"{info.kind} name" if info.kind else "name"
    pattern, limit, rule = name_rule(info.group, info.resource)
    if pattern is None:
        return check_segment(name, what)
    if not isinstance(name, str) or len(name) > limit or not pattern.fullmatch(name):
        # Every stricter rule excludes all that the path-segment rule does, so the kind's own rule is the one said.
        raise _refuse(what, name if isinstance(name, str) else str(name), rule)
    return name


def _segment(value: str) -> str:
    # Validation already refused every character that matters; escaping is the second wall.
    return quote(value, safe="")


def api_path(
    info: ResourceInfo, namespace: str | None = None, name: str | None = None, subresource: str | None = None
) -> str:
    """REST path of `info`'s collection, or of one object (and its subresource) when `name` is given."""
    base = f"/apis/{_segment(info.group)}/{_segment(info.version)}" if info.group else f"/api/{_segment(info.version)}"
    if info.namespaced and namespace is not None:
        base += f"/namespaces/{_segment(check_namespace(namespace))}"
    base += f"/{_segment(info.resource)}"
    if name is not None:
        base += f"/{_segment(check_name(info, name))}"
        if subresource is not None:
            base += f"/{_segment(check_segment(subresource, 'subresource'))}"
    elif subresource is not None:
        raise InvalidNameError("A subresource needs the name of its object.")
    return base


def field_selector(**terms: str | None) -> str | None:
    """A field selector of `field=value` terms (None values left out), each value escaped as the API server's
    fields.EscapeValue does, so a value can only ever be one value (never `x,type=Normal`)."""
    escaped = []
    for field_path, value in terms.items():
        if value is None:
            continue
        text = value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")
        escaped.append(f"{field_path.replace('__', '.')}={text}")
    return ",".join(escaped) or None
