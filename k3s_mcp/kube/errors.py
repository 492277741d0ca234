"""The Kubernetes layer's own exceptions and the one translation of API and connection failures into words.

Every failure of a request becomes a :class:`KubeError` whose message names the object, the namespace and the
fix; the MCP side shows that message as it is. Tools never catch ``ApiException`` themselves.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import aiohttp
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.config import ConfigException


class KubeError(Exception):
    """A failure of the Kubernetes layer, already worded for the person (or model) who asked; the MCP side shows
    the message as it is (``k3s_mcp.tools.tool``), and other callers can do the same without MCP. `status` is the
    API server's HTTP status when it answered (429: an eviction a PodDisruptionBudget blocks), else None."""

    status: int | None = None


class InvalidNameError(KubeError):
    """A name or namespace argument that the API server would refuse, or that would leave its path segment."""


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


class KubeconfigError(KubeError):
    """The kubeconfig is missing or cannot be loaded."""


class UnknownKindError(KubeError):
    """Discovery knows no resource type by that kind, plural, short name or `kind.group`."""


_SECRET_TARGETS = {"secret", "secrets"}
_QUOTED_VALUE = re.compile(r'Invalid value: "(?:[^"\\]|\\.)*"')
# Server-side apply's schema errors print the refused value as Go does ("expected string, got
# &value.valueUnstructured{Value:...}" or "got &{...}"), one per line after the field path.
_GO_VALUE = re.compile(r"\bgot &.*?(?=\n\s+\.|\Z)", re.S)


