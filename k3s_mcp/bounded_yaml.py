"""YAML from tool arguments, read and written within limits checked while the document is composed.

PyYAML composes a graph of nodes in which an alias is a second reference to its anchored node, so a few hundred
bytes of anchors and aliases ("billion laughs") compose in microseconds and then expand without bound once
anything walks the objects (a JSON request body, a comparison, a copy). This module composes the documents itself
from the parser's event stream (libyaml's when PyYAML has it) and counts as it goes: every node, an alias as the
whole node it refers to, nesting depth, aliases and documents. The first event that takes the input over a limit
stops it, before any Python object is built. The Python objects are then built by PyYAML's SafeConstructor from the
counted nodes.

The limits come from settings (K3S_YAML_MAX_*); a violation raises `YamlLimitError`, whose message is one sentence
naming the limit, its setting and the value found. Malformed YAML still raises PyYAML's own `MarkedYAMLError`
(with line and column).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

import yaml
from yaml.composer import ComposerError
from yaml.constructor import SafeConstructor
from yaml.error import Mark
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

if TYPE_CHECKING:
    from k3s_mcp.settings import Settings

try:  # libyaml's parser and emitter when PyYAML was built with them, else PyYAML's pure-Python ones
    from yaml._yaml import CParser as _CParser
    from yaml.cyaml import CSafeDumper as _SafeDumper
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    _CParser = None  # type: ignore[assignment, misc]
    from yaml import SafeDumper as _SafeDumper  # type: ignore[assignment]

LIBYAML = _CParser is not None


class YamlLimitError(ValueError):
    """A YAML input went over one of the K3S_YAML_MAX_* limits; the message says which, and what was found."""


@dataclass(frozen=True)
class YamlLimits:
    """The bounds one YAML input (or one value to be written as YAML) must stay within."""

    max_bytes: int
    max_nodes: int
    max_depth: int
    max_aliases: int
    max_documents: int

    @classmethod
    def from_settings(cls, settings: Settings) -> YamlLimits:
        return cls(
            max_bytes=settings.yaml_max_bytes,
            max_nodes=settings.yaml_max_nodes,
            max_depth=settings.yaml_max_depth,
            max_aliases=settings.yaml_max_aliases,
            max_documents=settings.yaml_max_documents,
        )


class _Events(Protocol):
    """What composing needs from a parser: PyYAML's Python parser and libyaml's CParser both provide it."""

    def check_event(self, *choices: type[Event]) -> bool: ...
    def peek_event(self) -> Event: ...
    def get_event(self) -> Event: ...
    def dispose(self) -> None: ...


@dataclass(frozen=True)
class _Anchor:
    """A composed anchored node and what it counts for each time an alias repeats it."""

    node: Node
    nodes: int
    text: int


def _mark(event: Event) -> Mark | None:
    """Where an event starts (libyaml's and PyYAML's marks have the same line and column)."""
    return cast("Mark | None", event.start_mark)


def _line(mark: Mark | None) -> str:
    return f"{mark.line + 1:,}" if mark is not None else "?"


class _Composer:
    """Composes nodes from parser events like PyYAML's Composer, refusing the first event over a limit."""

    def __init__(self, events: _Events, limits: YamlLimits, refused: str) -> None:
        self._events = events
        self._limits = limits
        self._refused = refused
        self._resolver = Resolver()
        self._anchors: dict[str, _Anchor | None] = {}
        self.nodes = 0
        self.text = 0
        self.aliases = 0
        self.documents = 0

    def _resolve(self, kind: type[Node], value: str | None, implicit: Any) -> str:
        return cast(str, self._resolver.resolve(kind, value, implicit))  # type: ignore[no-untyped-call]

    def _refuse(self, finding: str, setting: str, fix: str) -> YamlLimitError:
        return YamlLimitError(f"{self._refused}: {finding} ({setting}); {fix}.")

    def documents_of_stream(self) -> Iterator[Node]:
        self._events.get_event()  # StreamStartEvent
        while not self._events.check_event(StreamEndEvent):
            start = self._events.get_event()
            assert isinstance(start, DocumentStartEvent)
            self.documents += 1
            if self.documents > self._limits.max_documents:
                raise self._refuse(
                    f"it has {self.documents:,} YAML documents by line {_line(_mark(start))}, more than the "
                    f"{self._limits.max_documents:,} allowed",
                    "K3S_YAML_MAX_DOCUMENTS",
                    "apply it in parts or raise the limit",
                )
            node = self._node(0)
            self._events.get_event()  # DocumentEndEvent
            self._anchors = {}
            yield node
        self._events.get_event()  # StreamEndEvent

    def _count(self, nodes: int, text: int, mark: Mark | None, alias: str | None) -> None:
        """Add `nodes` nodes and `text` characters of scalar text (an alias adds all its anchor holds)."""
        self.nodes += nodes
        self.text += text
        expands = "expands YAML aliases to" if alias is not None else "has"
        where = f"by line {_line(mark)}" + (f" (alias *{alias})" if alias is not None else "")
        fix = "remove anchors/aliases" if alias is not None else "apply it in parts"
        fix += " or raise the limit"
        if self.nodes > self._limits.max_nodes:
            raise self._refuse(
                f"it {expands} {self.nodes:,} YAML nodes {where}, more than the {self._limits.max_nodes:,} allowed",
                "K3S_YAML_MAX_NODES",
                fix,
            )
        if self.text > self._limits.max_bytes:
            raise self._refuse(
                f"it {expands} {self.text:,} characters of scalar text {where}, more than the "
                f"{self._limits.max_bytes:,} allowed",
                "K3S_YAML_MAX_BYTES",
                fix,
            )

    def _node(self, depth: int) -> Node:
        event = self._events.peek_event()
        if isinstance(event, AliasEvent):
            self._events.get_event()
            return self._alias(event)
        assert isinstance(event, ScalarEvent | SequenceStartEvent | MappingStartEvent), event
        anchor = event.anchor
        if anchor is not None:
            if anchor in self._anchors:
                first = self._anchors[anchor]
                raise ComposerError(
                    f"found duplicate anchor {anchor!r}; first occurrence",
                    first.node.start_mark if first is not None else None,
                    "second occurrence",
                    _mark(event),
                )
            self._anchors[anchor] = None  # composing: an alias to it now would be recursive
        nodes_before, text_before = self.nodes, self.text
        node: Node
        if isinstance(event, ScalarEvent):
            node = self._scalar(event)
        elif isinstance(event, SequenceStartEvent):
            node = self._sequence(depth + 1)
        else:
            node = self._mapping(depth + 1)
        if anchor is not None:
            self._anchors[anchor] = _Anchor(node, self.nodes - nodes_before, self.text - text_before)
        return node

    def _alias(self, event: AliasEvent) -> Node:
        name = str(event.anchor)
        self.aliases += 1
        if self.aliases > self._limits.max_aliases:
            raise self._refuse(
                f"it uses {self.aliases:,} YAML aliases by line {_line(_mark(event))}, more than the "
                f"{self._limits.max_aliases:,} allowed",
                "K3S_YAML_MAX_ALIASES",
                "remove anchors/aliases or raise the limit",
            )
        if name not in self._anchors:
            raise ComposerError(None, None, f"found undefined alias {name!r}", _mark(event))
        anchored = self._anchors[name]
        if anchored is None:
            raise YamlLimitError(
                f"{self._refused}: the YAML alias *{name} at line {_line(_mark(event))} refers to a node that "
                "contains it, so it would expand without end; remove the alias."
            )
        self._count(anchored.nodes, anchored.text, _mark(event), name)
        return anchored.node

    def _scalar(self, event: ScalarEvent) -> ScalarNode:
        self._events.get_event()
        self._count(1, len(event.value), _mark(event), None)
        tag = event.tag
        if tag is None or tag == "!":
            tag = self._resolve(ScalarNode, event.value, event.implicit)
        # The end mark is dropped: nothing reads it, and it is the largest part of a small scalar's node.
        return ScalarNode(tag, event.value, _mark(event), None, style=event.style)

    def _open(self, event: Event, depth: int) -> None:
        if depth > self._limits.max_depth:
            mark = _mark(event)
            column = f", column {mark.column + 1:,}" if mark is not None else ""
            raise self._refuse(
                f"it nests lists and mappings {depth:,} levels deep at line {_line(mark)}{column}, more than the "
                f"{self._limits.max_depth:,} allowed",
                "K3S_YAML_MAX_DEPTH",
                "flatten it or raise the limit",
            )
        self._count(1, 0, _mark(event), None)

    def _sequence(self, depth: int) -> SequenceNode:
        start = self._events.get_event()
        assert isinstance(start, SequenceStartEvent)
        self._open(start, depth)
        tag = start.tag
        if tag is None or tag == "!":
            tag = self._resolve(SequenceNode, None, start.implicit)
        node = SequenceNode(tag, [], _mark(start), None, flow_style=start.flow_style)
        while not self._events.check_event(SequenceEndEvent):
            node.value.append(self._node(depth))
        node.end_mark = self._events.get_event().end_mark
        return node

    def _mapping(self, depth: int) -> MappingNode:
        start = self._events.get_event()
        assert isinstance(start, MappingStartEvent)
        self._open(start, depth)
        tag = start.tag
        if tag is None or tag == "!":
            tag = self._resolve(MappingNode, None, start.implicit)
        node = MappingNode(tag, [], _mark(start), None, flow_style=start.flow_style)
        while not self._events.check_event(MappingEndEvent):
            key = self._node(depth)
            value = self._node(depth)
            node.value.append((key, value))
        node.end_mark = self._events.get_event().end_mark
        return node


