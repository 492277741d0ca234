"""Imports of kubernetes_asyncio that load only the pieces the session uses, not its generated API and models.

``import kubernetes_asyncio.<anything>`` runs the package's ``__init__``, which imports every generated API class
(~60 modules), all ~900 model classes and the dynamic client (which pulls in jsonschema): about 0.4 s and 25 MB of
a server start, for classes this server never uses (it sends raw requests through the REST client and reads JSON).
Importing this module (:func:`install`) registers the three packages ``kubernetes_asyncio``,
``kubernetes_asyncio.client`` and
``kubernetes_asyncio.client.models`` with their ``__init__`` deferred: submodules (``client.api_client``,
``config.kube_config``, ``stream``) import as usual, the few names imported from the packages themselves
(``ApiClient``, ``Configuration``, ``ApiException``) come from their defining submodule, and any other attribute
(``client.CoreV1Api``, ``models.V1Pod``) runs the real ``__init__`` then, so nothing a caller can reach is missing.
A process that imported kubernetes_asyncio before :func:`install` keeps the package as it loaded it.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

PACKAGE = "kubernetes_asyncio"
# Attributes read from the deferred packages by this server and by kubernetes_asyncio's own config and stream
# modules, and the submodule defining each; reading one of them does not run the package's __init__.
LIGHT_NAMES: dict[str, dict[str, str]] = {
    PACKAGE: {"config": "config", "stream": "stream"},
    f"{PACKAGE}.client": {
        "ApiClient": "api_client",
        "Configuration": "configuration",
        "ApiException": "exceptions",
        "ApiValueError": "exceptions",
        "rest": "rest",
        "api_client": "api_client",
        "configuration": "configuration",
        "exceptions": "exceptions",
    },
    f"{PACKAGE}.client.models": {},
}


def install() -> None:
    """Register the deferred packages, unless kubernetes_asyncio is imported already (then nothing changes)."""
    if PACKAGE in sys.modules:
        return
    for name in LIGHT_NAMES:  # parents first: a child's spec is found through its parent's __path__
        _register(name)


def _register(name: str) -> None:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return  # not installed, or not a package: the ordinary import reports it
    module = importlib.util.module_from_spec(spec)
    light = LIGHT_NAMES[name]
    state = {"loaded": False}

    def resolve(attribute: str) -> Any:
        if attribute in light:
            found = importlib.import_module(f"{name}.{light[attribute]}")
            value = found if attribute == light[attribute] else getattr(found, attribute)
            setattr(module, attribute, value)
            return value
        if attribute.startswith("__") and attribute != "__all__":
            raise AttributeError(attribute)
        if not state["loaded"]:
            state["loaded"] = True
            spec.loader.exec_module(module)  # type: ignore[union-attr]  # checked above
        try:
            return module.__dict__[attribute]
        except KeyError:
            raise AttributeError(f"module {name!r} has no attribute {attribute!r}") from None

    module.__getattr__ = resolve  # type: ignore[method-assign]  # PEP 562 module attribute hook
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)


install()
