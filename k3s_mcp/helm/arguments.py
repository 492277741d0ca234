"""The rules every Helm argument meets on both routes: release names, chart references, option values, values YAML.

Both backends pass these values on to a helm command line (ours, or the one K3s's helm controller runs in its
job), so a value that helm could read as an option, or that carries control characters, is refused here.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

from fastmcp.exceptions import ToolError

from k3s_mcp.bounded_yaml import YamlLimitError, YamlLimits
from k3s_mcp.bounded_yaml import dump as dump_yaml
from k3s_mcp.kube import KubeSession
from k3s_mcp.kube.requests import check_namespace
from k3s_mcp.views.arguments import invalid_argument

# helm's own rule for release names (pkg/chartutil ValidateReleaseName): a DNS-1123 subdomain of at most 53.
RELEASE_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
RELEASE_MAX = 53
RELEASE_RULE = (
    "a Helm release name (lowercase letters, digits, '-' and '.', each dot-separated part starting and ending "
    f"with a letter or digit, at most {RELEASE_MAX} characters), as helm requires"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def shown(value: str) -> str:
    """The value as received, quoted and cut, so control characters and huge inputs stay readable."""
    text = repr(value)
    return text if len(text) <= 300 else text[:297] + "...'"


def check_release(release: str) -> str:
    """A release name as helm accepts it, else a ToolError naming the value and the rule."""
    if len(release) > RELEASE_MAX or not re.fullmatch(RELEASE_PATTERN, release):
        raise ToolError(invalid_argument("release", f"must be {RELEASE_RULE}", release))
    return release


def check_option_value(value: str | None, what: str, *, leading_dash: bool = False) -> str | None:
    """A value helm (or K3s's helm controller) receives as an argument: no control characters, and unless
    `leading_dash`, no leading '-' (the controller's helm command line would take it for an option)."""
    if value is None:
        return None
    if value.startswith("-") and not leading_dash:
        raise ToolError(f"Invalid {what} {shown(value)}: it cannot start with '-', which helm would read as an option.")
    if _CONTROL.search(value):
        raise ToolError(f"Invalid {what} {shown(value)}: it cannot contain control characters such as newlines.")
    return value


def check_chart(chart: str) -> str:
    """A chart reference (name, path, URL or oci://) that can only ever be a chart, never a helm option."""
    if chart.startswith("-"):
        raise ToolError(
            f"Invalid chart {shown(chart)}: a chart reference cannot start with '-' (helm would read it as an "
            "option); give a chart name with repo_url, a local chart path or an oci:// reference."
        )
    check_option_value(chart, "chart")
    return chart


def release_namespace(session: KubeSession, namespace: str | None) -> str:
    """The namespace a release call works in: the one given or the session's default, as a checked name."""
    return check_namespace(session.namespace_or_default(namespace))


async def values_yaml(session: KubeSession, values: dict[str, Any]) -> str:
    """`values` as YAML text, within the K3S_YAML_MAX_* limits, written off the event loop."""
    try:
        return await asyncio.to_thread(
            dump_yaml, values, YamlLimits.from_settings(session.settings), "The values are refused"
        )
    except YamlLimitError as error:
        raise ToolError(f"{error} Nothing was changed.") from None


@dataclass(frozen=True)
class ChartRequest:
    """An install or upgrade as the tools received it; building one checks every value a helm command line gets.

    Each route reads the fields it can act on: `wait` and `reuse_values` only the helm command,
    `failure_policy` only a HelmChart object.
    """

    release: str
    namespace: str
    chart: str
    repo_url: str | None = None
    version: str | None = None
    values: dict[str, Any] | None = None
    create_namespace: bool = False
    wait: bool = False
    reuse_values: bool = False
    failure_policy: str | None = None
    dry_run: bool = False

    def __post_init__(self) -> None:
        check_release(self.release)
        check_chart(self.chart)
        check_option_value(self.repo_url, "repo_url")
        check_option_value(self.version, "version")
