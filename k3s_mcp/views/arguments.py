"""Invalid tool arguments answered as one sentence: the parameter, the rule it breaks and the value received.

FastMCP validates a call's arguments with pydantic before the tool runs (``FunctionTool._run_body``) and raises
``fastmcp.exceptions.ValidationError`` from the ``pydantic.ValidationError``, whose text is a multi-line dump with a
documentation link per error. :func:`argument_error_message` words that error once for every tool
(``k3s_mcp.middleware.arguments``):

    Invalid argument `limit`: must be at most 5000, got 9000.
    Missing required argument `name`.
    Invalid argument `replicas`: must be an integer, got 'three'.

Values are shown truncated (:data:`MAX_VALUE_CHARS`) and, unless K3S_REDACT=false, redacted before they are cut (a
cut could hide a secret's shape from the redaction of the whole answer). Middleware that checks an argument itself
(``context``, ``confirm``) words its refusal with :func:`invalid_argument`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError as PydanticValidationError
from pydantic_core import ErrorDetails

from k3s_mcp.views.redaction import redact

MAX_VALUE_CHARS = 60
_MISSING = frozenset(
    {"missing", "missing_argument", "missing_keyword_only_argument", "missing_positional_only_argument"}
)
UNKNOWN_ARGUMENT_TYPES = frozenset({"unexpected_keyword_argument", "extra_forbidden", "unexpected_positional_argument"})
_TYPE_RULES = {
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "decimal_type": "must be a number",
    "decimal_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "set_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dataclass_type": "must be an object",
    "none_required": "must be null",
}


def shown_value(value: Any, *, redact_values: bool = True) -> str:
    """How a received value is quoted in an error: strings as 'text', everything else as JSON, on one line,
    redacted (unless turned off), then cut to MAX_VALUE_CHARS."""
    if isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except ValueError:
            text = repr(value)
    if redact_values:
        text, _ = redact(text)
    text = text.replace("\n", " ").replace("\r", " ")
    if len(text) > MAX_VALUE_CHARS:
        text = text[: MAX_VALUE_CHARS - 1] + "…"
    return text


def invalid_argument(name: str, rule: str, value: Any, *, redact_values: bool = True) -> str:
    """The one sentence for an argument that breaks a rule, e.g. "Invalid argument `limit`: must be at most 5000,
    got 9000." """
    return f"Invalid argument `{name}`: {rule}, got {shown_value(value, redact_values=redact_values)}."


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _plural(count: Any, word: str) -> str:
    return f"{_number(count)} {word}" + ("" if count == 1 else "s")


def rule_of(error: ErrorDetails) -> str:
    """The rule an error names, worded as what the value must be."""
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    if kind in _TYPE_RULES:
        return _TYPE_RULES[kind]
    if kind == "greater_than_equal":
        return f"must be at least {_number(ctx.get('ge'))}"
    if kind == "greater_than":
        return f"must be greater than {_number(ctx.get('gt'))}"
    if kind == "less_than_equal":
        return f"must be at most {_number(ctx.get('le'))}"
    if kind == "less_than":
        return f"must be less than {_number(ctx.get('lt'))}"
    if kind == "multiple_of":
        return f"must be a multiple of {_number(ctx.get('multiple_of'))}"
    if kind == "string_too_short":
        minimum = ctx.get("min_length", 1)
        return "must not be empty" if minimum == 1 else f"must be at least {_plural(minimum, 'character')} long"
    if kind == "string_too_long":
        return f"must be at most {_plural(ctx.get('max_length'), 'character')} long"
    if kind == "too_short":
        minimum = ctx.get("min_length", 1)
        return "must not be empty" if minimum == 1 else f"must have at least {_plural(minimum, 'item')}"
    if kind == "too_long":
        return f"must have at most {_plural(ctx.get('max_length'), 'item')}"
    if kind == "string_pattern_mismatch":
        return f"must match the pattern `{ctx.get('pattern')}`"
    if kind in {"literal_error", "enum"}:
        expected = str(ctx.get("expected", ""))
        return f"must be one of {expected}" if " or " in expected else f"must be {expected}"
    message = str(error.get("msg") or kind)
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    for subject in ("Input should", "Value should", "String should", "List should", "Dictionary should"):
        if message.startswith(subject):
            return "must" + message.removeprefix(subject)
    return "must be valid: " + (message[:1].lower() + message[1:]).rstrip(".")


def parameter_path(location: Sequence[int | str], arguments: Mapping[str, Any]) -> str:
    """`limit`, `data.a` or `triggers[0].type`: the location of an error in the arguments, without the names of
    union members pydantic adds (a step the arguments do not have)."""
    parts: list[str] = []
    current: Any = arguments
    for step in location:
        if isinstance(current, Mapping) and isinstance(step, str) and step in current:
            parts.append(step if not parts else f".{step}")
            current = current[step]
        elif isinstance(current, list) and isinstance(step, int) and 0 <= step < len(current):
            parts.append(f"[{step}]")
            current = current[step]
        elif not parts:
            parts.append(str(step))
            current = None
    return "".join(parts)


def _names(names: Sequence[str]) -> str:
    quoted = [f"`{name}`" for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def argument_error_message(
    error: PydanticValidationError,
    arguments: Mapping[str, Any],
    *,
    parameters: Sequence[str] = (),
    redact_values: bool = True,
) -> str:
    """One sentence for every argument error of a call; `parameters` (the tool's) are offered for an unknown one."""
    missing: list[str] = []
    unknown: list[tuple[str, str]] = []
    rules: dict[str, tuple[list[str], Any]] = {}
    for detail in error.errors(include_url=False):
        path = parameter_path(detail["loc"], arguments)
        if detail["type"] in _MISSING:
            if path not in missing:
                missing.append(path)
        elif detail["type"] in UNKNOWN_ARGUMENT_TYPES:
            unknown.append((path, shown_value(detail.get("input"), redact_values=redact_values)))
        else:
            words, _ = rules.setdefault(path, ([], detail.get("input")))
            rule = rule_of(detail)
            if rule not in words:
                words.append(rule)
    invalid = [
        (path, " or ".join([words[0], *(word.removeprefix("must be ") for word in words[1:])]), value)
        for path, (words, value) in rules.items()
    ]
    if missing and not unknown and not invalid:
        plural = "s" if len(missing) > 1 else ""
        return f"Missing required argument{plural} {_names(missing)}."
    if len(invalid) == 1 and not missing and not unknown:
        path, rule, value = invalid[0]
        return invalid_argument(path, rule, value, redact_values=redact_values)
    offered = f"; the parameters are {_names(list(parameters))}" if parameters else ""
    if len(unknown) == 1 and not missing and not invalid:
        path, shown = unknown[0]
        return f"Unknown argument `{path}` (got {shown}){offered}."
    clauses = [f"`{path}` is missing" for path in missing]
    clauses += [
        f"`{path}` {rule}, got {shown_value(value, redact_values=redact_values)}" for path, rule, value in invalid
    ]
    clauses += [f"`{path}` is not a parameter (got {shown})" for path, shown in unknown]
    return f"Invalid arguments: {'; '.join(clauses)}{offered if unknown else ''}."
