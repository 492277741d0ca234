"""Every knob of the benchmark harness, read from BENCH_* environment variables and overridden by run.py flags."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class BenchSettings(BaseSettings):
    """Counts, time limits, pinned peer versions and where the throwaway peer installs live."""

    model_config = SettingsConfigDict(env_prefix="BENCH_", extra="ignore")

    cache_dir: Path = Field(
        default=Path.home() / ".cache" / "k3s-mcp" / "bench-peers",
        description="Where peers and the tokenizer are installed (never into the project environment).",
    )
    results_dir: Path = Field(
        default=Path(__file__).resolve().parent / "results",
        description="Where the dated JSON, Markdown report and PNG plots are written.",
    )
    calls_per_operation: int = Field(default=20, ge=1, description="Timed calls per operation and peer.")
    cold_starts: int = Field(default=3, ge=1, description="Process starts timed per peer (the median is kept).")
    concurrency_levels: tuple[int, ...] = Field(default=(16, 64), description="Concurrent calls on one session.")
    rounds_per_level: int = Field(default=3, ge=1, description="Bursts of `level` concurrent calls per level.")
    operation_budget_seconds: float = Field(
        default=60.0, gt=0, description="A peer's operation stops early (with fewer samples) past this time."
    )
    call_timeout_seconds: float = Field(default=60.0, gt=0, description="One tool call or kubectl run.")
    start_timeout_seconds: float = Field(default=60.0, gt=0, description="Process start to tools/list answer.")
    install_timeout_seconds: float = Field(default=600.0, gt=0, description="Installing one peer.")
    pods_in_namespace: int = Field(default=50, ge=1, description="Pods in the namespace of the namespaced list.")
    pods_total: int = Field(default=1000, ge=1, description="Bench pods across namespaces for the wide list.")
    wide_namespaces: int = Field(default=4, ge=1, description="Extra namespaces the wide-list pods spread over.")
    workload_timeout_seconds: float = Field(default=300.0, gt=0, description="Waiting for the pods to run.")
    namespace_prefix: str = Field(
        default="bench", pattern=r"^[a-z][a-z0-9-]{0,30}$", description="Prefix of the namespaces the run creates."
    )
    activator_timeout_seconds: float = Field(
        default=1500.0, gt=0, description="The activator benchmark run (real models, 10,000 learned queries)."
    )
    wake_timeout_seconds: float = Field(default=1200.0, gt=0, description="The wake benchmark (bench.wake).")
    answers_timeout_seconds: float = Field(default=900.0, gt=0, description="The answer-size benchmark.")
    raw_list_limit: int = Field(
        default=100, ge=1, description="Page size of the raw-API contender's namespaced list (our K3S_LIST_LIMIT)."
    )
    http_sessions: int = Field(default=8, ge=1, description="Concurrent MCP sessions driving the HTTP contender.")
    http_calls_per_session: int = Field(
        default=40, ge=1, description="Sequential `list_pods_namespace` calls each HTTP session makes."
    )
    install_timeout_per_venv_seconds: float = Field(
        default=900.0, gt=0, description="One `uv pip install` of the server (alone or with cortex) from the registry."
    )

    go_server_package: str = "kubernetes-mcp-server-linux-amd64"
    go_server_version: str = "0.0.67"
    ts_server_package: str = "mcp-server-kubernetes"
    ts_server_version: str = "4.1.7"
    py_server_package: str = "kubectl-mcp-server"
    py_server_version: str = "2.0.0"
    tokenizer_package: str = "bpe-openai"
    tokenizer_version: str = "0.1.4"
    tokenizer_encoding: str = "o200k_base"