def _hide_secret_values(text: str) -> str:
    """A Secret's error without the values it may quote: validation's `Invalid value: "..."` and apply's
    `got &{...}`."""
    return _GO_VALUE.sub("got (hidden)", _QUOTED_VALUE.sub("Invalid value: (hidden)", text))


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
) -> KubeError:
    """Turn an API or connection failure into a KubeError that names the object and the fix."""
    if isinstance(error, KubeError):
        return error
    what = target.describe()
    where = f" (kubeconfig: {kubeconfig})" if kubeconfig else ""
    if isinstance(error, ApiException):
        translated = _translate_api_exception(error, target, what, where)
        translated.status = error.status or 0
        return translated
    if isinstance(error, aiohttp.WSServerHandshakeError):
        fake = ApiException(status=error.status, reason=error.message)
        return translate_api_error(fake, target, server=server, kubeconfig=kubeconfig)
    if isinstance(error, aiohttp.ClientConnectorError | aiohttp.ServerDisconnectedError | ConnectionError):
        return KubeError(
            f"Cannot reach the Kubernetes API server at {server or 'the configured address'} "
            f"({type(error).__name__}: {error}). Fix: check that the cluster is running and that the "
            f"kubeconfig{where} points at it."
        )
    if isinstance(error, TimeoutError | asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return KubeError(
            f"The Kubernetes API server at {server or 'the configured address'} did not answer in time "
            f"while trying to {target.action} {what}. Retry, or check the cluster's health."
        )
    if isinstance(error, aiohttp.ClientError | OSError):
        return KubeError(
            f"Request to the Kubernetes API server at {server or 'the configured address'} failed "
            f"({type(error).__name__}: {error}) while trying to {target.action} {what}."
        )
    if isinstance(error, ConfigException):
        return KubeconfigError(f"kubeconfig problem{where}: {error}. Fix: point KUBECONFIG at a valid kubeconfig.")
    return KubeError(f"Failed to {target.action} {what}: {type(error).__name__}: {error}")


def _translate_api_exception(error: ApiException, target: Target, what: str, where: str) -> KubeError:
    """The KubeError of one API server answer of HTTP status >= 400."""
    status = error.status or 0
    message = _api_message(error)
    if target.kind.lower() in _SECRET_TARGETS:
        # A validation message may quote the refused value; for a Secret that value is the secret.
        message = _hide_secret_values(message)
    if status == 404:
        scope = f" in namespace {target.namespace!r}" if target.namespace else ""
        name = f" {target.name!r}" if target.name else ""
        return KubeError(
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
            # The API server names the identity it judged: the impersonated caller, or the server's own.
            user = re.search(r'User "([^"]+)" cannot', message)
            who = f"{user.group(1)} is not allowed" if user else "not allowed"
            return KubeError(
                f"Forbidden: {who} to {verb} {qualified}{scope} ({message}). "
                f"Fix: bind a Role/ClusterRole granting '{verb}' on '{qualified}' to this identity, "
                "or use a kubeconfig with more rights."
            )
        # Not an RBAC denial: a protected object (kube-system), an admission check, a terminating namespace.
        return KubeError(
            f"The API server refused to {target.action} {what}: {message}. This is the API server's own "
            "rule (a protected object or an admission check), not a missing RBAC permission."
        )
    if status == 401:
        return KubeError(
            f"Unauthorized: the API server rejected the credentials{where} ({message}). "
            "Fix: refresh the token or certificate in the kubeconfig."
        )
    if status == 409:
        return KubeError(
            f"Conflict on {what}: {message}. Fix: re-read the object and retry, "
            "or apply again (server-side apply with force takes ownership of conflicting fields)."
        )
    if status == 422:
        causes = "; ".join(_invalid_causes(error))
        if target.kind.lower() in _SECRET_TARGETS:
            causes = _hide_secret_values(causes)
        detail = f" Invalid fields: {causes}." if causes else ""
        return KubeError(f"Invalid {what}: {message}.{detail} Fix the manifest and retry.")
    if status == 400:
        return KubeError(f"Bad request for {what}: {message}.")
    if status == 405:
        return KubeError(f"The API server does not allow '{target.action}' on {what}: {message}.")
    if status in (408, 429, 500, 502, 503, 504):
        # An eviction's 429 names the PodDisruptionBudget that blocks it only in its causes.
        causes = "; ".join(cause.split(": ", 1)[-1] for cause in _invalid_causes(error))
        detail = f" ({causes})" if causes else ""
        return KubeError(f"The API server failed to {target.action} {what} (HTTP {status}): {message}{detail}. Retry.")
    return KubeError(f"Failed to {target.action} {what} (HTTP {status}): {message}.")


ApiFailureObserver = Callable[[str], None]
"""Told the label of each failed request to the API server: its HTTP status (``"404"``) or ``"unreachable"``."""

_api_failure_observer: ContextVar[ApiFailureObserver | None] = ContextVar("k3s_mcp_api_failure_observer", default=None)
_log = logging.getLogger(__name__)


@contextmanager
def observe_api_failures(observer: ApiFailureObserver) -> Iterator[None]:
    """Tell `observer` about every failed API request made inside the block (the MCP side counts them as metrics;
    this layer knows nothing of metrics)."""
    token = _api_failure_observer.set(observer)
    try:
        yield
    finally:
        _api_failure_observer.reset(token)


def api_failure_label(error: BaseException) -> str | None:
    """The HTTP status of a failed request (``"403"``), ``"unreachable"`` when the API server did not answer, or
    None when `error` is not a failed request (a kubeconfig problem)."""
    if isinstance(error, ApiException):
        return str(error.status or 0)
    if isinstance(error, aiohttp.WSServerHandshakeError):
        return str(error.status)
    if isinstance(error, ConfigException):
        return None
    if isinstance(error, aiohttp.ClientError | OSError | TimeoutError):
        return "unreachable"
    return None


def _report_api_failure(error: BaseException) -> None:
    observer = _api_failure_observer.get()
    label = api_failure_label(error) if observer is not None else None
    if observer is None or label is None:
        return
    try:
        observer(label)
    except Exception:
        # Counting must never change what the caller is told.
        _log.exception("API failure observer failed")


@contextmanager
def api_errors(target: Target, *, server: str | None = None, kubeconfig: str | None = None) -> Iterator[None]:
    """Translate failures raised inside the block with :func:`translate_api_error`."""
    try:
        yield
    except KubeError:
        raise
    except (ApiException, aiohttp.ClientError, OSError, TimeoutError, ConfigException) as error:
        _report_api_failure(error)
        raise translate_api_error(error, target, server=server, kubeconfig=kubeconfig) from error
