"""Serving over stdio, with the handshake answered from a snapshot while the server is still being imported.

A client starts the server and, before anything else, sends its handshake (``initialize``, or from protocol
revision 2026-07-28 on ``server/discover``) and ``tools/list``. Importing FastMCP, the MCP types and our tools
takes over a second of CPU, and none of it changes what those answers say: they depend only on the code, the
settings, the protocol revision and the request as the client words it. So a start records FastMCP's answers into
a snapshot in the user's cache, and later starts with the same code and settings answer them from it at once while
the import runs on the main thread:

1. fd 0 and fd 1 are taken for the protocol (duplicated; fd 0 then reads the null device and fd 1 writes to
   stderr, so a stray print never corrupts the wire, as the MCP SDK's own stdio transport does).
2. A reader thread reads request lines. Until the app is ready it answers a request from the snapshot only when
   FastMCP answered the same request (the same JSON, but for the id and the client's free-text names) in the same
   place of a conversation with that answer: the one handshake first, then ``tools/list`` in the era that handshake
   opened. The first line it does not answer (a call, a ping, a second handshake, anything) ends the answering,
   and every line, answered or not, reaches FastMCP in order, so FastMCP's session is the one it would have had.
3. When the app is built it serves on streams fed with the kept lines and then the live ones. An answered line is
   shown to FastMCP under a private id of ours, so FastMCP's answer to it is known for sure and dropped (a client
   reusing the id gets every answer of its own); an answer of FastMCP that differs from the one we gave removes the
   snapshot. A broken wire (the client closed our output) ends the serving like the end of input.
4. The wire stays ours while FastMCP serves, without a worker thread per message: the reader thread wakes the event
   loop for each line, and the loop writes each answer itself on a non-blocking descriptor, waiting (never
   blocking) while a slow client lets the pipe fill. The end of input waits for the requests FastMCP was given to
   be answered (bounded), so a client that writes its requests and closes its side gets every answer.

The snapshot's key is a hash of the Python version, every K3S_*/FASTMCP_* setting and the size and mtime of
every source file of k3s_mcp, FastMCP, the MCP SDK and mcp_types: a changed setting or an upgrade makes a new
snapshot, never a stale answer. A snapshot that cannot be read (not a regular file, too big, not of our shape), or
a message it does not hold, means FastMCP answers as usual. Only the default preset is served this way (its
listing does not depend on what the cluster serves); K3S_MCP_FAST_START=false turns it off. This module imports
only the standard library at its top. It is one module (over 600 lines): the reader thread, the snapshot's reading
and recording and the serving streams share one protocol state machine and one wire, and each is only correct
together with the others.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import select
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from importlib.util import find_spec
from pathlib import Path
from queue import Empty, SimpleQueue
from stat import S_ISREG
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

    from fastmcp import FastMCP

SNAPSHOT_FORMAT = 2
# Packages whose code decides the answers; a change to any of their files makes a new snapshot key.
_KEYED_PACKAGES = ("k3s_mcp", "fastmcp", "mcp", "mcp_types")
_KEYED_PREFIXES = ("K3S_", "FASTMCP_")
# A request longer than this is not parsed by the reader thread (FastMCP gets it); handshake lines are small.
_MAX_ANSWERED_LINE = 1 << 16
# FastMCP's answers are parsed up to this size (a listing is tens of KB); a snapshot file up to this size is read.
_MAX_RECORDED_LINE = 1 << 22
_MAX_SNAPSHOT_BYTES = 1 << 23
# At most this many answers (method and revision) and request forms per answer are kept in a snapshot.
_MAX_ANSWERS = 16
_MAX_FORMS = 8
_MAX_DEPTH = 24
_OFF = {"0", "false", "no", "off"}

# The handshakes: `initialize` (a session, its revision in params) and, from revision 2026-07-28 on, the
# stateless `server/discover`, whose revision (like that of every later request) is in params._meta.
HANDSHAKES = ("initialize", "server/discover")
_LISTING = "tools/list"
_REVISION_META = "io.modelcontextprotocol/protocolVersion"
_CLIENT_INFO_META = "io.modelcontextprotocol/clientInfo"
# Values that differ from client to client but that FastMCP takes as any string: a request's form has their type.
_FREE_TEXT = frozenset({"name", "title", "version", "description"})
_CLIENT_INFO_PATHS = (("params", "clientInfo"), ("params", "_meta", _CLIENT_INFO_META))
_PROGRESS_TOKEN_PATH = ("params", "_meta", "progressToken")
_PRIVATE_ID = "k3s-mcp-start"


def fast_start_wanted(env: Mapping[str, str]) -> bool:
    """Whether this start may answer the handshake from a snapshot: K3S_MCP_FAST_START not off and the default
    preset (K3S_TOOLSETS unset or 'default'), whose listing is the same whatever the cluster serves."""
    if env.get("K3S_MCP_FAST_START", "true").strip().lower() in _OFF:
        return False
    return env.get("K3S_TOOLSETS", "default").strip().lower() == "default"


def snapshot_key(env: Mapping[str, str]) -> str:
    """The key of the snapshot for this code and these settings (see the module docstring)."""
    digest = hashlib.sha256(f"{SNAPSHOT_FORMAT}\0{sys.version}\0".encode())
    for name in sorted(env):
        if name.startswith(_KEYED_PREFIXES):
            digest.update(f"{name}={env[name]}\0".encode())
    for package in _KEYED_PACKAGES:
        spec = find_spec(package)
        for location in (spec.submodule_search_locations or []) if spec else []:
            for root, directories, files in os.walk(location):
                directories[:] = sorted(d for d in directories if d != "__pycache__")
                for name in sorted(files):
                    if name.endswith(".py"):
                        stat = os.stat(os.path.join(root, name))
                        relative = os.path.relpath(os.path.join(root, name), location)
                        digest.update(f"{package}/{relative}:{stat.st_size}:{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()[:32]


def snapshot_dir(env: Mapping[str, str]) -> Path | None:
    """Where snapshots are kept: $XDG_CACHE_HOME/k3s-mcp/start, or ~/.cache/k3s-mcp/start; None when neither is an
    absolute path (the XDG rule: a relative XDG_CACHE_HOME is ignored)."""
    base = env.get("XDG_CACHE_HOME") or ""
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "k3s-mcp" / "start" if os.path.isabs(base) else None


def answer_key(method: str, revision: str) -> str:
    return f"{method}|{revision}"


def _valid_answer(key: str, answer: Any) -> bool:
    """Whether `answer` has the shape FastMCP's answer to `key` has (a snapshot is hostile input too)."""
    method, _, revision = key.partition("|")
    if not revision or not isinstance(answer, dict):
        return False
    if method == "initialize":
        info = answer.get("serverInfo")
        return (
            isinstance(answer.get("protocolVersion"), str)
            and isinstance(answer.get("capabilities"), dict)
            and isinstance(info, dict)
            and isinstance(info.get("name"), str)
        )
    if method == _LISTING:
        tools = answer.get("tools")
        return (
            "nextCursor" not in answer
            and isinstance(tools, list)
            and all(
                isinstance(tool, dict)
                and isinstance(tool.get("name"), str)
                and isinstance(tool.get("inputSchema"), dict)
                for tool in tools
            )
        )
    return method == "server/discover"


