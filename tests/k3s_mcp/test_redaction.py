"""Redaction of secret-shaped text: each pattern with what it must catch and the near misses it must leave, the
walk over structured content, and the middleware on a real FastMCP app (with its cost on a 1,000-row answer)."""

from __future__ import annotations

import base64
import json
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from fastmcp import Client, FastMCP
from fastmcp.exceptions import ToolError
from fastmcp.tools.base import ToolResult
from mcp_types import TextContent

from k3s_mcp.middleware.redaction import RedactionMiddleware
from k3s_mcp.middleware.row_table import RowTableMiddleware
from k3s_mcp.settings import Settings
from k3s_mcp.views.redaction import (
    MIN_SCAN_LENGTH,
    PATTERNS,
    redact,
    redact_result,
    redact_structured,
    redaction_note,
)
from k3s_mcp.views.table import row_table

# Secret-shaped test values are put together at run time, so no scanner mistakes this file for a leak.
GITHUB_CLASSIC = "ghp_" + "Z8yX7wV6uT5sR4qP3oN2mL1kJ0iH9gF8eD7c"
GITHUB_FINE = "github_pat_" + "11ABCDEFG0" + "aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5oQ7sU9wY1" + "_" + "x2Z4" * 9
GITLAB = "glpat-" + "Ab3De5Gh7Jk9Mn1Pq3St"
SLACK = "xoxb-" + "123456789012-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx"
AWS_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
GOOGLE = "AIza" + "SyD3xAmPlE-k3y_0123456789abcdefGHIJ"
STRIPE = "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc"
BEARER = "mF_9.B5f-4.1JqM" + "0123456789abcdef"


def b64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


JWT = ".".join([b64url({"alg": "RS256", "kid": "k1"}), b64url({"sub": "system:serviceaccount:a:b"}), "c2lnbmF0dXJl"])


