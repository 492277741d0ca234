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

_NOT_AFTER_IN = (
    r"(?!the\b|a\b|an\b|my\b|our\b|all\b|every\b|last\b|pod\b|container\b|order\b|case\b|detail\b|json\b|yaml\b)"
)
# Most explicit first: a flag, "namespace X", "the X namespace", then a plain "in X".
_NAMESPACE_PATTERNS = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        rf"(?<![\w-])(?:-n|--namespace)[ =]({NAME})",
        rf"(?<![\w-])(?:namespace|ns)[ :=]+({NAME})",
        rf"\b(?:in|from|of|on|within|inside|for|the)\s+(?:the\s+)?({NAME})\s+(?:namespace|ns)\b",
        rf"\b(?:in|within|inside)\s+{_NOT_AFTER_IN}({NAME})\s*[?.!]*$",
        rf"\b(?:in|within|inside)\s+{_NOT_AFTER_IN}({NAME})\b",
        rf"\b(?:pods|deployments|services|secrets|configmaps|jobs|cronjobs|statefulsets|daemonsets|ingresses|events)"
        rf"\s+(?:of|from)\s+(?:the\s+)?({NAME})\s*[?.!]*$",
    )
)
DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
DNS_SUBDOMAIN = re.compile(r"(?=.{1,253}$)[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?")

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
_REVISION = re.compile(r"\brevision\s+(?:number\s+)?(\d{1,9})\b", re.IGNORECASE)
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
    """True when a word can be a Kubernetes object name (DNS-1123) and is not an ordinary word of a request."""
    lowered = value.lower()
    return bool(DNS_SUBDOMAIN.fullmatch(lowered)) and lowered not in _NOT_NAMES and not lowered.isdigit()


def number_value(text: str) -> int | None:
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    return NUMBER_WORDS.get(text)


def extract_namespace(text: str) -> str | None:
    """The namespace the request names, or None; a word of the request ("is", "please") is never one."""
    for pattern in _NAMESPACE_PATTERNS:
        for match in pattern.finditer(text):
            value = match.group(1).lower()
            if value not in _NOT_NAMESPACES and DNS_LABEL.fullmatch(value):
                return value
    return None


_NAMESPACE_CLAUSES = re.compile(
    rf"\s*(?:(?<![\w-])(?:-n|--namespace)[ =]{NAME}|\b(?:in|from|within|inside)\s+(?:the\s+)?(?:namespace\s+)?"
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


# Words that announce the object of a parameter beyond the kind words of the tool's name.
_PARAMETER_HINTS: dict[str, frozenset[str]] = {
    "pod_name": frozenset({"pod", "pods", "po"}),
    "cronjob": frozenset({"cronjob", "cronjobs", "cron"}),
    "release": frozenset({"release", "helm"}),
}
_TOOL_HINTS: dict[str, frozenset[str]] = {
    "keda": frozenset({"scaler", "scaledobject", "scaledjob", "keda", "object", "job"}),
    "context": frozenset({"context", "use-context"}),
    "volume": frozenset({"pv", "volume"}),
    "claim": frozenset({"pvc", "claim"}),
    "helm": frozenset({"helmchartconfig", "config", "chart"}),
    "rollout": frozenset({"deployment", "deploy", "statefulset", "sts", "daemonset", "ds"}),
}


def _kind_hint(tool: ToolSpec, parameter: str) -> set[str]:
    """Words that announce this tool's object, so "restart pod X" names X and not the namespace."""
    words = set(re.split(r"[_\W]+", tool.name.lower()))
    hints = {w for w in words if w in KIND_WORDS}
    for word in list(hints):
        kind = KIND_WORDS[word]
        hints |= {k for k, v in KIND_WORDS.items() if v == kind}
    hints |= _PARAMETER_HINTS.get(parameter, frozenset())
    for word in words:
        hints |= _TOOL_HINTS.get(word, frozenset())
    return hints


def _looks_generated(token: str) -> bool:
    """A name no sentence uses as a word: it carries a digit or a hyphen ("web-1", "db-proxy-0", "pv0042")."""
    return any(ch.isdigit() for ch in token) or "-" in token


def extract_object_name(text: str, hints: set[str], exclude: set[str]) -> str | None:
    """The object a request is about, never a filler word. In this order: the word after a kind word of the tool
    ("pod web-1", "deployment called web"), the word before one ("the web deployment"), the same with any kind
    word, then a word only a name looks like (a digit or a hyphen in it). Otherwise None: the argument is missing,
    and the request is not run, rather than run on a guess."""
    lowered = text.lower()
    tokens: list[str] = [str(t).rstrip(".-_,:;?!") for t in re.findall(r"[a-z0-9][a-z0-9./_-]*", lowered)]
    all_kinds = set(KIND_WORDS)

    def usable(token: str) -> bool:
        return (
            bool(re.fullmatch(NAME, token))
            and token not in _NOT_NAMES
            and token not in exclude
            and token not in all_kinds
            and not token.isdigit()
        )

    def near(kinds: set[str]) -> str | None:
        for index, token in enumerate(tokens):
            if token not in kinds:
                continue
            for follow in tokens[index + 1 : index + 3]:
                if usable(follow):
                    return follow
                if follow not in {"named", "called", "the"}:
                    break
        for index, token in enumerate(tokens):
            if token in kinds and index > 0 and usable(tokens[index - 1]):
                return tokens[index - 1]
        return None

    found = (near(hints) if hints else None) or near(all_kinds)
    if found is not None:
        return found
    return next((t for t in tokens if usable(t) and _looks_generated(t) and "/" not in t), None)


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
    "revision": lambda text: int(m.group(1)) if (m := _REVISION.search(text)) else None,
    "to_revision": lambda text: int(m.group(1)) if (m := _REVISION.search(text)) else None,
    "previous": lambda text: True if _PREVIOUS.search(text) else None,
    "dry_run": lambda text: True if _DRY_RUN.search(text) else None,
    "container": lambda text: m.group(1) if (m := _CONTAINER.search(text)) else None,
}