def _read_bytes(path: Path, limit: int) -> bytes | None:
    """The content of the regular file at `path` when it is at most `limit` bytes (never blocks on a FIFO)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        status = os.fstat(descriptor)
        if not S_ISREG(status.st_mode) or status.st_size > limit:
            return None
        chunks: list[bytes] = []
        size = 0
        while chunk := os.read(descriptor, 1 << 16):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                return None
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(descriptor)


Snapshot = tuple[dict[str, Any], dict[str, list[str]]]


def read_snapshot(path: Path, key: str) -> Snapshot | None:
    """The answers and the request forms of the snapshot at `path` when it is one of ours for `key`, else None."""
    content = _read_bytes(path, _MAX_SNAPSHOT_BYTES)
    try:
        data = json.loads(content) if content is not None else None
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("format") != SNAPSHOT_FORMAT or data.get("key") != key:
        return None
    answers, forms = data.get("answers"), data.get("requests")
    if not isinstance(answers, dict) or not isinstance(forms, dict) or not set(forms) <= set(answers):
        return None
    if not all(_valid_answer(name, answer) for name, answer in answers.items()):
        return None
    if not all(isinstance(value, list) and all(isinstance(form, str) for form in value) for value in forms.values()):
        return None
    return answers, forms


def _discard_snapshot(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink()


def _write_snapshot(path: Path, key: str, answers: dict[str, Any], forms: dict[str, list[str]]) -> None:
    """Merge `answers` (and the request forms FastMCP gave them to) into the snapshot at `path`, atomically; a
    cache that cannot be written is no error. A changed answer keeps only the forms it was given to."""
    old_answers, old_forms = read_snapshot(path, key) or ({}, {})
    merged, merged_forms = dict(old_answers), {name: list(value) for name, value in old_forms.items()}
    for name, answer in answers.items():
        if merged.get(name) != answer:
            merged[name], merged_forms[name] = answer, []
        known = merged_forms.setdefault(name, [])
        known.extend(form for form in forms.get(name, []) if form not in known)
        del known[:-_MAX_FORMS]
    if (merged, merged_forms) == (old_answers, old_forms) or len(merged) > _MAX_ANSWERS:
        return
    data = {"format": SNAPSHOT_FORMAT, "key": key, "answers": merged, "requests": merged_forms}
    partial: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, partial = tempfile.mkstemp(prefix=f"{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(json.dumps(data, separators=(",", ":")))
        os.replace(partial, path)
        partial = None
    except OSError:
        pass
    finally:
        if partial is not None:
            _discard_snapshot(Path(partial))


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("a key given twice")
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse(line: str, limit: int = _MAX_ANSWERED_LINE) -> dict[str, Any] | None:
    """A JSON-RPC 2.0 object, strictly (no key twice, no NaN, bounded size and depth), else None."""
    if len(line) > limit:
        return None
    try:
        message = json.loads(line, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return None
    return message if isinstance(message, dict) and message.get("jsonrpc") == "2.0" else None


def _has_id(message: Mapping[str, Any]) -> bool:
    return isinstance(message.get("id"), str | int) and not isinstance(message.get("id"), bool)


def _form(value: Any, path: tuple[str, ...] = ()) -> str | None:
    """The canonical JSON of `value` with the client's free-text names (clientInfo's, in params or in the 2026
    envelope) and a progress token replaced by their type; None when it is too deep or holds a lone surrogate."""
    if len(path) > _MAX_DEPTH:
        return None
    if isinstance(value, dict):
        parts = []
        for name in sorted(value):
            inner = _form(value[name], (*path, name))
            if inner is None:
                return None
            parts.append(f"{json.dumps(name)}:{inner}")
        return "{" + ",".join(parts) + "}"
    if isinstance(value, list):
        items = [_form(item, (*path, "[]")) for item in value]
        return None if None in items else "[" + ",".join(item for item in items if item is not None) + "]"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return None
        free = path[-1:] and path[-1] in _FREE_TEXT and path[:-1] in _CLIENT_INFO_PATHS
        if free or path == _PROGRESS_TOKEN_PATH:
            return "$str"
    elif isinstance(value, int) and not isinstance(value, bool) and path == _PROGRESS_TOKEN_PATH:
        return "$int"
    return json.dumps(value)


def _params(message: Mapping[str, Any]) -> dict[str, Any]:
    params = message.get("params")
    return params if isinstance(params, dict) else {}


def _meta_revision(params: Mapping[str, Any]) -> str | None:
    meta = params.get("_meta")
    value = meta.get(_REVISION_META) if isinstance(meta, dict) else None
    return value if isinstance(value, str) else None


class Conversation:
    """Where a conversation stands, as FastMCP's serving loop sees it: no request yet, a 2025 session opened by
    ``initialize``, or the 2026 era opened by an enveloped request. Only the one handshake, first, and then
    ``tools/list`` of that era are places a snapshot may answer."""

    def __init__(self) -> None:
        self.era: str | None = None
        self.context = ""  # the form of the handshake, part of a later tools/list's place
        self.session_revision: str | None = None  # negotiated by initialize

    def initialized(self, message: Mapping[str, Any]) -> bool:
        """Whether `message` is the plain initialized notification of a 2025 session (the one notification that
        leaves the place of a later tools/list as it is)."""
        plain = set(message) == {"jsonrpc", "method"} or (
            set(message) == {"jsonrpc", "method", "params"} and message["params"] == {}
        )
        return plain and message.get("method") == "notifications/initialized" and self.era == "legacy"

    def place(self, message: Mapping[str, Any]) -> tuple[str, str | None, str] | None:
        """(method, revision (None: the session's), the request's form in its place) of a request a snapshot may
        answer, else None; a request that has a place moves the conversation on."""
        method, params = message.get("method"), _params(message)
        form = _form({name: value for name, value in message.items() if name != "id"})
        if form is None or not isinstance(method, str) or ("params" in message and message["params"] != params):
            return None
        revision: str | None
        if method in HANDSHAKES and self.era is None:
            value = params.get("protocolVersion") if method == "initialize" else _meta_revision(params)
            revision = value if isinstance(value, str) else None
        elif method == _LISTING and self.era != "legacy":
            revision = _meta_revision(params)
        elif method == _LISTING:
            revision = self.session_revision
        else:
            return None
        if revision is None and self.era != "legacy":
            return None
        signature = hashlib.sha256(f"{self.context}\0{form}".encode()).hexdigest()[:32]
        if method in HANDSHAKES:
            self.era, self.context = ("legacy" if method == "initialize" else "modern"), signature
        elif self.era is None:
            self.era = "modern"
        return method, revision, signature


class Handshake:
    """What the reader thread answers from the snapshot. Called under :class:`StdioStart`'s lock."""

    def __init__(self, snapshot: Snapshot | None) -> None:
        self.answers, self.forms = snapshot or ({}, {})
        self.answering = snapshot is not None
        self.conversation = Conversation()
        self.replayed: dict[str, Any] = {}  # private id -> the answer given, for FastMCP's answer to the line
        self._nonce = secrets.token_hex(8)

    def answer(self, line: str) -> tuple[str | None, str]:
        """The snapshot's answer to `line` (None: FastMCP must answer it, which ends the answering) and the line
        FastMCP must see (an answered request under a private id)."""
        message = _parse(line) if self.answering else None
        if message is None:
            self.answering = False
            return None, line
        if not _has_id(message):
            if not self.conversation.initialized(message):
                self.answering = False
            return None, line
        place = self.conversation.place(message)
        method, revision, form = place or ("", None, "")
        key = answer_key(method, revision or self.conversation.session_revision or "")
        reply = self.answers.get(key) if form in self.forms.get(key, ()) else None
        if place is None or reply is None:
            self.answering = False
            return None, line
        if method == "initialize":
            self.conversation.session_revision = reply["protocolVersion"]
        private = f"{_PRIVATE_ID}:{self._nonce}:{len(self.replayed)}"
        self.replayed[private] = reply
        answer = json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": reply}, separators=(",", ":"))
        return answer, json.dumps({**message, "id": private}, separators=(",", ":"))


class Recorder:
    """Watches the first messages FastMCP serves and records its answers to the handshake and the ``tools/list``
    after it (before any other request could change the listing), with the forms of those requests, for the next
    start."""

    def __init__(self, path: Path | None, key: str) -> None:
        self.path, self.key = path, key
        self.active = path is not None
        self.conversation = Conversation()
        self.pending: dict[Any, tuple[str, str | None, str]] = {}

    def request(self, line: str) -> None:
        if not self.active:
            return
        message = _parse(line)
        if message is not None and not _has_id(message):
            if not self.conversation.initialized(message):
                self.active = False
            return
        place = self.conversation.place(message) if message is not None else None
        if place is None or message is None or message["id"] in self.pending:
            self.active = False  # a call may change what tools/list shows: nothing more is recorded
            return
        self.pending[message["id"]] = place

    def response(self, line: str) -> None:
        if not self.active or not self.pending:
            return
        message = _parse(line, _MAX_RECORDED_LINE)
        if message is None or "method" in message or not _has_id(message) or message["id"] not in self.pending:
            return
        method, revision, form = self.pending.pop(message["id"])
        result = message.get("result")
        if method == "initialize" and isinstance(result, dict) and isinstance(result.get("protocolVersion"), str):
            self.conversation.session_revision = result["protocolVersion"]
        revision = revision or self.conversation.session_revision
        key = answer_key(method, revision or "")
        if revision is None or not _valid_answer(key, result) or self.path is None:
            return
        _write_snapshot(self.path, self.key, {key: result}, {key: [form]})


# The start of a response as the MCP SDK writes it (model_dump_json of JSONRPCResponse/JSONRPCError): its id is read
# from there without decoding the whole answer, which may be hundreds of KB.
_RESPONSE_PREFIX = '{"jsonrpc":"2.0","id":'
_ID_DECODER = json.JSONDecoder()
# Requests that stay open until cancelled (a stream of notifications): the end of input does not wait for them.
_OPEN_ENDED = frozenset({"subscriptions/listen"})
# The end of input waits for the requests still being answered at most this long in all, and stops waiting once
# nothing has been written for QUIET_SECONDS (a request the SDK took but will never answer must not hold the exit).
DRAIN_SECONDS = 120.0
QUIET_SECONDS = 5.0


class InFlight:
    """The client's requests FastMCP has been given and not yet answered, so that the end of input (a client that
    writes its requests and closes its side, as `printf ... | k3s-mcp-server` does) ends the serving once they are
    answered, instead of the SDK answering them "Connection closed". Only what the SDK's own parser takes for a
    request is counted; an answer is recognised by its id."""

    def __init__(self) -> None:
        self.pending: set[Any] = set()
        self.written: asyncio.Event | None = None  # made by `drained`, on the serving loop

    def request(self, line: str) -> None:
        if '"method"' not in line or '"id"' not in line:
            return
        import mcp_types

        try:
            message = mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False)
        except ValueError:
            return
        if isinstance(message, mcp_types.JSONRPCRequest):
            if message.method not in _OPEN_ENDED:
                self.pending.add(message.id)
        elif isinstance(message, mcp_types.JSONRPCNotification) and message.method == "notifications/cancelled":
            params = message.params or {}
            self.pending.discard(params.get("requestId") if isinstance(params, dict) else None)

    def response(self, line: str) -> None:
        if self.written is not None:
            self.written.set()
        if not self.pending:
            return
        if line.startswith(_RESPONSE_PREFIX):
            try:
                request_id, end = _ID_DECODER.raw_decode(line, len(_RESPONSE_PREFIX))
            except ValueError:
                return
            if line.startswith((',"result"', ',"error"'), end) and isinstance(request_id, str | int):
                self.pending.discard(request_id)

    def abandon(self) -> None:
        """Nobody hears the answers any more (the client closed our output): stop waiting for them."""
        self.pending.clear()
        if self.written is not None:
            self.written.set()

    async def drained(self) -> None:
        """Return when every pending request is answered (or abandoned), after QUIET_SECONDS without a line
        written, or after DRAIN_SECONDS."""
        import asyncio

        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_SECONDS
        written = self.written = asyncio.Event()
        while self.pending and (left := deadline - loop.time()) > 0:
            written.clear()
            try:
                await asyncio.wait_for(written.wait(), min(QUIET_SECONDS, left))
            except TimeoutError:
                return


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _dup_above_std(descriptor: int) -> int:
    """A private duplicate of `descriptor` that cannot land on fd 0-2 (so diverting those never moves it)."""
    if sys.platform == "win32":  # pragma: no cover
        return os.dup(descriptor)
    import fcntl

    return fcntl.fcntl(descriptor, fcntl.F_DUPFD_CLOEXEC, 3)