def _parser(text: str) -> _Events:
    if _CParser is not None:
        return _CParser(text)  # type: ignore[return-value]
    return yaml.SafeLoader(text)  # type: ignore[return-value]  # pragma: no cover - without libyaml


def input_size_error(text: str, limits: YamlLimits, refused: str) -> YamlLimitError | None:
    """The refusal of an input larger than K3S_YAML_MAX_BYTES, or None (counted without copying a small one)."""
    if len(text) <= limits.max_bytes // 4:  # at most 4 UTF-8 bytes per character: surely within the limit
        return None
    size = len(text.encode("utf-8", "surrogatepass"))
    if size <= limits.max_bytes:
        return None
    return YamlLimitError(
        f"{refused}: it is {size:,} bytes, more than the {limits.max_bytes:,} allowed (K3S_YAML_MAX_BYTES); "
        "apply it in parts or raise the limit."
    )


def load_all(text: str, limits: YamlLimits, refused: str = "The manifest is refused") -> list[Any]:
    """Every document of a YAML stream as Python objects (SafeLoader types), or YamlLimitError / YAMLError.

    `refused` starts the sentence of a limit error, e.g. "The manifest is refused". This is CPU work: run it
    off the event loop (`asyncio.to_thread`).
    """
    too_big = input_size_error(text, limits, refused)
    if too_big is not None:
        raise too_big
    events = _parser(text)
    try:
        composer = _Composer(events, limits, refused)
        documents: list[Any] = []
        for node in composer.documents_of_stream():
            constructor = SafeConstructor()
            documents.append(constructor.construct_document(node))
        return documents
    finally:
        events.dispose()


