"""The stdio fast start against a hostile or buggy client and a hostile cache, through real server processes.

What must hold whatever arrives: the server never crashes or hangs, every request is answered exactly once (or, for
a message FastMCP drops, not at all), and nothing is answered from the snapshot that FastMCP would not answer the
same way in that place of the conversation. The snapshot the tests plant is FastMCP's own recording with a mark
added to every answer, so an answer that carries the mark came from the snapshot and one without it from FastMCP.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import queue
import stat
import subprocess
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport

from k3s_mcp.stdio_start import read_snapshot, snapshot_key
from tests.k3s_mcp.conftest import SERVER_PROGRAM, server_env

REVISION = "2025-06-18"
MODERN = "2026-07-28"
MARK = "x-answered-from-the-snapshot"
WITHIN = 90.0  # seconds: only to tell a hang from a slow start on a busy machine, never a timing assertion
META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "hostile", "version": "1"},
}
INIT: dict[str, Any] = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": REVISION, "capabilities": {}, "clientInfo": {"name": "hostile", "version": "1"}},
}
INITIALIZED: dict[str, Any] = {"jsonrpc": "2.0", "method": "notifications/initialized"}
LIST: dict[str, Any] = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
DISCOVER: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": META}}
LIST26: dict[str, Any] = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"_meta": META}}


def ping(number: int | str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": number, "method": "ping"}


def line(message: dict[str, Any] | bytes) -> bytes:
    return message if isinstance(message, bytes) else (json.dumps(message) + "\n").encode()


def start_dir(cache: Path) -> Path:
    return cache / "k3s-mcp" / "start"


class Server:
    """A k3s-mcp-server process spoken to over raw pipes; every line it writes must be one JSON-RPC message."""

    def __init__(self, env: dict[str, str], *, reading: bool = True) -> None:
        self.process = subprocess.Popen(
            [SERVER_PROGRAM], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        # Cleared: nothing is read from the server's output (its pipe fills) until `resume`.
        self.reading = threading.Event()
        if reading:
            self.reading.set()
        self.answers: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.received: list[dict[str, Any]] = []
        self.stderr = b""
        threading.Thread(target=self._read_stdout, daemon=True).start()
        self._stderr_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._stderr_reader.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        self.reading.wait()
        for raw in self.process.stdout:
            try:
                message = json.loads(raw)
            except ValueError:
                message = {"not JSON-RPC": raw.decode(errors="replace")}
            self.answers.put(message if isinstance(message, dict) else {"not JSON-RPC": message})
        self.answers.put(None)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        self.stderr = self.process.stderr.read()

    def send(self, *messages: dict[str, Any] | bytes) -> None:
        assert self.process.stdin is not None
        for message in messages:
            self.process.stdin.write(line(message))
        self.process.stdin.flush()

    def _next(self, within: float) -> dict[str, Any] | None:
        try:
            message = self.answers.get(timeout=within)
        except queue.Empty:
            self.process.kill()
            raise AssertionError(f"the server hung: no answer within {within} s; got {self.received}") from None
        if message is not None:
            assert message.get("jsonrpc") == "2.0" and "not JSON-RPC" not in message, message
            self.received.append(message)
        return message

    def until(self, ids: list[Any]) -> list[dict[str, Any]]:
        """Read answers until every id in `ids` (a multiset) has been answered; all answers read so far."""
        missing = list(ids)
        while missing:
            message = self._next(WITHIN)
            assert message is not None, f"the server closed its output before answering {missing}: {self.received}"
            if "method" not in message and message.get("id") in missing:
                missing.remove(message.get("id"))
        return list(self.received)

    def finish(self, *, closed: bool = False) -> list[dict[str, Any]]:
        """Close stdin (unless `closed` already); read to the end; the server must exit with 0 (no traceback).
        All answers it wrote."""
        assert self.process.stdin is not None
        if not closed:
            self.process.stdin.close()
        while self._next(WITHIN) is not None:
            pass
        try:
            code = self.process.wait(timeout=WITHIN)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError("the server did not exit after the end of its input") from None
        self._stderr_reader.join(WITHIN)
        assert code == 0, f"exit status {code}: {self.stderr.decode(errors='replace')[-2000:]}"
        assert b"Traceback" not in self.stderr, self.stderr.decode(errors="replace")[-2000:]
        return list(self.received)


def marked(snapshot: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(snapshot)
    for answer in data["answers"].values():
        answer[MARK] = True
    return data


def plant(cache: Path, env: dict[str, str], snapshot: dict[str, Any]) -> Path:
    """Put `snapshot` where a server started with `env` looks for it (under the key of the code as it is now)."""
    key = snapshot_key(env)
    path = start_dir(cache) / f"{key}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**snapshot, "key": key}))
    return path


@dataclass
class Recorded:
    """FastMCP's own answers (the first starts, with nothing to answer from) and the snapshot they left."""

    kubeconfig: str
    snapshot: dict[str, Any]
    reference: dict[str, Any] = field(default_factory=dict)

    def env(self, cache: Path, **extra: str) -> dict[str, str]:
        return server_env(self.kubeconfig, XDG_CACHE_HOME=str(cache), **extra)

    def planted(self, cache: Path, mark: bool = True, **extra: str) -> dict[str, str]:
        env = self.env(cache, **extra)
        plant(cache, env, marked(self.snapshot) if mark else self.snapshot)
        return env


