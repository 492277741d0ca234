"""A small Kubernetes REST client on urllib: the launcher's bootstrap, and the tests' client independent of k3s_mcp."""

from __future__ import annotations

import base64
import json
import ssl
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from devcluster.messages import ClusterError


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


def deployment(
    name: str,
    replicas: int = 1,
    image: str = "nginx:1.27",
    labels: dict[str, str] | None = None,
    container: str = "main",
) -> dict[str, Any]:
    """A Deployment of one container whose pods (run by KWOK) carry `labels` (default ``app: name``)."""
    labels = labels or {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": container, "image": image}]},
            },
        },
    }