def measure(value: Any, limits: YamlLimits, refused: str) -> None:
    """Refuse a Python value (say Helm values from a tool argument) that would write YAML over the limits.

    Walks the value without recursion and counts as the YAML would: every node, a repeated object each time it
    appears (so shared or cyclic structures end on the node or depth limit), and scalar text.
    """
    nodes = 0
    text = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        nodes += 1
        if nodes > limits.max_nodes:
            raise YamlLimitError(
                f"{refused}: they hold at least {nodes:,} YAML nodes, more than the {limits.max_nodes:,} allowed "
                "(K3S_YAML_MAX_NODES); send fewer values or raise the limit."
            )
        if isinstance(item, dict):
            children: list[Any] = [part for pair in item.items() for part in pair]
        elif isinstance(item, list | tuple):
            children = list(item)
        else:
            text += len(item) if isinstance(item, str) else 1
            if text > limits.max_bytes:
                raise YamlLimitError(
                    f"{refused}: they hold at least {text:,} characters of text, more than the "
                    f"{limits.max_bytes:,} allowed (K3S_YAML_MAX_BYTES); send fewer values or raise the limit."
                )
            continue
        if depth + 1 > limits.max_depth:
            raise YamlLimitError(
                f"{refused}: they nest lists and mappings {depth + 1:,} levels deep, more than the "
                f"{limits.max_depth:,} allowed (K3S_YAML_MAX_DEPTH); flatten them or raise the limit."
            )
        pending.extend((child, depth + 1) for child in children)


def dump(value: Any, limits: YamlLimits, refused: str) -> str:
    """YAML text of `value` (as yaml.safe_dump writes it) once `measure` has found it within the limits.

    CPU work for large values: run it off the event loop (`asyncio.to_thread`).
    """
    measure(value, limits, refused)
    stream = io.StringIO()
    yaml.dump(value, stream, Dumper=_SafeDumper)
    return stream.getvalue()