@pytest.fixture(scope="module")
def recorded(kubeconfig: str, tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """Three first starts on one cache: a 2025 session and a 2026 one over the raw wire, and the real fastmcp
    client; each answer is waited for before the next request, so each is recorded."""
    cache = tmp_path_factory.mktemp("recorded")
    env = server_env(kubeconfig, XDG_CACHE_HOME=str(cache))
    reference: dict[str, Any] = {}

    def session(handshake: dict[str, Any], listing: dict[str, Any], names: tuple[str, str]) -> None:
        server = Server(env)
        server.send(handshake)
        reference[names[0]] = server.until([1])[-1]["result"]
        if handshake is INIT:
            server.send(INITIALIZED)
        server.send(listing)
        reference[names[1]] = server.until([2])[-1]["result"]
        server.finish()

    session(INIT, LIST, ("init", "list"))
    session(DISCOVER, LIST26, ("discover", "list26"))

    async def client() -> None:
        async with Client(StdioTransport(SERVER_PROGRAM, [], env=env)) as connected:
            await connected.list_tools_mcp()

    asyncio.run(client())
    (path,) = start_dir(cache).glob("*.json")
    snapshot = json.loads(path.read_text())
    # The snapshot holds exactly FastMCP's answers: the fast start answers what FastMCP answered.
    assert snapshot["answers"][f"initialize|{REVISION}"] == reference["init"]
    assert snapshot["answers"][f"tools/list|{REVISION}"] == reference["list"]
    assert snapshot["answers"][f"server/discover|{MODERN}"] == reference["discover"]
    assert snapshot["answers"][f"tools/list|{MODERN}"] == reference["list26"]
    assert reference["list"]["tools"] and reference["list26"]["tools"]
    return Recorded(kubeconfig, snapshot, reference)


# An expected answer: (id, what it is, whether it came from the snapshot). What it is: a reference answer
# ("init", "list", "discover", "list26"), "result" (any result), "error", or "any".
Expect = tuple[Any, str, bool]


def is_marked(answer: dict[str, Any]) -> bool:
    result = answer.get("result")
    return isinstance(result, dict) and result.get(MARK) is True


def satisfies(recorded: Recorded, answer: dict[str, Any], kind: str, from_snapshot: bool) -> bool:
    result = answer.get("result")
    if is_marked(answer) != from_snapshot:
        return False
    if kind in recorded.reference:
        return isinstance(result, dict) and {k: v for k, v in result.items() if k != MARK} == recorded.reference[kind]
    if kind == "result":
        return isinstance(result, dict)
    if kind == "error":
        return isinstance(answer.get("error"), dict) and "result" not in answer
    return True


def check(recorded: Recorded, answers: list[dict[str, Any]], expected: list[Expect]) -> None:
    """Every answer is one expected (each request answered once, as expected), and the snapshot's answers come
    before FastMCP's. FastMCP answers concurrent requests in any order, so its answers to one id are matched as a
    multiset."""
    assert all("method" not in answer for answer in answers), f"the server sent a request: {answers}"
    marks = [is_marked(answer) for answer in answers]
    assert marks == sorted(marks, reverse=True), f"a snapshot answer after one of FastMCP's: {answers}"
    by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for answer in answers:
        by_id[json.dumps(answer.get("id"))].append(answer)
    wanted: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    for number, kind, from_snapshot in expected:
        wanted[json.dumps(number)].append((kind, from_snapshot))
    assert {key: len(value) for key, value in by_id.items()} == {key: len(value) for key, value in wanted.items()}, (
        f"each request answered once: got {answers}"[:3000]
    )
    specificity = {"any": 2, "result": 1, "error": 1}
    for key, expectations in wanted.items():
        left = list(by_id[key])
        for kind, from_snapshot in sorted(expectations, key=lambda item: specificity.get(item[0], 0)):
            found = next((a for a in left if satisfies(recorded, a, kind, from_snapshot)), None)
            assert found is not None, f"id {key}: no answer is {kind!r} (from the snapshot: {from_snapshot}): {left}"[
                :1500
            ]
            left.remove(found)


@dataclass
class Case:
    name: str
    messages: list[dict[str, Any] | bytes]
    expected: list[Expect]


def without(mapping: dict[str, Any], name: str) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if key != name}


