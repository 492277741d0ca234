"""What the server offers besides tools, added to the app in one call: the diagnosis prompts (:mod:`k3s_mcp.prompts`),
the ``k8s://`` resources and templates (:mod:`k3s_mcp.mcp_resources`), ``completion/complete``
(:mod:`k3s_mcp.completions`) and resource subscriptions backed by API-server watches (:mod:`k3s_mcp.subscriptions`).
"""

from __future__ import annotations

from typing import Any

from fastmcp import FastMCP

from k3s_mcp.completions import register_completions
from k3s_mcp.kube import KubeSession
from k3s_mcp.mcp_resources import register_resources
from k3s_mcp.prompts import register_prompts
from k3s_mcp.settings import Settings
from k3s_mcp.subscriptions import SubscriptionHub, register_subscriptions


def register_features(app: FastMCP[Any], session: KubeSession, settings: Settings) -> SubscriptionHub:
    """Add the prompts, resources, completions and subscriptions to `app`; the returned hub owns the watches (close
    it when the app stops)."""
    register_prompts(app)
    register_resources(app, session, settings)
    register_completions(app, session, settings)
    return register_subscriptions(app, session, settings)