class StdioStart:
    """The protocol's two file descriptors, the reader thread and the streams FastMCP serves on."""

    def __init__(self, snapshot: Snapshot | None, recorder: Recorder) -> None:
        self.handshake = Handshake(snapshot)
        self.recorder = recorder
        self.lock = threading.Lock()
        self.kept: list[str] = []
        self.lines: SimpleQueue[str | None] = SimpleQueue()
        self.handed_over = False
        self.broken = False
        self.discarded = False
        # The wire, on descriptors of our own; fd 0 reads the null device and fd 1 writes to stderr from now on.
        self.wire_in = os.fdopen(_dup_above_std(0), "rb", buffering=1 << 16)
        self.wire_out = _dup_above_std(1)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.dup2(2, 1)
        # Non-blocking, so the event loop writes FastMCP's answers itself and waits (never blocks) while a client
        # is slow to read; the reader thread's handshake answers wait in select() instead.
        os.set_blocking(self.wire_out, False)
        self.write_lock = threading.Lock()
        # Set while serving: wakes the event loop when the reader thread queues a line (no worker thread per line).
        self.wake: Callable[[], object] | None = None
        self.ready: asyncio.Event | None = None
        self.in_flight = InFlight()
        threading.Thread(target=self._read, name="k3s-mcp-stdin", daemon=True).start()

    def _put(self, line: str | None) -> None:
        """Queue a live line (None: the end of input) for FastMCP, waking the serving loop."""
        self.lines.put(line)
        wake = self.wake
        if wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits for the line
                wake()

    def _write(self, text: str) -> None:
        """Write a line to the wire from the reader thread; a wire the client closed ends the input too (nobody
        hears the answers)."""
        data = (text + "\n").encode("utf-8")
        with self.write_lock:
            view = memoryview(data)
            try:
                while view and not self.broken:
                    try:
                        view = view[os.write(self.wire_out, view) :]
                    except BlockingIOError:
                        select.select([], [self.wire_out], [])
            except OSError:
                self._broke()

    async def write_async(self, text: str) -> None:
        """Write a line to the wire from the event loop, waiting for the pipe to drain when it is full."""
        import asyncio

        data = (text + "\n").encode("utf-8")
        view = memoryview(data)
        loop = asyncio.get_running_loop()
        try:
            while view and not self.broken:
                try:
                    view = view[os.write(self.wire_out, view) :]
                except BlockingIOError:
                    drained: asyncio.Future[None] = loop.create_future()
                    loop.add_writer(self.wire_out, _settle, drained)
                    try:
                        await drained
                    finally:
                        loop.remove_writer(self.wire_out)
        except OSError:
            self._broke()

    def _broke(self) -> None:
        self.broken = True
        self.in_flight.abandon()
        self._put(None)

    def _answer(self, line: str) -> None:
        """Answer `line` from the snapshot or keep it for FastMCP (any failure here: FastMCP answers)."""
        try:
            reply, shown = self.handshake.answer(line)
        except Exception as error:  # a bug must cost the fast answer, never the line or the reader
            print(f"k3s-mcp-server: fast start: {error!r}", file=sys.stderr)
            self.handshake.answering = False
            reply, shown = None, line
        if reply is not None:
            self._write(reply)
        self.kept.append(shown)

    def _read(self) -> None:
        try:
            for raw in self.wire_in:
                if self.broken:
                    break
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                if not line.strip():
                    continue
                with self.lock:
                    if not self.handed_over:
                        self._answer(line)
                        continue
                self._put(line)
        except (OSError, ValueError) as error:
            print(f"k3s-mcp-server: reading stdin: {error}", file=sys.stderr)
        finally:
            self._put(None)

    async def next_line(self) -> str | None:
        """The next live line (None at the end of input), waiting on the event loop for the reader thread."""
        import asyncio

        ready = self.ready
        if ready is None:
            loop, ready = asyncio.get_running_loop(), asyncio.Event()
            self.ready = ready
            self.wake = lambda: loop.call_soon_threadsafe(ready.set)
        while True:
            try:
                return self.lines.get_nowait()
            except Empty:
                # The reader thread's wake-up runs on this loop, so never between the failed get and this clear:
                # a line queued meanwhile sets the event after it, and the wait below returns for it.
                ready.clear()
                await ready.wait()

    def hand_over(self) -> list[str]:
        """Stop answering; the lines kept so far, in order, for FastMCP."""
        with self.lock:
            self.handed_over = True
            kept, self.kept = self.kept, []
        return kept

    def drop(self, line: str) -> bool:
        """Whether `line` is FastMCP's answer to a line we answered (then checked: a differing answer removes the
        snapshot, so the next start asks FastMCP)."""
        message = _parse(line, _MAX_RECORDED_LINE) if self.handshake.replayed else None
        if message is None or "method" in message or not isinstance(message.get("id"), str):
            return False
        given = self.handshake.replayed.pop(message["id"], None)
        if given is None:
            return False
        if message.get("result") != given and not self.discarded:
            print("k3s-mcp-server: fast start: the snapshot's answer was not FastMCP's; removed", file=sys.stderr)
            _discard_snapshot(self.recorder.path)
            self.discarded = True  # what the recorder writes from now on is FastMCP's own
        return True

    async def serve(self, app: FastMCP[Any]) -> None:
        """Serve `app` on the wire (FastMCP's own stdio serving, on our streams)."""
        from fastmcp.server.context import reset_transport, set_transport
        from mcp.server.stdio import stdio_server

        kept = self.hand_over()
        start = self
        in_flight = self.in_flight

        class Incoming:
            def __aiter__(self) -> AsyncIterator[str]:
                return self.lines()

            async def lines(self) -> AsyncIterator[str]:
                for old in kept:
                    start.recorder.request(old)
                    in_flight.request(old)
                    yield old + "\n"
                while (live := await start.next_line()) is not None:
                    start.recorder.request(live)
                    in_flight.request(live)
                    yield live + "\n"
                if not start.broken:
                    await in_flight.drained()

        class Outgoing:
            async def write(self, text: str) -> None:
                line = text.rstrip("\n")
                dropped = start.drop(line)
                start.recorder.response(line)
                if not start.broken and not dropped:
                    await start.write_async(line)
                # Counted once on the wire, so the end of input never cuts an answer a slow reader is still taking.
                in_flight.response(line)

            async def flush(self) -> None:
                return None

        token = set_transport("stdio")
        try:
            async with app._lifespan_manager(), stdio_server(Incoming(), Outgoing()) as (read_stream, write_stream):  # type: ignore[arg-type]
                await app._mcp_server.run(read_stream, write_stream, app._mcp_server.create_initialization_options())
        finally:
            reset_transport(token)
            self.wake = None


def serve_stdio(load_app: Callable[[], FastMCP[Any]], env: Mapping[str, str] | None = None) -> None:
    """Serve the app `load_app` builds over stdio, answering the handshake from a snapshot while it is built."""
    import_env = dict(os.environ if env is None else env)
    path: Path | None = None
    snapshot: Snapshot | None = None
    key = ""
    directory = snapshot_dir(import_env) if fast_start_wanted(import_env) else None
    if directory is not None:
        key = snapshot_key(import_env)
        path = directory / f"{key}.json"
        snapshot = read_snapshot(path, key)
    try:
        start = StdioStart(snapshot, Recorder(path, key))
    except OSError as error:
        print(f"k3s-mcp-server: stdio needs an open stdin and stdout: {error}", file=sys.stderr)
        sys.exit(2)
    app = load_app()
    import anyio

    anyio.run(start.serve, app)
