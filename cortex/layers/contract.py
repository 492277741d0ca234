"""The wire contract between the activator and an execution layer: requests, responses, errors, actions."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry
from pydantic import BaseModel, ConfigDict, Field

ACTION_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"


class LayerRequest(BaseModel):
    """One action a caller asks a layer to run."""

    model_config = ConfigDict(extra="forbid")

    action: str = Field(pattern=ACTION_NAME_PATTERN, description="Action name from the layer's /v1/actions.")
    params: dict[str, Any] = Field(default_factory=dict, description="Parameters of the action.")
    confirm: bool = Field(
        default=False, description="Must be true for actions that need confirmation (destructive ones)."
    )
    actor: str = Field(default="anonymous", min_length=1, max_length=200, description="Who asked.")
    request_id: str | None = Field(default=None, max_length=100, description="Correlates audit lines.")


class ErrorBody(BaseModel):
    """Why an action did not run or failed; `code` is stable, `message` is for a person."""

    code: str
    message: str


class LayerResponse(BaseModel):
    """A layer's answer: the result on success, an error otherwise, and the HTTP status it travels with."""

    ok: bool
    status: int
    layer: str
    action: str
    result: Any = None
    error: ErrorBody | None = None
    duration_ms: float = 0.0
    request_id: str | None = None


class LayerError(Exception):
    """An error a caller can act on; `status` is its HTTP status (5xx means the upstream failed)."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    @classmethod
    def invalid(cls, message: str) -> LayerError:
        return cls("invalid_request", message, 400)

    @classmethod
    def rejected(cls, message: str) -> LayerError:
        """The upstream understood the request and refused it (unknown MAC, tool error): no failover."""
        return cls("rejected", message, 422)

    @classmethod
    def unavailable(cls, message: str) -> LayerError:
        """The upstream could not be reached or answered 5xx: a failover partner may take over."""
        return cls("upstream_unavailable", message, 503)

    @classmethod
    def timeout(cls, message: str) -> LayerError:
        return cls("upstream_timeout", message, 504)


@dataclass(frozen=True)
class ActionSpec:
    """One action a layer offers: its parameters, whether it changes anything, whether it needs a confirm."""

    name: str
    description: str
    params_model: type[BaseModel] | None = None
    params_schema: Mapping[str, Any] | None = None
    read_only: bool = True
    requires_confirmation: bool = False

    def describe(self) -> dict[str, Any]:
        """The JSON shape of this action for /v1/actions."""
        schema: Mapping[str, Any] = (
            self.params_model.model_json_schema() if self.params_model is not None else self.params_schema or {}
        )
        return {
            "name": self.name,
            "description": self.description,
            "read_only": self.read_only,
            "requires_confirmation": self.requires_confirmation,
            "params": dict(schema),
        }


class NoParams(BaseModel):
    """Parameters of an action that takes none."""

    model_config = ConfigDict(extra="forbid")


class ExecutionLayer(ABC):
    """One execution layer: named, offering actions, started and stopped with its service."""

    name: str

    def register_metrics(self, registry: CollectorRegistry) -> None:  # noqa: B027 - optional hook
        """Add this layer's own metrics to the service registry; most layers have none."""

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Open long-lived connections; called once before the first action."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Close what `start` opened."""

    @abstractmethod
    async def action_specs(self) -> Mapping[str, ActionSpec]:
        """The actions this layer offers, by name."""

    @abstractmethod
    async def readiness(self) -> tuple[bool, str]:
        """Whether the layer can serve now, and a short reason a person reads."""

    @abstractmethod
    async def run(self, action: str, params: BaseModel | dict[str, Any]) -> Any:
        """Run one validated action and return a JSON-ready result, or raise LayerError."""
