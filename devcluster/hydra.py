"""Ory Hydra, the OAuth 2.1 / OpenID Connect provider the HTTP auth tests use: start, configure, fetch tokens, stop.

``start_hydra`` runs ``hydra serve all --dev`` (built from ``pins/hydra`` by :func:`devcluster.build.build_hydra`)
on two free ports of 127.0.0.1 with an in-memory database (``DSN=memory``: every start is a fresh provider) and
JWT access tokens signed with a key Hydra generates, published at ``<issuer>/.well-known/jwks.json``. Usage
statistics are turned off (``SQA_OPT_OUT``): the provider talks to nobody but its callers. The helpers speak
Hydra's admin API (OAuth2 clients, their token lifespans) and its public token endpoint (the client-credentials
grant) with the standard library only.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devcluster.messages import ClusterError
from devcluster.processes import free_port, http_ok, stop_process

LOOPBACK = "127.0.0.1"
ACCESS_TOKEN_KEY_SET = "hydra.jwt.access-token"


class HydraError(ClusterError):
    """Hydra did not start, or one of its APIs refused a request; the message carries its answer."""


@dataclass(frozen=True)
class OAuthClient:
    """An OAuth2 client registered with Hydra: its credentials and what it may ask for."""

    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    audience: tuple[str, ...]


@dataclass
class Hydra:
    """A running Hydra: where its public and admin APIs listen, the issuer it writes into tokens, its process."""

    public_url: str
    admin_url: str
    issuer: str
    process: subprocess.Popen[bytes]
    log_path: Path
    clients: list[OAuthClient] = field(default_factory=list)

    @property
    def token_url(self) -> str:
        return f"{self.public_url}/oauth2/token"

    @property
    def jwks_url(self) -> str:
        return f"{self.public_url}/.well-known/jwks.json"

    def discovery(self) -> dict[str, Any]:
        """The provider's OpenID configuration (issuer, jwks_uri, token endpoint, ...)."""
        status, answer = _request("GET", f"{self.public_url}/.well-known/openid-configuration")
        if status != 200 or not isinstance(answer, dict):
            raise HydraError(f"Hydra's OpenID configuration answered {status}: {answer}")
        return answer

    def create_client(
        self, *, scopes: Sequence[str], audience: Sequence[str], access_token_lifespan: str | None = None
    ) -> OAuthClient:
        """Register a client of the client-credentials grant that may ask for `scopes` and `audience`.

        `access_token_lifespan` (a Go duration such as ``2s``) shortens the life of the tokens it gets.
        """
        body = {
            "client_name": f"k3s-mcp-test-{secrets.token_hex(4)}",
            "grant_types": ["client_credentials"],
            "response_types": ["token"],
            "scope": " ".join(scopes),
            "audience": list(audience),
            "token_endpoint_auth_method": "client_secret_basic",
        }
        status, answer = _request("POST", f"{self.admin_url}/admin/clients", body)
        if status != 201 or not isinstance(answer, dict):
            raise HydraError(f"creating an OAuth2 client answered {status}: {answer}")
        client = OAuthClient(str(answer["client_id"]), str(answer["client_secret"]), tuple(scopes), tuple(audience))
        if access_token_lifespan is not None:
            lifespans = {"client_credentials_grant_access_token_lifespan": access_token_lifespan}
            status, answer = _request("PUT", f"{self.admin_url}/admin/clients/{client.client_id}/lifespans", lifespans)
            if status != 200:
                raise HydraError(f"setting the token lifespan of {client.client_id} answered {status}: {answer}")
        self.clients.append(client)
        return client

    def fetch_token(
        self, client: OAuthClient, *, scopes: Sequence[str] | None = None, audience: Sequence[str] | None = None
    ) -> str:
        """An access token (a JWT) for `client` from the token endpoint; by default for all its scopes and audience."""
        form = {
            "grant_type": "client_credentials",
            "scope": " ".join(client.scopes if scopes is None else scopes),
            "audience": " ".join(client.audience if audience is None else audience),
        }
        basic = base64.b64encode(
            f"{urllib.parse.quote(client.client_id)}:{urllib.parse.quote(client.client_secret)}".encode()
        ).decode()
        status, answer = _request(
            "POST",
            self.token_url,
            urllib.parse.urlencode(form).encode(),
            headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
        )
        if status != 200 or not isinstance(answer, dict) or "access_token" not in answer:
            raise HydraError(f"the token endpoint answered {status}: {answer}")
        return str(answer["access_token"])

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, within: float = 10.0) -> None:
        """Stop Hydra (SIGTERM, then SIGKILL after `within` seconds); its in-memory database goes with it."""
        stop_process(self.process, within)


