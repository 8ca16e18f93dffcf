"""`inv bench`: the write-up's "before / after" table, measured on this machine as ratios.

Strategies are Dockerfiles that build the same service (the write-up's "before"
`Dockerfile.naive`, its "after" `Dockerfile.pip-cache`, and `Dockerfile.optimized`); scenarios
are what a developer does between two builds:

* `cold`: no layer cache and empty cache mounts for the benchmark's builds: `--no-cache` plus a
  fresh `CACHE_ID` build argument per repetition, so every `--mount=type=cache,id=${CACHE_ID}-...`
  starts empty. The user's other images, cache mounts and build cache are not touched;
* `no-change`: the same context again (also measured as a plain `docker build`: the engine's own
  fully cached build, the floor for this scenario);
* `code-edit`: one source file changed (a comment line appended);
* `deps-edit`: one small pinned package added to the requirements (with its hash when the file
  uses hashes).

Every build runs on a scratch copy of the build context (exactly the files Docker would send,
plus the Dockerfiles), so the user's tree is never touched. Each edit carries the run id and the
repetition, so no build can hit the layer cache of an earlier run. Inside a repetition the
strategies take turns (their order rotates), so machine drift hits all alike.

Images are tagged `dockyard-bench/<strategy>:<run id>`; cache mounts use the ids
`dockyard-bench-<run id>-<strategy>[-r<n>]-*`. At the end the benchmark removes what it made:
its images (the tag and each intermediate image id it produced) and its cache-mount records
(found by id in `docker system df -v`, pruned one by one by record id).

Analysis (statistics, ratios, targets) is pure; Docker is reached through the Engine only.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard import dockerignore, requirements
from dockyard.errors import BuildFailed, DockyardError, Interrupted, SettingsError
from dockyard.progress import BuildReport, Event, RawJsonStream
from dockyard.progress.runner import run_stream
from dockyard.settings import BenchStrategy, default

if TYPE_CHECKING:
    from dockyard.engine import EngineProtocol

SCENARIOS: tuple[str, ...] = ("cold", "no-change", "code-edit", "deps-edit")
QUICK_SCENARIOS: tuple[str, ...] = ("code-edit", "deps-edit")
IMAGE_REPOSITORY = "dockyard-bench"
CACHE_PREFIX = "dockyard-bench"
REFERENCE = "engine"  # the plain `docker build` of the unchanged context (no-change floor)

SCENARIO_TITLES: Mapping[str, str] = {
    "cold": "first build (cold)",
    "no-change": "no change",
    "code-edit": "code edit",
    "deps-edit": "dependency added",
}
STRATEGY_TITLES: Mapping[str, str] = {
    "naive": "before",
    "pip-cache": "after: pip + cache mount",
    "optimized": "uv",
}

# Targets of the issue, as ratios to the baseline ("naive") in the same run.
RATIO_TARGETS: Mapping[str, float] = {"code-edit": 0.02, "deps-edit": 0.15, "cold": 0.50}
NO_CHANGE_TARGET = 1.5  # optimized no-change within 1.5x the engine's own fully cached build
IMPORT_TARGET = 0.5  # seconds to import the app at container start
TARGET_STRATEGY = "optimized"


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

# Wall clock (what a container start waits) and CPU time of the import (what it costs: on a
# busy machine the wall clock also counts the time other processes had the CPU).
_IMPORT_CODE = (
    "import time\n"
    "w, c = time.perf_counter(), time.process_time()\n"
    "import {module}\n"
    "print(f'dockyard-import {{time.perf_counter() - w:.4f}} {{time.process_time() - c:.4f}}')\n"
)


# -- statistics --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stats:
    """Median and range of repeated measurements."""

    median: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: Iterable[float]) -> Stats | None:
        data = sorted(values)
        if not data:
            return None
        return cls(statistics.median(data), data[0], data[-1], len(data))

    def to_dict(self) -> dict[str, Any]:
        return {"median": self.median, "min": self.low, "max": self.high, "n": self.n}


def ratio(value: float | None, baseline: float | None) -> float | None:
    """value / baseline; None when either is missing or the baseline is not positive."""
    if value is None or baseline is None or baseline <= 0:
        return None
    return value / baseline


# -- the installer's output ----------------------------------------------------------------------
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


# -- the plan ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Strategy:
    name: str
    dockerfile: Path  # absolute, in the user's tree
    scratch_dockerfile: str  # where the scratch copy has it, relative to the scratch root

    @property
    def title(self) -> str:
        return STRATEGY_TITLES.get(self.name, "")


def new_run_id(now: datetime | None = None) -> str:
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class BenchPlan:
    """Everything a run will do and name, decided before any Docker call."""

    run_id: str
    service: str
    context_dir: Path
    strategies: tuple[Strategy, ...]
    baseline: str  # the strategy ratios are taken against
    scenarios: tuple[str, ...]
    repetitions: int
    build_args: Mapping[str, str]
    files: tuple[str, ...]  # relative paths copied into each scratch context
    code_file: str
    requirements_file: str
    import_module: str
    import_runs: int
    command: str = ""

    # names the run owns
    def image(self, strategy: str) -> str:
        return f"{IMAGE_REPOSITORY}/{strategy}:{self.run_id}"

    def reference_image(self, strategy: str) -> str:
        return f"{IMAGE_REPOSITORY}/{strategy}:{self.run_id}-{REFERENCE}"

    @property
    def cache_prefix(self) -> str:
        return f"{CACHE_PREFIX}-{self.run_id}-"

    def cache_id(self, strategy: str, repetition: int) -> str:
        """A fresh id per repetition when `cold` runs (its mounts must start empty)."""
        base = f"{self.cache_prefix}{strategy}"
        return f"{base}-r{repetition}" if "cold" in self.scenarios else base

    @property
    def warm_up(self) -> bool:
        """Without `cold`, each strategy is built once untimed before the first measurement."""
        return "cold" not in self.scenarios

    @property
    def reference_runs(self) -> bool:
        return "no-change" in self.scenarios

    def builds(self) -> int:
        """How many builds the run starts (for the progress bar)."""
        per_rep = len(self.scenarios) + (1 if self.reference_runs else 0)
        warm = 1 if self.warm_up else 0
        return len(self.strategies) * (self.repetitions * per_rep + warm)

    def order(self, repetition: int) -> list[Strategy]:
        """Strategies in the order they take turns in this repetition (rotated each time)."""
        items = list(self.strategies)
        shift = (repetition - 1) % len(items)
        return items[shift:] + items[:shift]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "service": self.service,
            "context": str(self.context_dir),
            "strategies": {s.name: str(s.dockerfile) for s in self.strategies},
            "baseline": self.baseline,
            "scenarios": list(self.scenarios),
            "repetitions": self.repetitions,
            "build_args": dict(self.build_args),
            "code_file": self.code_file,
            "requirements_file": self.requirements_file,
            "import_module": self.import_module,
            "import_runs": self.import_runs,
            "images": [self.image(s.name) for s in self.strategies],
            "cache_id_prefix": self.cache_prefix,
            "command": self.command,
        }


def _inside(path: Path, root: Path) -> str | None:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


def choose_code_file(files: Sequence[str], requested: str = "") -> str:
    """The source file `code-edit` changes: the requested one, else a likely entry module."""
    if requested:
        wanted = requested.replace("\\", "/").lstrip("./")
        if wanted not in files:
            raise SettingsError(
                f"code file {requested!r} is not part of the build context",
                "set DOCKYARD_BENCH_CODE_FILE to a file the Dockerfiles copy "
                "(relative to the context)",
            )
        return wanted
    python = [f for f in files if f.endswith(".py") and not f.startswith(("tests/", "test_"))]
    for preferred in ("main.py", "app.py", "__main__.py"):
        found = [f for f in python if f.rsplit("/", 1)[-1] == preferred]
        if found:
            return sorted(found, key=lambda f: (f.count("/"), f))[0]
    if python:
        return python[0]
    raise SettingsError(
        "no Python source file in the build context for the code-edit scenario",
        "set DOCKYARD_BENCH_CODE_FILE to a file the Dockerfiles copy",
    )


def make_plan(
    *,
    service: str,
    context_dir: Path,
    dockerfiles: Sequence[BenchStrategy],
    build_args: Mapping[str, str],
    scenarios: Sequence[str] = SCENARIOS,
    strategies: Sequence[str] = (),
    repetitions: int = 3,
    code_file: str = "",
    requirements_file: str = default("DOCKYARD_BENCH_REQUIREMENTS"),
    import_module: str = default("DOCKYARD_BENCH_IMPORT"),
    import_runs: int = 5,
    run_id: str = "",
    command: str = "",
) -> BenchPlan:
    """Check the choices against the context on disk and fix every name of the run."""
    if repetitions < 1:
        raise SettingsError(f"--repetitions must be at least 1 (got {repetitions})", "")
    if import_runs < 0:
        raise SettingsError(f"--import-runs must be 0 or more (got {import_runs})", "")
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        raise SettingsError(
            f"unknown scenario {unknown[0]!r}", f"choose from: {', '.join(SCENARIOS)}"
        )
    chosen_scenarios = tuple(s for s in SCENARIOS if s in scenarios)
    if not chosen_scenarios:
        raise SettingsError("no scenario chosen", f"choose from: {', '.join(SCENARIOS)}")
    known = [s.name for s in dockerfiles]
    unknown = [s for s in strategies if s not in known]
    if unknown:
        raise SettingsError(
            f"unknown strategy {unknown[0]!r}",
            f"choose from: {', '.join(known)} (set in DOCKYARD_BENCH_STRATEGIES)",
        )
    selected = [
        (s.name, s.dockerfile) for s in dockerfiles if not strategies or s.name in strategies
    ]
    context_dir = context_dir.resolve()
    chosen: list[Strategy] = []
    files: set[str] = set()
    for name, rel in selected:
        path = Path(rel)
        dockerfile = path if path.is_absolute() else context_dir / path
        if not dockerfile.is_file():
            raise SettingsError(
                f"Dockerfile of strategy {name!r} not found: {dockerfile}",
                "fix DOCKYARD_BENCH_STRATEGIES (paths are relative to the build context)",
            )
        inside = _inside(dockerfile, context_dir)
        scratch = inside or f"Dockerfile.dockyard-bench-{name}"
        chosen.append(Strategy(name, dockerfile, scratch))
        files.update(
            dockerignore.context_files(
                context_dir, dockerignore.read_dockerignore(context_dir, dockerfile)
            )
        )
    if (context_dir / ".dockerignore").is_file():
        files.add(".dockerignore")
    code = choose_code_file(sorted(files), code_file) if "code-edit" in chosen_scenarios else ""
    requirements = requirements_file.replace("\\", "/").lstrip("./")
    if "deps-edit" in chosen_scenarios and requirements not in files:
        raise SettingsError(
            f"requirements file {requirements_file!r} is not part of the build context",
            "set DOCKYARD_BENCH_REQUIREMENTS (relative to the context) or leave out "
            "the deps-edit scenario",
        )
    return BenchPlan(
        run_id=run_id or new_run_id(),
        service=service,
        context_dir=context_dir,
        strategies=tuple(chosen),
        baseline=dockerfiles[0].name,
        scenarios=chosen_scenarios,
        repetitions=repetitions,
        build_args=dict(build_args),
        files=tuple(sorted(files)),
        code_file=code,
        requirements_file=requirements,
        import_module=import_module,
        import_runs=import_runs,
        command=command,
    )


# -- scratch contexts and edits ------------------------------------------------------------------
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


def code_edit(baseline: str, run_id: str, repetition: int) -> str:
    """The code file with one comment line appended (unique per run and repetition)."""
    text = baseline if baseline.endswith("\n") or not baseline else baseline + "\n"
    return f"{text}{edit_marker(run_id, repetition)}\n"


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
    text = baseline if baseline.endswith("\n") or not baseline else baseline + "\n"
    with_hash = "--hash=" in baseline
    return (
        f"{text}{edit_marker(run_id, repetition)}: adds {package.name}\n"
        f"{package.requirement(with_hash=with_hash)}\n"
    )


# -- results -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepTime:
    name: str
    seconds: float | None
    cached: bool

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "seconds": self.seconds, "cached": self.cached}


@dataclass(frozen=True)
class Sample:
    """One timed build."""

    strategy: str
    scenario: str  # one of SCENARIOS, or REFERENCE for the plain no-change build
    repetition: int
    seconds: float  # wall clock of the build command
    solve_seconds: float | None = None  # BuildKit's own: first step start to last step end
    image_id: str = ""
    image_size: int | None = None
    installer: InstallerCounts = InstallerCounts()
    steps: tuple[StepTime, ...] = ()
    cached_steps: int = 0
    total_steps: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "scenario": self.scenario,
            "repetition": self.repetition,
            "seconds": self.seconds,
            "solve_seconds": self.solve_seconds,
            "image_id": self.image_id,
            "image_size": self.image_size,
            "installer": self.installer.to_dict(),
            "cached_steps": self.cached_steps,
            "total_steps": self.total_steps,
            "steps": [s.to_dict() for s in self.steps],
        }


@dataclass(frozen=True)
class Cell:
    """One strategy in one scenario, over the repetitions."""

    strategy: str
    scenario: str
    stats: Stats | None
    ratio: float | None  # median / baseline median, same scenario
    installer: InstallerCounts  # of the last repetition
    steps: tuple[tuple[str, float], ...] = ()  # median seconds per step that ran, slowest first


@dataclass(frozen=True)
class Target:
    name: str
    limit: str
    measured: str
    met: bool | None  # None: not measured in this run

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "limit": self.limit, "measured": self.measured, "met": self.met}


@dataclass
class BenchReport:
    plan: BenchPlan
    started_at: str
    finished_at: str = ""
    engine_version: str = ""
    buildx_version: str = ""
    cpus: int | None = None
    load_before: tuple[float, float, float] | None = None
    load_after: tuple[float, float, float] | None = None
    samples: list[Sample] = field(default_factory=list)
    import_seconds: dict[str, list[float]] = field(default_factory=dict)
    import_cpu_seconds: dict[str, list[float]] = field(default_factory=dict)
    image_sizes: dict[str, int | None] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    status: str = "ok"  # ok | interrupted | failed

    @property
    def strategies(self) -> list[str]:
        return [s.name for s in self.plan.strategies]

    def values(self, strategy: str, scenario: str) -> list[float]:
        return [
            s.seconds for s in self.samples if s.strategy == strategy and s.scenario == scenario
        ]

    def stats(self, strategy: str, scenario: str) -> Stats | None:
        return Stats.of(self.values(strategy, scenario))

    def cell(self, strategy: str, scenario: str) -> Cell:
        stats = self.stats(strategy, scenario)
        base = self.stats(self.plan.baseline, scenario)
        samples = [s for s in self.samples if s.strategy == strategy and s.scenario == scenario]
        installer = samples[-1].installer if samples else InstallerCounts()
        per_step: dict[str, list[float]] = {}
        for sample in samples:
            for step in sample.steps:
                if not step.cached and step.seconds is not None:
                    per_step.setdefault(step.name, []).append(step.seconds)
        steps = sorted(
            ((name, statistics.median(v)) for name, v in per_step.items()),
            key=lambda item: -item[1],
        )
        return Cell(
            strategy,
            scenario,
            stats,
            ratio(stats.median if stats else None, base.median if base else None),
            installer,
            tuple(steps),
        )

    def import_stats(self, strategy: str) -> Stats | None:
        return Stats.of(self.import_seconds.get(strategy, []))

    def import_cpu_stats(self, strategy: str) -> Stats | None:
        return Stats.of(self.import_cpu_seconds.get(strategy, []))

    def targets(self) -> list[Target]:
        """The issue's targets for the optimized strategy; `met` None when not measured."""
        results: list[Target] = []
        have = TARGET_STRATEGY in self.strategies and self.plan.baseline in self.strategies
        for scenario, limit in RATIO_TARGETS.items():
            cell = self.cell(TARGET_STRATEGY, scenario) if have else None
            value = cell.ratio if cell else None
            results.append(
                Target(
                    f"{scenario}: {TARGET_STRATEGY} / {self.plan.baseline}",
                    f"<= {limit * 100:.0f} %",
                    "-" if value is None else f"{value * 100:.1f} %",
                    None if value is None else value <= limit,
                )
            )
        mine = self.stats(TARGET_STRATEGY, "no-change")
        floor = self.stats(TARGET_STRATEGY, REFERENCE)
        value = ratio(mine.median if mine else None, floor.median if floor else None)
        results.append(
            Target(
                f"no-change: {TARGET_STRATEGY} / engine's fully cached build",
                f"<= {NO_CHANGE_TARGET:.1f}x",
                "-" if value is None else f"{value:.2f}x",
                None if value is None else value <= NO_CHANGE_TARGET,
            )
        )
        imp = self.import_stats(TARGET_STRATEGY)
        cpu = self.import_cpu_stats(TARGET_STRATEGY)
        measured = "-" if imp is None else f"{imp.median:.2f} s"
        if imp is not None and cpu is not None:
            measured += f" (CPU {cpu.median:.2f} s)"
        results.append(
            Target(
                f"app import at container start ({TARGET_STRATEGY})",
                f"<= {IMPORT_TARGET:.1f} s",
                measured,
                None if imp is None else imp.median <= IMPORT_TARGET,
            )
        )
        return results

    def to_dict(self) -> dict[str, Any]:
        cells = []
        for scenario in [*self.plan.scenarios, *([REFERENCE] if self.plan.reference_runs else [])]:
            for strategy in self.strategies:
                cell = self.cell(strategy, scenario)
                cells.append(
                    {
                        "strategy": strategy,
                        "scenario": scenario,
                        "seconds": cell.stats.to_dict() if cell.stats else None,
                        "ratio": cell.ratio,
                        "installer": cell.installer.to_dict(),
                        "steps": [{"name": n, "median_seconds": s} for n, s in cell.steps],
                    }
                )
        return {
            "plan": self.plan.to_dict(),
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "engine_version": self.engine_version,
            "buildx_version": self.buildx_version,
            "cpus": self.cpus,
            "load_before": list(self.load_before) if self.load_before else None,
            "load_after": list(self.load_after) if self.load_after else None,
            "cells": cells,
            "import_seconds": {
                name: {"runs": runs, **(s.to_dict() if (s := Stats.of(runs)) else {})}
                for name, runs in self.import_seconds.items()
            },
            "import_cpu_seconds": {
                name: {"runs": runs, **(s.to_dict() if (s := Stats.of(runs)) else {})}
                for name, runs in self.import_cpu_seconds.items()
            },
            "image_sizes": self.image_sizes,
            "targets": [t.to_dict() for t in self.targets()],
            "samples": [s.to_dict() for s in self.samples],
            "removed": self.removed,
            "kept": self.kept,
        }


