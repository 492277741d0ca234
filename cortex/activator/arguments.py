"""Pulls tool arguments out of the request text itself, driven by the tool's input schema.

Tiers 2-4 only choose the tool; the values always come from the new request (never copied from an old
one), so a reused route cannot carry a stale namespace or replica count.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from typing import Any

from cortex.activator.catalog import ToolSpec
from cortex.activator.vocabulary import vocabulary

NAME = r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?"

_WORDS = vocabulary()
NUMBER_WORDS = _WORDS.numbers
_NUMBER = r"(\d+|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"
KIND_WORDS = _WORDS.kinds
_NOT_NAMES = _WORDS.not_names | frozenset(KIND_WORDS)
_NOT_NAMESPACES = _WORDS.not_namespaces

_NAMESPACE_PATTERNS = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        rf"(?:-n|--namespace)[ =]({NAME})",
        rf"\bnamespace[ :=]+(?!is\b|for\b)({NAME})",
        rf"\bns[ :=]+({NAME})",
        rf"\b(?:in|from|of|on|within|inside|for)\s+(?:the\s+)?({NAME})\s+(?:namespace|ns)\b",
        rf"\b(?:in|within|inside)\s+(?!the\b|a\b|my\b|all\b|every\b|last\b|pod\b|container\b)({NAME})\s*[?.!]*$",
        rf"\b(?:in|within|inside)\s+(?!the\b|a\b|my\b|all\b|every\b|last\b|pod\b|container\b|order\b|"
        rf"case\b|detail\b|json\b|yaml\b)({NAME})\b",
    )
)

_TAIL_PATTERNS = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\b(?:last|tail|final|latest)\s+(\d+)\s*(?:log\s+)?lines?\b",
        r"\b(\d+)\s+(?:log\s+)?lines\b",
        r"\b(?:tail|last)\s*[= ]\s*(\d+)\b(?!\s*(?:min|sec|hour|hr|s\b|m\b|h\b))",
        r"--tail[= ](\d+)",
    )
)
_SINCE = re.compile(
    r"\b(?:last|past|since|previous)\s+(\d+)\s*(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h)\b",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}
_PREVIOUS = re.compile(
    r"\b(previous|prior|crashed|before (?:it|the) (?:crash|restart)\w*|last (?:run|instance|container))\b",
    re.IGNORECASE,
)
_DRY_RUN = re.compile(r"\b(dry[- ]?run|what would happen|simulate|without (?:applying|changing))\b", re.I)
_LABELS = re.compile(
    r"(?<![\w/.-])([a-z0-9][\w./-]*\s*(?:!=|==|=)\s*[\w.-]+(?:\s*,\s*[a-z0-9][\w./-]*\s*(?:!=|==|=)\s*[\w.-]+)*)",
    re.IGNORECASE,
)
_REPLICA_PATTERNS = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        rf"\breplicas?\s*(?:=|:|to|of)?\s*{_NUMBER}\b",
        rf"\b{_NUMBER}\s+(?:replicas?|copies|instances|pods)\b",
        rf"\b(?:to|=)\s*{_NUMBER}\b",
        rf"\bscale\s+(?:{NAME}\s+)?(?:down|up)?\s*{_NUMBER}\b",
    )
)
_CONTAINER = re.compile(
    rf"\bcontainer\s+(?:named\s+|called\s+)?(?!of\b|in\b|on\b|for\b|and\b|to\b)({NAME})", re.IGNORECASE
)
_QUOTED = re.compile(r"`([^`]+)`|\"([^\"]+)\"|'([^']+)'")
_COMMAND_AFTER_VERB = re.compile(
    r"\b(?:run|exec(?:ute)?|execute command)\s+(.+?)\s+(?:in|on|inside|within)\s+(?:the\s+)?(?:pod\s+)?" + NAME,
    re.IGNORECASE,
)
_COMMAND_TRAILING = re.compile(r"\b(?:run|exec(?:ute)?)\b.*?(?:pod\s+)?" + NAME + r"\s*:\s*(.+)$", re.IGNORECASE)


def is_object_name(value: str) -> bool:
    """True when a word can be a Kubernetes object name and is not an ordinary word of a request."""
    lowered = value.lower()
    return bool(re.fullmatch(NAME, lowered)) and lowered not in _NOT_NAMES and not lowered.isdigit()


def number_value(text: str) -> int | None:
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    return NUMBER_WORDS.get(text)


def extract_namespace(text: str) -> str | None:
    for pattern in _NAMESPACE_PATTERNS:
        for match in pattern.finditer(text):
            value = match.group(1).lower()
            if value not in _NOT_NAMESPACES:
                return value
    return None


_NAMESPACE_CLAUSES = re.compile(
    rf"\s*(?:(?:-n|--namespace)[ =]{NAME}|\b(?:in|from|within|inside)\s+(?:the\s+)?(?:namespace\s+)?"
    rf"{NAME}\s+(?:namespace|ns)\b|\bnamespace[ :=]+{NAME}|\b(?:in|within|inside)\s+"
    rf"(?!the\b|a\b|my\b|all\b|every\b|last\b|pod\b|container\b){NAME}\s*[?.!]*$)",
    re.IGNORECASE,
)


def without_namespace(text: str) -> str:
    """The request without its namespace clause, so "list secrets in payments" reads like "list secrets"."""
    stripped = _NAMESPACE_CLAUSES.sub("", text).strip()
    return stripped or text


def extract_replicas(text: str) -> int | None:
    for pattern in _REPLICA_PATTERNS:
        match = pattern.search(text)
        if match:
            value = number_value(match.group(1))
            if value is not None:
                return value
    return None


def extract_tail_lines(text: str) -> int | None:
    for pattern in _TAIL_PATTERNS:
        match = pattern.search(text)
        if match:
            return int(match.group(1))
    return None


def extract_since_seconds(text: str) -> int | None:
    match = _SINCE.search(text)
    if not match:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)[0].lower()]


def extract_labels(text: str) -> str | None:
    match = _LABELS.search(text)
    if not match:
        return None
    value = re.sub(r"\s+", "", match.group(1))
    if value.split("=")[0].lower() in {"replicas", "tail", "namespace", "ns", "since"}:
        return None
    return value


def extract_kind(text: str) -> str | None:
    for token in re.findall(r"[a-z]+", text.lower()):
        kind = KIND_WORDS.get(token)
        if kind and kind not in {"Node", "Namespace"}:
            return kind
    return None


def extract_command(text: str) -> list[str] | None:
    quoted = _QUOTED.search(text)
    raw: str | None = None
    if quoted:
        raw = next(group for group in quoted.groups() if group)
    else:
        match = _COMMAND_TRAILING.search(text) or _COMMAND_AFTER_VERB.search(text)
        if match:
            raw = match.group(1)
            raw = re.sub(r"^(?:the\s+)?(?:command\s+)", "", raw, flags=re.I)
    if not raw or not raw.strip():
        return None
    try:
        argv = shlex.split(raw)
    except ValueError:
        argv = raw.split()
    return argv or None


def _kind_hint(tool: ToolSpec, parameter: str) -> set[str]:
    """Words that announce this tool's object, so "restart pod X" names X and not the namespace."""
    words = set(re.split(r"[_\W]+", tool.name.lower()))
    if parameter == "pod_name":
        words.add("pod")
    hints = {w for w in words if w in KIND_WORDS}
    for word in list(hints):
        kind = KIND_WORDS[word]
        hints |= {k for k, v in KIND_WORDS.items() if v == kind}
    return hints