def with_params(message: dict[str, Any], **params: Any) -> dict[str, Any]:
    return {**message, "params": {**message.get("params", {}), **params}}


CALL = {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "get_namespaces", "arguments": {}}}
INIT_BYTES = line(INIT)
BIG = b'{"jsonrpc":"2.0","method":"notifications/progress","params":{"pad":"' + b"x" * (5 << 20) + b'"}}\n'
GARBAGE: list[dict[str, Any] | bytes] = [
    b"not json\n",
    b'[{"jsonrpc":"2.0","method":"notifications/initialized"}]\n',
    b"5\n",
    b'"x"\n',
    b"null\n",
    b"{}\n",
    b'{"jsonrpc":"1.0","id":4,"method":"ping"}\n',
]
FASTMCP_ANSWERS = [(1, "init", False), (2, "list", False)]
SNAPSHOT_ANSWERS = [(1, "init", True), (2, "list", True)]

CASES = [
    # Well-formed starts, oddly framed or numbered: answered from the snapshot, exactly FastMCP's answers, once.
    Case(
        "blank lines, CRLF and invalid UTF-8 in the client's name",
        [
            b"\n",
            b"   \r\n",
            INIT_BYTES.replace(b'"hostile"', b'"host\xff\xfeile"').replace(b"\n", b"\r\n"),
            b"\r\n",
            line(INITIALIZED).replace(b"\n", b"\r\n"),
            line(LIST).replace(b"\n", b"\r\n"),
        ],
        SNAPSHOT_ANSWERS,
    ),
    Case(
        "ids of other types: a string, a negative number, a huge number",
        [{**INIT, "id": "one"}, INITIALIZED, {**LIST, "id": -5}, ping(2**70)],
        [("one", "init", True), (-5, "list", True), (2**70, "result", False)],
    ),
    Case(
        "a later request reusing the handshake's and the listing's ids",
        [INIT, INITIALIZED, {**LIST, "id": 1}, ping(1), {**LIST, "id": 1}, ping(1)],
        [(1, "init", True), (1, "list", True), (1, "result", False), (1, "list", False), (1, "result", False)],
    ),
    Case(
        "2026: a later request reusing the handshake's id",
        [DISCOVER, {**LIST26, "id": 1}, {**LIST26, "id": 1, "params": {"_meta": META, "cursor": "x"}}],
        [(1, "discover", True), (1, "list26", True), (1, "any", False)],
    ),
    Case(
        "a 5 MB line after the handshake",
        [INIT, INITIALIZED, LIST, BIG, ping(3)],
        [*SNAPSHOT_ANSWERS, (3, "result", False)],
    ),
    # Lines before the handshake: the first line not answered ends the answering; FastMCP answers the rest.
    Case("a ping before the handshake", [ping(9), INIT, INITIALIZED, LIST], [(9, "any", False), *FASTMCP_ANSWERS]),
    Case("a tool call before the handshake", [CALL, INIT, INITIALIZED, LIST], [(9, "error", False), *FASTMCP_ANSWERS]),
    Case(
        "garbage, a batch and JSON that is no object",
        [*GARBAGE, INIT, INITIALIZED, LIST],
        FASTMCP_ANSWERS,
    ),
    Case("JSON nested 100,000 deep", [b"[" * 100_000 + b"\n", INIT, INITIALIZED, LIST], FASTMCP_ANSWERS),
    Case("a 5 MB line first", [BIG, INIT, INITIALIZED, LIST], FASTMCP_ANSWERS),
    Case("the listing before any handshake", [LIST, ping(3)], [(2, "error", False), (3, "any", False)]),
    Case("the 2026 listing before any handshake", [LIST26], [(2, "list26", False)]),
    # A handshake FastMCP would answer otherwise (or not at all): never from the snapshot.
    Case(
        "initialize without clientInfo and capabilities",
        [with_params({**INIT, "params": {}}, protocolVersion=REVISION), INITIALIZED, LIST],
        [(1, "error", False), (2, "any", False)],
    ),
    Case(
        "capabilities of the wrong type",
        [with_params(INIT, capabilities={"roots": 5}), INITIALIZED, LIST],
        [(1, "error", False), (2, "any", False)],
    ),
    Case(
        "a lone surrogate in the client's name",
        [INIT_BYTES.replace(b'"hostile"', b'"\\ud800"'), INITIALIZED, LIST],
        [(2, "any", False)],
    ),
    Case(
        "an invalid UTF-8 byte in the method",
        [INIT_BYTES.replace(b'"initialize"', b'"initialize\xff"'), LIST],
        [(1, "error", False), (2, "any", False)],
    ),
    Case(
        "NaN in the capabilities",
        [INIT_BYTES.replace(b'"capabilities": {}', b'"capabilities": {"x": NaN}'), INITIALIZED, LIST],
        [(1, "any", False), (2, "any", False)],
    ),
    Case(
        "a method given twice",
        [INIT_BYTES.replace(b'"id": 1,', b'"id": 1, "method": "ping",'), INITIALIZED, LIST],
        [(1, "any", False), (2, "any", False)],
    ),
    Case("a null id", [{**INIT, "id": None}, INITIALIZED, LIST], [(2, "any", False)]),
    Case("a float id", [{**INIT, "id": 1.0}, INITIALIZED, LIST], [(2, "any", False)]),
    Case("a boolean id", [{**INIT, "id": True}, INITIALIZED, LIST], [(2, "any", False)]),
    Case(
        "an extra member beside the request",
        [{**INIT, "result": {}}, INITIALIZED, LIST],
        [(1, "any", False), (2, "any", False)],
    ),
    Case(
        "a revision the snapshot lacks",
        [with_params(INIT, protocolVersion="2025-03-26"), INITIALIZED, LIST],
        [(1, "result", False), (2, "result", False)],
    ),
    Case(
        "an unknown revision",
        [with_params(INIT, protocolVersion="1999-01-01"), INITIALIZED, LIST],
        [(1, "result", False), (2, "result", False)],
    ),
    # After an answered handshake: what FastMCP would refuse or page is FastMCP's to answer.
    Case(
        "a second initialize",
        [INIT, INITIALIZED, LIST, {**INIT, "id": 7}],
        [*SNAPSHOT_ANSWERS, (7, "init", False)],
    ),
    Case("initialize after server/discover", [DISCOVER, {**INIT, "id": 7}], [(1, "discover", True), (7, "any", False)]),
    Case(
        "server/discover after initialize",
        [INIT, INITIALIZED, {**DISCOVER, "id": 7}],
        [(1, "init", True), (7, "error", False)],
    ),
    Case(
        "the 2026 listing in a 2025 session",
        [INIT, INITIALIZED, LIST26],
        [(1, "init", True), (2, "error", False)],
    ),
    Case(
        "a listing with a cursor",
        [INIT, INITIALIZED, with_params(LIST, cursor="abc"), {**LIST, "id": 3}],
        [(1, "init", True), (2, "any", False), (3, "list", False)],
    ),
    Case(
        "a listing with a cursor of the wrong type",
        [INIT, INITIALIZED, with_params(LIST, cursor=0)],
        [(1, "init", True), (2, "error", False)],
    ),
    Case("a listing whose params are a list", [INIT, INITIALIZED, {**LIST, "params": [1]}], [(1, "init", True)]),
    Case(
        "a listing whose _meta is a number",
        [INIT, INITIALIZED, with_params(LIST, _meta=5)],
        [(1, "init", True), (2, "error", False)],
    ),
    Case(
        "a notification with an id",
        [INIT, {**INITIALIZED, "id": 5}, LIST],
        [(1, "init", True), (5, "error", False), (2, "list", False)],
    ),
    Case(
        "the initialized notification with params",
        [INIT, {**INITIALIZED, "params": {"x": 1}}, LIST],
        [(1, "init", True), (2, "list", False)],
    ),
    Case(
        "another notification before the listing",
        [INIT, {"jsonrpc": "2.0", "method": "notifications/roots/list_changed"}, LIST],
        [(1, "init", True), (2, "list", False)],
    ),
]


