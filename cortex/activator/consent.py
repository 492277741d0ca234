"""The words a confirmation request uses: the exact action that waits, as in "delete Deployment api in prod"."""

from __future__ import annotations

import shlex
from typing import Any

from cortex.activator.vocabulary import vocabulary

_TARGETS = ("name", "pod_name", "release", "cronjob")
_SILENT = frozenset({"confirm", "dry_run", "namespace", "kind", "replicas", "command", *_TARGETS})
_SUBJECTS = {"helm_release": "helm release", "keda_scaler": "KEDA scaler", "rollout": "rollout of"}


def _kind(subject: str, arguments: dict[str, Any]) -> str:
    if arguments.get("kind"):
        return str(arguments["kind"])
    if subject in _SUBJECTS:
        return _SUBJECTS[subject]
    kinds = vocabulary().kinds
    return kinds.get(subject.replace("_", "")) or kinds.get(subject.rsplit("_", 1)[-1]) or subject.replace("_", " ")


def describe_action(tool: str, arguments: dict[str, Any]) -> str:
    """One line naming the call: verb, kind, object, namespace and what it changes, from the tool's arguments."""
    verb, _, subject = tool.partition("_")
    if tool == "execute_command":
        command = arguments.get("command")
        argv = shlex.join(str(a) for a in command) if isinstance(command, list) else str(command or "?")
        words = ["run", f"`{argv}`", "in Pod", str(arguments.get("pod_name") or "?")]
    else:
        target = next((str(arguments[key]) for key in _TARGETS if arguments.get(key)), None)
        words = [verb, _kind(subject, arguments)] + ([target] if target else [])
    if arguments.get("namespace"):
        words += ["in", str(arguments["namespace"])]
    if "replicas" in arguments:
        words += ["to", f"{arguments['replicas']} replicas"]
    rest = [f"{key}={arguments[key]!r}" for key in sorted(arguments) if key not in _SILENT]
    if rest:
        words.append(f"({', '.join(rest)})")
    return " ".join(words)
