"""Every environment variable the Cortex execution and telemetry layers read, documented once."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class LayerServiceSettings(BaseSettings):
    """What every layer service shares: its bearer token, the Host and Origin names it answers to, the time limit."""

    model_config = SettingsConfigDict(env_prefix="CORTEX_LAYER_", extra="ignore")

    token: SecretStr | None = Field(
        default=None,
        description="When set, /v1/* requests must carry `Authorization: Bearer <token>`; "
        "/health, /ready and /metrics stay open for probes and scrapers. Required to serve on a non-loopback "
        "address.",
    )
    allowed_hosts: str = Field(
        default="",
        description="Comma-separated host names or addresses (with an optional :port) requests may name in their "
        "Host header besides loopback names and the listen address; other Hosts get 421 (DNS-rebinding "
        "protection). '*' turns the Host check off. GET /health is never Host-checked.",
    )
    allowed_origins: str = Field(
        default="",
        description="Comma-separated web origins (scheme://host[:port]) whose pages may send requests; a request "
        "whose Origin header names neither one of them nor an allowed host gets 403. Requests without Origin are "
        "not affected.",
    )
    action_timeout_seconds: float = Field(
        default=20.0,
        gt=0,
        description="Time limit of one action inside a layer; past it the caller gets 504.",
    )


class K3sLayerSettings(BaseSettings):
    """The execution-k3s layer: which k3s_mcp server it drives."""

    model_config = SettingsConfigDict(env_prefix="CORTEX_K3S_", extra="ignore")

    mcp_target: str = Field(
        default="k3s_mcp.server:mcp",
        description="`module:attribute` of a FastMCP server to run in-process, or the http(s) URL of a "
        "k3s_mcp server speaking streamable HTTP.",
    )
    call_timeout_seconds: float = Field(default=60.0, gt=0, description="Time limit of one MCP tool call.")


class UnifiApiSettings(BaseSettings):
    """The execution-unifi-api layer: where the UniFi Network controller is and how to log in."""

    model_config = SettingsConfigDict(env_prefix="CORTEX_UNIFI_", extra="ignore")

    controller_url: str = Field(default="https://unifi:8443", description="Base URL of the controller, without a path.")
    controller_kind: Literal["classic", "unifi-os"] = Field(
        default="classic",
        description="`classic` (self-hosted Network application: /api/login, /api/s/<site>/...) or "
        "`unifi-os` (UDM, Cloud Key Gen2+: /api/auth/login, /proxy/network/api/s/<site>/...).",
    )
    site: str = Field(default="default", pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Controller site id.")
    username: str = Field(default="", description="Controller account used by the layer.")
    password: SecretStr | None = Field(default=None, description="Password of that account.")
    password_file: Path | None = Field(
        default=None,
        description="File holding the password (a mounted Kubernetes Secret); used when `password` is unset.",
    )
    verify_tls: bool = Field(
        default=True, description="Verify the controller's TLS certificate (controllers often self-sign)."
    )
    ca_file: Path | None = Field(default=None, description="CA bundle that signed the controller certificate.")
    request_timeout_seconds: float = Field(default=8.0, gt=0, description="Time limit of one controller call.")

    @model_validator(mode="after")
    def _strip_trailing_slash(self) -> UnifiApiSettings:
        self.controller_url = self.controller_url.rstrip("/")
        return self

    def resolved_password(self) -> str:
        """The controller password from `password` or, failing that, from `password_file`."""
        if self.password is not None:
            return self.password.get_secret_value()
        if self.password_file is not None:
            return self.password_file.read_text(encoding="utf-8").strip()
        return ""


class UnifiSshSettings(BaseSettings):
    """The execution-unifi-ssh layer: the device it reads over SSH and the keys it trusts."""

    model_config = SettingsConfigDict(env_prefix="CORTEX_UNIFI_SSH_", extra="ignore")

    host: str = Field(default="unifi", description="Host name or address of the UniFi device or console.")
    port: int = Field(default=22, ge=1, le=65535, description="SSH port.")
    username: str = Field(default="cortex", description="SSH account on the device.")
    client_key_path: Path | None = Field(
        default=None, description="Private key file the layer authenticates with (a mounted Secret)."
    )
    known_hosts_path: Path | None = Field(
        default=None,
        description="known_hosts file holding the device's host key. Host key checking is always on: "
        "without this file every connection is refused.",
    )
    connect_timeout_seconds: float = Field(default=5.0, gt=0, description="Time limit of the SSH handshake.")
    command_timeout_seconds: float = Field(default=10.0, gt=0, description="Time limit of one command.")


class TelemetrySettings(BaseSettings):
    """The cortex-telemetry layer: where the audit log lives and how much of it is kept in memory."""

    model_config = SettingsConfigDict(env_prefix="CORTEX_TELEMETRY_", extra="ignore")

    audit_log_path: Path | None = Field(
        default=None,
        description="Append-only JSONL audit log; the training-set export reads it back. "
        "Unset: events are kept in memory only (lost on restart).",
    )
    memory_events: int = Field(
        default=10_000, ge=100, description="How many recent events are kept in memory for /v1/audit."
    )


class LayerClientSettings(BaseSettings):
    """How the activator reaches the layers: their URLs, the shared token and the failover time limit."""

    model_config = SettingsConfigDict(env_prefix="CORTEX_LAYERS_", extra="ignore")

    k3s_url: str | None = Field(default=None, description="Base URL of execution-k3s.")
    unifi_api_url: str | None = Field(default=None, description="Base URL of execution-unifi-api.")
    unifi_ssh_url: str | None = Field(default=None, description="Base URL of execution-unifi-ssh.")
    telemetry_url: str | None = Field(default=None, description="Base URL of cortex-telemetry.")
    token: SecretStr | None = Field(default=None, description="Bearer token the layers expect.")
    timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Time limit of one layer call; past it a layer with a failover partner fails over.",
    )
    telemetry_timeout_seconds: float = Field(
        default=1.0,
        gt=0,
        description="Time limit of sending one outcome event; a slow telemetry never blocks.",
    )
