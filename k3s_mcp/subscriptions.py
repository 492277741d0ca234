"""``resources/subscribe`` on a ``k8s://`` object URI, backed by one API-server watch per object and caller.

A subscription names one object (``k8s://cluster/<kind>/<name>`` or ``k8s://namespaces/<ns>/<kind>/<name>``, see
:mod:`k3s_mcp.mcp_resources`). Subscribing resolves and validates the URI, then lists the object as the caller
(OAuth read scope, K3S_IMPERSONATE identity, access policy, RBAC: a refusal is the subscription's error), and
starts a watch narrowed by ``metadata.name`` (:mod:`k3s_mcp.kube.watch`), or joins the watch already running for
the same object and identity: sessions share watches. Each change of the object (added, modified, deleted) sends
``notifications/resources/updated`` with the subscribed URI to every session subscribed to it; the client reads
the URI again to see the change.

``resources/unsubscribe`` and the end of the session (its connection's exit stack) leave the watch, which stops
when its last subscriber leaves. Bounds: :data:`MAX_WATCHES_PER_SESSION` subscriptions per session and
:data:`MAX_WATCHES` watches in the process (each holds one API connection of the session's pool); past either,
subscribing is refused with a sentence saying so. A watch whose version is gone (HTTP 410) lists again and goes
on from the fresh version, telling subscribers once since a change may have been missed; an unreachable API
server is retried with backoff, :data:`MAX_FAILURES` times in a row, and a refusal (403, a policy denial) or the
last failure stops the watch cleanly: its subscribers get one last update (a read then says what is wrong) and
are dropped.

Both protocol eras are served, by handlers on the MCP SDK's low-level server (FastMCP has no subscription hook):
handshake-era sessions use ``resources/subscribe`` / ``resources/unsubscribe`` and get the notifications on the
session; 2026-07-28 clients open a ``subscriptions/listen`` stream naming the URIs (at most
:data:`MAX_WATCHES_PER_SESSION`, at most :data:`MAX_LISTEN_STREAMS` streams open), which is acknowledged once every
URI is watched (a refusal is the request's error, before the acknowledgment) and carries the stamped
notifications until the client closes it; a stream whose every watch has stopped ends gracefully. The SDK then
declares ``resources.subscribe: true`` in either era.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from k3s_mcp.kube import KubeError, KubeSession, ResourceInfo
from k3s_mcp.kube.identity import Identity, identity_scope
from k3s_mcp.mcp_resources import caller_identity, parse_object_uri, redacted_message, resolve_ref
from k3s_mcp.settings import Settings

if TYPE_CHECKING:
    from fastmcp import FastMCP
    from mcp.server.connection import Connection
    from mcp.server.context import ServerRequestContext
    from mcp_types import (
        EmptyResult,
        SubscribeRequestParams,
        SubscriptionsListenRequestParams,
        SubscriptionsListenResult,
        UnsubscribeRequestParams,
    )

log = logging.getLogger(__name__)

MAX_WATCHES_PER_SESSION = 8
"""Most subscriptions one session (or one ``subscriptions/listen`` stream) holds."""
MAX_WATCHES = 32
"""Most objects the process watches at once (each watch holds one connection of the API client's pool of 100)."""
MAX_LISTEN_STREAMS = 64
"""Most ``subscriptions/listen`` streams open at once."""
MAX_FAILURES = 5
RETRY_SECONDS = (0.5, 1.0, 2.0, 4.0, 8.0)


class Subscriber(Protocol):
    """Who is told of a change: a handshake-era session's connection, or one listen stream."""

    async def send_resource_updated(self, uri: str) -> None: ...


class SubscriptionError(KubeError):
    """A subscription this server refuses (a bound reached, a URI that names no object)."""


@dataclass(frozen=True)
class WatchKey:
    """What makes two subscriptions one watch: the object and the identity it is read as."""

    group: str
    resource: str
    namespace: str | None
    name: str
    identity: Identity | None


@dataclass(eq=False)
class ObjectWatch:
    key: WatchKey
    info: ResourceInfo
    version: str
    # Subscriber -> the URIs it subscribed for this object (two spellings of one object share the watch).
    subscribers: dict[Subscriber, set[str]] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None


class SubscriptionHub:
    """The watches of one app and who is subscribed to each."""

    def __init__(
        self,
        session: KubeSession,
        settings: Settings,
        *,
        per_session: int = MAX_WATCHES_PER_SESSION,
        total: int = MAX_WATCHES,
        retry_seconds: tuple[float, ...] = RETRY_SECONDS,
    ) -> None:
        self.session = session
        self.settings = settings
        self.per_session = per_session
        self.total = total
        self.retry_seconds = retry_seconds
        self.watches: dict[WatchKey, ObjectWatch] = {}
        self.by_uri: dict[Subscriber, dict[str, WatchKey]] = {}
        self._lock = asyncio.Lock()

    # -- subscribing ---------------------------------------------------------------------------------

    async def subscribe(self, connection: Subscriber, uri: str, identity: Identity | None) -> bool:
        """Subscribe `connection` to `uri`; True when it is the subscriber's first subscription (the caller then
        arranges for :meth:`drop` at the subscriber's end)."""
        ref = parse_object_uri(uri)
        with identity_scope(identity):
            info = await resolve_ref(self.session, ref)
        key = WatchKey(info.group, info.resource, ref.namespace, ref.name, identity)
        async with self._lock:
            mine = self.by_uri.get(connection, {})
            if uri in mine:
                return False  # subscribing twice is one subscription
            if len(mine) >= self.per_session:
                raise SubscriptionError(
                    f"Refused: this session already has {self.per_session} subscriptions, the most one session may "
                    "hold. Unsubscribe from one first."
                )
            watch = self.watches.get(key)
            if watch is None:
                if len(self.watches) >= self.total:
                    raise SubscriptionError(
                        f"Refused: the server already watches {self.total} objects, the most it watches at once. "
                        "Try again later."
                    )
                from k3s_mcp.kube.watch import list_version

                with identity_scope(identity):
                    version = await list_version(self.session, info, ref.namespace, ref.name)
                watch = ObjectWatch(key, info, version)
                self.watches[key] = watch
                watch.task = asyncio.create_task(self._run(watch), name=f"watch {info.qualified}/{ref.name}")
            first = connection not in self.by_uri
            self.by_uri.setdefault(connection, {})[uri] = key
            watch.subscribers.setdefault(connection, set()).add(uri)
            return first

    async def unsubscribe(self, connection: Subscriber, uri: str) -> None:
        async with self._lock:
            key = self.by_uri.get(connection, {}).pop(uri, None)
            if key is not None:
                self._leave(key, connection, uri)

    async def drop(self, connection: Subscriber) -> None:
        """Leave every watch `connection` joined (its session ended)."""
        async with self._lock:
            for uri, key in (self.by_uri.pop(connection, None) or {}).items():
                self._leave(key, connection, uri)

    def _leave(self, key: WatchKey, connection: Subscriber, uri: str) -> None:
        watch = self.watches.get(key)
        if watch is None:
            return
        uris = watch.subscribers.get(connection)
        if uris is not None:
            uris.discard(uri)
            if not uris:
                del watch.subscribers[connection]
        if not watch.subscribers:
            self._stop(watch)

    def _stop(self, watch: ObjectWatch) -> None:
        if self.watches.get(watch.key) is watch:
            del self.watches[watch.key]
        if watch.task is not None and watch.task is not asyncio.current_task():
            watch.task.cancel()

    async def close(self) -> None:
        """Stop every watch (the app shuts down)."""
        async with self._lock:
            tasks = [watch.task for watch in self.watches.values() if watch.task is not None]
            for watch in list(self.watches.values()):
                self._stop(watch)
            self.by_uri.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- watching ------------------------------------------------------------------------------------

    async def _run(self, watch: ObjectWatch) -> None:
        from k3s_mcp.kube.watch import WatchGoneError, list_version, watch_object

        key = watch.key
        failures = 0
        with identity_scope(key.identity):
            while True:
                try:
                    async for event in watch_object(self.session, watch.info, key.namespace, key.name, watch.version):
                        failures = 0
                        obj = event.get("object") or {}
                        version = (obj.get("metadata") or {}).get("resourceVersion") if isinstance(obj, dict) else None
                        if version:
                            watch.version = str(version)
                        if event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                            await self._notify(watch)
                except asyncio.CancelledError:
                    raise
                except WatchGoneError:
                    # Changes may have been missed between the old version and the fresh list: say so once.
                    try:
                        watch.version = await list_version(self.session, watch.info, key.namespace, key.name)
                    except KubeError as error:
                        await self._end(watch, error)
                        return
                    await self._notify(watch)
                except KubeError as error:
                    failures += 1
                    if _refused(error) or failures >= MAX_FAILURES:
                        await self._end(watch, error)
                        return
                    delay = self.retry_seconds[min(failures, len(self.retry_seconds)) - 1]
                    log.info("Watch of %s/%s failed (%s); again in %.1f s", key.resource, key.name, error, delay)
                    await asyncio.sleep(delay)
                except Exception as error:
                    log.exception("Watch of %s/%s failed unexpectedly", key.resource, key.name)
                    await self._end(watch, error)
                    return

    async def _end(self, watch: ObjectWatch, error: BaseException) -> None:
        """Stop a watch that cannot go on: its subscribers are told once, then dropped."""
        log.warning(
            "Watch of %s/%s stopped: %s",
            watch.key.resource,
            watch.key.name,
            redacted_message(str(error), self.settings),
        )
        async with self._lock:
            self._stop(watch)
            for connection in list(watch.subscribers):
                for uri in watch.subscribers[connection]:
                    (self.by_uri.get(connection) or {}).pop(uri, None)
        await self._notify(watch)
        for connection in watch.subscribers:
            if isinstance(connection, ListenStream) and not self.by_uri.get(connection):
                connection.finish()  # nothing left to listen to: the stream ends gracefully
        watch.subscribers.clear()

    async def _notify(self, watch: ObjectWatch) -> None:
        for connection, uris in list(watch.subscribers.items()):
            for uri in sorted(uris):
                try:
                    await connection.send_resource_updated(uri)
                except Exception as error:  # a closed session: its exit stack drops it
                    log.debug("Could not notify %s: %s", uri, error)


class ListenStream:
    """One ``subscriptions/listen`` stream as a subscriber: changed URIs wait in a set (two changes of one object
    before the stream writes are one update), so its backlog is bounded by its subscriptions."""

    def __init__(self) -> None:
        self.pending: set[str] = set()
        self.finished = False
        self._ready = asyncio.Event()

    async def send_resource_updated(self, uri: str) -> None:
        self.pending.add(uri)
        self._ready.set()

    def finish(self) -> None:
        self.finished = True
        self._ready.set()

    async def updates(self) -> list[str]:
        """The URIs changed since the last call (waits for one); empty once the stream is finished."""
        await self._ready.wait()
        self._ready.clear()
        if self.finished and not self.pending:
            return []
        changed, self.pending = sorted(self.pending), set()
        return changed


def _refused(error: KubeError) -> bool:
    text = str(error)
    return text.startswith(("Refused", "Forbidden", "Unauthorized", "Invalid", "Unknown kind")) or "HTTP 403" in text


# -- the MCP handlers --------------------------------------------------------------------------------


def register_subscriptions(app: FastMCP[Any], session: KubeSession, settings: Settings) -> SubscriptionHub:
    """Serve ``resources/subscribe`` and ``resources/unsubscribe`` on `app`'s low-level server."""
    from fastmcp.server.dependencies import bind_request_context
    from mcp.shared.exceptions import MCPError
    from mcp.shared.subscriptions import SUBSCRIPTION_ID_META_KEY, ResourceUpdated, event_to_notification
    from mcp_types import (
        INVALID_PARAMS,
        INVALID_REQUEST,
        EmptyResult,
        SubscribeRequestParams,
        SubscriptionFilter,
        SubscriptionsAcknowledgedNotification,
        SubscriptionsAcknowledgedNotificationParams,
        SubscriptionsListenRequestParams,
        SubscriptionsListenResult,
        UnsubscribeRequestParams,
    )

    hub = SubscriptionHub(session, settings)

    def connection_of(ctx: ServerRequestContext[Any, Any]) -> Connection:
        connection: Connection = ctx.session._connection  # the SDK keeps per-connection state and teardown here
        return connection

    async def subscribe(ctx: ServerRequestContext[Any, Any], subscriber: Subscriber, uris: list[str]) -> bool:
        """Subscribe `subscriber` to every URI as the request's caller; any failure is the request's MCP error."""
        first = False
        with bind_request_context(ctx):
            try:
                identity = caller_identity(settings)
                for uri in uris:
                    first = await hub.subscribe(subscriber, uri, identity) or first
            except KubeError as error:
                raise MCPError(code=INVALID_PARAMS, message=redacted_message(str(error), settings)) from None
            except Exception as error:
                log.exception("Subscribing to a k8s:// resource failed unexpectedly")
                from k3s_mcp.kube import Target, translate_api_error

                translated = translate_api_error(error, Target(kind="the cluster", action="watch an object of"))
                raise MCPError(code=INVALID_PARAMS, message=redacted_message(str(translated), settings)) from None
        return first

    async def on_subscribe(ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams) -> EmptyResult:
        connection = connection_of(ctx)
        if await subscribe(ctx, connection, [params.uri]):
            # The session's end leaves every watch it joined.
            connection.exit_stack.push_async_callback(hub.drop, connection)
        return EmptyResult()

    async def on_unsubscribe(ctx: ServerRequestContext[Any, Any], params: UnsubscribeRequestParams) -> EmptyResult:
        await hub.unsubscribe(connection_of(ctx), params.uri)
        return EmptyResult()

    streams: set[ListenStream] = set()

    async def on_listen(
        ctx: ServerRequestContext[Any, Any], params: SubscriptionsListenRequestParams
    ) -> SubscriptionsListenResult:
        """One listen stream (2026-07-28): its resource subscriptions are watched until the client closes it.
        List-change kinds are honoured as the SDK's own handler honours them; this server's lists never change."""
        if ctx.request_id is None:
            raise MCPError(code=INVALID_REQUEST, message="subscriptions/listen requires a request id")
        if len(streams) >= MAX_LISTEN_STREAMS:
            raise MCPError(code=INVALID_REQUEST, message=f"Refused: {MAX_LISTEN_STREAMS} listen streams are open.")
        requested = params.notifications
        uris = list(dict.fromkeys(requested.resource_subscriptions or ()))
        if len(uris) > hub.per_session:
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"Refused: a listen stream may hold {hub.per_session} resource subscriptions, not {len(uris)}.",
            )
        stream = ListenStream()
        streams.add(stream)
        meta: dict[str, Any] = {SUBSCRIPTION_ID_META_KEY: ctx.request_id}
        try:
            await subscribe(ctx, stream, uris)
            honored = SubscriptionFilter(
                tools_list_changed=True if requested.tools_list_changed else None,
                prompts_list_changed=True if requested.prompts_list_changed else None,
                resources_list_changed=True if requested.resources_list_changed else None,
                resource_subscriptions=uris or None,
            )
            acknowledged = SubscriptionsAcknowledgedNotificationParams(notifications=honored, _meta=meta)
            await ctx.session.send_notification(
                SubscriptionsAcknowledgedNotification(params=acknowledged), related_request_id=ctx.request_id
            )
            while changed := await stream.updates():
                for uri in changed:
                    notification = event_to_notification(ResourceUpdated(uri), meta)
                    await ctx.session.send_notification(notification, related_request_id=ctx.request_id)
        finally:
            streams.discard(stream)
            await hub.drop(stream)
        return SubscriptionsListenResult(_meta=meta)

    low_level = app._mcp_server
    low_level.add_request_handler("resources/subscribe", SubscribeRequestParams, on_subscribe)
    low_level.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, on_unsubscribe)
    low_level.add_request_handler("subscriptions/listen", SubscriptionsListenRequestParams, on_listen)
    return hub