def pem_keys() -> dict[str, str]:
    """Real private keys in each PEM flavour a cluster meets, generated now."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ed_key = ed25519.Ed25519PrivateKey.generate()
    pem, traditional, pkcs8 = (
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        (serialization.PrivateFormat.PKCS8),
    )
    none = serialization.NoEncryption()
    return {
        "RSA private key": rsa_key.private_bytes(pem, traditional, none).decode(),
        "EC private key": ec_key.private_bytes(pem, traditional, none).decode(),
        "private key": rsa_key.private_bytes(pem, pkcs8, none).decode(),
        "ENCRYPTED private key": rsa_key.private_bytes(
            pem, pkcs8, serialization.BestAvailableEncryption(b"correct horse")
        ).decode(),
        "OPENSSH private key": ed_key.private_bytes(pem, serialization.PrivateFormat.OpenSSH, none).decode(),
    }


def certificate_and_public_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2E=\n-----END CERTIFICATE-----\n" + public.decode()


# (text, the secret in it, what the marker must say)
POSITIVES: list[tuple[str, str, str]] = [
    (f"token {GITHUB_CLASSIC} end", GITHUB_CLASSIC, "GitHub token"),
    (f"GITHUB_TOKEN={GITHUB_FINE}", GITHUB_FINE, "GitHub token"),
    (f"git clone with {GITLAB}", GITLAB, "GitLab token"),
    (f"slack: {SLACK}", SLACK, "Slack token"),
    (f"aws_access_key_id = {AWS_KEY_ID}", AWS_KEY_ID, "AWS access key id"),
    (f"aws_secret_access_key={AWS_SECRET}", AWS_SECRET, "AWS secret access key"),
    (f'"AWS_SECRET_ACCESS_KEY": "{AWS_SECRET}"', AWS_SECRET, "AWS secret access key"),
    (f"maps key {GOOGLE}", GOOGLE, "Google API key"),
    (f"STRIPE={STRIPE}", STRIPE, "Stripe key"),
    (f"Authorization: Bearer {BEARER}", BEARER, "bearer token"),
    (f'level=debug header="authorization: bearer {BEARER}"', BEARER, "bearer token"),
    (f"Authorization: Bearer {JWT}", JWT, "JWT"),
    (f"id_token={JWT}", JWT, "JWT"),
    ("Authorization: Basic " + base64.b64encode(b"admin:hunter2hunter2").decode(), "YWRtaW46aHVudGVy", "basic"),
    ("DATABASE_URL=postgres://app:s3cr3t-Pa55@db.shop:5432/app", "s3cr3t-Pa55", "password"),
    ("redis://:Zq8mW2xT9@cache:6379/0", "Zq8mW2xT9", "password"),
    ("password=hunter2hunter2", "hunter2hunter2", "password"),
    ("db:\n  password: Tr0ub4dor&3x\n", "Tr0ub4dor", "password"),
    ('{"clientSecret":"4f8b2c1d9e7a6b5c"}', "4f8b2c1d9e7a6b5c", "secret"),
    ("x-api-key: 9f8e7d6c5b4a39281706", "9f8e7d6c5b4a39281706", "api key"),
    ("export VAULT_TOKEN=s.Xk29dLq0Pw7nBz3C", "s.Xk29dLq0Pw7nBz3C", "token"),
    ('{"name":"DB_PASSWORD","value":"n0t-in-a-Secret"}', "n0t-in-a-Secret", "password"),
    ("- name: API_TOKEN\n  value: 7d1e6f0a9b8c2d3e\n", "7d1e6f0a9b8c2d3e", "token"),
    (json.dumps({"deploy.yaml": "env:\n- name: API_TOKEN\n  value: 7d1e6f0a9b8c2d3e\n"}), "7d1e6f0a9b8c2d3e", "token"),
    (f"pat {GITHUB_FINE}", GITHUB_FINE, "GitHub token"),
    ('"app.json":"{\\"password\\":\\"abc12345678\\"}"', "abc12345678", "password"),
]

# Text that looks a little like a secret and must stay exactly as it is.
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4).decode()
NEGATIVES: list[str] = [
    f"logo.png: {PNG}",  # a base64 image in a ConfigMap
    "commit 3f786850e387550fdab836ed7e6dc881de23001b on main",  # a git sha
    f"uid: {uuid.UUID('123e4567-e89b-12d3-a456-426614174000')}",  # a UUID
    '"resourceVersion":"123456789","generation":3',  # a Kubernetes resourceVersion
    "password: see vault",  # an ordinary sentence
    "The password is in vault, ask the on-call engineer for the token.",
    "api_key=${API_KEY} token=$(cat /run/token) secret={{ .Values.secret }}",  # references, not values
    "token_ttl=3600 secretName: db-credentials passwordFile=/etc/app/pass",  # secret-ish names that are not
    "tokenPath: /var/run/secrets/kubernetes.io/serviceaccount/token",
    '{"type":"kubernetes.io/service-account-token","automountServiceAccountToken":true}',
    '{"continue_token":"eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTIzLCJzdGFydCI6IndlYi0xXHUwMDAwIn0"}',
    "Use a Bearer authentication scheme; the bearer tokenizer is configurable.",
    "https://grafana.example.com:3000/d/abc?orgId=1 and http://user@host/path",  # URLs without a password
    "postgres://app:$(DB_PASSWORD)@db:5432/app",  # env var reference in a URL
    "AKIA-not-a-key ghp_short xoxb-short github_pat_tooshort glpat-short",  # prefixes without a body
    "eyJhbGciOiJSUzI1NiJ9 is one base64 JSON part, not a token",
    "password: ******** token: <your token here> secret: REDACTED",
    certificate_and_public_key(),  # certificates and public keys are public
    "a" * (MIN_SCAN_LENGTH - 1),
]


@pytest.mark.parametrize(("text", "secret", "what"), POSITIVES, ids=[p[2] + f"-{i}" for i, p in enumerate(POSITIVES)])
def test_each_pattern_replaces_its_secret_with_a_marker(text: str, secret: str, what: str) -> None:
    redacted, count = redact(text)
    assert count == 1, redacted
    assert secret not in redacted
    assert f"[redacted: {what}" in redacted


@pytest.mark.parametrize("text", NEGATIVES, ids=range(len(NEGATIVES)))
def test_near_misses_are_left_alone(text: str) -> None:
    assert redact(text) == (text, 0)


def test_every_pattern_has_a_positive_case() -> None:
    named = {marker for _, _, marker in POSITIVES}
    for pattern in PATTERNS:
        if pattern.name == "private key":
            continue  # its cases are test_private_keys_of_every_flavour
        assert any(pattern.name in marker or marker in pattern.name for marker in named), pattern.name


@pytest.mark.parametrize("what", list(pem_keys()))
def test_private_keys_of_every_flavour(what: str) -> None:
    key = pem_keys()[what]
    body_line = key.splitlines()[1]
    for text in (f"tls.key: |\n{key}", json.dumps({"tls.key": key})):  # raw, and as JSON text with \n escapes
        redacted, count = redact(text)
        assert count == 1, redacted
        assert body_line not in redacted and "PRIVATE KEY-----" not in redacted
        assert f"[redacted: {what}]" in redacted


def test_a_private_key_cut_before_its_end_line_is_still_redacted() -> None:
    key = pem_keys()["RSA private key"]
    cut = key[: len(key) // 2]
    redacted, count = redact(f"stdout: {cut}")
    assert count == 1 and cut.splitlines()[2] not in redacted and redacted.startswith("stdout: [redacted:")


def test_two_keys_and_a_certificate_between_them() -> None:
    keys = pem_keys()
    certificate = certificate_and_public_key()
    text = keys["RSA private key"] + certificate + keys["EC private key"]
    redacted, count = redact(text)
    assert count == 2
    assert certificate in redacted


def test_several_secrets_in_one_log_are_counted() -> None:
    log = "\n".join(
        [
            "level=info msg=starting",
            f"level=debug msg=auth header='Authorization: Bearer {BEARER}'",
            f"level=warn msg='leaked' key={AWS_KEY_ID} github={GITHUB_CLASSIC}",
            "level=info msg=done",
        ]
    )
    redacted, count = redact(log)
    assert count == 3
    assert "level=info msg=starting" in redacted and "level=info msg=done" in redacted
    for secret in (BEARER, AWS_KEY_ID, GITHUB_CLASSIC):
        assert secret not in redacted


def test_structured_content_values_are_redacted_and_keys_stay() -> None:
    answer: dict[str, Any] = {
        "object": {
            "kind": "ConfigMap",
            "data": {"password": "hunter2hunter2", "logo.png": PNG, "notes": "password: see vault"},
            "spec": {
                "containers": [
                    {
                        "name": "api",
                        "env": [
                            {"name": "AWS_SECRET_ACCESS_KEY", "value": AWS_SECRET},
                            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                            {"name": "LOG_LEVEL", "value": "debug-verbose"},
                        ],
                        "args": [f"--token={GITHUB_CLASSIC}", "--port=8080"],
                    }
                ]
            },
        },
        "count": 3,
        "ready": True,
    }
    original = json.dumps(answer)
    redacted, count = redact_structured(answer)
    assert count == 3
    assert json.dumps(answer) == original, "the input is not changed in place"
    text = json.dumps(redacted)
    for secret in ("hunter2hunter2", AWS_SECRET, GITHUB_CLASSIC):
        assert secret not in text
    assert redacted["object"]["data"]["password"] == "[redacted: password]"
    assert (
        redacted["object"]["data"]["logo.png"] == PNG and redacted["object"]["data"]["notes"] == "password: see vault"
    )
    env = redacted["object"]["spec"]["containers"][0]["env"]
    assert env[0] == {"name": "AWS_SECRET_ACCESS_KEY", "value": "[redacted: AWS secret access key]"}
    assert env[1] == answer["object"]["spec"]["containers"][0]["env"][1] and env[2]["value"] == "debug-verbose"
    assert redacted["object"]["spec"]["containers"][0]["args"] == ["--token=[redacted: GitHub token]", "--port=8080"]
    assert redacted["count"] == 3 and redacted["ready"] is True
    untouched = {"items": [{"name": "web-1", "ip": "10.42.0.7"}], "continue_token": "eyJ2IjoibWV0YS5rOHMuaW8ifQ"}
    assert redact_structured(untouched) == (untouched, 0)
    assert redact_structured(untouched)[0] is untouched, "nothing is copied when nothing changes"


def test_a_result_reports_its_count_in_meta_and_one_sentence() -> None:
    structured = {"log": f"Authorization: Bearer {BEARER}\nok", "lines": 2}
    result = ToolResult(content=json.dumps(structured), structured_content=structured, meta={"other": 1})
    redacted = redact_result(result)
    assert redacted.meta == {"other": 1, "redactions": 1}
    texts = [block.text for block in redacted.content if isinstance(block, TextContent)]
    assert BEARER not in "".join(texts) and BEARER not in json.dumps(redacted.structured_content)
    assert json.loads(texts[0])["log"] == "Authorization: Bearer [redacted: bearer token]\nok"
    assert texts[-1] == "1 secret-shaped value was redacted (K3S_REDACT=false shows it)."
    clean = redact_result(ToolResult(content="all quiet on the cluster", structured_content={"message": "ok"}))
    assert clean.meta == {"redactions": 0} and len(clean.content) == 1
    assert redaction_note(2) == "2 secret-shaped values were redacted (K3S_REDACT=false shows them)."


def test_a_json_text_is_written_again_from_the_redacted_structured_content() -> None:
    structured = {"object": {"data": {"ci.env": f"GITHUB_TOKEN={GITHUB_CLASSIC}", "password": "hunter2hunter2"}}}
    result = ToolResult(structured_content=structured)  # the text is FastMCP's JSON of the structured content
    redacted = redact_result(result)
    assert redacted.meta == {"redactions": 2}, "a secret in both the text and the structured content counts once"
    text = redacted.content[0]
    assert isinstance(text, TextContent) and json.loads(text.text) == redacted.structured_content
    assert GITHUB_CLASSIC not in text.text and "hunter2hunter2" not in text.text


def test_revealed_secrets_keep_their_data_and_only_their_data() -> None:
    secret = {
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": "db", "annotations": {"note": f"rotated, old token {GITHUB_CLASSIC}"}},
        "data": {"password": "aHVudGVyMmh1bnRlcjI="},
    }
    listed = {"items": [{k: v for k, v in secret.items() if k != "kind"}]}  # list items carry no kind
    for answer in ({"object": secret}, listed):
        shown, count = redact_structured(answer, reveal_secrets=True)
        assert count == 1 and "aHVudGVyMmh1bnRlcjI=" in json.dumps(shown) and GITHUB_CLASSIC not in json.dumps(shown)
        hidden, count = redact_structured(answer)
        assert count == 2 and "aHVudGVyMmh1bnRlcjI=" not in json.dumps(hidden)
    configmap = {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"password": "hunter2hunter2"}}
    assert redact_structured(configmap, reveal_secrets=True)[1] == 1


def test_the_setting_is_on_by_default_and_k3s_redact_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().redact is True
    monkeypatch.setenv("K3S_REDACT", "false")
    assert Settings().redact is False
    assert "marker" in (Settings.model_fields["redact"].description or "")


def leaky_app(*, rows: int = 0, redaction: bool = True) -> FastMCP[Any]:
    """A small real FastMCP app whose tools answer with secrets, behind the redaction middleware (as in the
    server: outside the row table)."""
    middleware = [RedactionMiddleware(), RowTableMiddleware()] if redaction else [RowTableMiddleware()]
    app: FastMCP[Any] = FastMCP("leaky", middleware=middleware)

    @app.tool
    def read_config() -> dict[str, Any]:
        return {"data": {"config.yaml": f"github: {GITHUB_CLASSIC}\nurl: https://ci:P4ssw0rd-x@ci.local/"}}

    @app.tool
    def failing() -> str:
        raise ToolError(f"upstream said: Authorization: Bearer {BEARER} is not valid")

    @app.tool
    def listing() -> dict[str, Any]:
        return {"items": pod_rows(rows), "count": rows, "continue_token": None}

    return app


def pod_rows(count: int) -> list[dict[str, Any]]:
    """Rows shaped like get_pods' (with labels, as a 1,000-pod answer has them)."""
    return [
        {
            "namespace": f"shop-{index % 7}",
            "name": f"web-7d9f8b6c4-{index:05d}",
            "ready": "1/1",
            "status": "Running",
            "restarts": index % 3,
            "age": "3d",
            "ip": f"10.42.{index // 250}.{index % 250}",
            "node": f"k3s-agent-{index % 2 + 1}",
            "labels": {"app": "web", "pod-template-hash": "7d9f8b6c4", "tier": "frontend"},
        }
        for index in range(count)
    ]


