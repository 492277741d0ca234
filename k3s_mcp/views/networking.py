"""Rows of the networking.k8s.io API group: Ingresses, their rules and IngressClasses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from k3s_mcp.views.pages import (
    created_age,
    metadata_of,
    name_of,
    namespace_of,
)

DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"


LEGACY_INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"


class IngressRow(BaseModel):
    """An Ingress as `kubectl get ingress` shows it, with the class that serves it."""

    name: str
    namespace: str
    ingress_class: str | None = Field(
        description="spec.ingressClassName, else the legacy annotation, else the cluster's default class."
    )
    class_source: str = Field(description="'spec', 'annotation', 'default class' or 'none'.")
    hosts: list[str]
    address: str | None
    ports: str
    age: str


def ingress_row(ingress: dict[str, Any], default_class: str | None = None) -> IngressRow:
    spec = ingress.get("spec") or {}
    annotations = metadata_of(ingress).get("annotations") or {}
    if spec.get("ingressClassName"):
        ingress_class, source = str(spec["ingressClassName"]), "spec"
    elif annotations.get(LEGACY_INGRESS_CLASS_ANNOTATION):
        ingress_class, source = str(annotations[LEGACY_INGRESS_CLASS_ANNOTATION]), "annotation"
    elif default_class:
        ingress_class, source = default_class, "default class"
    else:
        ingress_class, source = None, "none"
    hosts = [str(rule.get("host") or "*") for rule in spec.get("rules") or []]
    balancer = ((ingress.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    address = ",".join(str(b.get("ip") or b.get("hostname") or "") for b in balancer) or None
    return IngressRow(
        name=name_of(ingress),
        namespace=namespace_of(ingress),
        ingress_class=ingress_class,
        class_source=source,
        hosts=hosts or ["*"],
        address=address,
        ports="80, 443" if spec.get("tls") else "80",
        age=created_age(ingress),
    )


class IngressRule(BaseModel):
    """One host/path of an Ingress and the backend it routes to."""

    host: str
    path: str
    path_type: str | None
    backend: str = Field(description="service:port, or the resource backend as Kind/name.")


def ingress_rules(ingress: dict[str, Any]) -> list[IngressRule]:
    spec = ingress.get("spec") or {}
    rules = []

    def backend_text(backend: dict[str, Any]) -> str:
        service = backend.get("service") or {}
        if service:
            port = service.get("port") or {}
            return f"{service.get('name')}:{port.get('number') or port.get('name') or '?'}"
        resource = backend.get("resource") or {}
        return f"{resource.get('kind')}/{resource.get('name')}" if resource else "?"

    if spec.get("defaultBackend"):
        rules.append(
            IngressRule(host="*", path="(default)", path_type=None, backend=backend_text(spec["defaultBackend"]))
        )
    for rule in spec.get("rules") or []:
        for http_path in (rule.get("http") or {}).get("paths") or []:
            rules.append(
                IngressRule(
                    host=str(rule.get("host") or "*"),
                    path=str(http_path.get("path") or "/"),
                    path_type=http_path.get("pathType"),
                    backend=backend_text(http_path.get("backend") or {}),
                )
            )
    return rules


class IngressClassRow(BaseModel):
    """An IngressClass: the controller behind it (K3s ships Traefik) and whether it is the default."""

    name: str
    controller: str
    default: bool
    parameters: str | None
    age: str


def ingress_class_row(ingress_class: dict[str, Any]) -> IngressClassRow:
    spec = ingress_class.get("spec") or {}
    parameters = spec.get("parameters") or {}
    annotations = metadata_of(ingress_class).get("annotations") or {}
    return IngressClassRow(
        name=name_of(ingress_class),
        controller=str(spec.get("controller", "")),
        default=annotations.get(DEFAULT_CLASS_ANNOTATION) == "true",
        parameters=f"{parameters.get('kind')}/{parameters.get('name')}" if parameters else None,
        age=created_age(ingress_class),
    )
