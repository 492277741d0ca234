"""Redaction of secret-shaped text in every tool answer (K3S_REDACT, on by default).

Secret objects are masked where they are read (``k3s_mcp.kube`` with ``k3s_mcp.views.masking``); this module catches
what is *shaped* like a secret anywhere else: a private key in a ConfigMap, a token in a pod log or in exec output,
a password in a literal container env value or in a database URL. :data:`PATTERNS` is the set of shapes, chosen to
be precise (a prefix or a key name, not "any long random string"), so base64 data, git commit ids, UUIDs and
resource versions stay readable. :func:`redact` rewrites one string; :func:`redact_result` and :func:`redact_error`
apply it to the text and the structured content of an answer and to an error message
(``k3s_mcp.middleware.redaction`` calls them for every tool call).

One module over 400 lines: the shapes and the walk that applies them are audited together, since what is redacted
and how an answer reports it must be read as one piece."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pydantic_core
from fastmcp.exceptions import FastMCPError, ToolError, ValidationError
from fastmcp.tools.base import ToolResult
from mcp_types import ContentBlock, EmbeddedResource, TextContent, TextResourceContents

MIN_SCAN_LENGTH = 16
"""Strings shorter than this are not scanned: the shortest shape matched (``password=`` and an 8-character value,
or ``https://u:p@host``) is about this long, and most cells of a list answer (names, ages, addresses) are shorter."""
MIN_VALUE_LENGTH = 8
"""A value assigned to a secret-named key is redacted from this length on; shorter ones read as words."""
MARKER_PREFIX = "[redacted: "
REDACTIONS_META = "redactions"


def marker(what: str) -> str:
    """The text that replaces a secret: it says what was removed."""
    return f"{MARKER_PREFIX}{what}]"


# Key names whose value is a secret: the name *ends* with one of these words (so `token_ttl`, `secretName`,
# `passwordFile` and `tokenPath` are not secret names, while `DB_PASSWORD`, `clientSecret`, `x-api-key` are).
_SECRET_WORDS = (
    r"password|passwd|passphrase|secret|token|api[_-]?key|apikey|private[_-]?key|access[_-]?key|secret[_-]?key"
)
_KEY = rf"[A-Za-z0-9_.-]*?(?:{_SECRET_WORDS})"
SECRET_KEY_NAME = re.compile(rf"(?i){_KEY}")
_KEY_TRIGGERS = ("pass", "secret", "token", "key")
# Key names that end like a secret's but hold none: pagination tokens (Kubernetes' continue token is base64 JSON).
_NOT_SECRET_KEY = re.compile(r"(?i)(?:[A-Za-z0-9_.-]*[_.-])?(?:continue|next|page|next[_-]?page|sync)[_-]?token")
_PLACEHOLDER_WORDS = frozenset(
    {"required", "optional", "disabled", "enabled", "redacted", "undefined", "placeholder", "changeit", "notset"}
)
_PLACEHOLDER = re.compile(r"\$\{|\$\(|\{\{|%\(|^<.*>$|^\*+$|^(.)\1+$|^\[redacted")
_SPACE = re.compile(r"\s")
_PATH = re.compile(r"^(?:~|\.{1,2})?/[\w.-]+(?:/[\w.-]+)+/?$")


@lru_cache(maxsize=4096)
def secret_key(key: str) -> bool:
    """Whether a key name says its value is a secret (`DB_PASSWORD`, `clientSecret`, `api_key`; not
    `continue_token`)."""
    return SECRET_KEY_NAME.fullmatch(key) is not None and _NOT_SECRET_KEY.fullmatch(key) is None


def secret_value(value: str) -> bool:
    """Whether a value given to a secret-named key reads as a secret rather than a word, a reference or a path:
    at least MIN_VALUE_LENGTH characters, one token (no spaces), not `${VAR}` / `$(VAR)` / `{{ x }}` / `<x>` /
    `****`, not only digits, not a file path."""
    if len(value) < MIN_VALUE_LENGTH or _SPACE.search(value):
        return False
    if value.isdigit() or value.lower() in _PLACEHOLDER_WORDS:
        return False
    return not _PLACEHOLDER.search(value) and not _PATH.match(value)


_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_KEY_CHARS = _WORD_CHARS | frozenset("_.-")


def _starts_word(text: str, match: re.Match[str], chars: frozenset[str] = _WORD_CHARS) -> bool:
    """The match does not begin in the middle of a word (the patterns start with a literal, for speed, and
    check the character before them here instead of with a look-behind)."""
    return match.start() == 0 or text[match.start() - 1] not in chars


def _key_before(text: str, match: re.Match[str]) -> str:
    """The whole key name that ends with the secret word the match starts with (`DB_PASSWORD` for `password`)."""
    start = match.start("word")
    while start > 0 and text[start - 1] in _KEY_CHARS:
        start -= 1
    return text[start : match.end("word")]


Check = Callable[[str, re.Match[str], str], bool]


def _word_start(text: str, match: re.Match[str], secret: str) -> bool:
    return _starts_word(text, match)


def _token_start(text: str, match: re.Match[str], secret: str) -> bool:
    return _starts_word(text, match, _KEY_CHARS)


def _random_looking(text: str, match: re.Match[str], secret: str) -> bool:
    """Starts a word and has a digit and a letter: tokens do, English words (`Bearer authentication`) do not."""
    has_digit = any(c.isdigit() for c in secret)
    return _starts_word(text, match) and has_digit and any(c.isalpha() for c in secret)


def _url_password(text: str, match: re.Match[str], secret: str) -> bool:
    """A scheme precedes `://` and the password is not a reference such as `$(DB_PASSWORD)`."""
    start = match.start()
    return start > 0 and text[start - 1].isalnum() and not _PLACEHOLDER.search(secret)


def _assigned_secret(text: str, match: re.Match[str], secret: str) -> bool:
    """The key names a secret and the value reads as one."""
    return secret_key(_key_before(text, match)) and secret_value(secret)


def _named_secret(text: str, match: re.Match[str], secret: str) -> bool:
    """An env entry whose name names a secret, with a value that reads as one."""
    return _starts_word(text, match) and secret_key(match.group("key")) and secret_value(secret)


_KEY_WORD = re.compile(rf"(?i)(?:{_SECRET_WORDS})$")
_WORD_LABELS = {"passwd": "password", "passphrase": "password", "apikey": "api key"}


def _key_label(key: str) -> str:
    """What a secret-named key's value is, for its marker: `DB_PASSWORD` -> password, `API_TOKEN` -> token."""
    found = _KEY_WORD.search(key)
    word = found.group(0).lower().replace("_", " ").replace("-", " ") if found else "secret"
    if word.endswith("access key") and "aws" in key.lower():
        return "AWS secret access key"
    return _WORD_LABELS.get(word, word)


def _pem_label(text: str, match: re.Match[str]) -> str:
    kind = match.group("type").upper().removesuffix(" BLOCK").removesuffix("PRIVATE KEY").strip()
    return f"{kind} private key" if kind else "private key"


_BASE64_CHARS = _WORD_CHARS | frozenset("+/")
_BREAKS = re.compile(r"\\[rn]|\s")
_PEM_PRIVATE_START = re.compile(r"-----BEGIN (?P<type>(?:[A-Z0-9]+ ){0,2}PRIVATE KEY(?: BLOCK)?)-----")


def _decoded_pem_start(secret: str) -> re.Match[str] | None:
    """The BEGIN line of the PEM block that base64 text `secret` encodes, when that block is a private key."""
    # Line breaks of wrapped base64 (real ones or JSON's `\n` escapes) are not part of the data.
    head = _BREAKS.sub("", secret[:200])[:96]
    try:
        decoded = base64.b64decode(head[: len(head) - len(head) % 4], validate=True).decode("ascii", "replace")
    except (binascii.Error, ValueError):
        return None
    return _PEM_PRIVATE_START.match(decoded)


def _encoded_private_key(text: str, match: re.Match[str], secret: str) -> bool:
    """Base64 of a private key's PEM block, not in the middle of other base64 (certificates do not decode to one)."""
    return _starts_word(text, match, _BASE64_CHARS) and _decoded_pem_start(secret) is not None


def _encoded_pem_label(text: str, match: re.Match[str]) -> str:
    found = _decoded_pem_start(match.group(0))
    return _pem_label(text, found) if found is not None else "private key"


@dataclass(frozen=True)
class SecretPattern:
    """One secret shape.

    `source` is searched in the text as it is, or with `lowercase` in the text lower-cased (written in lower
    case then: a case-insensitive search is ten times slower in Python's `re`); each source starts with a literal
    so the search skips ahead quickly. It is tried only when one of `triggers` (lower case) occurs. `group` is
    the part replaced (the whole match when None), `check(text, match, secret)` confirms a match, and `label`
    says what the marker names when it is not `name`. A source that cannot start with one literal lists the
    `anchors` (lower case) where a match may start instead. In a long text the triggers are tested only when
    `gated` (a source whose literal is common, such as `"name"`)."""

    name: str
    source: str
    triggers: tuple[str, ...]
    group: str | tuple[str, ...] | None = None
    check: Check | None = None
    label: Callable[[str, re.Match[str]], str] | None = None
    lowercase: bool = False
    flags: int = 0
    anchors: tuple[str, ...] = ()
    gated: bool = False

    @property
    def regex(self) -> re.Pattern[str]:
        return _compiled(self.source, self.flags)

    @property
    def case_insensitive(self) -> re.Pattern[str]:
        """For text whose lower-casing changes its length (a few non-ASCII letters), where offsets would shift."""
        return _compiled(self.source, self.flags | re.IGNORECASE)


@lru_cache(maxsize=64)
def _compiled(source: str, flags: int) -> re.Pattern[str]:
    return re.compile(source, flags)


def _label_from_key(text: str, match: re.Match[str]) -> str:
    return _key_label(_key_before(text, match))


def _label_from_name(text: str, match: re.Match[str]) -> str:
    return _key_label(match.group("key"))


# The value after `key=` / `key: `: a quoted string to its closing quote (JSON escapes allowed, or quoted with \"
# in JSON that is itself inside a JSON string), else a bare run up to a space or a separator.
_VALUE = (
    r"(?:\"(?P<dq>(?:[^\"\\\s]|\\[^\s])+)\"|\\\"(?P<eq>[^\"\\\s]+)\\\"|'(?P<sq>[^'\s]+)'"
    r"|(?P<bare>[^\s\"'`,;&<>{}()\[\]\\|]+))"
)
_VALUE_GROUPS = ("dq", "eq", "sq", "bare")
PATTERNS: tuple[SecretPattern, ...] = (
    # A PEM private key block, BEGIN to END (the body may be split by real newlines or by JSON's `\n` escapes),
    # or a BEGIN line and its base64 body when the END was cut off. Certificates and public keys stay.
    SecretPattern(
        "private key",
        r"-----BEGIN (?P<type>(?:[A-Z0-9]+ ){0,2}PRIVATE KEY(?: BLOCK)?)-----"
        r"(?:.{0,100000}?-----END (?P=type)-----|[A-Za-z0-9+/=\s\\:,.-]*)",
        ("private key",),
        label=_pem_label,
        # Case-insensitive: a `-----begin rsa private key-----` block still carries the key.
        flags=re.DOTALL | re.IGNORECASE,
    ),
    # The same block base64-encoded once more, as a kubeconfig's `client-key-data` or TLS data copied into a ConfigMap
    # carries it: base64 of `-----BEGIN ` starts `LS0tLS1CRUdJTi`, and the decoded start must name a private key.
    SecretPattern(
        "private key",
        # Wrapped as `base64` wraps it (76 columns), with real newlines or JSON's `\n` escapes between lines.
        r"LS0tLS1CRUdJTi[A-Za-z0-9+/]{20,}(?:(?:\r?\n|(?:\\r)?\\n)[ \t]*[A-Za-z0-9+/]{4,})*={0,2}",
        ("ls0tls1crudjti",),
        check=_encoded_private_key,
        label=_encoded_pem_label,
    ),
    SecretPattern(
        "GitHub token",
        r"g(?:h[pousr]_[A-Za-z0-9]{36,251}|ithub_pat_[A-Za-z0-9_]{30,244})(?![A-Za-z0-9_])",
        ("gh", "github_pat_"),
        check=_token_start,
    ),
    SecretPattern("GitLab token", r"glpat-[A-Za-z0-9_-]{20,}(?![A-Za-z0-9_-])", ("glpat-",), check=_token_start),
    SecretPattern("Slack token", r"xox[abprs]-[A-Za-z0-9-]{10,250}", ("xox",), check=_random_looking),
    SecretPattern("AWS access key id", r"A(?:KIA|SIA)[A-Z0-9]{16}(?![A-Za-z0-9])", ("akia", "asia"), check=_word_start),
    SecretPattern("Google API key", r"AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])", ("aiza",), check=_token_start),
    SecretPattern(
        "Stripe key",
        r"[rs]k_live_[0-9A-Za-z]{16,}",
        ("_live_",),
        check=_word_start,
        anchors=("sk_live_", "rk_live_"),
    ),
    # A JSON Web Token: header and payload are base64url JSON (`eyJ` = `{"`), then the signature.
    SecretPattern("JWT", r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*", ("eyj",), check=_token_start),
    SecretPattern(
        "bearer token",
        r"bearer\s+(?P<secret>[a-z0-9\-._~+/]{16,}=*)",
        ("bearer",),
        group="secret",
        check=_random_looking,
        lowercase=True,
    ),
    SecretPattern(
        "basic credentials",
        r"authorization[\"']?\s*[:=]\s*[\"']?basic\s+(?P<secret>[a-z0-9+/]{8,}={0,2})",
        ("basic",),
        group="secret",
        lowercase=True,
    ),
    # scheme://user:password@host keeps the scheme, the user and the host.
    SecretPattern(
        "password",
        r"://[^\s:/@?#\"'\\]*:(?P<secret>[^\s@/?#\"'\\]+)@(?=[^\s@])",
        ("://",),
        group="secret",
        check=_url_password,
    ),
    # A container env entry as JSON: {"name": "DB_PASSWORD", "value": "..."} ...
    SecretPattern(
        "secret",
        r"\"name\"\s*:\s*\"(?P<key>[A-Za-z0-9_.-]{1,253})\"\s*,\s*\"value\"\s*:\s*\"(?P<secret>(?:[^\"\\]|\\.)*)\"",
        ('"value"',),
        group="secret",
        check=_named_secret,
        label=_label_from_name,
        gated=True,
    ),
    # ... and as YAML: `- name: DB_PASSWORD` then `value: ...` on the next line (or after a JSON `\n` escape).
    SecretPattern(
        "secret",
        r"name:[ \t]*[\"']?(?P<key>[A-Za-z0-9_.-]{1,253})[\"']?[ \t]*(?:\r?\n|\\n)"
        r"[ \t]*value:[ \t]*[\"']?(?P<secret>[^\s\"'\\]+)",
        ("value:",),
        group="secret",
        check=_named_secret,
        label=_label_from_name,
    ),
    # key=value, key: value, "key": "value" (also inside JSON escaped once more), where the key names a secret.
    SecretPattern(
        "secret",
        rf"(?P<word>{_SECRET_WORDS})(?:\\?[\"'])?[ \t]*[:=][ \t]*{_VALUE}",
        _KEY_TRIGGERS,
        group=_VALUE_GROUPS,
        check=_assigned_secret,
        label=_label_from_key,
        lowercase=True,
        anchors=("pass", "secret", "token", "api", "private", "access"),
    ),
)


_TRIGGERS = frozenset(trigger for pattern in PATTERNS for trigger in pattern.triggers)
_ANY_TRIGGER = re.compile("|".join(sorted(map(re.escape, _TRIGGERS))))
_SHORT_TEXT = 4096
"""Below this length one regex tells whether any trigger occurs at all, and a pattern runs only after its own."""


def _matches(pattern: SecretPattern, regex: re.Pattern[str], source: str, lowered: str) -> Iterator[re.Match[str]]:
    """The pattern's matches in `source`, in order; with `anchors`, tried only where an anchor occurs (found with
    str.find, much faster than a regex search that must try every position)."""
    if not pattern.anchors:
        yield from regex.finditer(source)
        return
    starts: set[int] = set()
    for anchor in pattern.anchors:
        position = lowered.find(anchor)
        while position >= 0:
            starts.add(position)
            position = lowered.find(anchor, position + 1)
    for start in sorted(starts):
        match = regex.match(source, start)
        if match is not None:
            yield match


def _span(match: re.Match[str], group: str | tuple[str, ...] | None) -> tuple[int, int]:
    """Where the part to replace is: the group, the first of the groups that took part, or the whole match."""
    if group is None:
        return match.span()
    if isinstance(group, str):
        return match.span(group)
    for name in group:
        if match.start(name) >= 0:
            return match.span(name)
    return match.span()


# Spellings that hide a shape from the patterns but not from a reader: `\u0070`/`\x70` escapes of plain
# characters, full-width letters (U+FF01-U+FF5E) and invisible characters inside a token.
# (One backslash in a string value, two when that value is itself written as JSON text.)
_ESCAPE = re.compile(r"\\{1,2}u([0-9a-fA-F]{4})|\\{1,2}x([0-9a-fA-F]{2})")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# Escapes are decoded only to characters that cannot change the structure of the text around them (no quote,
# backslash or control character), so a JSON text stays JSON.
_SAFE_DECODED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.+/=:@ ")


def _decoded_escape(match: re.Match[str]) -> str:
    char = chr(int(match.group(1) or match.group(2), 16))
    return char if char in _SAFE_DECODED else match.group(0)


def fold(text: str) -> str:
    """`text` as a reader sees it: safe escapes decoded, full-width letters made ASCII, invisible characters
    dropped. The same text when it has none of them."""
    if "\\" in text:
        text = _ESCAPE.sub(_decoded_escape, text)
    if not text.isascii():
        text = text.translate(_INVISIBLE).translate(_FULL_WIDTH)
    return text


def redact(text: str) -> tuple[str, int]:
    """`text` with every secret-shaped value replaced by a marker, and how many were replaced.

    A text that hides a shape behind escapes, full-width letters or invisible characters is redacted as
    :func:`fold` spells it, and answered in that spelling (only when that finds more than the text as it is)."""
    redacted, count = _redact_plain(text)
    if len(text) >= MIN_SCAN_LENGTH and ("\\" in redacted or not redacted.isascii()):
        folded = fold(redacted)
        if folded != redacted:
            again, more = _redact_plain(folded)
            if more:
                return again, count + more
    return redacted, count


def _redact_plain(text: str) -> tuple[str, int]:
    """:func:`redact` of the text as it is spelt."""
    if len(text) < MIN_SCAN_LENGTH:
        return text, 0
    lowered = text.lower()
    short = len(text) < _SHORT_TEXT
    if short and _ANY_TRIGGER.search(lowered) is None:
        return text, 0
    count = 0
    for pattern in PATTERNS:
        # A long text is searched by every pattern directly: each starts with a literal (or has anchors), which
        # `re` finds faster than a substring test of its triggers would.
        if (short or pattern.gated) and not any(trigger in lowered for trigger in pattern.triggers):
            continue
        if not pattern.lowercase:
            matches = _matches(pattern, pattern.regex, text, text)
        elif len(lowered) == len(text):
            matches = _matches(pattern, pattern.regex, lowered, lowered)
        else:
            matches = _matches(pattern, pattern.case_insensitive, text, lowered)
        pieces: list[str] = []
        last = 0
        for match in matches:
            start, end = _span(match, pattern.group)
            if start < last:
                continue
            if pattern.check is not None and not pattern.check(text, match, text[start:end]):
                continue
            what = pattern.label(text, match) if pattern.label else pattern.name
            pieces += (text[last:start], marker(what))
            last = end
        if pieces:
            count += len(pieces) // 2
            pieces.append(text[last:])
            text = "".join(pieces)
            lowered = text.lower()
    return text, count


def _secret_object(value: dict[str, Any]) -> bool:
    """A Kubernetes Secret (list items carry no kind: a top-level `type` next to `data` and `metadata` is one)."""
    if value.get("kind") == "Secret":
        return True
    return type(value.get("type")) is str and type(value.get("metadata")) is dict and "data" in value


def _redact_value(value: Any, revealed: bool) -> tuple[Any, int]:
    """`value` (JSON data) with its strings redacted; containers are copied only where something changed.

    Besides the shapes of :data:`PATTERNS`, a string under a secret-named key (`{"password": "..."}`) and the
    `value` of an env entry whose `name` is one (`{"name": "DB_PASSWORD", "value": "..."}`) are redacted. With
    `revealed` (K3S_REVEAL_SECRETS=true) the data of Secret objects is left as the operator asked to see it."""
    if type(value) is str:
        return redact(value)
    if type(value) is list:
        total = 0
        items: list[Any] | None = None
        for index, item in enumerate(value):
            kind = type(item)
            if kind is str:
                if len(item) < MIN_SCAN_LENGTH:
                    continue
            elif kind is not dict and kind is not list:
                continue
            new, found = _redact_value(item, revealed)
            if found:
                total += found
                if items is None:
                    items = list(value)
                items[index] = new
        return (items if items is not None else value), total
    if type(value) is dict:
        total = 0
        changed: dict[str, Any] | None = None
        kept = _SECRET_DATA if revealed and _secret_object(value) else ()
        for key, item in value.items():
            kind = type(item)
            if kind is str:
                if len(item) < MIN_VALUE_LENGTH:
                    continue
                new, found = redact(item) if len(item) >= MIN_SCAN_LENGTH else (item, 0)
                if not found and type(key) is str:
                    if secret_key(key) and secret_value(item):
                        new, found = marker(_key_label(key)), 1
                    elif (
                        key == "value"
                        and type(name := value.get("name")) is str
                        and secret_key(name)
                        and secret_value(item)
                    ):
                        new, found = marker(_key_label(name)), 1
            elif kind is dict or kind is list:
                if key in kept:
                    continue
                new, found = _redact_value(item, revealed)
            else:
                continue
            if found:
                total += found
                if changed is None:
                    changed = dict(value)
                changed[key] = new
        return (changed if changed is not None else value), total
    return value, 0


_SECRET_DATA = ("data", "stringData")


def redact_structured(value: dict[str, Any], *, reveal_secrets: bool = False) -> tuple[dict[str, Any], int]:
    """Structured content with every string redacted (keys stay), and how many values were replaced."""
    new, count = _redact_value(value, reveal_secrets)
    return new, count


def _json(value: Any) -> str:
    """JSON as FastMCP writes a structured answer's text (compact, non-ASCII kept)."""
    return pydantic_core.to_json(value, fallback=str).decode()


def _redact_block(block: ContentBlock) -> tuple[ContentBlock, int]:
    if isinstance(block, TextContent):
        text, count = redact(block.text)
        return (block.model_copy(update={"text": text}) if count else block), count
    if isinstance(block, EmbeddedResource) and isinstance(block.resource, TextResourceContents):
        text, count = redact(block.resource.text)
        if not count:
            return block, 0
        return block.model_copy(update={"resource": block.resource.model_copy(update={"text": text})}), count
    return block, 0


def redaction_note(count: int) -> str:
    """The sentence an answer gains when something was redacted."""
    if count == 1:
        return "1 secret-shaped value was redacted (K3S_REDACT=false shows it)."
    return f"{count} secret-shaped values were redacted (K3S_REDACT=false shows them)."


def redact_result(result: ToolResult, *, reveal_secrets: bool = False) -> ToolResult:
    """A copy of `result` with its text and structured content redacted, `redactions: N` in its meta, and a
    sentence saying so after the text when N > 0.

    When the text is the JSON of the structured content (every answer but tables and plain text), it is
    written again from the redacted structured content: both then show the same, and N is exact. Otherwise the
    text is scanned on its own and N counts the values removed from whichever of the two held more (a secret
    shown in both counts once)."""
    structured = result.structured_content
    blocks: list[ContentBlock] = list(result.content)
    count = 0
    if structured is not None:
        structured, count = redact_structured(structured, reveal_secrets=reveal_secrets)
        rendering = (
            len(blocks) == 1
            and isinstance(blocks[0], TextContent)
            and blocks[0].text == _json(result.structured_content)
        )
        if rendering:
            if count:
                blocks = [blocks[0].model_copy(update={"text": _json(structured)})]
        else:
            blocks, text_count = _redact_blocks(blocks)
            count = max(count, text_count)
    else:
        blocks, count = _redact_blocks(blocks)
    if count:
        blocks.append(TextContent(type="text", text=redaction_note(count)))
    meta = {**(result.meta or {}), REDACTIONS_META: count}
    # A copy, not a new ToolResult: its constructor would serialize the structured content again.
    redacted = result.model_copy(update={"content": blocks, "structured_content": structured, "meta": meta})
    redacted._raw_mcp_result = None
    return redacted


def _redact_blocks(blocks: list[ContentBlock]) -> tuple[list[ContentBlock], int]:
    redacted: list[ContentBlock] = []
    total = 0
    for block in blocks:
        new, found = _redact_block(block)
        redacted.append(new)
        total += found
    return redacted, total


def redact_error(error: FastMCPError) -> FastMCPError | None:
    """A copy of a tool's error with its message redacted, or None when there was nothing to redact."""
    text, count = redact(str(error))
    if not count:
        return None
    text = f"{text} {redaction_note(count)}"
    if isinstance(error, ValidationError):
        return ValidationError(text)
    return ToolError(text)
