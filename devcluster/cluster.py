"""Build, start, reuse and stop the local K3s-compatible control plane the tests and benchmarks run against.

The cluster is an upstream kube-apiserver, kube-controller-manager and kube-scheduler (built from the pinned
``k8s.io/kubernetes`` module in ``pins/kube/``), etcd (``pins/etcd/``), and KWOK (``pins/kwok/``) simulating three
Ready nodes whose pods reach Running and answer ``logs`` and ``exec`` through the API server. Everything binds to
127.0.0.1. Binaries are cached under ``~/.cache/k3s-mcp/bin/<pin>/``; the running cluster's state lives in
``~/.cache/k3s-mcp/cluster/``.

Usage: ``python -m devcluster.cluster {build,up,down,status,env}``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import fcntl
import hashlib
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# One Go module per group of binaries; its go.mod and go.sum are the pins.
PINS = Path(__file__).resolve().parent / "pins"
KUBE_VERSION = "v1.37.2"
KWOK_MODULE = "sigs.k8s.io/kwok@v0.8.0"
KEDA_MODULE = "github.com/kedacore/keda/v2"
HELM_CONTROLLER_MODULE = "github.com/k3s-io/helm-controller"
NODE_NAMES = ("k3s-server-0", "k3s-agent-1", "k3s-agent-2")
SERVICE_CIDR = "10.43.0.0/16"  # K3s's default service range
POD_CIDR = "10.42.0.0/16"  # K3s's default cluster CIDR


class ClusterError(RuntimeError):
    """A failure the person running the cluster can act on; the message says what to do."""


def log(message: str) -> None:
    print(f"[cluster] {message}", file=sys.stderr, flush=True)


def cache_root() -> Path:
    return Path(os.environ.get("K3S_MCP_CACHE", Path.home() / ".cache" / "k3s-mcp"))


def state_dir() -> Path:
    return Path(os.environ.get("K3S_MCP_CLUSTER_DIR", cache_root() / "cluster"))


def api_port() -> int:
    return int(os.environ.get("K3S_MCP_CLUSTER_PORT", "36443"))


# ---------------------------------------------------------------------------------------------------------------
# Building


@dataclass(frozen=True)
class Binary:
    name: str
    module_dir: str
    package: str
    ldflags: str = "-s -w"


def _kube_ldflags() -> str:
    major, minor = KUBE_VERSION.lstrip("v").split(".")[:2]
    pkg = "k8s.io/component-base/version"
    return (
        f"-s -w -X {pkg}.gitVersion={KUBE_VERSION} -X {pkg}.gitMajor={major} -X {pkg}.gitMinor={minor}"
        f" -X {pkg}.gitTreeState=clean -X {pkg}.buildDate=1970-01-01T00:00:00Z"
    )


BINARIES = (
    Binary("etcd", "etcd", "go.etcd.io/etcd/server/v3"),
    Binary("kube-apiserver", "kube", "k8s.io/kubernetes/cmd/kube-apiserver", _kube_ldflags()),
    Binary("kube-controller-manager", "kube", "k8s.io/kubernetes/cmd/kube-controller-manager", _kube_ldflags()),
    Binary("kube-scheduler", "kube", "k8s.io/kubernetes/cmd/kube-scheduler", _kube_ldflags()),
    Binary("kwok", "kwok", "sigs.k8s.io/kwok/cmd/kwok"),
)


def pin_digest() -> str:
    """A digest of every pinned module file, so a version bump builds into a fresh directory."""
    digest = hashlib.sha256()
    for binary in BINARIES:
        digest.update(binary.ldflags.encode())
    for module in sorted({b.module_dir for b in BINARIES}):
        for name in ("go.mod", "go.sum"):
            digest.update((PINS / module / name).read_bytes())
    return digest.hexdigest()[:12]


def bin_dir() -> Path:
    return cache_root() / "bin" / pin_digest()


def go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GOFLAGS", "-mod=readonly")
    return env


def build() -> Path:
    """Build every missing binary into the cache; return the directory holding them."""
    if shutil.which("go") is None:
        raise ClusterError("the Go toolchain is not on PATH; install Go >= 1.26 (the Makefile expects /usr/local/go)")
    target = bin_dir()
    target.mkdir(parents=True, exist_ok=True)
    for binary in BINARIES:
        out = target / binary.name
        if out.exists():
            continue
        log(f"building {binary.name} from {binary.package} (first time only; minutes on 2 cores) ...")
        started = time.monotonic()
        tmp = out.with_suffix(".tmp")
        cmd = ["go", "build", "-ldflags", binary.ldflags, "-o", str(tmp), binary.package]
        result = subprocess.run(cmd, cwd=PINS / binary.module_dir, env=go_env(), capture_output=True, text=True)
        if result.returncode != 0:
            raise ClusterError(f"building {binary.name} failed:\n{result.stderr[-4000:]}")
        tmp.rename(out)
        log(f"built {binary.name} in {time.monotonic() - started:.0f}s")
    return target


def module_dir(module_dir_name: str, module: str) -> Path:
    """Where the Go module cache holds a pinned module's source (downloaded and checksum-verified if missing)."""
    result = subprocess.run(
        ["go", "mod", "download", "-json", module],
        cwd=PINS / module_dir_name,
        env=go_env(),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise ClusterError(f"go mod download {module} failed:\n{result.stderr[-2000:]}")
    return Path(json.loads(result.stdout)["Dir"])


# ---------------------------------------------------------------------------------------------------------------
# PKI


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


# ---------------------------------------------------------------------------------------------------------------
# A minimal REST client (the launcher must not depend on the code under test)


class ClusterAPI:
    """Just enough of the Kubernetes REST API to bootstrap the cluster and give tests their namespaces."""

    def __init__(self, state: Path, port: int) -> None:
        pki = state / "pki"
        self.base = f"https://127.0.0.1:{port}"
        self.context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        self.context.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))

    @classmethod
    def from_kubeconfig(cls, path: Path) -> ClusterAPI:
        """A client for the current context of a kubeconfig that embeds its CA and client certificate."""
        config = yaml.safe_load(path.read_text())
        context = next(c["context"] for c in config["contexts"] if c["name"] == config["current-context"])
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
        user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
        api = cls.__new__(cls)
        api.base = cluster["server"].rstrip("/")
        api.context = ssl.create_default_context(
            cadata=base64.b64decode(cluster["certificate-authority-data"]).decode()
        )
        with tempfile.TemporaryDirectory() as tmp:
            cert, key = Path(tmp) / "c.crt", Path(tmp) / "c.key"
            cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
            key.write_bytes(base64.b64decode(user["client-key-data"]))
            api.context.load_cert_chain(str(cert), str(key))
        return api

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        timeout: float = 10.0,
    ) -> tuple[int, Any]:
        data = None
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", content_type)
        req.add_header("Accept", "application/json")
        try:
            with urllib.request.urlopen(req, context=self.context, timeout=timeout) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            raw = error.read()
            status = error.code
        try:
            return status, json.loads(raw) if raw else None
        except json.JSONDecodeError:
            return status, raw.decode(errors="replace")

    def apply(self, path: str, obj: dict[str, Any]) -> None:
        """Server-side apply ``obj`` at ``path`` (the object's own URL)."""
        status, answer = self.request(
            "PATCH",
            f"{path}?fieldManager=k3s-mcp-cluster&force=true",
            json.dumps(obj),
            content_type="application/apply-patch+yaml",
            timeout=30,
        )
        if status >= 300:
            raise ClusterError(f"applying {path} failed ({status}): {answer}")

    def ready(self) -> bool:
        try:
            status, _ = self.request("GET", "/readyz", timeout=2)
        except (OSError, ssl.SSLError):
            return False
        return status == 200


