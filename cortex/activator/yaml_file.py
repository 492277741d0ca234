"""The activator's YAML data files, parsed with libyaml when PyYAML has it (ten times faster than pure Python).

A one-shot `cortex route` reads the rules, guards, vocabulary and network rules on every start; with the pure-Python
parser that alone took about 60 ms. Both loaders are PyYAML's safe loader and give the same documents.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(path: Path) -> Any:
    """The document in `path` (plain YAML types only, as yaml.safe_load)."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
