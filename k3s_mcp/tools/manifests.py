"""Manifest tools: server-side apply of multi-document YAML, a patch of any kind (merge, strategic or JSON patch)
with a field-level diff of what it changes, and delete of any kind."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Annotated, Any, Literal

import yaml
from fastmcp import Context, FastMCP
from fastmcp.exceptions import ToolError
from fastmcp.tools.base import ToolResult
from pydantic import BaseModel, Field

from k3s_mcp.bounded_yaml import YamlLimitError, YamlLimits, load_all
from k3s_mcp.kube import KubeError, KubeSession, ResourceInfo, current_session, deletion_note
from k3s_mcp.tools import DESTRUCTIVE, WRITE, tool
from k3s_mcp.tools.changes import outcome as change_outcome
from k3s_mcp.tools.changes import patch_object
from k3s_mcp.views.diff import field_diff
from k3s_mcp.views.summary import output_schema, text_answer

manifests: FastMCP = FastMCP("manifests")

# Namespaces and CRDs go first so objects that live in them, or are instances of them, can follow.
_APPLY_FIRST = {"Namespace": 0, "CustomResourceDefinition": 1}
# An apply reports progress per object only once it has run this long (a large manifest, a slow API server): four
# notifications for an apply of three objects in 15 ms cost the client and the wire as much as the apply's own
# work (0.9 ms a call over stdio), and say nothing a client could show.
PROGRESS_AFTER_SECONDS = 0.5


class AppliedObject(BaseModel):
    """The outcome for one document of the manifest."""

    document: int = Field(description="1-based position of the document in the YAML.")
    api_version: str
    kind: str
    name: str
    namespace: str | None
    result: Literal["created", "configured", "unchanged", "failed"]
    error: str | None = None
    diff: list[str] | None = Field(default=None, description="Dry run: the fields that would change.")


class ApplyResult(BaseModel):
    dry_run: bool
    objects: list[AppliedObject]
    summary: str


class DeleteResult(BaseModel):
    kind: str
    name: str
    namespace: str | None
    dry_run: bool
    message: str


def parse_manifest(manifest_yaml: str, limits: YamlLimits) -> list[tuple[int, dict[str, Any]]]:
    """Documents of a multi-document YAML (List kinds expanded), with their 1-based positions.

    Parsed within `limits` (K3S_YAML_MAX_*), which are checked while the YAML is composed. CPU work: the tool
    runs it in a thread so a large manifest never holds up other calls.
    """
    try:
        documents = load_all(manifest_yaml, limits, "The manifest is refused")
    except YamlLimitError as error:
        raise ToolError(f"{error} Nothing was applied.") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = error.problem or error.context or "malformed YAML"
        raise ToolError(f"Invalid YAML{where}: {problem}. Nothing was applied.") from None
    except yaml.YAMLError as error:
        raise ToolError(f"Invalid YAML: {error}. Nothing was applied.") from None
    except ValueError as error:  # an integer of more digits than Python converts
        raise ToolError(f"Invalid YAML: {error}. Nothing was applied.") from None
    parsed: list[tuple[int, dict[str, Any]]] = []
    for position, document in enumerate(documents, start=1):
        if document is None:
            continue
        if not isinstance(document, dict):
            raise ToolError(
                f"Document {position} is a {type(document).__name__}, not a Kubernetes object "
                "(a mapping with apiVersion, kind and metadata). Nothing was applied."
            )
        try:
            # Kubernetes objects are JSON: no bytes (!!binary), sets, timestamps, date keys, NaN or infinity.
            json.dumps(document, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise ToolError(
                f"Document {position} holds a value JSON cannot carry ({error}); quote it as a string. "
                "Nothing was applied."
            ) from None
        kind = document.get("kind")
        if isinstance(kind, str) and kind.endswith("List") and isinstance(document.get("items"), list):
            parsed += [(position, item) for item in document["items"] if isinstance(item, dict)]
        else:
            parsed.append((position, document))
    for position, document in parsed:
        missing = [key for key in ("apiVersion", "kind") if not isinstance(document.get(key), str) or not document[key]]
        if not (document.get("metadata") or {}).get("name"):
            missing.append("metadata.name")
        if missing:
            raise ToolError(f"Document {position} lacks {', '.join(missing)}. Nothing was applied.")
    if not parsed:
        raise ToolError("The manifest contains no Kubernetes objects.")
    return parsed


async def _resolve_for_apply(session: KubeSession, document: dict[str, Any], crds_applied: bool) -> ResourceInfo:
    """Resolve a document's kind; when this batch created CRDs, give them a few seconds to be served."""
    attempts = 20 if crds_applied else 1
    for attempt in range(attempts):
        try:
            return await session.resolve(document["kind"], document["apiVersion"])
        except KubeError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.5)
    raise AssertionError("unreachable")


