"""The KEDA operator and its external metrics API server, built from the pinned module and run on 127.0.0.1.

``pins/keda`` pins ``github.com/kedacore/keda/v2`` at the version whose CRDs ``pins/crds`` installs; its two
commands are a group of their own (:data:`KEDA_BINARIES`) with their own digest, so adding them left the control
plane's cached binaries as they were. :func:`build` builds them, :func:`components` says how to run them against a
cluster, and :func:`install` registers the metrics server as ``v1beta1.external.metrics.k8s.io`` and waits until
the API server serves it.

Both processes run on this machine with the cluster's admin kubeconfig. The operator's gRPC metrics service (which
the metrics server asks for every metric value) is mutual TLS with the files ``ca.crt``, ``tls.crt`` and
``tls.key`` of one directory (``<state>/keda/certs``); :func:`components` writes a throwaway CA and one
certificate for 127.0.0.1 there, used by both ends. The metrics server serves the aggregated API with a certificate
:mod:`devcluster.aggregation` signs with the cluster's CA for the Service name the aggregator checks. KEDA reads the
namespaces it watches from ``WATCH_NAMESPACE`` (empty: all), which is why a :class:`Component` carries environment
variables; ``KEDA_CLUSTER_OBJECT_NAMESPACE`` is ``keda``, where :func:`install` puts the Service.

Upstream binds the metrics server's own Prometheus endpoint (``--port``) on every interface; it gets a free port.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from devcluster.aggregation import ca_bundle, register_api_service, serving_certificate
from devcluster.api import ClusterAPI
from devcluster.build import KEDA_MODULE, Binary, binaries_digest, build_binaries, module_dir
from devcluster.cache import cache_root
from devcluster.messages import ClusterError
from devcluster.processes import Component, free_port, tail_log

KEDA_VERSION = "v2.21.0"
KEDA_BINARIES = (
    Binary("keda-operator", "keda", "github.com/kedacore/keda/v2/cmd/operator"),
    Binary("keda-adapter", "keda", "github.com/kedacore/keda/v2/cmd/adapter"),
)
OPERATOR = "keda-operator"
ADAPTER = "keda-adapter"
# Where KEDA keeps cluster-wide objects (ClusterTriggerAuthentication secrets) and where the Service the
# APIService names lives; the names are the ones KEDA's own chart uses.
NAMESPACE = "keda"
SERVICE = "keda-metrics-apiserver"
API_SERVICE = "v1beta1.external.metrics.k8s.io"
EXTERNAL_METRICS = "/apis/external.metrics.k8s.io/v1beta1"


def bin_dir() -> Path:
    return cache_root() / "bin" / binaries_digest(KEDA_BINARIES)


def build() -> Path:
    """Build the KEDA operator and metrics server into the cache if missing; return the directory holding them."""
    return build_binaries(KEDA_BINARIES, bin_dir())


def keda_dir(state: Path) -> Path:
    return state / "keda"


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def write_certificates(certs: Path) -> None:
    """A throwaway CA and one certificate, for server and client use, for the operator's gRPC mutual TLS."""
    certs.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "keda-local-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "keda-local")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (certs / "ca.crt").write_bytes(_pem(ca))
    (certs / "tls.crt").write_bytes(_pem(cert))
    key_file = certs / "tls.key"
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_file.chmod(0o600)


def components(state: Path, bins: Path, kubeconfig: Path, *, watch_namespaces: str = "") -> list[Component]:
    """The operator and the metrics server on free ports of 127.0.0.1; `watch_namespaces` is a comma list, "" all.

    The ports are kept in ``<state>/keda/ports.json`` for :func:`install` and :func:`ports`.
    """
    home = keda_dir(state)
    certs = home / "certs"
    write_certificates(certs)
    serving_cert, serving_key = serving_certificate(state, SERVICE, NAMESPACE)
    names = ("operator_metrics", "operator_health", "grpc", "adapter", "adapter_metrics")
    port = {name: free_port() for name in names}
    (home / "ports.json").write_text(json.dumps(port))
    env = {
        "WATCH_NAMESPACE": watch_namespaces,
        "KEDA_CLUSTER_OBJECT_NAMESPACE": NAMESPACE,
        "POD_NAMESPACE": NAMESPACE,
        "KUBECONFIG": str(kubeconfig),
    }
    return [
        Component(
            OPERATOR,
            [
                str(bins / OPERATOR),
                f"--kubeconfig={kubeconfig}",
                f"--metrics-bind-address=127.0.0.1:{port['operator_metrics']}",
                f"--health-probe-bind-address=127.0.0.1:{port['operator_health']}",
                f"--metrics-service-bind-address=127.0.0.1:{port['grpc']}",
                f"--cert-dir={certs}",
                f"--ca-dir={certs}",
                "--enable-cert-rotation=false",
                "--leader-elect=false",
                "--zap-log-level=info",
            ],
            env=env,
        ),
        Component(
            ADAPTER,
            [
                str(bins / ADAPTER),
                f"--kubeconfig={kubeconfig}",
                f"--lister-kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--bind-address=127.0.0.1",
                f"--secure-port={port['adapter']}",
                f"--cert-dir={certs}",
                f"--tls-cert-file={serving_cert}",
                f"--tls-private-key-file={serving_key}",
                f"--metrics-service-address=127.0.0.1:{port['grpc']}",
                f"--port={port['adapter_metrics']}",
                "--zap-log-level=info",
            ],
            env=env,
        ),
    ]


