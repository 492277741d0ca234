"""Annotated parameter types shared by the tool modules, so every tool words the same argument the same way."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

Name = Annotated[str, Field(min_length=1, max_length=253, description="Name of the object.")]
Namespace = Annotated[
    str | None,
    Field(description="Namespace; omitted = the server's default namespace."),
]
ListNamespace = Annotated[str | None, Field(description="Namespace to list; omitted = all namespaces.")]
Labels = Annotated[str | None, Field(description="Label selector, e.g. 'app=web,tier!=db'.")]
Limit = Annotated[int | None, Field(ge=1, le=5000, description="Most rows to return (default 100).")]
ContinueToken = Annotated[str | None, Field(description="continue_token of the previous page.")]
DryRun = Annotated[bool, Field(description="Validate on the server and report, changing nothing.")]
StringMap = Annotated[dict[str, str] | None, Field(description="Labels to set on the object, e.g. {'app': 'web'}.")]
Detail = Annotated[
    Literal["summary", "full"],
    Field(description="summary (default): the key facts; full: the whole object."),
]
