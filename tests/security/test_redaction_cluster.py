"""Secret-shaped text read back from the real cluster through the MCP tools: a private key and a GitHub token in a
ConfigMap, an AWS secret key as a literal container env value, a bearer token in a pod's log and a private key
in exec output. Each answer (text and structured content together) must not hold the secret, must carry the
marker and the count; with K3S_REDACT=false the same answer shows the secret."""

from __future__ import annotations

import base64
import datetime
import json
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from fastmcp import Client
from fastmcp.client.client import CallToolResult

from devcluster.api import ClusterAPI, deployment
from devcluster.components import SECRET_LOG_LINES, SECRET_LOGGER
from tests.k3s_mcp.conftest import ClientFactory, create, wait_until

# Put together at run time, so no scanner takes this file for a leak.
GITHUB_TOKEN = "ghp_" + "R3d4ctM3" * 4 + "Xy9Z"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzEXAMPLEKEY"
LOG_TOKEN = next(line for line in SECRET_LOG_LINES if "Bearer" in line).split("Bearer ")[1].rstrip('"')
NOTE_ONE = "1 secret-shaped value was redacted (K3S_REDACT=false shows it)."
NOTE_TWO = "2 secret-shaped values were redacted (K3S_REDACT=false shows them)."


def private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()


def key_lines(pem: str) -> list[str]:
    """The base64 body lines of a PEM key: none of them may appear in a redacted answer."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def whole(result: CallToolResult) -> str:
    """Everything an answer carries: each content block, the structured content and the meta."""
    return json.dumps(
        {
            "content": [block.model_dump(mode="json") for block in result.content],
            "structured": result.structured_content,
            "meta": result.meta,
        }
    )


def texts(result: CallToolResult) -> list[str]:
    return [str(getattr(block, "text", "")) for block in result.content]


async def answer(client: Client[Any], tool: str, arguments: dict[str, Any]) -> CallToolResult:
    result = await client.call_tool(tool, arguments, raise_on_error=False)
    assert not result.is_error, f"{tool} failed: {texts(result)}"
    return result


def assert_redacted(result: CallToolResult, secrets: list[str], markers: list[str], count: int) -> None:
    dumped = whole(result)
    for secret in secrets:
        assert secret not in dumped, f"{secret[:12]}... leaked"
        # JSON text escapes some characters (`/` stays, but be sure of both spellings).
        assert json.dumps(secret)[1:-1] not in dumped
    for marker in markers:
        assert marker in dumped, f"{marker} missing in {dumped[:400]}"
    assert result.meta is not None and result.meta["redactions"] == count
    assert texts(result)[-1] == {1: NOTE_ONE, 2: NOTE_TWO}[count]
    if not texts(result)[0].startswith("{"):
        return  # a list answer reads as a table
    # A JSON text says exactly what the structured content says, redactions included.
    assert json.loads(texts(result)[0]) == result.structured_content


def assert_shown(result: CallToolResult, secrets: list[str]) -> None:
    dumped = whole(result)
    for secret in secrets:
        assert secret in dumped or json.dumps(secret)[1:-1] in dumped
    assert "[redacted:" not in dumped and "redactions" not in (result.meta or {})


async def test_configmap_with_a_private_key_and_a_github_token(
    mcp_client: Client[Any], make_client: ClientFactory, kubeconfig: str, cluster_api: ClusterAPI, namespace: str
) -> None:
    pem = private_key()
    create(
        cluster_api,
        f"/api/v1/namespaces/{namespace}/configmaps",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "leaky"},
            "data": {"tls.key": pem, "ci.env": f"GITHUB_TOKEN={GITHUB_TOKEN}\nREGION=eu-west-1\n", "plain": "hello"},
        },
    )
    secrets = [GITHUB_TOKEN, *key_lines(pem)]
    markers = ["[redacted: RSA private key]", "[redacted: GitHub token]"]
    reads = [
        ("get_configmap", {"name": "leaky", "namespace": namespace}),
        ("get_resource", {"kind": "ConfigMap", "name": "leaky", "namespace": namespace, "detail": "full"}),
        ("describe_object", {"kind": "cm", "name": "leaky", "namespace": namespace}),
        ("get_resource_objects", {"kind": "configmaps", "namespace": namespace, "fields": "metadata.name=leaky"}),
    ]
    for tool, arguments in reads:
        result = await answer(mcp_client, tool, arguments)
        assert_redacted(result, secrets, markers, 2)
        assert "REGION=eu-west-1" in whole(result) and "hello" in whole(result), tool
    async with make_client(kubeconfig=kubeconfig, redact=False) as client:
        for tool, arguments in reads:
            assert_shown(await answer(client, tool, arguments), secrets)


async def test_literal_env_value_of_a_deployment(
    mcp_client: Client[Any], make_client: ClientFactory, kubeconfig: str, cluster_api: ClusterAPI, namespace: str
) -> None:
    spec = deployment("billing")
    spec["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "AWS_SECRET_ACCESS_KEY", "value": AWS_SECRET},
        {"name": "AWS_REGION", "value": "eu-west-1"},
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
    ]
    create(cluster_api, f"/apis/apps/v1/namespaces/{namespace}/deployments", spec)
    reads = [
        # The whole object: a summary (the default) leaves the environment out.
        ("get_deployment", {"name": "billing", "namespace": namespace, "detail": "full"}),
        ("get_resource", {"kind": "deploy", "name": "billing", "namespace": namespace, "detail": "full"}),
    ]
    for tool, arguments in reads:
        result = await answer(mcp_client, tool, arguments)
        assert_redacted(result, [AWS_SECRET], ["[redacted: AWS secret access key]"], 1)
        dumped = whole(result)
        # The env entry keeps its name, a reference to a Secret stays as it is, other values too.
        assert "AWS_SECRET_ACCESS_KEY" in dumped and "secretKeyRef" in dumped and "eu-west-1" in dumped, tool
        structured = json.dumps(result.structured_content)
        assert '{"name": "AWS_SECRET_ACCESS_KEY", "value": "[redacted: AWS secret access key]"}' in structured
    async with make_client(kubeconfig=kubeconfig, redact=False) as client:
        for tool, arguments in reads:
            assert_shown(await answer(client, tool, arguments), [AWS_SECRET])


async def running_pod(cluster_api: ClusterAPI, namespace: str, name: str, container: str) -> str:
    create(
        cluster_api,
        f"/api/v1/namespaces/{namespace}/pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {"containers": [{"name": container, "image": "busybox:1.37"}]},
        },
    )

    def running() -> bool:
        status, pod = cluster_api.request("GET", f"/api/v1/namespaces/{namespace}/pods/{name}")
        return status == 200 and (pod.get("status") or {}).get("phase") == "Running"

    await wait_until(running, what=f"pod {name} Running")
    return name


async def test_bearer_token_in_a_pod_log(
    mcp_client: Client[Any], make_client: ClientFactory, kubeconfig: str, cluster_api: ClusterAPI, namespace: str
) -> None:
    pod = await running_pod(cluster_api, namespace, "billing-client", SECRET_LOGGER)
    arguments = {"pod_name": pod, "namespace": namespace}
    result = await answer(mcp_client, "get_logs", arguments)
    assert_redacted(result, [LOG_TOKEN], ["Authorization: Bearer [redacted: bearer token]"], 1)
    assert result.structured_content is not None
    log = result.structured_content["log"]
    assert (
        "calling the billing API" in log and "billing API answered" in log and result.structured_content["lines"] == 3
    )
    async with make_client(kubeconfig=kubeconfig, redact=False) as client:
        assert_shown(await answer(client, "get_logs", arguments), [LOG_TOKEN])


async def test_private_key_in_exec_output(
    mcp_client: Client[Any], make_client: ClientFactory, kubeconfig: str, cluster_api: ClusterAPI, namespace: str
) -> None:
    pod = await running_pod(cluster_api, namespace, "shell", "main")
    pem = private_key()
    # The command carries the key base64-encoded, so only the output holds the PEM text; the answer repeats the
    # command, whose encoded key is redacted too.
    encoded = base64.b64encode(pem.encode()).decode()
    arguments = {"pod_name": pod, "namespace": namespace, "command": ["sh", "-c", f"echo {encoded} | base64 -d"]}
    result = await answer(mcp_client, "execute_command", arguments)
    assert_redacted(result, [*key_lines(pem), encoded[40:120]], ["[redacted: RSA private key]"], 2)
    assert result.structured_content is not None and result.structured_content["exit_code"] == 0
    async with make_client(kubeconfig=kubeconfig, redact=False) as client:
        shown = await answer(client, "execute_command", arguments)
        assert_shown(shown, key_lines(pem))
        assert shown.structured_content is not None and shown.structured_content["stdout"] == pem


async def test_a_secret_in_an_error_message_is_redacted(mcp_client: Client[Any], namespace: str) -> None:
    result = await mcp_client.call_tool(
        "get_pods", {"namespace": namespace, "limit": f"Bearer {LOG_TOKEN}"}, raise_on_error=False
    )
    message = " ".join(texts(result))
    assert result.is_error and LOG_TOKEN not in message
    assert message == "Invalid argument `limit`: must be an integer, got 'Bearer [redacted: bearer token]'."


def certificate(pem_key: str) -> str:
    """A self-signed certificate for the key: public, so it must stay readable."""
    key = serialization.load_pem_private_key(pem_key.encode(), password=None)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "k3s-mcp-test")])
    now = datetime.datetime.now(datetime.UTC)
    built = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())  # type: ignore[arg-type]
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())  # type: ignore[arg-type]
    )
    return built.public_bytes(serialization.Encoding.PEM).decode()


async def test_configmap_with_a_kubeconfig_whose_key_is_base64(
    mcp_client: Client[Any], make_client: ClientFactory, kubeconfig: str, cluster_api: ClusterAPI, namespace: str
) -> None:
    """A kubeconfig carries its private key base64-encoded (`client-key-data`), as `kubernetes.io/tls` data copied
    into a ConfigMap does: the encoded key is redacted, the encoded certificate next to it stays."""
    pem = private_key()
    encoded_key = base64.b64encode(pem.encode()).decode()
    encoded_cert = base64.b64encode(certificate(pem).encode()).decode()
    config = (
        "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n"
        f"    client-certificate-data: {encoded_cert}\n    client-key-data: {encoded_key}\n"
    )
    create(
        cluster_api,
        f"/api/v1/namespaces/{namespace}/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kubeconfig"}, "data": {"config": config}},
    )
    reads = [
        ("get_configmap", {"name": "kubeconfig", "namespace": namespace}),
        ("get_resource", {"kind": "ConfigMap", "name": "kubeconfig", "namespace": namespace, "detail": "full"}),
        ("get_resource_objects", {"kind": "configmaps", "namespace": namespace}),
    ]
    for tool, arguments in reads:
        result = await answer(mcp_client, tool, arguments)
        assert_redacted(result, [encoded_key[40:120]], ["[redacted: RSA private key]"], 1)
        assert encoded_cert in whole(result), tool
    async with make_client(kubeconfig=kubeconfig, redact=False) as client:
        for tool, arguments in reads:
            assert_shown(await answer(client, tool, arguments), [encoded_key])


async def test_configmap_with_secrets_spelt_to_slip_past_the_patterns(
    mcp_client: Client[Any], cluster_api: ClusterAPI, namespace: str
) -> None:
    """Full-width letters, a zero-width space, JSON escapes, a lower-case PEM block and wrapped base64: a reader
    (or a model) reads each as the secret, so each is redacted as one."""
    pem = private_key()
    encoded = base64.b64encode(pem.encode()).decode()
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in GITHUB_TOKEN)
    create(
        cluster_api,
        f"/api/v1/namespaces/{namespace}/configmaps",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "sly"},
            "data": {
                "wide": f"see {full_width} here",
                "hidden": f"see {GITHUB_TOKEN[:7]}\u200b{GITHUB_TOKEN[7:]} here",
                "escaped": "see " + GITHUB_TOKEN.replace("p", "\\u0070", 1) + " here",
                "lower": pem.lower(),
                "wrapped": "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76)),
            },
        },
    )
    arguments = {"kind": "ConfigMap", "name": "sly", "namespace": namespace, "detail": "full"}
    result = await answer(mcp_client, "get_resource", arguments)
    dumped = whole(result)
    for leaked in (GITHUB_TOKEN[8:], full_width[8:], *(line.lower() for line in key_lines(pem)), encoded[80:152]):
        assert leaked not in dumped and json.dumps(leaked)[1:-1] not in dumped, leaked[:16]
    assert dumped.count("[redacted: GitHub token]") >= 3 and "[redacted: RSA private key]" in dumped
    assert result.meta is not None and result.meta["redactions"] == 5
