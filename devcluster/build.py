"""Build the pinned control plane, etcd and KWOK with Go into a cache directory named by the digest of the pins.

Each directory under ``pins/`` is a Go module whose ``go.mod`` and ``go.sum`` pin one group of binaries:
``kube/`` (kube-apiserver, kube-controller-manager, kube-scheduler from ``k8s.io/kubernetes``), ``etcd/``, ``kwok/``,
and ``crds/`` (the KEDA and K3s helm-controller modules whose CRDs are installed at start). Binaries land in
``<cache>/bin/<digest>/``; the digest covers the pins' bytes and the link flags, never their paths, so a pin change
builds afresh beside the old binaries and moving the pins does not.

``hydra/`` pins the Ory Hydra OAuth 2.1 / OpenID Connect provider the HTTP auth tests use. It is a group of its own
(:data:`HYDRA_BINARIES`, :func:`build_hydra`) with its own digest, so adding it left the control plane's digest,
and its cached binaries, as they were.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from devcluster.cache import cache_root
from devcluster.messages import ClusterError, log

# One Go module per group of binaries; its go.mod and go.sum are the pins.
PINS = Path(__file__).resolve().parent / "pins"
KUBE_VERSION = "v1.37.2"
KWOK_MODULE = "sigs.k8s.io/kwok@v0.8.0"
KEDA_MODULE = "github.com/kedacore/keda/v2"
HELM_CONTROLLER_MODULE = "github.com/k3s-io/helm-controller"


@dataclass(frozen=True)
class Binary:
    name: str
    module_dir: str
    package: str
    ldflags: str = "-s -w"
    tags: str = ""


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


HYDRA_VERSION = "v2.3.0"
# Hydra's in-memory database (DSN=memory) is SQLite, which Hydra only links with these tags (and cgo).
HYDRA_BINARIES = (
    Binary(
        "hydra",
        "hydra",
        "github.com/ory/hydra/v2",
        f"-s -w -X github.com/ory/hydra/v2/driver/config.Version={HYDRA_VERSION}",
        tags="sqlite,sqlite_omit_load_extension",
    ),
)


def binaries_digest(binaries: tuple[Binary, ...], pins: Path = PINS) -> str:
    """A digest of the pinned module files of `binaries`, so a version bump builds into a fresh directory.

    Only bytes go in (the link flags and build tags, then each module's go.mod and go.sum in module order), never a
    path: the binaries already built stay valid wherever the pins live. A binary without tags adds no bytes for
    them, so the control plane's digest is the one it had before tags existed.
    """
    digest = hashlib.sha256()
    for binary in binaries:
        digest.update(binary.ldflags.encode())
        if binary.tags:
            digest.update(b"tags=" + binary.tags.encode())
    for module in sorted({b.module_dir for b in binaries}):
        for name in ("go.mod", "go.sum"):
            digest.update((pins / module / name).read_bytes())
    return digest.hexdigest()[:12]


def pin_digest(pins: Path = PINS) -> str:
    """The digest of the control plane, etcd and KWOK pins (:data:`BINARIES`)."""
    return binaries_digest(BINARIES, pins)


def bin_dir() -> Path:
    return cache_root() / "bin" / pin_digest()


def hydra_bin_dir() -> Path:
    return cache_root() / "bin" / binaries_digest(HYDRA_BINARIES)


def go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GOFLAGS", "-mod=readonly")
    return env


def build() -> Path:
    """Build every missing control-plane binary into the cache; return the directory holding them."""
    return build_binaries(BINARIES, bin_dir())


def build_hydra() -> Path:
    """Build Ory Hydra into the cache if it is missing; return the path of the binary."""
    return build_binaries(HYDRA_BINARIES, hydra_bin_dir()) / "hydra"


def build_binaries(binaries: tuple[Binary, ...], target: Path) -> Path:
    """Build each of `binaries` that `target` lacks with ``go build`` in its pinned module; return `target`."""
    if shutil.which("go") is None:
        raise ClusterError("the Go toolchain is not on PATH; install Go >= 1.26 (the Makefile expects /usr/local/go)")
    target.mkdir(parents=True, exist_ok=True)
    for binary in binaries:
        out = target / binary.name
        if out.exists():
            continue
        log(f"building {binary.name} from {binary.package} (first time only; minutes on 2 cores) ...")
        started = time.monotonic()
        tmp = out.with_suffix(".tmp")
        cmd = ["go", "build", *(["-tags", binary.tags] if binary.tags else []), "-ldflags", binary.ldflags]
        cmd += ["-o", str(tmp), binary.package]
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
