"""Serve an aggregated API (metrics.k8s.io, external.metrics.k8s.io, ...) from a process on 127.0.0.1.

The kube-apiserver reaches an APIService's backend through its Service: the aggregator resolves the Service with
``k8s.io/apiserver/pkg/util/proxy.ResolveCluster`` (the default without ``--enable-aggregator-routing``). A
ClusterIP would need kube-proxy, and an Endpoints or EndpointSlice address on the loopback is refused by
validation; but a Service of ``type: ExternalName`` resolves to ``https://<externalName>:<APIService port>``
directly, so ``externalName: 127.0.0.1`` and the APIService's ``service.port`` set to the process's port route
the aggregator straight to it. The aggregator checks the backend's certificate against the APIService's
``caBundle`` for the name ``<service>.<namespace>.svc``, which :func:`serving_certificate` puts in the
certificate (with 127.0.0.1 and localhost) signed by the cluster's CA. It authenticates itself with the API
server's ``--proxy-client-cert-file``, which the backend accepts through the client CA published in
``kube-system/extension-apiserver-authentication``.

Usage, for a backend listening on 127.0.0.1:``port``::

    cert, key = serving_certificate(state, "metrics-server", "kube-system")   # before launching the backend
    register_api_service(api, "metrics.k8s.io", "v1beta1", port, ca_bundle(state),
                         service="metrics-server", namespace="kube-system")
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import time
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from devcluster.api import ClusterAPI
from devcluster.messages import ClusterError

LOOPBACK = "127.0.0.1"


def ca_bundle(state: Path) -> bytes:
    """The cluster CA's certificate (PEM), which signs the backends' serving certificates."""
    return (state / "pki" / "ca.crt").read_bytes()


def serving_certificate(state: Path, service: str, namespace: str) -> tuple[Path, Path]:
    """A serving certificate and key for the backend of `service` in `namespace`, signed by the cluster CA.

    Its names are those the aggregator checks (``<service>.<namespace>.svc``) plus 127.0.0.1 and localhost. Written
    once under ``<state>/pki/`` and reused; returns the certificate's and the key's paths.
    """
    pki = state / "pki"
    cert_path, key_path = pki / f"{service}-serving.crt", pki / f"{service}-serving.key"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    ca_cert = x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key((pki / "ca.key").read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ClusterError(f"the cluster CA key in {pki} is not the EC key the launcher writes; restart the cluster")
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    names: list[x509.GeneralName] = [
        x509.DNSName(f"{service}.{namespace}.svc"),
        x509.DNSName(f"{service}.{namespace}.svc.cluster.local"),
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address(LOOPBACK)),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{service}.{namespace}.svc")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def api_service_name(group: str, version: str) -> str:
    return f"{version}.{group}"


def register_api_service(
    api: ClusterAPI,
    group: str,
    version: str,
    port: int,
    ca_bundle: bytes,
    *,
    service: str,
    namespace: str = "kube-system",
    group_priority_minimum: int = 100,
    version_priority: int = 100,
    within: float = 90.0,
) -> None:
    """Route the API server's `group`/`version` to the backend on 127.0.0.1:`port`; return once it is served.

    Creates (server-side apply, so repeating it is harmless) `namespace` if missing, the ExternalName Service
    `namespace`/`service` pointing at 127.0.0.1 and the APIService ``<version>.<group>`` naming that Service, `port`
    and `ca_bundle` (PEM of the CA that signed the backend's serving certificate, see :func:`serving_certificate`).
    Waits until the APIService is Available and ``/apis/<group>/<version>`` answers 200; raises
    :class:`ClusterError` with the APIService's condition otherwise.
    """
    if not 0 < port < 65536:
        raise ClusterError(f"port {port} is not a TCP port")
    api.apply(
        f"/api/v1/namespaces/{namespace}", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    )
    api.apply(
        f"/api/v1/namespaces/{namespace}/services/{service}",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": service, "namespace": namespace, "labels": {"app.kubernetes.io/name": service}},
            "spec": {"type": "ExternalName", "externalName": LOOPBACK, "ports": [{"name": "https", "port": port}]},
        },
    )
    name = api_service_name(group, version)
    api.apply(
        f"/apis/apiregistration.k8s.io/v1/apiservices/{name}",
        {
            "apiVersion": "apiregistration.k8s.io/v1",
            "kind": "APIService",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/name": service}},
            "spec": {
                "group": group,
                "version": version,
                "service": {"name": service, "namespace": namespace, "port": port},
                "caBundle": base64.b64encode(ca_bundle).decode(),
                "groupPriorityMinimum": group_priority_minimum,
                "versionPriority": version_priority,
            },
        },
    )
    wait_served(api, group, version, within)


def api_service_condition(api: ClusterAPI, group: str, version: str) -> dict[str, Any]:
    """The Available condition of the APIService ``<version>.<group>`` ({} while it has none or does not exist)."""
    try:
        status, answer = api.request(
            "GET", f"/apis/apiregistration.k8s.io/v1/apiservices/{api_service_name(group, version)}", timeout=5
        )
    except OSError:
        return {}
    if status != 200 or not isinstance(answer, dict):
        return {}
    for condition in (answer.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Available":
            return dict(condition)
    return {}


def served(api: ClusterAPI, group: str, version: str) -> bool:
    """Whether the APIService is Available and the API server answers its discovery document."""
    if api_service_condition(api, group, version).get("status") != "True":
        return False
    try:
        return api.request("GET", f"/apis/{group}/{version}", timeout=5)[0] == 200
    except OSError:
        return False


def wait_served(api: ClusterAPI, group: str, version: str, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if served(api, group, version):
            return
        time.sleep(0.5)
    condition = api_service_condition(api, group, version)
    raise ClusterError(
        f"the API server did not serve {group}/{version} within {within:.0f}s; APIService "
        f"{api_service_name(group, version)}: {condition.get('reason', 'no condition')}: {condition.get('message', '')}"
    )