async def test_the_middleware_redacts_answers_and_errors_of_a_real_app() -> None:
    async with Client(leaky_app()) as client:
        result = await client.call_tool("read_config", {})
        whole = json.dumps([getattr(b, "text", "") for b in result.content]) + json.dumps(result.structured_content)
        assert GITHUB_CLASSIC not in whole and "P4ssw0rd-x" not in whole
        assert "[redacted: GitHub token]" in whole and "https://ci:[redacted: password]@ci.local/" in whole
        assert result.meta is not None and result.meta["redactions"] == 2
        error = await client.call_tool("failing", {}, raise_on_error=False)
        message = "".join(getattr(b, "text", "") for b in error.content)
        assert error.is_error and BEARER not in message
        assert message == (
            "upstream said: Authorization: Bearer [redacted: bearer token] is not valid "
            "1 secret-shaped value was redacted (K3S_REDACT=false shows it)."
        )


def timed(function: Callable[[], Any], rounds: int) -> float:
    """Median milliseconds of one call (the machine may be busy: the median ignores the slow outliers)."""
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def test_overhead_on_a_1000_row_answer_is_reported() -> None:
    structured = {"items": pod_rows(1000), "count": 1000, "continue_token": None}
    table = row_table(structured)
    assert table is not None
    as_table = ToolResult(content=table, structured_content=structured)
    as_json = ToolResult(structured_content=structured)
    for result in (as_table, as_json):
        redacted = redact_result(result)
        assert redacted.meta == {"redactions": 0} and redacted.structured_content is result.structured_content
        assert redacted.content == result.content
    table_ms = timed(lambda: redact_result(as_table), 30)
    json_ms = timed(lambda: redact_result(as_json), 30)
    structured_ms = timed(lambda: redact_structured(structured), 30)

    async with Client(leaky_app(rows=1000)) as redacting, Client(leaky_app(rows=1000, redaction=False)) as plain:
        answer = await redacting.call_tool("listing", {})
        assert answer.structured_content is not None and answer.structured_content["count"] == 1000
        assert answer.meta is not None and answer.meta["redactions"] == 0
        with_redaction: list[float] = []
        without: list[float] = []
        for _ in range(15):  # interleaved, so both see the same load
            with_redaction.append(await call_ms(redacting))
            without.append(await call_ms(plain))
    with_ms, without_ms = statistics.median(with_redaction), statistics.median(without)
    print(
        f"\nredaction of a 1,000-row answer ({len(table):,} characters of table text): {table_ms:.1f} ms as a table, "
        f"{json_ms:.1f} ms as JSON text ({structured_ms:.1f} ms of either for the structured rows); in-memory "
        f"call {with_ms:.1f} ms with redaction vs {without_ms:.1f} ms without ({with_ms - without_ms:+.1f} ms, medians)"
    )