def extract_object_name(text: str, hints: set[str], exclude: set[str]) -> str | None:
    """The object a request is about: next to its kind word if any, else the first name-like word."""
    lowered = text.lower()
    tokens: list[str] = [str(t).rstrip(".-_") for t in re.findall(r"[a-z0-9][a-z0-9./_-]*", lowered)]

    def usable(token: str) -> bool:
        return (
            bool(re.fullmatch(NAME, token))
            and token not in _NOT_NAMES
            and token not in exclude
            and not token.isdigit()
            and "=" not in token
        )

    all_kinds = set(KIND_WORDS)
    for index, token in enumerate(tokens):
        if token in hints or (not hints and token in all_kinds):
            # "the web deployment" reads more reliably than the word after it ("... deployment use").
            if index > 0 and usable(tokens[index - 1]) and tokens[index - 1] not in all_kinds:
                return tokens[index - 1]
            # "pod web-1", "pod named web-1", "deployment called web"
            for follow in tokens[index + 1 : index + 3]:
                if usable(follow):
                    return follow
                if follow not in {"named", "called", "the"}:
                    break
    if hints:
        # The tool's own kind is not named ("why is pod web-1 failing" for a deployment tool): any kind will do.
        return extract_object_name(text, set(), exclude)
    for token in tokens:
        if usable(token) and token not in all_kinds:
            return token
    return None