def converse(recorded: Recorded, cache: Path, case: Case) -> str | None:
    """Run `case` against a server with the marked snapshot; None when everything held, else what failed."""
    env = recorded.planted(cache)
    server = Server(env)
    try:
        server.send(*case.messages)
        server.until([number for number, _, _ in case.expected])
        check(recorded, server.finish(), case.expected)
    except AssertionError as error:
        return f"{case.name}: {error}"[:3000]
    finally:
        if server.process.poll() is None:
            server.process.kill()
    return None


def test_every_hostile_conversation_gets_fastmcps_answers_once(recorded: Recorded, tmp_path: Path) -> None:
    with ThreadPoolExecutor(4) as pool:
        failures = pool.map(lambda item: converse(recorded, tmp_path / str(item[0]), item[1]), enumerate(CASES))
        failed = [failure for failure in failures if failure is not None]
    assert not failed, "\n\n".join(failed)


def test_a_snapshot_answer_fastmcp_does_not_give_is_replaced_by_fastmcps(recorded: Recorded, tmp_path: Path) -> None:
    env = recorded.planted(tmp_path)
    server = Server(env)
    server.send(INIT, INITIALIZED, LIST)
    check(recorded, server.until([1, 2]), SNAPSHOT_ANSWERS)
    server.send(ping(3))
    server.until([3])
    server.finish()
    # FastMCP's own answers differ from the marked ones: the snapshot now holds FastMCP's answers only, those it
    # gave before the ping (a request that could change the listing) arrived: at least its initialize answer.
    (path,) = start_dir(tmp_path).glob("*.json")
    healed = read_snapshot(path, path.stem)
    assert healed is not None and f"initialize|{REVISION}" in healed[0], path.read_text()[:500]
    names = {f"initialize|{REVISION}": "init", f"tools/list|{REVISION}": "list"}
    assert {key: recorded.reference[names[key]] for key in healed[0]} == healed[0]
    # And the next start answers from it what it holds (marked again to show it), FastMCP the rest.
    path.write_text(json.dumps(marked(json.loads(path.read_text()))))
    again = Server(env)
    again.send(INIT, INITIALIZED, LIST)
    listed = f"tools/list|{REVISION}" in healed[0]
    check(recorded, again.finish(), [(1, "init", True), (2, "list", listed)])
    assert list(start_dir(tmp_path).glob("*.tmp")) == []