async def call_ms(client: Client[Any]) -> float:
    started = time.perf_counter()
    await client.call_tool("listing", {})
    return (time.perf_counter() - started) * 1000


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@pytest.mark.parametrize(
    ("spelling", "hide"),
    [
        ("JSON \\u escapes", lambda t: t.replace("p", "\\u0070").replace("_", "\\u005f")),
        ("\\x escapes", lambda t: t.replace("h", "\\x68")),
        ("full-width letters", _full_width),
        ("a zero-width space inside", lambda t: t[:6] + "\u200b" + t[6:]),
        ("a soft hyphen and a word joiner", lambda t: t[:4] + "\u00ad" + t[4:10] + "\u2060" + t[10:]),
    ],
)
def test_a_token_spelt_to_hide_from_the_patterns_is_still_redacted(spelling: str, hide: Callable[[str], str]) -> None:
    hidden = hide(GITHUB_CLASSIC)
    assert hidden != GITHUB_CLASSIC, spelling
    redacted, count = redact(f"level=warn msg=leaked value {hidden} end")
    assert count == 1 and "[redacted: GitHub token]" in redacted, (spelling, redacted)
    assert GITHUB_CLASSIC[8:24] not in redacted and hidden[8:24] not in redacted
    assert redacted.startswith("level=warn msg=leaked value ") and redacted.endswith(" end")