Extractor = Callable[[str], Any]

_BY_PARAMETER: dict[str, Extractor] = {
    "namespace": extract_namespace,
    "replicas": extract_replicas,
    "tail_lines": extract_tail_lines,
    "since_seconds": extract_since_seconds,
    "labels": extract_labels,
    "label_selector": extract_labels,
    "kind": extract_kind,
    "command": extract_command,
    "previous": lambda text: True if _PREVIOUS.search(text) else None,
    "dry_run": lambda text: True if _DRY_RUN.search(text) else None,
    "container": lambda text: m.group(1) if (m := _CONTAINER.search(text)) else None,
}

_NAME_PARAMETERS = {"name", "pod_name", "deployment_name", "release", "release_name", "cronjob"}


def extract_arguments(text: str, tool: ToolSpec, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """Arguments for `tool` found in `text`; values in `given` (a rule's named groups) win."""
    arguments: dict[str, Any] = {}
    given = {k: v for k, v in (given or {}).items() if v not in (None, "")}
    parameters = tool.parameters
    for parameter in parameters:
        if parameter in given:
            continue
        extractor = _BY_PARAMETER.get(parameter)
        if extractor is not None:
            value = extractor(text)
            if value is not None:
                arguments[parameter] = value
    exclude = {str(arguments.get("namespace") or given.get("namespace") or "")}
    if "container" in arguments:
        exclude.add(str(arguments["container"]))
    for parameter in parameters:
        if parameter in _NAME_PARAMETERS and parameter not in given:
            value = extract_object_name(text, _kind_hint(tool, parameter), exclude)
            if value is not None:
                arguments[parameter] = value
    arguments.update(given)
    return coerce_arguments(tool, arguments)


def coerce_arguments(tool: ToolSpec, arguments: dict[str, Any]) -> dict[str, Any]:
    """Cast values to the schema's types and drop what the tool does not take or cannot be cast."""
    result: dict[str, Any] = {}
    for key, value in arguments.items():
        if key not in tool.parameters:
            continue
        kind = tool.parameter_kind(key)
        try:
            if kind == "integer":
                number = value if isinstance(value, int) else number_value(str(value))
                if number is None:
                    continue
                result[key] = int(number)
            elif kind == "boolean":
                result[key] = value if isinstance(value, bool) else str(value).lower() in {"true", "1", "yes"}
            elif kind == "array":
                result[key] = list(value) if isinstance(value, list | tuple) else shlex.split(str(value))
            elif kind == "string":
                if isinstance(value, dict | list):
                    continue
                result[key] = str(value)
            else:
                result[key] = value
        except (TypeError, ValueError):
            continue
    return result


def missing_required(tool: ToolSpec, arguments: dict[str, Any]) -> list[str]:
    return [name for name in tool.required if name not in arguments]


def grounded(value: Any, text: str) -> bool:
    """True when a model-proposed value appears in the request, so a model cannot invent a target."""
    lowered = text.lower()
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return str(value) in lowered or any(n == value and w in lowered for w, n in NUMBER_WORDS.items())
    if isinstance(value, list):
        return all(grounded(item, text) for item in value)
    return str(value).lower() in lowered
