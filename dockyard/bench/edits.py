"""The scratch copies every build runs on, and the scenarios' changes to them: a comment line
appended to the code file (`code-edit`), one small pinned package added to the requirements
(`deps-edit`). Each change carries the run id and the repetition."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard import requirements
from dockyard.errors import SettingsError

if TYPE_CHECKING:
    from dockyard.bench.plan import BenchPlan


@dataclass(frozen=True)
class ExtraPackage:
    """A small pure-Python wheel the `deps-edit` scenario adds (pinned, with its hash)."""

    name: str
    version: str
    sha256: str  # of the py3-none-any wheel on PyPI

    def requirement(self, *, with_hash: bool) -> str:
        line = f"{self.name}=={self.version}"
        return f"{line} \\\n    --hash=sha256:{self.sha256}" if with_hash else line


# One per repetition (cycled), so every deps-edit adds a package the installer's cache has not
# seen in this run. Hashes verified against the PyPI wheels (py3-none-any / py2.py3-none-any).
EXTRA_PACKAGES: tuple[ExtraPackage, ...] = (
    ExtraPackage(
        "six", "1.17.0", "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274"
    ),
    ExtraPackage(
        "iniconfig", "2.0.0", "b6a85871a79d2e3b22d2d1b94ac2824226a63c6b741c88f7ae975f18b6778374"
    ),
    ExtraPackage(
        "tabulate", "0.9.0", "024ca478df22e9340661486f85298cff5f6dcdba14f3813e8830015b9ed1948f"
    ),
    ExtraPackage(
        "toml", "0.10.2", "806143ae5bfb6a3c6e736a764057db0e6a0e05e338b5630894a5f779cabb4f9b"
    ),
    ExtraPackage(
        "colorama", "0.4.6", "4f1d9991f5acc0ca119f9d443620b77f9d6b33703e51011c16baf57afb285fc6"
    ),
)


def copy_context(plan: BenchPlan, dest: Path) -> Path:
    """Copy what Docker would send (and the Dockerfiles with their ignore files) to `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    for rel in plan.files:
        source = plan.context_dir / rel
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, target)
    for strategy in plan.strategies:
        target = dest / strategy.scratch_dockerfile
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(strategy.dockerfile, target)
        own_ignore = strategy.dockerfile.with_name(strategy.dockerfile.name + ".dockerignore")
        if own_ignore.is_file():
            shutil.copy2(own_ignore, target.with_name(target.name + ".dockerignore"))
    return dest


def edit_marker(run_id: str, repetition: int) -> str:
    return f"# dockyard bench {run_id} repetition {repetition}"


def _with_final_newline(text: str) -> str:
    return text if text.endswith("\n") or not text else text + "\n"


def code_edit(baseline: str, run_id: str, repetition: int) -> str:
    """The code file with one comment line appended (unique per run and repetition)."""
    return f"{_with_final_newline(baseline)}{edit_marker(run_id, repetition)}\n"


def extra_package(baseline: str, repetition: int) -> ExtraPackage:
    """The package this repetition adds: one the requirements do not have yet, cycled."""
    present = requirements.requirement_names(baseline)
    candidates = [p for p in EXTRA_PACKAGES if requirements.normalize_name(p.name) not in present]
    if not candidates:
        raise SettingsError(
            "every package the deps-edit scenario could add is already required",
            "leave out the deps-edit scenario",
        )
    return candidates[(repetition - 1) % len(candidates)]


def deps_edit(baseline: str, run_id: str, repetition: int) -> str:
    """The requirements with one small pinned package added (hash-pinned if the file is)."""
    package = extra_package(baseline, repetition)
    with_hash = requirements.parse("", baseline).hash_checking
    return (
        f"{_with_final_newline(baseline)}{edit_marker(run_id, repetition)}: adds {package.name}\n"
        f"{package.requirement(with_hash=with_hash)}\n"
    )