# -- running -------------------------------------------------------------------------------------
class BenchListener:
    """What a progress display hears; the default does nothing."""

    def build_started(self, label: str, index: int, total: int) -> None:
        """A build (timed or warm-up) begins; `index` counts from 1."""

    def build_events(self, events: list[Event], stream: RawJsonStream) -> None:
        """Progress of the running build."""

    def build_finished(self, sample: Sample | None, label: str) -> None:
        """A build ended (`sample` is None for an untimed warm-up)."""

    def message(self, text: str) -> None:
        """A phase of the run (measuring imports, cleaning up)."""


def load_average() -> tuple[float, float, float] | None:
    try:
        one, five, fifteen = os.getloadavg()
    except (AttributeError, OSError):  # Windows has no load average
        return None
    return (one, five, fifteen)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class _Owned:
    """What the run created, for the cleanup."""

    image_ids: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


class BenchRun:
    """One benchmark run: scratch contexts, the builds, import timings, cleanup."""

    def __init__(
        self,
        engine: EngineProtocol,
        plan: BenchPlan,
        *,
        listener: BenchListener | None = None,
        keep: bool = False,
        workdir: Path | None = None,
    ) -> None:
        self.engine = engine
        self.plan = plan
        self.listener = listener or BenchListener()
        self.keep = keep
        self._workdir = workdir
        self._owned = _Owned()
        self._index = 0
        self.report = BenchReport(plan=plan, started_at=_now())
        self._baseline_text: dict[str, str] = {}

    # -- public ----------------------------------------------------------------------------------
    def run(self) -> BenchReport:
        """Run every build; clean up also after a failure or Ctrl-C."""
        plan, report = self.plan, self.report
        report.cpus = os.cpu_count()
        report.load_before = load_average()
        version = self.engine.version()
        report.engine_version = str((version.get("Server") or {}).get("Version") or "")
        report.buildx_version = self.engine.buildx_version()
        root = Path(tempfile.mkdtemp(prefix="dockyard-bench-", dir=self._workdir))
        try:
            scratch = {s.name: copy_context(plan, root / s.name) for s in plan.strategies}
            for rel in (plan.code_file, plan.requirements_file):
                if rel:
                    self._baseline_text[rel] = (plan.context_dir / rel).read_text(encoding="utf-8")
            self._measure(scratch)
            self._measure_imports()
        except KeyboardInterrupt:
            report.status = "interrupted"
            raise
        except DockyardError as err:
            report.status = "interrupted" if isinstance(err, Interrupted) else "failed"
            raise
        finally:
            report.load_after = load_average()
            report.finished_at = _now()
            shutil.rmtree(root, ignore_errors=True)
            self._cleanup()
        return report

    # -- builds ----------------------------------------------------------------------------------
    def _measure(self, scratch: Mapping[str, Path]) -> None:
        plan = self.plan
        if plan.warm_up:
            for strategy in plan.order(1):
                self._build(strategy, scratch[strategy.name], "warm-up", 1, timed=False)
        for rep in range(1, plan.repetitions + 1):
            order = plan.order(rep)
            for scenario in plan.scenarios:
                for strategy in order:
                    folder = scratch[strategy.name]
                    self._apply(scenario, folder, rep)
                    self._build(strategy, folder, scenario, rep, timed=True)
                    if scenario == "no-change":
                        self._reference(strategy, folder, rep)

    def _apply(self, scenario: str, folder: Path, rep: int) -> None:
        plan = self.plan
        if scenario == "cold":  # each repetition starts again from the user's files
            for rel, text in self._baseline_text.items():
                (folder / rel).write_text(text, encoding="utf-8")
        elif scenario == "code-edit":
            text = code_edit(self._baseline_text[plan.code_file], plan.run_id, rep)
            (folder / plan.code_file).write_text(text, encoding="utf-8")
        elif scenario == "deps-edit":
            base = self._baseline_text[plan.requirements_file]
            text = deps_edit(base, plan.run_id, rep)
            (folder / plan.requirements_file).write_text(text, encoding="utf-8")

    def _build_args(self, strategy: Strategy, rep: int) -> dict[str, str]:
        return {**self.plan.build_args, "CACHE_ID": self.plan.cache_id(strategy.name, rep)}

    def _label(self, strategy: str, scenario: str, rep: int) -> str:
        return f"rep {rep}/{self.plan.repetitions}  {scenario:<10} {strategy}"

    def _build(
        self, strategy: Strategy, folder: Path, scenario: str, rep: int, *, timed: bool
    ) -> None:
        plan = self.plan
        image = plan.image(strategy.name)
        label = self._label(strategy.name, scenario, rep)
        self._index += 1
        self.listener.build_started(label, self._index, plan.builds())
        if image not in self._owned.tags:  # before the build: Ctrl-C may land after the tag
            self._owned.tags.append(image)
        run = run_stream(
            self.engine.buildx_build_stream(
                folder,
                dockerfile=folder / strategy.scratch_dockerfile,
                tag=image,
                build_args=self._build_args(strategy, rep),
                no_cache=scenario == "cold",
            ),
            RawJsonStream(default_service=strategy.name),
            on_events=self.listener.build_events,
        )
        seconds = run.seconds
        report = run.report(strategy.name)
        if run.status == "interrupted":
            raise Interrupted(
                "benchmark interrupted; its images and cache mounts were removed",
                "run `inv bench` again when ready",
            )
        if run.error is not None:
            raise _failure(label, report, run.error)
        inspect = self.engine.image_inspect(image)
        image_id = str(inspect.get("Id", ""))
        if image_id and image_id not in self._owned.image_ids:
            self._owned.image_ids.append(image_id)
        size = inspect.get("Size")
        self.report.image_sizes[strategy.name] = int(size) if size is not None else None
        if not timed:
            self.listener.build_finished(None, label)
            return
        sample = Sample(
            strategy=strategy.name,
            scenario=scenario,
            repetition=rep,
            seconds=seconds,
            solve_seconds=report.seconds,
            image_id=image_id,
            image_size=int(size) if size is not None else None,
            installer=installer_counts(report, Path(plan.requirements_file).name),
            steps=tuple(
                StepTime(
                    step.name.replace(plan.cache_id(strategy.name, rep), "${CACHE_ID}"),
                    step.seconds,
                    step.cached,
                )
                for step in report.steps
                if not step.is_from
            ),
            cached_steps=report.cached_steps,
            total_steps=report.total_steps,
        )
        self.report.samples.append(sample)
        self.listener.build_finished(sample, label)

    def _reference(self, strategy: Strategy, folder: Path, rep: int) -> None:
        """The engine's own fully cached build: a plain `docker build` of the same context."""
        plan = self.plan
        tag = plan.reference_image(strategy.name)
        label = self._label(strategy.name, REFERENCE, rep)
        self._index += 1
        self.listener.build_started(label, self._index, plan.builds())
        if tag not in self._owned.tags:
            self._owned.tags.append(tag)
        started = time.monotonic()
        image_id = self.engine.buildx_build_quiet(
            folder,
            dockerfile=folder / strategy.scratch_dockerfile,
            tag=tag,
            build_args=self._build_args(strategy, rep),
        )
        seconds = time.monotonic() - started
        if image_id and image_id not in self._owned.image_ids:
            self._owned.image_ids.append(image_id)
        sample = Sample(strategy.name, REFERENCE, rep, seconds, image_id=image_id)
        self.report.samples.append(sample)
        self.listener.build_finished(sample, label)

    # -- imports ---------------------------------------------------------------------------------
    def _measure_imports(self) -> None:
        """Time the app's import in each final image; the strategies take turns, like builds."""
        plan = self.plan
        if not plan.import_module or plan.import_runs <= 0:
            return
        code = _IMPORT_CODE.format(module=plan.import_module)
        self.listener.message(
            f"timing `import {plan.import_module}` at container start, "
            f"{plan.import_runs}x per image, the images taking turns"
        )
        for name in self.report.strategies:
            self.report.import_seconds[name] = []
            self.report.import_cpu_seconds[name] = []
        for run in range(1, plan.import_runs + 1):
            for strategy in plan.order(run):
                output = self.engine.python_in_image(plan.image(strategy.name), code)
                wall, cpu = parse_import_seconds(output)
                self.report.import_seconds[strategy.name].append(wall)
                self.report.import_cpu_seconds[strategy.name].append(cpu)

    # -- cleanup ---------------------------------------------------------------------------------
    def _cleanup(self) -> None:
        if self.keep:
            self.report.kept = [*self._owned.tags, f"cache mounts {self.plan.cache_prefix}*"]
            return
        self.listener.message("removing the benchmark's images and cache mounts")
        self.report.removed = cleanup(
            self.engine, self.plan, self._owned.tags, self._owned.image_ids
        )


