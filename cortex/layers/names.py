"""The names of cortex's layers, written once: how commands, calls, metrics and the cortex chart spell them.

tests/cortex/activator/test_activator_chart_contract.py renders charts/cortex and checks it against these names.
"""

from __future__ import annotations

# The layers `cortex layer <name>` (and `python -m cortex.layers.cli <name>`) serves; LayerCall, the
# dispatcher, every LayerResponse and the CORTEX_LAYERS_<NAME>_URL settings name the execution layers so.
K3S = "k3s"
UNIFI_API = "unifi-api"
UNIFI_SSH = "unifi-ssh"
TELEMETRY = "telemetry"
SERVED_LAYERS = (K3S, UNIFI_API, UNIFI_SSH, TELEMETRY)

# The layer that takes over an action when the first one fails with a 5xx or a timeout.
FAILOVER = {UNIFI_API: UNIFI_SSH}

# The `layer` label of cortex_activator_pending_requests, as the chart's KEDA ScaledObjects query it and as
# its Deployments are named (cortex.scaledLayers in charts/cortex/templates/_helpers.tpl): the model layers of
# tiers 3 and 4, the UniFi layers, and telemetry under its chart name.
CLASSIFIER_LAYER = "reasoning-classifier"
REASONING_LAYER = "reasoning-slm"
TELEMETRY_LAYER = "cortex-telemetry"
SCALED_LAYERS = (CLASSIFIER_LAYER, REASONING_LAYER, UNIFI_API, UNIFI_SSH, TELEMETRY_LAYER)
# The k3s_mcp server is always on (no autoscaler reads it); its series shows calls in flight.
MCP_LAYER = "k3s-mcp"
GAUGED_LAYERS = (*SCALED_LAYERS, MCP_LAYER)