def ports(state: Path) -> dict[str, int]:
    """The ports :func:`components` chose: operator_metrics, operator_health, grpc, adapter, adapter_metrics."""
    try:
        loaded = json.loads((keda_dir(state) / "ports.json").read_text())
    except (OSError, ValueError) as error:
        raise ClusterError(
            f"KEDA's ports are not recorded in {keda_dir(state)} ({error}); run components() first"
        ) from None
    return {str(k): int(v) for k, v in loaded.items()}


def _local_ok(url: str, context: ssl.SSLContext | None = None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def operator_healthy(state: Path) -> bool:
    return _local_ok(f"http://127.0.0.1:{ports(state)['operator_health']}/healthz")


def adapter_ready(state: Path) -> bool:
    context = ssl.create_default_context(cadata=ca_bundle(state).decode())
    return _local_ok(f"https://127.0.0.1:{ports(state)['adapter']}/readyz", context)


def _wait(what: str, check: Callable[[], bool], timeout: float, state: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise ClusterError(
        f"timed out after {timeout:.0f}s waiting for {what}\n{OPERATOR}: {tail_log(state, OPERATOR, 8)}"
        f"\n{ADAPTER}: {tail_log(state, ADAPTER, 8)}"
    )


def install_eventing_crds(api: ClusterAPI, timeout: float) -> None:
    """The eventing.keda.sh CRDs (CloudEventSource, ClusterCloudEventSource) of the pinned module, Established.

    The cluster installs only keda.sh's; the operator watches these two kinds as well and exits when they are not
    served within its cache sync timeout (2 min), so they are applied first thing after launch.
    """
    bases = module_dir("keda", KEDA_MODULE) / "config" / "crd" / "bases"
    names = []
    for path in sorted(bases.glob("eventing.keda.sh_*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document and document.get("kind") == "CustomResourceDefinition":
                name = document["metadata"]["name"]
                api.apply(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}", document)
                names.append(name)
    if not names:
        raise ClusterError(f"no eventing.keda.sh CRDs found in {bases}")

    def established() -> bool:
        for name in names:
            status, answer = api.request("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
            conditions = (answer.get("status") or {}).get("conditions") or [] if status == 200 else []
            if not any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
                return False
        return True

    deadline = time.monotonic() + timeout
    while not established():
        if time.monotonic() > deadline:
            raise ClusterError(f"the CRDs {', '.join(names)} were not Established within {timeout:.0f}s")
        time.sleep(0.2)


def install(api: ClusterAPI, state: Path, *, timeout: float = 90.0) -> None:
    """Register the metrics server as v1beta1.external.metrics.k8s.io; return once the API server serves it.

    Applies the eventing.keda.sh CRDs, waits for the operator's /healthz and the metrics server's /readyz, creates
    the ``keda`` namespace and routes the APIService to the metrics server through
    :func:`devcluster.aggregation.register_api_service`.
    """
    install_eventing_crds(api, timeout)
    _wait("the KEDA operator's /healthz", lambda: operator_healthy(state), timeout, state)
    _wait("the KEDA metrics server's /readyz", lambda: adapter_ready(state), timeout, state)
    status, answer = api.request("POST", "/api/v1/namespaces", {"metadata": {"name": NAMESPACE}})
    if status not in (201, 409):
        raise ClusterError(f"creating namespace {NAMESPACE} failed ({status}): {answer}")
    register_api_service(
        api,
        "external.metrics.k8s.io",
        "v1beta1",
        ports(state)["adapter"],
        ca_bundle(state),
        service=SERVICE,
        namespace=NAMESPACE,
        within=timeout,
    )