# ---------------------------------------------------------------------------------------------------------------
# Processes


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); /proc tells the truth.
    with contextlib.suppress(OSError):
        if "State:\tZ" in Path(f"/proc/{pid}/status").read_text():
            return False
    return True


@dataclass
class Component:
    name: str
    argv: list[str]
    pid: int = 0

    def alive(self) -> bool:
        return self.pid > 0 and pid_alive(self.pid)


def launch(state: Path, component: Component) -> None:
    log_file = (state / "logs" / f"{component.name}.log").open("ab")
    process = subprocess.Popen(
        component.argv,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        cwd=state,
        start_new_session=True,
    )
    log_file.close()
    component.pid = process.pid


def tail_log(state: Path, name: str, lines: int = 15) -> str:
    path = state / "logs" / f"{name}.log"
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_for(what: str, check: Any, timeout: float, state: Path, component: Component | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if component is not None and not component.alive():
            raise ClusterError(
                f"{component.name} exited while starting; last lines of its log "
                f"({state / 'logs' / (component.name + '.log')}):\n{tail_log(state, component.name)}"
            )
        time.sleep(0.1)
    detail = f"\n{tail_log(state, component.name)}" if component else ""
    raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


# ---------------------------------------------------------------------------------------------------------------
# Configuration of each component


SECRET_LOGGER = "secret-logger"
SECRET_LOG_LINES = (
    'level=info msg="calling the billing API"',
    'level=debug msg="request headers" authorization="Authorization: Bearer kwokFake3b1f0c9e7d2a4f68b5c1e0d9"',
    'level=info msg="billing API answered" status=200',
)
"""What a container named SECRET_LOGGER logs: one line carries a (fake) bearer token."""


def kwok_config(state: Path) -> str:
    """KWOK's configuration: its stages (from the pinned module), plus logs and exec for every pod."""
    kwok_src = module_dir("kwok", KWOK_MODULE)
    stage_files = [
        kwok_src / "kustomize/stage/node/fast/node-initialize.yaml",
        kwok_src / "kustomize/stage/node/heartbeat/node-heartbeat.yaml",
        *(
            kwok_src / "kustomize/stage/pod/fast" / name
            for name in ("pod-ready.yaml", "pod-complete.yaml", "pod-delete.yaml")
        ),
    ]
    # Outside the state directory: its parents are private to the owner, and exec runs as nobody.
    sandbox = Path(tempfile.gettempdir()) / f"k3s-mcp-exec-{os.getuid()}"
    sandbox.mkdir(exist_ok=True)
    logs_file = state / "pod.log"
    logs_file.write_text(
        "".join(
            # The CRI log format a kubelet reads: timestamp, stream, tag, message.
            f'2026-01-01T00:{i // 60:02d}:{i % 60:02d}.000000000Z stdout F level=info msg="simulated line {i}" n={i}\n'
            for i in range(1, 301)
        )
    )
    # A container named SECRET_LOGGER (in any pod) logs credential-shaped lines instead, for the redaction tests.
    secret_logs_file = state / "secret-pod.log"
    secret_logs_file.write_text(
        "".join(f"2026-01-01T00:00:0{i}.000000000Z stdout F {line}\n" for i, line in enumerate(SECRET_LOG_LINES))
    )
    local: dict[str, Any] = {"workDir": str(sandbox), "envs": [{"name": "KWOK_SIMULATED", "value": "true"}]}
    if os.geteuid() == 0:
        # Exec runs real commands on this machine: as an unprivileged user, inside a throwaway directory.
        local["securityContext"] = {"runAsUser": 65534, "runAsGroup": 65534}
        sandbox.chmod(0o777)
    documents: list[dict[str, Any]] = [
        {
            "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
            "kind": "KwokConfiguration",
            "options": {
                "enableCRDs": [],
                "cidr": POD_CIDR.replace("/16", "/24"),
                "nodeLeaseDurationSeconds": 40,
                "nodeLeaseParallelism": 4,
                "podPlayStageParallelism": 4,
                "nodePlayStageParallelism": 4,
                "enablePodsOnNodeSyncStreamWatch": True,
                "enableDebuggingHandlers": True,
            },
        },
        {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "ClusterLogs",
            "metadata": {"name": "all-pods"},
            "spec": {
                "logs": [
                    {"containers": [SECRET_LOGGER], "logsFile": str(secret_logs_file), "follow": False},
                    {"logsFile": str(logs_file), "previousLogsFile": str(logs_file), "follow": False},
                ]
            },
        },
        {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "ClusterExec",
            "metadata": {"name": "all-pods"},
            "spec": {"execs": [{"local": local}]},
        },
    ]
    text = "\n---\n".join(yaml.safe_dump(doc, sort_keys=False) for doc in documents)
    for path in stage_files:
        text += "\n---\n" + path.read_text()
    return text


def node_object(name: str, index: int) -> dict[str, Any]:
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": "amd64",
        # What a K3s node carries; the simulated nodes mirror a K3s server plus two agents.
        "node.kubernetes.io/instance-type": "k3s",
        "type": "kwok",
    }
    if index == 0:
        labels["node-role.kubernetes.io/control-plane"] = "true"
        labels["node-role.kubernetes.io/master"] = "true"
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {},
        "status": {
            "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"},
            "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"},
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "kubeletVersion": f"{KUBE_VERSION}+k3s1",
                "kubeProxyVersion": f"{KUBE_VERSION}+k3s1",
                "containerRuntimeVersion": "containerd://2.0.0-k3s1 (simulated by kwok)",
                "osImage": "K3s simulated node",
                "kernelVersion": "6.1.0",
            },
        },
    }


