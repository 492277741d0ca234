"""ConfigMap and Secret tools: list, show, create or update with server-side apply, delete; Secret values masked."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from pydantic import BaseModel, Field

from k3s_mcp.kube import current_session, deletion_note
from k3s_mcp.tools import DESTRUCTIVE, READ_ONLY, WRITE, tool
from k3s_mcp.tools.changes import ObjectChange, apply_object
from k3s_mcp.tools.lists import list_rows
from k3s_mcp.tools.parameters import (
    ContinueToken,
    DryRun,
    Labels,
    Limit,
    ListNamespace,
    Name,
    Namespace,
    StringMap,
)
from k3s_mcp.views import ConfigMapRow, RowPage, SecretRow, configmap_row, secret_row, trim

config: FastMCP = FastMCP("config")

# A ConfigMap or Secret may hold at most 1 MiB; refusing earlier gives a clearer message than the API's.
MAX_DATA_BYTES = 1_048_576


class ConfigMapDetail(BaseModel):
    summary: ConfigMapRow
    object: dict[str, Any] = Field(description="The ConfigMap without managedFields and last-applied.")


class SecretDetail(BaseModel):
    summary: SecretRow
    revealed: bool = Field(description="True only when the server runs with K3S_REVEAL_SECRETS=true.")
    object: dict[str, Any] = Field(description="The Secret; data values are '(hidden, N bytes)' unless revealed.")


class DeletedObject(BaseModel):
    kind: str
    name: str
    namespace: str
    dry_run: bool
    message: str


def _check_size(kind: str, name: str, data: dict[str, str]) -> None:
    size = sum(len(key) + len(value.encode()) for key, value in data.items())
    if size > MAX_DATA_BYTES:
        raise ToolError(f"{kind} {name!r} would hold {size} bytes; the limit is {MAX_DATA_BYTES}. Nothing was changed.")


async def _delete(kind: str, plural: str, name: str, namespace: str | None, *, dry_run: bool) -> DeletedObject:
    session = current_session()
    info = await session.resolve(plural)
    ns = session.namespace_or_default(namespace)
    answer = await session.delete(info, name, ns, dry_run=dry_run)
    verb = "Would delete" if dry_run else "Deleted"
    note = "" if dry_run else deletion_note(answer)
    return DeletedObject(
        kind=kind, name=name, namespace=ns, dry_run=dry_run, message=f"{verb} {kind}/{name} in {ns}.{note}"
    )


@tool(config, title="List ConfigMaps", safety=READ_ONLY)
async def get_configmaps(
    namespace: ListNamespace = None,
    labels: Labels = None,
    limit: Limit = None,
    continue_token: ContinueToken = None,
) -> RowPage[ConfigMapRow]:
    """List ConfigMaps as rows (name, namespace, keys, age); use get_configmap for the values."""
    return await list_rows(
        "configmaps", configmap_row, namespace, labels=labels, limit=limit, continue_token=continue_token
    )


@tool(config, title="Show a ConfigMap", safety=READ_ONLY)
async def get_configmap(name: Name, namespace: Namespace = None) -> ConfigMapDetail:
    """Show one ConfigMap with its data."""
    session = current_session()
    info = await session.resolve("configmaps")
    configmap = await session.get(info, name, session.namespace_or_default(namespace))
    return ConfigMapDetail(summary=configmap_row(configmap), object=trim(configmap))


@tool(config, title="Create or update a ConfigMap", safety=WRITE)
async def apply_configmap(
    name: Name,
    data: Annotated[
        dict[str, str],
        Field(
            description="Every key and value the ConfigMap should hold; keys set earlier by this tool and "
            "missing here are removed (server-side apply)."
        ),
    ],
    namespace: Namespace = None,
    labels: StringMap = None,
    dry_run: DryRun = False,
) -> ObjectChange:
    """Create a ConfigMap or update its data with server-side apply (field manager k3s-mcp).

    Returns whether it was created, configured or unchanged. Use dry_run=true to check first.
    """
    _check_size("ConfigMap", name, data)
    session = current_session()
    info = await session.resolve("configmaps")
    ns = session.namespace_or_default(namespace)
    metadata: dict[str, Any] = {"name": name, "namespace": ns}
    if labels:
        metadata["labels"] = labels
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}
    change, _ = await apply_object(session, info, manifest, ns, dry_run=dry_run)
    return change


@tool(config, title="Delete a ConfigMap", safety=DESTRUCTIVE)
async def delete_configmap(name: Name, namespace: Namespace = None, dry_run: DryRun = False) -> DeletedObject:
    """Delete a ConfigMap. Pods that mount it keep their copy until restarted; new pods fail to start."""
    return await _delete("ConfigMap", "configmaps", name, namespace, dry_run=dry_run)


@tool(config, title="List Secrets", safety=READ_ONLY)
async def get_secrets(
    namespace: ListNamespace = None,
    labels: Labels = None,
    limit: Limit = None,
    continue_token: ContinueToken = None,
) -> RowPage[SecretRow]:
    """List Secrets as rows (name, namespace, type, each key with its value's size, age). Values are never shown."""
    return await list_rows("secrets", secret_row, namespace, labels=labels, limit=limit, continue_token=continue_token)


@tool(config, title="Show a Secret (values masked)", safety=READ_ONLY)
async def get_secret(name: Name, namespace: Namespace = None) -> SecretDetail:
    """Show one Secret: type, keys and the size of each value. Values are masked unless the server was
    started with K3S_REVEAL_SECRETS=true."""
    session = current_session()
    info = await session.resolve("secrets")
    secret = await session.get(info, name, session.namespace_or_default(namespace))
    reveal = session.settings.reveal_secrets
    return SecretDetail(
        summary=secret_row(secret), revealed=reveal, object=trim({**secret, "kind": "Secret"}, reveal_secrets=reveal)
    )


@tool(config, title="Create or update a Secret", safety=WRITE)
async def apply_secret(
    name: Name,
    string_data: Annotated[
        dict[str, str],
        Field(
            description="Every key and its plain-text value; stored base64-encoded. Keys set earlier by "
            "this tool and missing here are removed (server-side apply). Values are never echoed back."
        ),
    ],
    namespace: Namespace = None,
    secret_type: Annotated[
        str, Field(min_length=1, description="Secret type, e.g. 'Opaque', 'kubernetes.io/basic-auth'.")
    ] = "Opaque",
    labels: StringMap = None,
    dry_run: DryRun = False,
) -> ObjectChange:
    """Create a Secret or update its values with server-side apply. The answer names the keys, never the values."""
    _check_size("Secret", name, string_data)
    session = current_session()
    info = await session.resolve("secrets")
    ns = session.namespace_or_default(namespace)
    metadata: dict[str, Any] = {"name": name, "namespace": ns}
    if labels:
        metadata["labels"] = labels
    # `data` rather than `stringData`: server-side apply tracks ownership of `data` keys, so a key left
    # out of a later call is removed; stringData is write-only and would leave stale keys behind.
    encoded = {key: base64.b64encode(value.encode()).decode() for key, value in string_data.items()}
    manifest = {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "type": secret_type, "data": encoded}
    change, _ = await apply_object(session, info, manifest, ns, dry_run=dry_run)
    change.message += f" Keys: {', '.join(sorted(string_data)) or '(none)'}."
    return change


@tool(config, title="Delete a Secret", safety=DESTRUCTIVE)
async def delete_secret(name: Name, namespace: Namespace = None, dry_run: DryRun = False) -> DeletedObject:
    """Delete a Secret. Pods that mount it or read it as env fail to start afterwards."""
    return await _delete("Secret", "secrets", name, namespace, dry_run=dry_run)