def test_any_client_name_gets_fastmcps_own_answers(recorded: Recorded, tmp_path: Path) -> None:
    """The client's names are the one part of a request a snapshot answers whatever they say: for odd ones the
    answers are still FastMCP's, and FastMCP's own answer to the same request agrees (the snapshot stays)."""
    names = ["", "x" * 50_000, "名前 🚀", "a\u0000b", "\u202eevil", "\\ud83d\\ude00"]
    conversations: list[tuple[list[dict[str, Any] | bytes], list[Expect]]] = []
    for name in names:
        info = {"name": name, "version": name}
        conversations.append(([with_params(INIT, clientInfo=info), INITIALIZED, LIST], FASTMCP_ANSWERS))
    modern = {"_meta": {**META, "io.modelcontextprotocol/clientInfo": {"name": "\u0000", "version": ""}}}
    conversations.append(
        ([{**DISCOVER, "params": modern}, {**LIST26, "params": modern}], [(1, "discover", False), (2, "list26", False)])
    )

    def run(index: int) -> str | None:
        cache = tmp_path / str(index)
        env = recorded.planted(cache, mark=False)
        (path,) = start_dir(cache).glob("*.json")
        before = path.read_text()
        messages, expected = conversations[index]
        server = Server(env)
        try:
            server.send(*messages)
            server.until([number for number, _, _ in expected])
            check(recorded, server.finish(), expected)
            assert b"was not FastMCP's" not in server.stderr, server.stderr[-1000:]
            # Unchanged: the request had the recorded form (answered from the snapshot) and FastMCP agreed.
            assert path.read_text() == before, "the snapshot changed"
        except AssertionError as error:
            return f"{index}: {error}"[:2000]
        return None

    with ThreadPoolExecutor(4) as pool:
        failed = [failure for failure in pool.map(run, range(len(conversations))) if failure is not None]
    assert not failed, "\n\n".join(failed)


def test_a_2026_listing_first_is_recorded_and_keeps_its_era(recorded: Recorded, tmp_path: Path) -> None:
    # No handshake: the listing alone opens the 2026 era. The first start asks FastMCP and records it in its place.
    env = recorded.planted(tmp_path, mark=False)
    server = Server(env)
    server.send(LIST26)
    server.until([2])
    check(recorded, server.finish(), [(2, "list26", False)])
    (path,) = start_dir(tmp_path).glob("*.json")
    path.write_text(json.dumps(marked(json.loads(path.read_text()))))
    # The next start answers it from the snapshot; FastMCP still sees it first, so a later initialize is refused
    # as on a 2026 connection (as FastMCP alone refuses it), never answered as a new 2025 session.
    server = Server(env)
    server.send(LIST26, {**INIT, "id": 7})
    server.until([2, 7])
    check(recorded, server.finish(), [(2, "list26", True), (7, "error", False)])


def test_a_burst_right_after_the_handshake_is_answered_once_each(recorded: Recorded, tmp_path: Path) -> None:
    env = recorded.planted(tmp_path)
    server = Server(env)
    burst: list[dict[str, Any] | bytes] = []
    for number in range(3, 63):
        burst.append({**LIST, "id": number} if number % 3 == 1 else ping(number))
    burst.append({**CALL, "id": 63})
    server.send(INIT, INITIALIZED, LIST, *burst)
    ids = [1, 2, *range(3, 64)]
    answers = server.until(ids)
    # The snapshot's two answers come first; FastMCP answers everything after them, each once.
    assert [answer["id"] for answer in answers[:2]] == [1, 2]
    expected: list[Expect] = [*SNAPSHOT_ANSWERS, (63, "result", False)]
    expected += [(number, "list" if number % 3 == 1 else "result", False) for number in range(3, 63)]
    check(recorded, server.finish(), expected)
    assert not answers[-1].get("result", {}).get("isError"), answers[-1]


