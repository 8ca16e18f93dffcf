"""The benchmark's plan: scenarios, strategies and every name a run will use, checked against the
build context on disk before any Docker call, and described for the user to confirm."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard import dockerignore
from dockyard.bench.fresh import shared_step
from dockyard.bench.leftovers import RUN_LABEL, image_tag, run_cache_prefix
from dockyard.bench.owner import new_run_id, owner_of
from dockyard.errors import DockyardError, SettingsError
from dockyard.settings import BenchStrategy, default

if TYPE_CHECKING:
    from dockyard.engine import EngineProtocol

SCENARIOS: tuple[str, ...] = ("cold", "no-change", "code-edit", "deps-edit", "team-cache")
# Run without --scenario (team-cache only with a team cache set); --quick.
DEFAULT_SCENARIOS: tuple[str, ...] = ("cold", "no-change", "code-edit", "deps-edit")
QUICK_SCENARIOS: tuple[str, ...] = ("code-edit", "deps-edit")
TEAM = "team-cache"  # fresh machine: its cache removed, built from the team cache alone
REFERENCE = "engine"  # the plain `docker build` of the unchanged context (no-change floor)

SCENARIO_TITLES: Mapping[str, str] = {
    "cold": "first build (cold)",
    "no-change": "no change",
    "code-edit": "code edit",
    "deps-edit": "dependency added",
    TEAM: "fresh machine, team cache",
}
STRATEGY_TITLES: Mapping[str, str] = {
    "naive": "before",
    "pip-cache": "after: pip + cache mount",
    "optimized": "uv",
}


@dataclass(frozen=True)
class PlannedStrategy:
    """A configured strategy (`settings.BenchStrategy`) as the plan found it on disk."""

    name: str
    dockerfile: Path  # absolute, in the user's tree
    scratch_dockerfile: str  # where the scratch copy has it, relative to the scratch root

    @property
    def title(self) -> str:
        return STRATEGY_TITLES.get(self.name, "")


@dataclass(frozen=True)
class TeamBench:
    """Where the team-cache scenario exports its cache, and how (decided by the image store)."""

    location: str  # DOCKYARD_TEAM_CACHE
    repository: str  # <registry>/<prefix>/<project>/<service>
    mode: str  # "registry" (type=registry,mode=max) or "inline" (inline cache, pushed image)
    why: str

    def ref(self, run_id: str, strategy: str) -> str:
        """One tag per run and strategy (each repetition overwrites it)."""
        from dockyard.teamcache import tag

        return f"{self.repository}:{tag(f'dockyard-bench-{run_id}-{strategy}')}"

    def to_dict(self) -> dict[str, Any]:
        return {"location": self.location, "repository": self.repository, "export": self.mode}


@dataclass(frozen=True)
class BenchPlan:
    """Everything a run will do and name, decided before any Docker call."""

    run_id: str
    service: str
    context_dir: Path
    strategies: tuple[PlannedStrategy, ...]
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
    team: TeamBench | None = None  # set when the team-cache scenario runs
    # strategies the team-cache scenario cannot measure, and why (their cache is shared)
    team_skipped: Mapping[str, str] = field(default_factory=dict)

    # names the run owns
    def image(self, strategy: str) -> str:
        return image_tag(strategy, self.run_id)

    def reference_image(self, strategy: str) -> str:
        return image_tag(strategy, f"{self.run_id}-{REFERENCE}")

    @property
    def labels(self) -> dict[str, str]:
        """The label every image of the run carries (also its untagged ones)."""
        return {RUN_LABEL: self.run_id}

    @property
    def cache_prefix(self) -> str:
        return run_cache_prefix(self.run_id)

    def cache_id(self, strategy: str, repetition: int) -> str:
        """A fresh id per repetition when `cold` runs (its mounts must start empty)."""
        base = f"{self.cache_prefix}{strategy}"
        return f"{base}-r{repetition}" if "cold" in self.scenarios else base

    def team_cache_id(self, strategy: str, repetition: int) -> str:
        """The team-cache scenario's own id per repetition: every step after `ARG CACHE_ID`
        gets cache keys no other build has, so the records its export build made can be told
        apart and removed (a fresh machine), and the team cache is all that is left."""
        return f"{self.cache_prefix}{strategy}-t{repetition}"

    def team_ref(self, strategy: str) -> str:
        return self.team.ref(self.run_id, strategy) if self.team else ""

    @property
    def warm_up(self) -> bool:
        """Without `cold`, each strategy is built once untimed before the first measurement."""
        return "cold" not in self.scenarios

    @property
    def reference_runs(self) -> bool:
        return "no-change" in self.scenarios

    def builds(self) -> int:
        """How many builds the run starts (for the progress bar)."""
        others = [s for s in self.scenarios if s != TEAM]
        per_rep = len(others) + (1 if self.reference_runs else 0)
        warm = 1 if self.warm_up else 0
        total = len(self.strategies) * (self.repetitions * per_rep + warm)
        # the team-cache scenario: an untimed export build before each timed one
        return total + 2 * self.repetitions * len(self.team_strategies)

    @property
    def team_strategies(self) -> list[PlannedStrategy]:
        """The strategies the team-cache scenario measures."""
        if TEAM not in self.scenarios:
            return []
        return [s for s in self.strategies if s.name not in self.team_skipped]

    def order(self, repetition: int) -> list[PlannedStrategy]:
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
            "team_cache": self.team.to_dict() if self.team else None,
            "team_skipped": dict(self.team_skipped),
        }


def _inside(path: Path, root: Path) -> str | None:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


def context_path(text: str) -> str:
    """A path in the build context as a setting may write it (`./app\\main.py`), spelled like
    the context's file list (`app/main.py`); a leading dot of a name stays (`.config/x.py`)."""
    if not text:
        return ""
    return dockerignore.go_clean(text.replace("\\", "/")).lstrip("/")


