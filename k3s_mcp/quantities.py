"""Kubernetes resource quantities ('10Gi', '250m', '1.5e3') as exact numbers, for comparisons and sums."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from fastmcp.exceptions import ToolError

_SUFFIXES: dict[str, int | Decimal] = {
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": 1,
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
}  # fmt: skip
_QUANTITY = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([KMGTPE]i|[numkMGTPE]?)\s*$")


def parse_quantity(text: str | int | float) -> Decimal:
    """A quantity as a plain number: bytes for '10Gi', cores for '250m'."""
    match = _QUANTITY.match(str(text))
    if not match:
        raise ToolError(f"{text!r} is not a Kubernetes quantity. Write a size such as '10Gi', '512Mi' or '2G'.")
    try:
        return Decimal(match.group(1)) * Decimal(_SUFFIXES[match.group(2)])
    except InvalidOperation as error:
        raise ToolError(f"{text!r} is not a Kubernetes quantity: {error}.") from None