def test_a_client_that_stops_reading_gets_every_answer_whole_and_in_place(recorded: Recorded, tmp_path: Path) -> None:
    # 40 listings (about 17 KB each) and a call fill the output pipe (64 KB) many times over while the client
    # reads nothing; the server waits for the pipe to drain instead of failing, dropping or splitting a line.
    # (The ping first ends the snapshot's answering, so FastMCP answers every listing after it.)
    env = recorded.planted(tmp_path)
    server = Server(env, reading=False)
    listings = [{**LIST, "id": number} for number in range(4, 44)]
    server.send(INIT, INITIALIZED, LIST, ping(3), *listings, {**CALL, "id": 44})
    time.sleep(2)
    assert server.process.poll() is None, "the server ended while its client was not reading"
    server.reading.set()
    answers = server.until([1, 2, *range(3, 45)])
    expected: list[Expect] = [*SNAPSHOT_ANSWERS, (3, "result", False)]
    expected += [(number, "list", False) for number in range(4, 44)]
    check(recorded, server.finish(), [*expected, (44, "result", False)])
    call = next(answer for answer in answers if answer["id"] == 44)
    assert not call["result"].get("isError"), call

    # The same, with the client's input closed while it is not reading: the server still writes every answer
    # whole before it exits.
    server = Server(recorded.planted(tmp_path / "closed"), reading=False)
    server.send(INIT, INITIALIZED, LIST, ping(3), *listings, {**CALL, "id": 44})
    assert server.process.stdin is not None
    server.process.stdin.close()
    time.sleep(2)
    server.reading.set()
    check(recorded, server.finish(closed=True), [*expected, (44, "result", False)])


def test_requests_written_before_the_end_of_input_are_all_answered(recorded: Recorded, tmp_path: Path) -> None:
    # A client that writes its requests and closes its side at once (`printf ... | k3s-mcp-server`): FastMCP
    # answers every one (none "Connection closed"), then the server ends.
    for planted in (True, False):
        cache = tmp_path / str(planted)
        server = Server(recorded.planted(cache) if planted else recorded.env(cache))
        server.send(INIT, INITIALIZED, LIST, {**CALL, "id": 3}, ping(4))
        answers = server.finish()
        assert sorted(answer["id"] for answer in answers) == [1, 2, 3, 4], answers
        assert all("result" in answer for answer in answers), [answer.get("error") for answer in answers]
        call = next(answer for answer in answers if answer["id"] == 3)
        assert not call["result"].get("isError") and "default" in call["result"]["content"][0]["text"], call


def test_the_end_of_input_at_any_point_ends_the_server(recorded: Recorded, tmp_path: Path) -> None:
    cases: list[tuple[list[dict[str, Any] | bytes], list[Expect]]] = [
        ([], []),
        ([INIT], [(1, "init", True)]),
        ([INIT, INITIALIZED, b'{"jsonrpc":"2.0","id":2,"meth'], [(1, "init", True)]),
        ([DISCOVER], [(1, "discover", True)]),
    ]

    def run(index: int) -> None:
        env = recorded.planted(tmp_path / str(index))
        server = Server(env)
        messages, expected = cases[index]
        server.send(*messages)
        check(recorded, server.finish(), expected)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(run, range(len(cases))))


