"""How many packages a build's installer (uv or pip) downloaded, read from its step's log lines
in the BuildKit progress stream."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.progress import BuildReport


@dataclass(frozen=True)
class InstallerCounts:
    """Of the packages an install needed, how many it downloaded; read from its output.

    uv: `Resolved N packages` is what the environment needs, `Prepared N packages` the ones it
    had to fetch (download and unpack); the others came from its cache or were already in the
    environment. pip: one `Collecting ...` per package, `Downloading ...` vs `Using cached ...`.
    `tool` is None when no install ran (its layer came from the build cache).
    """

    tool: str | None = None
    packages: int = 0
    downloaded: int = 0
    cached: int = 0

    @property
    def ran(self) -> bool:
        return self.tool is not None

    def __add__(self, other: InstallerCounts) -> InstallerCounts:
        if not other.ran:
            return self
        if not self.ran:
            return other
        tool = self.tool if self.tool == other.tool else f"{self.tool}+{other.tool}"
        return InstallerCounts(
            tool,
            self.packages + other.packages,
            self.downloaded + other.downloaded,
            self.cached + other.cached,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "packages": self.packages,
            "downloaded": self.downloaded,
            "cached": self.cached,
        }


_UV_COUNT = re.compile(r"^(Resolved|Prepared|Installed|Uninstalled|Audited) (\d+) packages?\b")


def count_installer(lines: Iterable[str]) -> InstallerCounts:
    """Read one install step's log lines (uv or pip)."""
    uv: dict[str, int] = {}
    collecting = downloading = using_cached = 0
    for raw in lines:
        line = raw.strip()
        match = _UV_COUNT.match(line)
        if match:
            uv[match[1]] = int(match[2])
            continue
        if line.startswith("Collecting "):
            collecting += 1
        elif line.startswith("Downloading ") and ".metadata" not in line.split(" (")[0]:
            downloading += 1
        elif line.startswith("Using cached ") and ".metadata" not in line.split(" (")[0]:
            using_cached += 1
    if uv.keys() & {"Resolved", "Installed", "Audited", "Prepared"}:
        prepared = uv.get("Prepared", 0)
        packages = uv.get("Resolved") or uv.get("Installed") or uv.get("Audited") or prepared
        return InstallerCounts("uv", packages, prepared, max(packages - prepared, 0))
    if collecting:
        return InstallerCounts("pip", collecting, downloading, using_cached)
    return InstallerCounts()


def names_file(instruction: str, filename: str) -> bool:
    """Does the step mention `filename` itself (`-r requirements.txt`, `source=...`), not
    a longer name ending in it (`uv-requirements.txt`)?"""
    if not filename:
        return False
    return re.search(rf"(?<![\w.-]){re.escape(filename)}(?![\w.-])", instruction) is not None


def installer_counts(report: BuildReport, requirements_name: str = "") -> InstallerCounts:
    """Sum over the steps that ran an installer; steps naming the requirements file win."""
    ran = [s for s in report.dockerfile_steps if not s.cached and s.log_tail]
    named = [s for s in ran if names_file(s.instruction, requirements_name)]
    total = InstallerCounts()
    for step in named or ran:
        total = total + count_installer(step.log_tail)
    return total
