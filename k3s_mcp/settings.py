"""Every environment variable the k3s-mcp server reads, documented once."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

STDOUT_NAMES = frozenset({"stdout", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"})


class Settings(BaseSettings):
    """Server configuration; each field is read from the environment variable named in its alias."""

    model_config = SettingsConfigDict(env_prefix="K3S_", extra="ignore", populate_by_name=True)

    kubeconfig: str = Field(
        default="~/.kube/config",
        validation_alias=AliasChoices("KUBECONFIG", "kubeconfig"),
        description="Path of the kubeconfig file (a colon-separated list is merged, as kubectl does).",
    )
    context: str | None = Field(
        default=None,
        validation_alias=AliasChoices("K3S_CONTEXT", "context"),
        description="kubeconfig context to use instead of the file's current-context.",
    )
    kubernetes_service_host: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KUBERNETES_SERVICE_HOST", "kubernetes_service_host"),
        description="Set by Kubernetes inside a pod; with no kubeconfig file the in-cluster config is used.",
    )
    default_namespace: str = Field(
        default="default",
        validation_alias=AliasChoices("K3S_DEFAULT_NAMESPACE", "default_namespace"),
        description="Namespace used when a tool is called without one; unset = the kubeconfig context's namespace, "
        "else `default`.",
    )
    debug: bool = Field(
        default=False,
        validation_alias=AliasChoices("K3S_DEBUG", "debug"),
        description="Log debug output (to stderr) and add exception types to unexpected-error messages.",
    )
    read_only: bool = Field(
        default=False,
        validation_alias=AliasChoices("K3S_READ_ONLY", "read_only"),
        description="Hide and refuse every tool that is not tagged `read`.",
    )
    allow_destructive: bool = Field(
        default=True,
        validation_alias=AliasChoices("K3S_ALLOW_DESTRUCTIVE", "allow_destructive"),
        description="When false, hide and refuse tools tagged `destructive` (delete, restart, exec).",
    )
    reveal_secrets: bool = Field(
        default=False,
        validation_alias=AliasChoices("K3S_REVEAL_SECRETS", "reveal_secrets"),
        description="When false (default), Secret data is shown as keys and sizes only, never values.",
    )
    redact: bool = Field(
        default=True,
        validation_alias=AliasChoices("K3S_REDACT", "redact"),
        description="When true (default), secret-shaped text in any answer or error (private keys, access tokens, "
        "JWTs, passwords in URLs, password=/token= values) is replaced by a marker naming what was removed.",
    )
    toolsets: str = Field(
        default="default",
        validation_alias=AliasChoices("K3S_TOOLSETS", "toolsets"),
        description="Comma-separated toolsets to expose: pods, deployments, cluster, manifests, contexts, keda, "
        "helm, config, storage, networking, jobs, workloads, rollouts, autoscaling, inspection, resources, "
        "metrics, nodes, or the presets `default`, `all` and `core` (pods, deployments, cluster, manifests). `default` "
        "lists 16 tools plus list_toolsets, enable_toolset and call_tool, which reach every other tool; the other "
        "values list every tool of the toolsets they name. Tools of toolsets not named are neither listed nor "
        "callable.",
    )
    compact_tool_schemas: bool = Field(
        default=True,
        validation_alias=AliasChoices("K3S_COMPACT_TOOL_SCHEMAS", "compact_tool_schemas"),
        description="List tools without output schemas and with compact optional parameters (about half the "
        "tokens of tools/list); answers keep their structured content. false lists the full schemas, which "
        "FastMCP clients need to build a typed `.data`.",
    )
    list_text: Literal["table", "json"] = Field(
        default="table",
        validation_alias=AliasChoices("K3S_LIST_TEXT", "list_text"),
        description="How the text of a list answer reads: `table` (a header and rows of space-separated cells, "
        "tab-separated when a cell holds a space; about half the tokens) or `json`. Structured content is the same "
        "either way.",
    )
    list_limit: int = Field(
        default=100,
        ge=1,
        le=5000,
        validation_alias=AliasChoices("K3S_LIST_LIMIT", "list_limit"),
        description="Default page size of list tools; a continue token is returned when more remain.",
    )
    log_tail_lines: int = Field(
        default=100,
        ge=1,
        validation_alias=AliasChoices("K3S_LOG_TAIL_LINES", "log_tail_lines"),
        description="Lines of log returned when the caller gives no tail_lines.",
    )
    log_max_bytes: int = Field(
        default=64_000,
        ge=1_000,
        validation_alias=AliasChoices("K3S_LOG_MAX_BYTES", "log_max_bytes"),
        description="Upper bound on the bytes of log returned by one call.",
    )
    exec_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        validation_alias=AliasChoices("K3S_EXEC_TIMEOUT", "exec_timeout_seconds"),
        description="Time limit of one execute_command call.",
    )
    exec_max_output_bytes: int = Field(
        default=64_000,
        ge=1_000,
        validation_alias=AliasChoices("K3S_EXEC_MAX_OUTPUT_BYTES", "exec_max_output_bytes"),
        description="Upper bound on stdout and on stderr returned by one execute_command call.",
    )
    request_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        validation_alias=AliasChoices("K3S_REQUEST_TIMEOUT", "request_timeout_seconds"),
        description="Time limit of one request to the API server.",
    )
    scale_wait_seconds: float = Field(
        default=120.0,
        ge=0,
        validation_alias=AliasChoices("K3S_SCALE_WAIT_SECONDS", "scale_wait_seconds"),
        description="How long scale_deployment waits for the replicas to become ready.",
    )
    discovery_ttl_seconds: float = Field(
        default=300.0,
        ge=0,
        validation_alias=AliasChoices("K3S_DISCOVERY_TTL", "discovery_ttl_seconds"),
        description="How long the kind -> resource discovery map is trusted before it is fetched again.",
    )
    yaml_max_bytes: int = Field(
        default=2_000_000,
        ge=1_000,
        validation_alias=AliasChoices("K3S_YAML_MAX_BYTES", "yaml_max_bytes"),
        description="Largest YAML a tool accepts (apply_manifest), in bytes; also the most characters of scalar "
        "text a document may reach with its aliases expanded, and of Helm values written as YAML.",
    )
    yaml_max_nodes: int = Field(
        default=200_000,
        ge=100,
        validation_alias=AliasChoices("K3S_YAML_MAX_NODES", "yaml_max_nodes"),
        description="Most YAML nodes (keys, values, lists, mappings) in one tool's YAML or Helm values, an alias "
        "counting as the whole node it repeats; counted while parsing, so an alias bomb stops before it is built.",
    )
    yaml_max_depth: int = Field(
        default=100,
        ge=5,
        le=400,
        validation_alias=AliasChoices("K3S_YAML_MAX_DEPTH", "yaml_max_depth"),
        description="Deepest nesting of lists and mappings in one tool's YAML or Helm values.",
    )
    yaml_max_aliases: int = Field(
        default=1_000,
        ge=0,
        validation_alias=AliasChoices("K3S_YAML_MAX_ALIASES", "yaml_max_aliases"),
        description="Most YAML aliases (*name) one tool's YAML may use.",
    )
    yaml_max_documents: int = Field(
        default=1_000,
        ge=1,
        validation_alias=AliasChoices("K3S_YAML_MAX_DOCUMENTS", "yaml_max_documents"),
        description="Most YAML documents (separated by ---) in one apply_manifest call.",
    )

    helm_binary: str = Field(
        default="helm",
        validation_alias=AliasChoices("K3S_HELM_BINARY", "helm_binary"),
        description="The helm command used by the helm_* tools (a name looked up on PATH, or a path).",
    )
    helm_timeout_seconds: float = Field(
        default=300.0,
        gt=0,
        validation_alias=AliasChoices("K3S_HELM_TIMEOUT", "helm_timeout_seconds"),
        description="Time limit of one helm command (install/upgrade also pass it to helm as --timeout).",
    )
    helm_chart_dirs: str = Field(
        default="",
        validation_alias=AliasChoices("K3S_HELM_CHART_DIRS", "helm_chart_dirs"),
        description="Comma-separated directories from which route='helmchart' may pack local charts (a chart "
        "directory with Chart.yaml, or a .tgz from helm package) into a HelmChart object; paths are resolved, so "
        "'..' and symlinks cannot leave them. Empty = no local charts on that route (repository and oci:// "
        "charts only).",
    )
    context_probe_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        validation_alias=AliasChoices("K3S_CONTEXT_PROBE_TIMEOUT", "context_probe_timeout_seconds"),
        description="How long switch_context waits for the new context's API server to answer.",
    )
    auth_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("K3S_MCP_AUTH_TOKEN", "auth_token"),
        description="Bearer token HTTP clients must send (Authorization: Bearer ...). Required to serve "
        "HTTP on a non-loopback address; not used on stdio. Cannot be combined with K3S_MCP_OAUTH_ISSUER.",
    )
    oauth_issuer: str = Field(
        default="",
        validation_alias=AliasChoices("K3S_MCP_OAUTH_ISSUER", "oauth_issuer"),
        description="Issuer URL of an OAuth 2.1 / OpenID Connect provider, exactly as its tokens' `iss` claim "
        "writes it. When set, HTTP clients must send an access token (a JWT) from that issuer, verified against "
        "the issuer's keys (signature, issuer, audience, expiry), and its scopes (k3s:read, k3s:write, "
        "k3s:destructive) decide which tools are listed and callable. Counts as a token for a non-loopback bind; "
        "not used on stdio.",
    )
    oauth_audience: str = Field(
        default="",
        validation_alias=AliasChoices("K3S_MCP_OAUTH_AUDIENCE", "oauth_audience"),
        description="Comma-separated audiences an access token's `aud` claim must name one of; empty = the URL of "
        "the MCP endpoint (K3S_MCP_RESOURCE_URL plus the --path).",
    )
    oauth_jwks_url: str = Field(
        default="",
        validation_alias=AliasChoices("K3S_MCP_OAUTH_JWKS_URL", "oauth_jwks_url"),
        description="URL of the issuer's JSON Web Key Set; empty = the `jwks_uri` of the issuer's "
        "/.well-known/openid-configuration, read at start (or <issuer>/.well-known/jwks.json when it has none).",
    )
    oauth_scopes_claim: str = Field(
        default="",
        validation_alias=AliasChoices("K3S_MCP_OAUTH_SCOPES_CLAIM", "oauth_scopes_claim"),
        description="The access-token claim holding the granted scopes (a space-separated string or a list); "
        "empty = `scope`, else `scp` (Ory Hydra writes `scp`).",
    )
    oauth_algorithm: str = Field(
        default="RS256",
        validation_alias=AliasChoices("K3S_MCP_OAUTH_ALGORITHM", "oauth_algorithm"),
        description="The JWS algorithm access tokens are signed with (RS256, ES256, PS256, EdDSA, ...); tokens "
        "signed otherwise are refused.",
    )
    resource_url: str = Field(
        default="",
        validation_alias=AliasChoices("K3S_MCP_RESOURCE_URL", "resource_url"),
        description="The server's public base URL (scheme://host[:port], as clients reach it) for OAuth protected "
        "resource metadata (RFC 9728, served at /.well-known/oauth-protected-resource and "
        "/.well-known/oauth-protected-resource<path>); empty = http://<host>:<port> of the bind, which an "
        "unspecified bind (0.0.0.0) cannot give.",
    )
    allowed_hosts: str = Field(
        default="",
        validation_alias=AliasChoices("K3S_MCP_ALLOWED_HOSTS", "allowed_hosts"),
        description="Comma-separated host names or addresses (with an optional :port) HTTP requests may name in "
        "their Host header besides loopback names and the bind address; other Hosts get 421 (DNS-rebinding "
        "protection). '*' turns the Host check off, for a server behind an Ingress that sets its own Host. "
        "GET /health is never Host-checked.",
    )
    allowed_origins: str = Field(
        default="",
        validation_alias=AliasChoices("K3S_MCP_ALLOWED_ORIGINS", "allowed_origins"),
        description="Comma-separated web origins (scheme://host[:port]) whose pages may send requests; a request "
        "whose Origin header names neither one of them nor an allowed host gets 403. Requests without Origin are "
        "not affected.",
    )
    metrics_require_token: bool = Field(
        default=False,
        validation_alias=AliasChoices("K3S_MCP_METRICS_REQUIRE_TOKEN", "metrics_require_token"),
        description="When true, GET /metrics needs the same bearer token as /mcp (when one is configured). Default "
        "false: Prometheus scrapes by pod annotations cannot send one, and the metrics carry tool names, outcome "
        "classes and counts only. /metrics is Host-checked either way.",
    )
    http_json_response: bool = Field(
        default=False,
        validation_alias=AliasChoices("K3S_MCP_HTTP_JSON_RESPONSE", "http_json_response"),
        description="HTTP transport: answer each POST with one JSON body instead of an SSE stream, for proxies "
        "that buffer streams. A JSON body carries no progress notifications or confirmation prompts (elicitation) "
        "during a call: a held-back call then asks for confirm=true. Per call it is as fast as a stream.",
    )
    fast_start: bool = Field(
        default=True,
        validation_alias=AliasChoices("K3S_MCP_FAST_START", "fast_start"),
        description="stdio with the default toolsets: answer the client's handshake and first tools/list from a "
        "snapshot of this code's and these settings' answers (kept in $XDG_CACHE_HOME/k3s-mcp/start, or "
        "~/.cache/k3s-mcp/start) while the server is still importing; the first start records it.",
    )
    http_stateless: bool = Field(
        default=False,
        validation_alias=AliasChoices("K3S_MCP_HTTP_STATELESS", "http_stateless"),
        description="HTTP transport: no MCP sessions, a fresh transport per request (for replicas behind a load "
        "balancer without session affinity). Costs time per request and drops what needs a session, such as "
        "resource subscriptions and tools/list_changed notifications.",
    )
    audit_log: str = Field(
        default="",
        validation_alias=AliasChoices("K3S_AUDIT_LOG", "audit_log"),
        description="Where the audit log (one JSON line per tool call: time, caller, tool, redacted arguments, "
        "target, outcome, duration) goes: a file path, `-` or `stderr` for stderr, empty = off. Never stdout, "
        "which carries the protocol on stdio.",
    )
    audit_max_bytes: int = Field(
        default=10_000_000,
        ge=0,
        validation_alias=AliasChoices("K3S_AUDIT_MAX_BYTES", "audit_max_bytes"),
        description="Size at which the audit log file is rotated (to .1, .2, ...); 0 never rotates.",
    )
    audit_backups: int = Field(
        default=5,
        ge=0,
        validation_alias=AliasChoices("K3S_AUDIT_BACKUPS", "audit_backups"),
        description="Rotated audit log files kept besides the current one.",
    )
    audit_queue_size: int = Field(
        default=10_000,
        ge=1,
        validation_alias=AliasChoices("K3S_AUDIT_QUEUE_SIZE", "audit_queue_size"),
        description="Audit lines waiting to be written; when the writer falls this far behind, further lines are "
        "dropped and counted (k3s_mcp_audit_dropped_total) instead of slowing calls.",
    )
    confirm_tools: str = Field(
        default="",
        validation_alias=AliasChoices("K3S_CONFIRM_TOOLS", "confirm_tools"),
        description="Comma-separated tool names (shell-style wildcards allowed) whose calls need confirm=true; "
        "'*' = every destructive tool.",
    )
    confirm_verbs: str = Field(
        default="",
        validation_alias=AliasChoices("K3S_CONFIRM_VERBS", "confirm_verbs"),
        description="Comma-separated verbs (the first word of a tool name: delete, uninstall, rollback, ...) "
        "whose destructive calls need confirm=true.",
    )
    confirm_kinds: str = Field(
        default="",
        validation_alias=AliasChoices("K3S_CONFIRM_KINDS", "confirm_kinds"),
        description="Comma-separated kinds (Deployment, Secret, ScaledObject, HelmRelease, ...; wildcards "
        "allowed) whose destructive calls need confirm=true.",
    )
    confirm_namespaces: str = Field(
        default="",
        validation_alias=AliasChoices("K3S_CONFIRM_NAMESPACES", "confirm_namespaces"),
        description="Comma-separated namespaces (wildcards allowed, e.g. 'kube-system,prod*') where "
        "destructive calls need confirm=true.",
    )
    denied_kinds: str = Field(
        default="",
        validation_alias=AliasChoices("K3S_DENIED_KINDS", "denied_kinds"),
        description="Comma-separated kinds no tool may read or change (kind, plural, short name or kind.group; "
        "wildcards allowed, e.g. 'Secret,ClusterRole'): every API request for them is refused, apply_manifest "
        "per object.",
    )
    allowed_namespaces: str = Field(
        default="",
        validation_alias=AliasChoices("K3S_ALLOWED_NAMESPACES", "allowed_namespaces"),
        description="Comma-separated namespaces (wildcards allowed, e.g. 'shop,shop-*') the tools may work in; "
        "empty = all. Under a list, all-namespace lists are refused, Namespace objects are reached only by "
        "allowed names, and other cluster-scoped kinds are read-only.",
    )
    impersonate: bool = Field(
        default=False,
        validation_alias=AliasChoices("K3S_IMPERSONATE", "impersonate"),
        description="Send every API request of a tool call as the caller (Impersonate-User and Impersonate-Group "
        "from the verified OAuth access token), so the cluster's RBAC decides per user; calls without a token "
        "(stdio, no OAuth) are refused. The server's own identity needs the impersonate verb.",
    )
    impersonate_user_claim: str = Field(
        default="sub",
        validation_alias=AliasChoices("K3S_IMPERSONATE_USER_CLAIM", "impersonate_user_claim"),
        description="Access token claim whose value is the Kubernetes user name under K3S_IMPERSONATE.",
    )
    impersonate_groups_claim: str = Field(
        default="groups",
        validation_alias=AliasChoices("K3S_IMPERSONATE_GROUPS_CLAIM", "impersonate_groups_claim"),
        description="Access token claim (a list of strings, or one string) whose values are the Kubernetes groups "
        "under K3S_IMPERSONATE; a missing claim means no groups.",
    )

    @field_validator("audit_log")
    @classmethod
    def _audit_log_is_not_stdout(cls, value: str) -> str:
        if value.strip().lower() in STDOUT_NAMES:
            raise ValueError("K3S_AUDIT_LOG must not be stdout (it carries the MCP protocol on stdio); - is stderr")
        return value.strip()

    @property
    def kubeconfig_paths(self) -> list[Path]:
        """The kubeconfig files named by `kubeconfig`, with `~` expanded."""
        return [Path(part).expanduser() for part in self.kubeconfig.split(":") if part]


@lru_cache(maxsize=1)
def load_settings() -> Settings:
    """Settings read from the environment once per process."""
    return Settings()
