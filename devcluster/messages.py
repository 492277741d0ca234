"""What the cluster launcher tells the person running it: an error that says what to do, and progress on stderr."""

from __future__ import annotations

import sys


class ClusterError(RuntimeError):
    """A failure the person running the cluster can act on; the message says what to do."""


def log(message: str) -> None:
    print(f"[cluster] {message}", file=sys.stderr, flush=True)