@pytest.mark.parametrize("with_snapshot", [True, False])
def test_a_client_that_closes_our_output_ends_the_server(
    recorded: Recorded, tmp_path: Path, with_snapshot: bool
) -> None:
    env = recorded.planted(tmp_path) if with_snapshot else recorded.env(tmp_path)
    process = subprocess.Popen(
        [SERVER_PROGRAM], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert process.stdin is not None and process.stdout is not None and process.stderr is not None
    process.stdout.close()
    process.stdin.write(line(INIT) + line(INITIALIZED) + line(LIST) + line(ping(3)))
    process.stdin.flush()
    # stdin stays open: nobody can hear the answers, so the server must end by itself.
    try:
        code = process.wait(timeout=WITHIN)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("the server hung with its output closed") from None
    finally:
        process.stdin.close()
    errors = process.stderr.read()
    assert code == 0 and b"Traceback" not in errors, errors.decode(errors="replace")[-2000:]


def test_a_server_without_stdin_or_stdout_says_so(recorded: Recorded, tmp_path: Path) -> None:
    env = recorded.planted(tmp_path)
    for closed in ("stdin", "stdout"):
        # The shell closes the descriptor before the server starts: no wire, a clear error, no traceback.
        redirect = "<&-" if closed == "stdin" else ">&- </dev/null"
        result = subprocess.run(
            ["sh", "-c", f'exec "$0" {redirect}', SERVER_PROGRAM], env=env, capture_output=True, timeout=WITHIN
        )
        assert result.returncode == 2, result
        assert b"stdio needs an open stdin and stdout" in result.stderr and b"Traceback" not in result.stderr


def test_a_stray_print_never_reaches_the_wire(recorded: Recorded, tmp_path: Path) -> None:
    # Server code that prints to stdout (and writes to fd 1) while it is imported and at exit.
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(
        "import atexit, os, sys\n"
        "class Loud:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'k3s_mcp.server':\n"
        "            print('stray print from server code')\n"
        "            os.write(1, b'stray write to fd 1\\n')\n"
        "        return None\n"
        "sys.meta_path.insert(0, Loud())\n"
        "atexit.register(lambda: print('stray print at exit'))\n"
    )
    for mark in (True, False):
        cache = tmp_path / f"cache-{mark}"
        env = recorded.planted(cache, PYTHONPATH=str(hooks)) if mark else recorded.env(cache, PYTHONPATH=str(hooks))
        server = Server(env)
        server.send(INIT, INITIALIZED)
        server.until([1])
        server.send(LIST, ping(3))
        server.until([2, 3])
        answers = server.finish()
        # Each answered once; FastMCP answers the listing and the ping concurrently, in either order.
        assert sorted(answer["id"] for answer in answers) == [1, 2, 3]
        assert b"stray print from server code" in server.stderr and b"stray write to fd 1" in server.stderr
        assert b"stray print at exit" in server.stderr


def test_hostile_snapshot_files_are_never_answered_from(recorded: Recorded, tmp_path: Path) -> None:
    """A snapshot path that is a directory, a FIFO, a symlink to /dev/zero or to another snapshot, huge, or of
    the wrong shape: the server answers as FastMCP (no mark) and never hangs on it."""
    good = marked(recorded.snapshot)
    answers = good["answers"]
    listing_key, init_key = f"tools/list|{REVISION}", f"initialize|{REVISION}"
    wrong_shapes: list[Any] = [
        [good],
        {**good, "answers": []},
        {**good, "answers": {key: [value] for key, value in answers.items()}},
        {**good, "answers": {key: "text" for key in answers}},
        {**good, "answers": {**answers, listing_key: {**answers[listing_key], "tools": "all"}}},
        {**good, "answers": {**answers, listing_key: {**answers[listing_key], "tools": [5]}}},
        {**good, "answers": {**answers, listing_key: {**answers[listing_key], "nextCursor": "2"}}},
        {
            **good,
            "answers": {**answers, init_key: {k: v for k, v in answers[init_key].items() if k != "protocolVersion"}},
        },
        {**good, "answers": {**answers, init_key: {**answers[init_key], "protocolVersion": 5}}},
        {**good, "requests": {key: "form" for key in good["requests"]}},
        {**good, "requests": {**good["requests"], "ping|x": []}},
        {**good, "requests": []},
        {**good, "format": 1},
        {**good, "format": "2"},
    ]
    key_env = recorded.env(tmp_path / "probe")
    key = snapshot_key(key_env)
    probe = tmp_path / "probe.json"
    for shape in wrong_shapes:
        probe.write_text(json.dumps({**shape, "key": key} if isinstance(shape, dict) else shape))
        assert read_snapshot(probe, key) is None, shape
    probe.write_text(json.dumps({**good, "key": key}))
    assert read_snapshot(probe, key) is not None  # the good one is read: the checks above are not vacuous

    kinds = ["directory", "fifo", "dev-zero", "other-key", "huge", "tools-not-a-list"]

    def run(kind: str) -> str | None:
        cache = tmp_path / kind
        env = recorded.env(cache)
        path = plant(cache, env, good)
        path.unlink()
        if kind == "directory":
            path.mkdir()
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "dev-zero":
            path.symlink_to("/dev/zero")
        elif kind == "other-key":
            other = plant(cache, recorded.env(cache, K3S_READ_ONLY="true"), good)
            path.symlink_to(other)
        elif kind == "huge":
            path.write_text(json.dumps({**good, "key": snapshot_key(env), "pad": "x" * (9 << 20)}))
        else:
            path.write_text(json.dumps({**wrong_shapes[4], "key": snapshot_key(env)}))
        server = Server(env)
        try:
            server.send(INIT, INITIALIZED)
            server.until([1])
            server.send(LIST)
            server.until([2])
            check(recorded, server.finish(), FASTMCP_ANSWERS)
            assert list(start_dir(cache).glob("*.tmp")) == [], "a partial file left behind"
        except AssertionError as error:
            return f"{kind}: {error}"[:2000]
        return None

    with ThreadPoolExecutor(4) as pool:
        failed = [failure for failure in pool.map(run, kinds) if failure is not None]
    assert not failed, "\n\n".join(failed)


def test_an_unreadable_or_read_only_cache_still_serves(recorded: Recorded, tmp_path: Path) -> None:
    # Unreadable snapshot (root reads it anyway: then it is a good snapshot, answered from), read-only directory.
    unreadable = tmp_path / "unreadable"
    env = recorded.planted(unreadable)
    (path,) = start_dir(unreadable).glob("*.json")
    path.chmod(0)
    read_only = tmp_path / "read-only"
    start_dir(read_only).mkdir(parents=True)
    start_dir(read_only).chmod(stat.S_IRUSR | stat.S_IXUSR)
    read_only_env = recorded.env(read_only)
    try:
        server = Server(env)
        server.send(INIT, INITIALIZED, LIST)
        from_snapshot = os.geteuid() == 0
        check(recorded, server.until([1, 2]), [(1, "init", from_snapshot), (2, "list", from_snapshot)])
        server.finish()
        server = Server(read_only_env)
        server.send(INIT, INITIALIZED)
        server.until([1])
        server.send(LIST)
        server.until([2])
        check(recorded, server.finish(), FASTMCP_ANSWERS)
        if os.geteuid() != 0:
            assert list(start_dir(read_only).iterdir()) == []
    finally:
        start_dir(read_only).chmod(stat.S_IRWXU)


def test_a_cache_that_is_a_file_unset_or_relative_still_serves(recorded: Recorded, tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    home = tmp_path / "home"
    home.mkdir()
    settings: list[dict[str, str]] = [
        {"XDG_CACHE_HOME": str(a_file)},
        {"XDG_CACHE_HOME": "relative/cache", "HOME": str(home)},
        {"HOME": str(home)},
    ]

    def run(extra: dict[str, str]) -> None:
        env = {key: value for key, value in server_env(recorded.kubeconfig).items() if key != "HOME"} | extra
        server = Server(env)
        server.send(INIT, INITIALIZED)
        server.until([1])
        server.send(LIST)
        server.until([2])
        check(recorded, server.finish(), FASTMCP_ANSWERS)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(run, settings))
    assert a_file.read_text() == "not a directory"
    # Unset or relative XDG_CACHE_HOME: the snapshot lives under $HOME/.cache, never relative to the working dir.
    (recorded_path,) = (home / ".cache" / "k3s-mcp" / "start").glob("*.json")
    assert read_snapshot(recorded_path, recorded_path.stem) is not None
    assert not Path("relative").exists()


def test_servers_starting_at_once_on_one_cache_leave_a_valid_snapshot(recorded: Recorded, tmp_path: Path) -> None:
    env = recorded.env(tmp_path)

    def run(handshake: dict[str, Any]) -> None:
        server = Server(env)
        server.send(handshake)
        server.until([1])
        if handshake is INIT:
            server.send(INITIALIZED)
        server.send(LIST if handshake is INIT else LIST26)
        server.until([2])
        server.finish()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(run, [INIT, DISCOVER, INIT, DISCOVER]))
    paths = list(start_dir(tmp_path).iterdir())
    assert [path.suffix for path in paths] == [".json"], paths  # no partial file left behind
    snapshot = read_snapshot(paths[0], paths[0].stem)
    assert snapshot is not None and snapshot[0], paths[0].read_text()[:500]
    names = {"initialize": "init", "server/discover": "discover", f"tools/list|{REVISION}": "list"}
    for key, answer in snapshot[0].items():
        name = names.get(key, names.get(key.split("|")[0], "list26"))
        assert answer == recorded.reference[name], key


async def test_the_real_client_gets_fastmcps_answers_from_a_snapshot(recorded: Recorded, tmp_path: Path) -> None:
    env = recorded.planted(tmp_path, mark=False)
    async with Client(StdioTransport(SERVER_PROGRAM, [], env=env)) as client:
        tools = (await client.list_tools_mcp()).model_dump(mode="json", by_alias=True, exclude_none=True)
        # A burst of calls while FastMCP may still be importing: each gets its own answer.
        results = await asyncio.gather(*(client.call_tool_mcp("get_namespaces", {}) for _ in range(5)))
        again = await client.list_tools_mcp()
    assert tools["tools"] == recorded.reference["list26"]["tools"]
    assert [tool.name for tool in again.tools] == [tool["name"] for tool in tools["tools"]]
    assert all(not result.is_error and "default" in result.content[0].text for result in results)  # type: ignore[union-attr]
    # FastMCP agreed with every answer given: the snapshot is still there, unchanged.
    (path,) = start_dir(tmp_path).glob("*.json")
    assert json.loads(path.read_text())["answers"] == recorded.snapshot["answers"]