@tool(manifests, title="Apply a YAML manifest", safety=WRITE, output_schema=output_schema(ApplyResult))
async def apply_manifest(
    manifest_yaml: Annotated[str, Field(min_length=1, description="One or more YAML documents separated by '---'.")],
    ctx: Context,
    namespace: Annotated[
        str | None,
        Field(description="Namespace for namespaced objects that name none; omitted = K3S_DEFAULT_NAMESPACE."),
    ] = None,
    dry_run: Annotated[bool, Field(description="Validate on the server and report, changing nothing.")] = False,
    force_conflicts: Annotated[
        bool, Field(description="Take ownership of fields another manager set (server-side apply force).")
    ] = False,
) -> ToolResult:
    """Create or update any objects (CRDs and custom resources included) with server-side apply.

    Takes multi-document YAML; reports per object whether it was created, configured or unchanged.
    dry_run=true changes nothing and shows each object's field diff. Field manager 'k3s-mcp'.
    """
    session = current_session()
    documents = await asyncio.to_thread(parse_manifest, manifest_yaml, YamlLimits.from_settings(session.settings))
    documents.sort(key=lambda item: _APPLY_FIRST.get(str(item[1].get("kind")), 2))
    default_ns = session.namespace_or_default(namespace)
    results: list[AppliedObject] = []
    crds_applied = False
    total = len(documents)
    started, reported = time.monotonic(), False
    for index, (position, document) in enumerate(documents):
        kind, name = str(document["kind"]), str(document["metadata"]["name"])
        api_version = str(document["apiVersion"])
        declared_ns = (document.get("metadata") or {}).get("namespace")
        if reported or time.monotonic() - started >= PROGRESS_AFTER_SECONDS:
            await ctx.report_progress(index, total, f"applying {kind}/{name}")
            reported = True
        outcome = AppliedObject(
            document=position, api_version=api_version, kind=kind, name=name, namespace=None, result="failed"
        )
        try:
            info = await _resolve_for_apply(session, document, crds_applied)
            if info.namespaced:
                if namespace and declared_ns and declared_ns != namespace:
                    raise ToolError(
                        f"the document says namespace {declared_ns!r} but namespace={namespace!r} was given"
                    )
                target_ns: str | None = declared_ns or default_ns
                document = {**document, "metadata": {**document["metadata"], "namespace": target_ns}}
            else:
                target_ns = None
            outcome.namespace = target_ns
            # Fingerprinted Secret values: a changed value of the same size still counts as a change.
            with session.secret_fingerprints():
                before = await session.get_optional(info, name, target_ns)
                after = await session.apply(info, document, target_ns, dry_run=dry_run, force=force_conflicts)
            outcome.result = change_outcome(before, after, dry_run, applied=document)
            if dry_run:
                # CPU work on objects up to the API server's size limit: off the event loop.
                outcome.diff = (await asyncio.to_thread(field_diff, before, after))[0]
            if kind == "CustomResourceDefinition" and not dry_run:
                crds_applied = True
        except (ToolError, KubeError) as error:
            outcome.error = str(error)
        results.append(outcome)
    if reported:
        await ctx.report_progress(total, total, "done")
    results.sort(key=lambda item: item.document)
    counts: dict[str, int] = {}
    for item in results:
        counts[item.result] = counts.get(item.result, 0) + 1
    summary = ", ".join(f"{n} {r}" for r, n in counts.items()) + (" (dry run: nothing changed)" if dry_run else "")
    failed = [item for item in results if item.result == "failed"]
    if failed:
        lines = [
            f"{item.kind}/{item.name}: {item.result}" + (f" - {item.error}" if item.error else "") for item in results
        ]
        raise ToolError(f"{len(failed)} of {len(results)} objects failed to apply ({summary}):\n" + "\n".join(lines))
    result = ApplyResult(dry_run=dry_run, objects=results, summary=summary)
    return text_answer(result, apply_text(result))


