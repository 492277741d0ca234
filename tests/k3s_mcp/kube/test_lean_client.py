"""kubernetes_asyncio loads without its generated API, models and dynamic client, and every name stays reachable."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, check=False
    )


def test_the_server_loads_no_generated_api_models_or_dynamic_client() -> None:
    result = run_python(
        """
        import sys
        import k3s_mcp.server
        heavy = [
            name for name in sys.modules
            if name.startswith(("kubernetes_asyncio.client.api.", "kubernetes_asyncio.client.models.",
                                "kubernetes_asyncio.dynamic", "kubernetes_validate", "jsonschema"))
        ]
        print(len(heavy), heavy[:5])
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("0 "), result.stdout


def test_every_name_of_the_package_is_still_reachable() -> None:
    result = run_python(
        """
        import k3s_mcp.kube
        import kubernetes_asyncio
        from kubernetes_asyncio.client import ApiClient, CoreV1Api
        from kubernetes_asyncio.client.api_client import ApiClient as Direct
        from kubernetes_asyncio.client.models import V1Pod
        from kubernetes_asyncio import watch
        assert ApiClient is Direct
        assert CoreV1Api.__name__ == "CoreV1Api" and V1Pod.__name__ == "V1Pod"
        assert kubernetes_asyncio.dynamic.DynamicClient.__name__ == "DynamicClient"
        assert watch.Watch.__name__ == "Watch"
        try:
            kubernetes_asyncio.client.NoSuchThing
        except AttributeError as error:
            print("missing:", error)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "missing: module 'kubernetes_asyncio.client' has no attribute 'NoSuchThing'" in result.stdout


def test_an_earlier_full_import_is_left_as_it_is() -> None:
    result = run_python(
        """
        import sys
        import kubernetes_asyncio
        import k3s_mcp.kube
        client = vars(sys.modules["kubernetes_asyncio.client"])
        print("__getattr__" in client, "CoreV1Api" in client)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]
