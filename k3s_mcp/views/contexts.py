"""Rows of kubeconfig contexts, as `kubectl config get-contexts` shows them."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ContextRow(BaseModel):
    """One kubeconfig context, as `kubectl config get-contexts` shows it."""

    name: str
    current: bool = Field(description="True for the active context (the one calls without `context` use).")
    cluster: str
    user: str
    namespace: str | None
    server: str | None = Field(description="API server URL of the context's cluster.")
