"""The local cluster's throwaway PKI (CA, serving and admin certificates, service-account keys) and kubeconfigs."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from devcluster.components import SERVICE_CIDR


def _write_key(path: Path, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)


def _cert(
    subject: x509.Name,
    public_key: Any,
    issuer: x509.Name,
    signing_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    sans: list[x509.GeneralName] | None = None,
    server: bool = False,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
        if server:
            usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def write_pki(pki: Path) -> None:
    """A throwaway CA, the API server's serving certificate, an admin client certificate and the SA key pair."""
    pki.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "k3s-mcp-local-ca")])
    ca = _cert(ca_name, ca_key.public_key(), ca_name, ca_key, ca=True)
    _write_key(pki / "ca.key", ca_key)
    (pki / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))

    sans: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.DNSName("kubernetes"),
        x509.DNSName("kubernetes.default"),
        x509.DNSName("kubernetes.default.svc"),
        x509.DNSName("kubernetes.default.svc.cluster.local"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.IPv4Network(SERVICE_CIDR)[1]),
    ]
    for name, subject, server in (
        ("apiserver", [x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")], True),
        (
            "admin",
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
                x509.NameAttribute(NameOID.COMMON_NAME, "k3s-mcp-admin"),
            ],
            True,
        ),
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(x509.Name(subject), key.public_key(), ca_name, ca_key, sans=sans, server=server)
        _write_key(pki / f"{name}.key", key)
        (pki / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_key(pki / "sa.key", sa_key)
    (pki / "sa.pub").write_bytes(
        sa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def kubeconfig_text(pki: Path, port: int, *, embed: bool) -> str:
    def field(name: str, path: Path) -> dict[str, str]:
        if embed:
            return {f"{name}-data": base64.b64encode(path.read_bytes()).decode()}
        return {name: str(path)}

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "k3s-mcp-local",
                "cluster": {"server": f"https://127.0.0.1:{port}", **field("certificate-authority", pki / "ca.crt")},
            }
        ],
        "users": [
            {
                "name": "k3s-mcp-admin",
                "user": {
                    **field("client-certificate", pki / "admin.crt"),
                    **field("client-key", pki / "admin.key"),
                },
            }
        ],
        "contexts": [{"name": "k3s-mcp-local", "context": {"cluster": "k3s-mcp-local", "user": "k3s-mcp-admin"}}],
        "current-context": "k3s-mcp-local",
    }
    return yaml.safe_dump(config, sort_keys=False)