_NAME_PARAMETERS = {"name", "pod_name", "deployment_name", "release", "release_name", "cronjob"}


def missing_target(tool: ToolSpec, arguments: dict[str, Any]) -> list[str]:
    """Required parameters naming the object a call acts on (name, pod_name, release, ...) that are not given."""
    return [name for name in tool.required if name in _NAME_PARAMETERS and name not in arguments]


def extract_arguments(text: str, tool: ToolSpec, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """Arguments for `tool` found in `text`; values in `given` (a rule's named groups) win."""
    arguments: dict[str, Any] = {}
    given = {k: v for k, v in (given or {}).items() if v not in (None, "")}
    parameters = tool.parameters
    for parameter in parameters:
        if parameter in given:
            continue
        extractor = _BY_PARAMETER.get(parameter)
        # Text is never read into an object ("labels" of apply_configmap, "data"): a sentence cannot say all of
        # it, and a partial object applied would drop the rest.
        if extractor is not None and tool.parameter_kind(parameter) != "object":
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


def _bounds(schema: dict[str, Any]) -> tuple[float | None, float | None, int | None]:
    """(minimum, maximum, maxLength) of a parameter's schema, looking inside a nullable anyOf."""
    options = [schema, *(o for o in schema.get("anyOf") or [] if isinstance(o, dict))]
    low = next((o["minimum"] for o in options if isinstance(o.get("minimum"), int | float)), None)
    high = next((o["maximum"] for o in options if isinstance(o.get("maximum"), int | float)), None)
    length = next((o["maxLength"] for o in options if isinstance(o.get("maxLength"), int)), None)
    return low, high, length


_NAMESPACE_PARAMETERS = frozenset({"namespace"})
_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "array": list,
    "object": dict,
}


def invalid_arguments(tool: ToolSpec, arguments: dict[str, Any]) -> list[str]:
    """Parameters whose value cannot be right, so the call must not run: a value of another type than the schema's,
    a namespace that is not a DNS-1123 label, an object name that is not a DNS-1123 subdomain or is a word of the
    request ("is", "the"), a value outside the schema's enum, an integer outside its range, a string over its
    length."""
    bad: list[str] = []
    for key, value in arguments.items():
        schema = tool.parameters.get(key) or {}
        low, high, length = _bounds(schema)
        kind = tool.parameter_kind(key)
        if not isinstance(value, _TYPES.get(kind, object)) or (
            kind in {"integer", "number"} and isinstance(value, bool)
        ):
            bad.append(key)
            continue
        enum = next(
            (o["enum"] for o in [schema, *(schema.get("anyOf") or [])] if isinstance(o, dict) and o.get("enum")), None
        )
        if enum is not None and value not in enum:
            bad.append(key)
            continue
        if key in _NAMESPACE_PARAMETERS:
            ok = isinstance(value, str) and bool(DNS_LABEL.fullmatch(value)) and value not in _NOT_NAMESPACES
        elif key in _NAME_PARAMETERS:
            ok = isinstance(value, str) and is_object_name(value)
        elif isinstance(value, bool):
            ok = True
        elif isinstance(value, int | float):
            ok = (low is None or value >= low) and (high is None or value <= high)
        elif isinstance(value, str):
            ok = length is None or len(value) <= length
        else:
            ok = True
        if not ok:
            bad.append(key)
    return bad