def parse_import_seconds(output: str) -> tuple[float, float]:
    """(wall, cpu) seconds from the timing line the import probe prints."""
    for line in reversed(output.strip().splitlines()):
        parts = line.split()
        if len(parts) == 3 and parts[0] == "dockyard-import":
            try:
                return float(parts[1]), float(parts[2])
            except ValueError:
                break
    raise DockyardError(
        f"could not read the import time from: {output.strip()[-200:]!r}",
        "check DOCKYARD_BENCH_IMPORT (the module the app's container imports)",
    )


def owned_cache_records(records: Iterable[Mapping[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """Build-cache records of cache mounts whose id starts with `prefix`.

    A cache mount's record description reads `cached mount <target> from exec <command> with
    id "/<id>"` (`docker system df -v`).
    """
    owned = []
    for record in records:
        description = str(record.get("Description") or "")
        match = re.search(r'with id "/?([^"]*)"$', description)
        if match and match[1].startswith(prefix):
            owned.append(dict(record))
    return owned


def cleanup(
    engine: EngineProtocol, plan: BenchPlan, tags: Sequence[str], image_ids: Sequence[str]
) -> list[str]:
    """Remove the run's images (tags, then the ids it produced) and its cache-mount records."""
    return remove(engine, tags, image_ids, plan.cache_prefix)


def remove(
    engine: EngineProtocol, tags: Sequence[str], image_ids: Sequence[str], cache_prefix: str
) -> list[str]:
    """Remove images by tag, then by id, then the cache mounts whose id starts with the prefix;
    return what was removed (an image still used by a container stays, and is not listed)."""
    removed: list[str] = []
    for tag in tags:
        if engine.image_remove(tag):
            removed.append(tag)
    for image_id in image_ids:  # earlier builds' images, dangling once their tag moved on
        if engine.image_remove(image_id):
            removed.append(f"image {image_id.removeprefix('sha256:')[:12]}")
    for record in owned_cache_records(engine.build_cache_records(), cache_prefix):
        record_id = str(record.get("ID") or "")
        if record_id and engine.prune_build_cache_record(record_id):
            match = re.search(r'with id "/?([^"]*)"', str(record.get("Description") or ""))
            removed.append(f"cache mount {match[1] if match else record_id}")
    return removed


@dataclass(frozen=True)
class Leftovers:
    """What runs that never reached their cleanup (killed, `--keep`) left behind."""

    images: tuple[str, ...]  # `dockyard-bench/<strategy>:<run id>[-engine]`
    cache_mounts: tuple[str, ...]  # ids `dockyard-bench-<run id>-...`

    def describe(self) -> list[str]:
        return [
            *(f"image {name}" for name in self.images),
            *(f"cache mount {mount}" for mount in self.cache_mounts),
        ]


def find_leftovers(engine: EngineProtocol) -> Leftovers:
    """Every image tagged in the benchmark's repository and every cache mount with its prefix.
    (Untagged images of a killed run cannot be told apart from anyone else's.)"""
    mounts = []
    for record in owned_cache_records(engine.build_cache_records(), f"{CACHE_PREFIX}-"):
        match = re.search(r'with id "/?([^"]*)"', str(record.get("Description") or ""))
        if match:
            mounts.append(match[1])
    return Leftovers(
        tuple(engine.image_references(f"{IMAGE_REPOSITORY}/*")), tuple(sorted(set(mounts)))
    )


def remove_leftovers(engine: EngineProtocol, leftovers: Leftovers) -> list[str]:
    removed = remove(engine, leftovers.images, (), f"{CACHE_PREFIX}-")
    return [f"image {r}" if not r.startswith(("image ", "cache mount ")) else r for r in removed]


def _failure(label: str, report: BuildReport, err: DockyardError) -> DockyardError:
    step = report.failing_step
    if step is None:
        return BuildFailed(
            f"bench build ({' '.join(label.split())}) failed: {err.message}",
            err.hint,
            detail=err.detail,
        )
    lines = report.failure_log(30)
    detail = "\n".join([f"--- last {len(lines)} log lines of {step.name} ---", *lines])
    return BuildFailed(
        f"bench build ({' '.join(label.split())}) failed at `{step.instruction}`: {step.error}",
        "fix the Dockerfile (check it with `docker build -f ...`) and run the benchmark again",
        detail=detail if lines else "",
    )


def describe_plan(plan: BenchPlan) -> list[str]:
    """What the run will create and remove, named before anything happens."""
    lines = [
        f"service {plan.service}: {len(plan.strategies)} strategies x "
        f"{len(plan.scenarios)} scenarios x {plan.repetitions} repetition(s) = "
        f"{plan.builds()} builds on scratch copies of {plan.context_dir}",
        "images it creates and removes at the end: "
        + ", ".join(plan.image(s.name) for s in plan.strategies)
        + (
            ", " + ", ".join(plan.reference_image(s.name) for s in plan.strategies)
            if plan.reference_runs
            else ""
        )
        + " (and the earlier image ids these tags pointed to during the run)",
        f"cache mounts it creates and removes at the end: ids {plan.cache_prefix}*",
        "left alone: every other image, cache mount and build-cache record",
    ]
    return lines


def run_bench(
    engine: EngineProtocol,
    plan: BenchPlan,
    *,
    listener: BenchListener | None = None,
    keep: bool = False,
) -> BenchReport:
    """Run the plan and return its report. On a failure or Ctrl-C the benchmark's images and
    cache mounts are removed first, then the error is raised."""
    return BenchRun(engine, plan, listener=listener, keep=keep).run()


def plan_for_project(
    engine: EngineProtocol,
    *,
    service: str = "",
    scenarios: Sequence[str] = (),
    strategies: Sequence[str] = (),
    repetitions: int = 0,
    quick: bool = False,
    import_runs: int = 5,
    command: str = "",
) -> BenchPlan:
    """The plan for a compose project: its (one) buildable service's context and build args,
    the strategies of DOCKYARD_BENCH_STRATEGIES, the scenario files from the settings."""
    from dockyard import build

    settings = engine.settings
    services = build.choose_services(engine, [service] if service else [])
    if len(services) > 1:
        raise SettingsError(
            f"several services have a build: section ({', '.join(services)})",
            "choose one with --service",
        )
    target = build.plan_service(engine, services[0])
    return make_plan(
        service=target.service,
        context_dir=target.context_dir,
        dockerfiles=settings.bench_strategies,
        build_args=target.build_args,
        scenarios=scenarios or (QUICK_SCENARIOS if quick else SCENARIOS),
        strategies=strategies,
        repetitions=repetitions or (1 if quick else 3),
        code_file=settings.bench_code_file,
        requirements_file=settings.bench_requirements,
        import_module=settings.bench_import,
        import_runs=import_runs,
        command=command,
    )