def choose_code_file(files: Sequence[str], requested: str = "") -> str:
    """The source file `code-edit` changes: the requested one, else a likely entry module."""
    if requested:
        wanted = context_path(requested)
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
    scenarios: Sequence[str] = DEFAULT_SCENARIOS,
    strategies: Sequence[str] = (),
    repetitions: int = 3,
    code_file: str = "",
    requirements_file: str = default("DOCKYARD_BENCH_REQUIREMENTS"),
    import_module: str = default("DOCKYARD_BENCH_IMPORT"),
    import_runs: int = 5,
    run_id: str = "",
    command: str = "",
    team: TeamBench | None = None,
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
    if TEAM in scenarios and team is None:
        raise SettingsError(
            "the team-cache scenario needs a team cache",
            "set DOCKYARD_TEAM_CACHE=<registry>/<prefix> or pass --team-cache",
        )
    wanted = {*scenarios, "cold"} if TEAM in scenarios else set(scenarios)  # its share of cold
    chosen_scenarios = tuple(s for s in SCENARIOS if s in wanted)
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
    chosen: list[PlannedStrategy] = []
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
        chosen.append(PlannedStrategy(name, dockerfile, scratch))
        files.update(
            dockerignore.context_files(
                context_dir, dockerignore.read_dockerignore(context_dir, dockerfile)
            )
        )
    if (context_dir / ".dockerignore").is_file():
        files.add(".dockerignore")
    skipped = {}
    if TEAM in chosen_scenarios:
        for strategy in chosen:
            why = shared_step(strategy.dockerfile.read_text(encoding="utf-8"), build_args)
            if why:
                skipped[strategy.name] = why
    code = choose_code_file(sorted(files), code_file) if "code-edit" in chosen_scenarios else ""
    requirements = context_path(requirements_file)
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
        team=team if TEAM in chosen_scenarios else None,
        team_skipped=skipped,
    )


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
    the strategies of DOCKYARD_BENCH_STRATEGIES, the scenario files from the settings; the
    team-cache scenario too (unasked) when a team cache is set and its registry answers."""
    from dockyard import build, teamcache

    settings = engine.settings
    services = build.choose_services(engine, [service] if service else [])
    if len(services) > 1:
        raise SettingsError(
            f"several services have a build: section ({', '.join(services)})",
            "choose one with --service",
        )
    built = build.plan_service(engine, services[0])
    team = None
    chosen = tuple(scenarios) or (QUICK_SCENARIOS if quick else DEFAULT_SCENARIOS)
    if settings.team_cache.strip() and (TEAM in scenarios or not (scenarios or quick)):
        location = teamcache.parse_location(settings.team_cache)
        unreachable = teamcache.probe(location.registry)
        if unreachable and TEAM in scenarios:
            raise DockyardError(
                f"team cache {location}: the registry {location.registry} is unreachable "
                f"({unreachable})",
                "start or reach the registry, or leave out --scenario team-cache",
            )
        if not unreachable:
            mode, why = teamcache.export_mode(engine.stack.image_store)
            repository = location.repository(engine.project_name, built.service)
            team = TeamBench(str(location), repository, mode, why)
            chosen = tuple(dict.fromkeys([*chosen, TEAM]))
    return make_plan(
        service=built.service,
        context_dir=built.context_dir,
        dockerfiles=settings.bench_strategies,
        build_args=built.build_args,
        scenarios=chosen,
        strategies=strategies,
        repetitions=repetitions or (1 if quick else 3),
        code_file=settings.bench_code_file,
        requirements_file=settings.bench_requirements,
        import_module=settings.bench_import,
        import_runs=import_runs,
        command=command,
        team=team,
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
    if plan.team is not None:
        refs = ", ".join(plan.team_ref(s.name) for s in plan.team_strategies) or "-"
        lines[3:3] = [
            f"fresh machine, team cache: each repetition exports its cache as {plan.team.why} "
            f"to {refs} (left in the registry: dockyard never deletes from one), then removes "
            "the build-cache records and images that export build made (told apart by their "
            "CACHE_ID) and builds from the team cache alone"
        ]
        lines += [
            f"fresh machine, team cache: {name} not measured: {why} (its cache is every other "
            "build's too, so this engine cannot be made a fresh machine for it)"
            for name, why in plan.team_skipped.items()
        ]
    owner = owner_of(plan.run_id)
    if owner is not None:
        lines.append(
            f"run {plan.run_id}: images labelled {RUN_LABEL}={plan.run_id}; while process "
            f"{owner.pid} runs, `inv bench --clean` anywhere leaves them alone"
        )
    return lines