def apply_text(result: ApplyResult) -> str:
    """What a model reads of an apply: one line per object (``Kind ns/name: created``, its diff below it on a dry
    run), then the summary."""
    lines = []
    for item in result.objects:
        where = f"{item.namespace}/{item.name}" if item.namespace else item.name
        lines.append(f"{item.kind} {where}: {item.result}" + (f" - {item.error}" if item.error else ""))
        lines.extend(f"  {change}" for change in item.diff or [])
    lines.append(("Dry run, nothing changed: " if result.dry_run else "") + result.summary)
    return "\n".join(lines)


PatchType = Literal["merge", "strategic", "json"]
_PATCH_CONTENT_TYPES: dict[str, str] = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
}
_JSON_PATCH_OPS = frozenset({"add", "remove", "replace", "move", "copy", "test"})


class PatchResult(BaseModel):
    kind: str
    name: str
    namespace: str | None
    patch_type: PatchType
    dry_run: bool
    result: Literal["configured", "unchanged"]
    diff: list[str] = Field(description="Changed fields: 'path: old -> new', '+ path: value', '- path'.")
    message: str


def parse_patch(text: str, patch_type: PatchType, limits: YamlLimits) -> Any:
    """The patch document of `text` (YAML or JSON) within `limits`, checked for its patch type's shape."""
    try:
        documents = [document for document in load_all(text, limits, "The patch is refused") if document is not None]
    except YamlLimitError as error:
        raise ToolError(f"{error} Nothing was patched.") from None
    except (yaml.YAMLError, ValueError) as error:
        problem = getattr(error, "problem", None) or "malformed YAML or JSON"
        raise ToolError(f"Invalid patch: {problem}. Nothing was patched.") from None
    if len(documents) != 1:
        raise ToolError(f"The patch must be one YAML/JSON document; it has {len(documents)}. Nothing was patched.")
    (patch,) = documents
    try:
        json.dumps(patch, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ToolError(f"The patch holds a value JSON cannot carry ({error}). Nothing was patched.") from None
    if patch_type == "json":
        if not isinstance(patch, list) or not patch:
            raise ToolError("A json patch is a non-empty list of operations, e.g. [{op: replace, path: /spec/x, ...}].")
        for position, operation in enumerate(patch, start=1):
            if not isinstance(operation, dict) or operation.get("op") not in _JSON_PATCH_OPS:
                raise ToolError(
                    f"Operation {position} of the json patch needs op: one of {', '.join(sorted(_JSON_PATCH_OPS))}."
                )
            path = operation.get("path")
            if not isinstance(path, str) or (path and not path.startswith("/")):
                raise ToolError(f"Operation {position} of the json patch needs a path such as '/spec/replicas'.")
    elif not isinstance(patch, dict) or not patch:
        raise ToolError(f"A {patch_type} patch is a non-empty mapping, e.g. {{spec: {{replicas: 3}}}}.")
    return patch


async def _check_strategic(session: KubeSession, info: ResourceInfo) -> None:
    """Refuse a strategic merge patch of a custom resource: the API server only has merge keys for built-in kinds."""
    if not info.group:
        return
    crds = await session.resolve("CustomResourceDefinition", "apiextensions.k8s.io/v1")
    try:
        crd = await session.get_optional(crds, info.qualified, None)
    except KubeError:
        return  # not allowed to read CRDs: the API server's own 415 answer says it then
    if crd is not None:
        raise ToolError(
            f"{info.kind} ({info.qualified}) is a custom resource: strategic merge patch works only for built-in "
            "kinds. Use patch_type='merge' or 'json'."
        )


@tool(manifests, title="Patch an object", safety=WRITE)
async def patch_resource(
    kind: Annotated[str, Field(min_length=1, description="Kind, plural or short name, e.g. 'Deployment', 'cm'.")],
    name: Annotated[str, Field(min_length=1, description="Name of the object.")],
    patch: Annotated[str, Field(min_length=1, description="The patch as YAML or JSON text.")],
    namespace: Annotated[str | None, Field(description="Namespace; omitted = default namespace.")] = None,
    patch_type: Annotated[
        PatchType, Field(description="merge (RFC 7386), strategic (built-in kinds) or json (RFC 6902).")
    ] = "merge",
    api_version: Annotated[str | None, Field(description="apiVersion, only to pick between same-named kinds.")] = None,
    dry_run: Annotated[bool, Field(description="Validate on the server and show the diff, changing nothing.")] = False,
) -> PatchResult:
    """Patch one object of any kind; answers with the field diff (Secret values masked). Try dry_run=true first."""
    session = current_session()
    info = await session.resolve(kind, api_version)
    # A denied kind is refused before its patch is read, so the refusal names the policy, not the patch's shape.
    session.access.check_kind(info)
    if info.verbs and "patch" not in info.verbs:
        raise ToolError(f"{info.qualified} cannot be patched (the API serves only: {', '.join(info.verbs)}).")
    body = await asyncio.to_thread(parse_patch, patch, patch_type, YamlLimits.from_settings(session.settings))
    if patch_type == "strategic":
        await _check_strategic(session, info)
    ns = session.namespace_or_default(namespace) if info.namespaced else None
    with session.secret_fingerprints():
        before = await session.get(info, name, ns)
        change, after = await patch_object(
            session,
            info,
            name,
            ns,
            body,
            action="patch",
            done="patched",
            dry_run=dry_run,
            content_type=_PATCH_CONTENT_TYPES[patch_type],
            before=before,
        )
    diff, _ = await asyncio.to_thread(field_diff, before, after)
    return PatchResult(
        kind=info.kind,
        name=name,
        namespace=ns,
        patch_type=patch_type,
        dry_run=dry_run,
        # A controller may write status (a new resourceVersion) between the read and the patch; the field diff
        # leaves status out, so an empty diff is what says the patch itself changed nothing.
        result="unchanged" if change.result == "unchanged" or not diff else "configured",
        diff=diff,
        message=change.message,
    )


@tool(manifests, title="Delete a resource", safety=DESTRUCTIVE)
async def delete_resource(
    kind: Annotated[
        str,
        Field(
            min_length=1,
            description="Kind, plural or short name of any resource the cluster serves, e.g. 'Deployment', "
            "'svc', 'scaledobjects.keda.sh'.",
        ),
    ],
    name: Annotated[str, Field(min_length=1, description="Name of the object.")],
    namespace: Annotated[
        str | None,
        Field(description="Namespace (ignored for cluster-scoped kinds); omitted = default namespace."),
    ] = None,
    dry_run: Annotated[bool, Field(description="Check that the delete would succeed, deleting nothing.")] = False,
) -> DeleteResult:
    """Delete one object of any kind (custom resources included); dependents are removed in the background."""
    session = current_session()
    info = await session.resolve(kind)
    ns = session.namespace_or_default(namespace) if info.namespaced else None
    answer = await session.delete(info, name, ns, dry_run=dry_run)
    where = f" in namespace {ns}" if ns else ""
    verb = "Would delete" if dry_run else "Deleted"
    note = "" if dry_run else deletion_note(answer)
    return DeleteResult(
        kind=info.kind,
        name=name,
        namespace=ns,
        dry_run=dry_run,
        message=f"{verb} {info.kind}/{name}{where}.{note}",
    )