def hydra_environment(
    public_port: int, admin_port: int, issuer: str, access_token_ttl: str | None = None
) -> dict[str, str]:
    """Hydra's configuration, all in environment variables: loopback ports, memory database, JWT access tokens."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(Path.home()),
        "DSN": "memory",
        "SERVE_PUBLIC_HOST": LOOPBACK,
        "SERVE_PUBLIC_PORT": str(public_port),
        "SERVE_ADMIN_HOST": LOOPBACK,
        "SERVE_ADMIN_PORT": str(admin_port),
        "URLS_SELF_ISSUER": issuer,
        "URLS_SELF_PUBLIC": issuer,
        "STRATEGIES_ACCESS_TOKEN": "jwt",
        # Encrypts Hydra's own secrets at rest (here: in memory); a fresh one per start.
        "SECRETS_SYSTEM": secrets.token_hex(32),
        "SQA_OPT_OUT": "true",
        "LOG_LEVEL": "info",
    }
    if access_token_ttl is not None:
        env["TTL_ACCESS_TOKEN"] = access_token_ttl
    return env


def start_hydra(binary: Path, state_dir: Path, *, access_token_ttl: str | None = None, within: float = 60.0) -> Hydra:
    """Start ``hydra serve all --dev`` on free loopback ports and return it once its admin API reports ready.

    Its log goes to ``<state_dir>/hydra-<port>.log``; a start that fails raises :class:`HydraError` with the log's
    last lines.
    """
    if not binary.is_file():
        raise HydraError(f"the Hydra binary {binary} does not exist; build it with devcluster.build.build_hydra()")
    public_port, admin_port = free_port(), free_port()
    while admin_port == public_port:
        admin_port = free_port()
    public_url = f"http://{LOOPBACK}:{public_port}"
    issuer = f"{public_url}/"
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / f"hydra-{public_port}.log"
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            [str(binary), "serve", "all", "--dev"],
            env=hydra_environment(public_port, admin_port, issuer, access_token_ttl),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=state_dir,
            start_new_session=True,
        )
    hydra = Hydra(public_url, f"http://{LOOPBACK}:{admin_port}", issuer, process, log_path)
    deadline = time.monotonic() + within
    while not (http_ok(f"{hydra.admin_url}/health/ready") and http_ok(f"{public_url}/health/ready")):
        if process.poll() is not None:
            raise HydraError(f"Hydra exited with {process.returncode} while starting:\n{hydra.log_tail()}")
        if time.monotonic() > deadline:
            hydra.stop()
            raise HydraError(f"Hydra was not ready within {within:.0f}s:\n{hydra.log_tail()}")
        time.sleep(0.1)
    # The issuer as Hydra writes it into tokens and its discovery document (the one the resource server must trust).
    hydra.issuer = str(hydra.discovery()["issuer"])
    return hydra


@contextlib.contextmanager
def running_hydra(binary: Path, state_dir: Path, *, access_token_ttl: str | None = None) -> Iterator[Hydra]:
    """`start_hydra` for the length of a `with` block, stopped afterwards."""
    hydra = start_hydra(binary, state_dir, access_token_ttl=access_token_ttl)
    try:
        yield hydra
    finally:
        hydra.stop()


def _request(method: str, url: str, body: Any = None, headers: Mapping[str, str] | None = None) -> tuple[int, Any]:
    """One HTTP request to Hydra; JSON bodies for dicts, bytes as they are; the status and the decoded answer."""
    data: bytes | None
    sent_headers = {"Accept": "application/json", **(headers or {})}
    if isinstance(body, bytes) or body is None:
        data = body
    else:
        data = json.dumps(body).encode()
        sent_headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=data, method=method, headers=sent_headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, raw = int(response.status), response.read()
    except urllib.error.HTTPError as error:
        status, raw = int(error.code), error.read()
    except OSError as error:
        raise HydraError(f"{method} {url} failed: {error}") from error
    try:
        return status, json.loads(raw) if raw else None
    except json.JSONDecodeError:
        return status, raw.decode(errors="replace")
