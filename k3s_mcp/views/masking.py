"""Secret masking (values become sizes) and trimming of whole objects for a language model."""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import re
import secrets
from typing import Any

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


_HIDDEN = re.compile(r"\(hidden, (\d+) bytes\)")
# Fingerprints only tell whether a value changed (a diff); keyed per process, so none can be confirmed offline.
_FINGERPRINT_KEY = secrets.token_bytes(32)


def mask_secret(secret: dict[str, Any]) -> dict[str, Any]:
    """A copy of a Secret whose values are replaced by their sizes; keys stay visible."""
    masked = copy.deepcopy(secret)
    mask_secrets_in(masked, all_secrets=True)
    return masked


def mask_secrets_in(value: Any, *, all_secrets: bool = False, fingerprints: bool = False) -> None:
    """Mask, in place, every Secret found anywhere in an API answer: objects of kind Secret at any depth (a
    `List`, an apply result, a Table's row objects) and, with `all_secrets` (the answer of a Secret path, whose
    list items carry no kind), every object in it. Values become sizes (with `fingerprints`, also a keyed digest,
    so two reads compare unequal when a value changed); the last-applied annotation is hidden."""
    if isinstance(value, dict):
        secret = all_secrets or value.get("kind") == "Secret"
        if secret:
            for field_name in ("data", "stringData"):
                values = value.get(field_name)
                if isinstance(values, dict):
                    value[field_name] = {
                        key: _hidden_size(field_name, item, fingerprints) for key, item in values.items()
                    }
            metadata = value.get("metadata")
            annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
            if isinstance(annotations, dict) and LAST_APPLIED in annotations:
                annotations[LAST_APPLIED] = "(hidden: may contain secret values)"
        for item in value.values():
            if isinstance(item, dict | list):
                mask_secrets_in(item, all_secrets=secret, fingerprints=fingerprints)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict | list):
                mask_secrets_in(item, all_secrets=all_secrets, fingerprints=fingerprints)


def secret_value_size(field_name: str, value: Any) -> int:
    """Bytes of one Secret value as a person counts them: `data` decoded from base64, a masked value's own
    recorded size, `stringData` as UTF-8."""
    text = value if isinstance(value, str) else str(value)
    hidden = _HIDDEN.fullmatch(text)
    if hidden:
        return int(hidden.group(1))
    if field_name == "data":
        try:
            return len(base64.b64decode(text, validate=False))
        except (binascii.Error, ValueError):
            return len(text)
    return len(text.encode())


def _hidden_size(field_name: str, value: Any, fingerprint: bool = False) -> str:
    size = secret_value_size(field_name, value)
    if not fingerprint:
        return f"(hidden, {size} bytes)"
    digest = hmac.new(_FINGERPRINT_KEY, str(value).encode(), hashlib.sha256).hexdigest()[:16]
    return f"(hidden, {size} bytes, {digest})"


def trim(obj: dict[str, Any], *, reveal_secrets: bool = False) -> dict[str, Any]:
    """A copy without managedFields and the last-applied annotation; Secrets masked unless revealed."""
    trimmed = copy.deepcopy(obj)
    metadata = trimmed.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
        annotations = metadata.get("annotations")
        if isinstance(annotations, dict):
            annotations.pop(LAST_APPLIED, None)
            if not annotations:
                metadata.pop("annotations")
    if trimmed.get("kind") == "Secret" and not reveal_secrets:
        trimmed = mask_secret(trimmed)
    return trimmed