def test_a_lower_case_pem_block_is_redacted() -> None:
    key = pem_keys()["RSA private key"].lower()
    redacted, count = redact(f"data:\n{key}")
    assert count == 1 and key.splitlines()[2] not in redacted and "[redacted: RSA private key]" in redacted


@pytest.mark.parametrize("separator", ["\n", "\r\n", "\\n"])
def test_base64_of_a_private_key_wrapped_in_lines_is_redacted_whole(separator: str) -> None:
    encoded = base64.b64encode(pem_keys()["EC private key"].encode()).decode()
    wrapped = separator.join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    redacted, count = redact(f'{{"client-key-data": "{wrapped}"}}' if separator == "\\n" else f"key: {wrapped}")
    assert count == 1, redacted
    for line in wrapped.split(separator):
        assert line not in redacted


def test_folding_leaves_json_text_json_and_changes_nothing_without_a_secret() -> None:
    text = json.dumps({"note": "caf\u00e9 \u2603 \u200b", "quote": 'a"b', "path": "c:\\x41"}, ensure_ascii=True)
    assert redact(text) == (text, 0)
    # An escape that would end a JSON string is not decoded when a secret is folded out of the same text.
    mixed = json.dumps({"q": "\\u0022", "t": GITHUB_CLASSIC.replace("p", "\\u0070")})
    redacted, count = redact(mixed)
    assert count == 1 and json.loads(redacted)["q"] == "\\u0022"