def components(state: Path, bins: Path, port: int) -> list[Component]:
    pki = state / "pki"
    etcd_client, etcd_peer = free_port(), free_port()
    kwok_port, kcm_port, sched_port = free_port(), free_port(), free_port()
    kubeconfig = str(state / "admin-files.kubeconfig")
    (state / "kwok.yaml").write_text(kwok_config(state))
    return [
        Component(
            "etcd",
            [
                str(bins / "etcd"),
                "--name=local",
                f"--data-dir={state / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{etcd_client}",
                f"--advertise-client-urls=http://127.0.0.1:{etcd_client}",
                f"--listen-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-cluster=local=http://127.0.0.1:{etcd_peer}",
                "--listen-metrics-urls=",
                "--unsafe-no-fsync=true",
                "--quota-backend-bytes=4294967296",
                "--log-level=warn",
            ],
        ),
        Component(
            "kube-apiserver",
            [
                str(bins / "kube-apiserver"),
                f"--etcd-servers=http://127.0.0.1:{etcd_client}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                # The lease reconciler refuses a loopback address; nothing in-cluster needs the endpoints.
                "--endpoint-reconciler-type=none",
                f"--secure-port={port}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=RBAC",
                "--allow-privileged=true",
                f"--kubelet-client-certificate={pki / 'admin.crt'}",
                f"--kubelet-client-key={pki / 'admin.key'}",
                "--kubelet-preferred-address-types=InternalIP",
                f"--proxy-client-cert-file={pki / 'admin.crt'}",
                f"--proxy-client-key-file={pki / 'admin.key'}",
                "--enable-priority-and-fairness=false",
                "--profiling=false",
                "--event-ttl=30m",
                "--v=0",
            ],
        ),
        Component(
            "kube-controller-manager",
            [
                str(bins / "kube-controller-manager"),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--bind-address=127.0.0.1",
                f"--secure-port={kcm_port}",
                "--leader-elect=false",
                f"--service-account-private-key-file={pki / 'sa.key'}",
                f"--root-ca-file={pki / 'ca.crt'}",
                f"--cluster-signing-cert-file={pki / 'ca.crt'}",
                f"--cluster-signing-key-file={pki / 'ca.key'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--cluster-cidr={POD_CIDR}",
                "--allocate-node-cidrs=false",
                "--controllers=*,-node-ipam-controller",
                "--node-monitor-grace-period=60s",
                "--profiling=false",
                "--v=0",
            ],
        ),
        Component(
            "kube-scheduler",
            [
                str(bins / "kube-scheduler"),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--bind-address=127.0.0.1",
                f"--secure-port={sched_port}",
                "--leader-elect=false",
                "--profiling=false",
                "--v=0",
            ],
        ),
        Component(
            "kwok",
            [
                str(bins / "kwok"),
                f"--kubeconfig={kubeconfig}",
                f"--config={state / 'kwok.yaml'}",
                "--manage-all-nodes=true",
                "--node-ip=127.0.0.1",
                f"--node-port={kwok_port}",
                f"--server-address=127.0.0.1:{kwok_port}",
                f"--tls-cert-file={pki / 'admin.crt'}",
                f"--tls-private-key-file={pki / 'admin.key'}",
                "--node-lease-duration-seconds=40",
            ],
        ),
    ]


