"""The call path of every tool, one concern per module, outermost first as ``k3s_mcp.server`` stacks them:

audit (every call as one audit line and in the metrics) -> redaction (secret-shaped text out of answers and
errors) -> row_table (list answers as tables) -> errors (no traceback reaches a client) -> arguments (invalid
arguments in one sentence) -> session (the app's Kubernetes session) -> policy (hidden tools refused by name) ->
identity (K3S_IMPERSONATE: the access token's user and groups for every API request) -> context (the call's
kubeconfig context) -> confirmation (destructive calls held back until confirmed). What is listed is decided once
by ``k3s_mcp.surface`` (and ``k3s_mcp.availability``, which leaves out tools whose API the cluster does not serve).
"""
