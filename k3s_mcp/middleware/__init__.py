"""The call path of every tool, one concern per module, outermost first as ``k3s_mcp.server`` stacks them:

audit (every call logged and counted as the client sees it) -> redaction (secret-shaped text out of answers and
errors) -> row_table (list answers as tables) -> errors (no traceback reaches a client) -> arguments (invalid
arguments in one sentence) -> session (the app's Kubernetes session) -> policy (hidden tools refused by name) ->
identity (K3S_IMPERSONATE: the caller's Kubernetes identity) -> scopes (OAuth: the token's scopes) -> context (the
call's kubeconfig context) -> confirmation (destructive calls held back until confirmed). What is listed is decided
once by ``k3s_mcp.surface``.
"""