# ---------------------------------------------------------------------------------------------------------------
# Lifecycle


@contextlib.contextmanager
def locked() -> Iterator[None]:
    """One launcher at a time: two test runs starting together share one cluster instead of racing."""
    cache_root().mkdir(parents=True, exist_ok=True)
    with (cache_root() / "cluster.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load_components(state: Path) -> list[Component]:
    path = state / "components.json"
    if not path.exists():
        return []
    try:
        return [Component(**item) for item in json.loads(path.read_text())]
    except (ValueError, TypeError):
        return []


def save_components(state: Path, items: list[Component]) -> None:
    (state / "components.json").write_text(json.dumps([vars(item) for item in items], indent=1))


def read_port(state: Path) -> int:
    with contextlib.suppress(OSError, ValueError):
        return int((state / "port").read_text())
    return api_port()


def kubeconfig_path(state: Path | None = None) -> Path:
    return (state or state_dir()) / "kubeconfig"


@dataclass
class UpResult:
    kubeconfig: Path
    started: bool
    seconds: float


def up() -> UpResult:
    """Start the cluster, or reuse (and repair) the one already running; return its kubeconfig."""
    with locked():
        return _up()


def _up() -> UpResult:
    started_at = time.monotonic()
    state = state_dir()
    existing = load_components(state)
    if existing:
        port = read_port(state)
        dead = [c for c in existing if not c.alive()]
        if not dead and ClusterAPI(state, port).ready():
            log(f"a cluster is already running on https://127.0.0.1:{port}; reusing it")
            return UpResult(kubeconfig_path(state), False, 0.0)
        if (state / "ready").exists():
            names = ", ".join(c.name for c in dead) or "none (API not ready)"
            log(f"the running cluster is damaged (dead: {names}); restarting those components")
            bins = build()
            for component in existing:
                if not component.alive():
                    component.argv[0] = str(bins / Path(component.argv[0]).name)
                    launch(state, component)
            save_components(state, existing)
            _wait_ready(state, port, existing)
            return UpResult(kubeconfig_path(state), True, time.monotonic() - started_at)
    if state.exists():
        log(f"removing stale cluster state in {state}")
        _stop(state)
    port = api_port()
    if not port_free(port):
        raise ClusterError(
            f"port {port} on 127.0.0.1 is already taken by another process, so the API server cannot bind it. "
            f"Stop that process or choose another port: K3S_MCP_CLUSTER_PORT=<free port> make cluster"
        )
    bins = build()
    log(f"starting kube-apiserver {KUBE_VERSION}, etcd and KWOK on 127.0.0.1:{port} ...")
    t0 = time.monotonic()
    (state / "logs").mkdir(parents=True)
    (state / "port").write_text(str(port))
    write_pki(state / "pki")
    kubeconfig_path(state).write_text(kubeconfig_text(state / "pki", port, embed=True))
    (state / "admin-files.kubeconfig").write_text(kubeconfig_text(state / "pki", port, embed=False))
    kubeconfig_path(state).chmod(0o600)
    items = components(state, bins, port)
    save_components(state, items)
    try:
        for component in items:
            launch(state, component)
            save_components(state, items)
            if component.name == "etcd":
                client_url = next(a for a in component.argv if a.startswith("--advertise-client-urls="))
                url = client_url.split("=", 1)[1] + "/health"
                wait_for("etcd", lambda url=url: http_ok(url), 30, state, component)
            elif component.name == "kube-apiserver":
                api = ClusterAPI(state, port)
                wait_for("the API server's /readyz", api.ready, 90, state, component)
                _bootstrap(state, api)
        _wait_ready(state, port, items)
    except BaseException:
        for component in items:
            if component.alive():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(component.pid, signal.SIGKILL)
        log(f"start failed and was undone; logs are kept in {state / 'logs'} until the next start")
        raise
    (state / "ready").write_text(str(time.time()))
    log(f"cluster ready in {time.monotonic() - t0:.1f}s (all {len(NODE_NAMES)} nodes Ready)")
    return UpResult(kubeconfig_path(state), True, time.monotonic() - started_at)


def _bootstrap(state: Path, api: ClusterAPI) -> None:
    for index, name in enumerate(NODE_NAMES):
        api.apply(f"/api/v1/nodes/{name}", node_object(name, index))
    crd_files = [
        *sorted((module_dir("crds", KEDA_MODULE) / "config/crd/bases").glob("keda.sh_*.yaml")),
        *sorted((module_dir("crds", HELM_CONTROLLER_MODULE) / "pkg/crds/yaml/generated").glob("*.yaml")),
    ]
    for path in crd_files:
        for document in yaml.safe_load_all(path.read_text()):
            if document and document.get("kind") == "CustomResourceDefinition":
                api.apply(
                    f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{document['metadata']['name']}",
                    document,
                )


def _nodes_ready(api: ClusterAPI) -> bool:
    try:
        status, answer = api.request("GET", "/api/v1/nodes", timeout=5)
    except OSError:
        return False
    if status != 200:
        return False
    ready = 0
    for item in answer.get("items", []):
        for condition in item.get("status", {}).get("conditions") or []:
            if condition.get("type") == "Ready" and condition.get("status") == "True":
                ready += 1
    return ready >= len(NODE_NAMES)


def _default_sa(api: ClusterAPI) -> bool:
    try:
        status, _ = api.request("GET", "/api/v1/namespaces/default/serviceaccounts/default", timeout=5)
    except OSError:
        return False
    return status == 200


def _wait_ready(state: Path, port: int, items: list[Component]) -> None:
    api = ClusterAPI(state, port)
    apiserver = next(c for c in items if c.name == "kube-apiserver")
    wait_for("the API server's /readyz", api.ready, 90, state, apiserver)
    wait_for("all nodes Ready", lambda: _nodes_ready(api), 60, state, next(c for c in items if c.name == "kwok"))
    manager = next(c for c in items if c.name == "kube-controller-manager")
    wait_for("the default ServiceAccount", lambda: _default_sa(api), 60, state, manager)


def _stop(state: Path) -> None:
    for component in reversed(load_components(state)):
        if component.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(component.pid, signal.SIGTERM)
    # Throwaway state: a short grace period, then SIGKILL, keeps `down` fast.
    deadline = time.monotonic() + 3
    for component in load_components(state):
        while component.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if component.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(component.pid, signal.SIGKILL)
    shutil.rmtree(state, ignore_errors=True)


def down() -> bool:
    """Stop the cluster and remove its state; return whether anything was running."""
    with locked():
        state = state_dir()
        was_running = any(c.alive() for c in load_components(state))
        _stop(state)
        return was_running


def status() -> dict[str, Any]:
    state = state_dir()
    items = load_components(state)
    port = read_port(state)
    ready = bool(items) and ClusterAPI(state, port).ready()
    return {
        "state_dir": str(state),
        "kubeconfig": str(kubeconfig_path(state)) if items else None,
        "server": f"https://127.0.0.1:{port}" if items else None,
        "ready": ready,
        "components": {c.name: {"pid": c.pid, "alive": c.alive()} for c in items},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cluster", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["build", "up", "down", "status", "env"])
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            started = time.monotonic()
            print(build())
            log(f"binaries ready in {time.monotonic() - started:.0f}s")
        elif args.command == "up":
            result = up()
            path = result.kubeconfig
            print(f"\nThe local cluster is up. Use it with:\n  export KUBECONFIG={path}\n  kubectl get nodes\n")
            if result.started:
                print(f"Start took {result.seconds:.1f}s. Stop it with: make cluster-down")
        elif args.command == "down":
            print("cluster stopped and its state removed" if down() else "no cluster was running; state cleaned")
        elif args.command == "status":
            print(json.dumps(status(), indent=2))
        elif args.command == "env":
            print(f"export KUBECONFIG={kubeconfig_path()}")
    except ClusterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
