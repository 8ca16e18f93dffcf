"""The benchmark's results: every timed build (`Sample`), each strategy in each scenario over the
repetitions (`Cell`: median, range, share of the baseline), the issue's targets met or missed,
and `to_dict()` for `--json`. Pure: nothing here runs a build."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.bench.installer import InstallerCounts
from dockyard.bench.plan import REFERENCE, TEAM, BenchPlan

# Targets, as ratios to the baseline ("naive") in the same run.
RATIO_TARGETS: Mapping[str, float] = {"deps-edit": 0.12, "cold": 0.35}
# Fresh machine with the team cache, as a share of the same Dockerfile's cold build.
COLD_SHARE_TARGET = 0.25
# Targets as multiples of the engine's own fully cached build of the same Dockerfile (the
# floor: a build cannot beat one that does nothing; a share of naive depends on naive's weight).
FLOOR_TARGETS: Mapping[str, float] = {"code-edit": 1.2, "no-change": 1.5}
IMPORT_TARGET = 0.5  # seconds to import the app at container start
TARGET_STRATEGY = "optimized"


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


@dataclass(frozen=True)
class StepTime:
    """One step of a sample (its cache-mount ids written `${CACHE_ID}`, alike in every run)."""

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
    installer: InstallerCounts = field(default_factory=InstallerCounts)
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
    ratio: float | None  # median / baseline median, same scenario (team-cache: / own cold)
    installer: InstallerCounts  # of the last repetition
    steps: tuple[tuple[str, float], ...] = ()  # median seconds per step that ran, slowest first


@dataclass(frozen=True)
class BenchTarget:
    """One of the issue's targets, met, missed or (None) not measured in this run."""

    name: str
    limit: str
    measured: str
    met: bool | None  # None: not measured in this run

    @classmethod
    def share(cls, name: str, limit: float, value: float | None) -> BenchTarget:
        """A target on a ratio, shown as a percentage: `value` at most `limit`."""
        return cls(
            name,
            f"<= {limit * 100:.0f} %",
            "-" if value is None else f"{value * 100:.1f} %",
            None if value is None else value <= limit,
        )

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "limit": self.limit, "measured": self.measured, "met": self.met}


@dataclass
class BenchReport:
    """One run: its plan, the machine it ran on, every sample and what it removed or kept."""

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
    notes: list[str] = field(default_factory=list)  # what the run could not measure, and why
    # per team-cache build: the ref, the export mode, the export build's records removed
    fresh_machine: list[dict[str, Any]] = field(default_factory=list)
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
        # A fresh machine with the team cache is compared with the same Dockerfile's cold build.
        base = (
            self.stats(strategy, "cold")
            if scenario == TEAM
            else self.stats(self.plan.baseline, scenario)
        )
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

    def targets(self) -> list[BenchTarget]:
        """The issue's targets for the optimized strategy; `met` None when not measured."""
        results: list[BenchTarget] = []
        have = TARGET_STRATEGY in self.strategies and self.plan.baseline in self.strategies
        for scenario, limit in RATIO_TARGETS.items():
            cell = self.cell(TARGET_STRATEGY, scenario) if have else None
            name = f"{scenario}: {TARGET_STRATEGY} / {self.plan.baseline}"
            results.append(BenchTarget.share(name, limit, cell.ratio if cell else None))
        if TEAM in self.plan.scenarios:
            team = self.cell(TARGET_STRATEGY, TEAM) if TARGET_STRATEGY in self.strategies else None
            name = f"{TEAM}: {TARGET_STRATEGY} / {TARGET_STRATEGY} cold"
            results.append(BenchTarget.share(name, COLD_SHARE_TARGET, team.ratio if team else None))
        floor = self.stats(TARGET_STRATEGY, REFERENCE)
        for scenario, times in FLOOR_TARGETS.items():
            mine = self.stats(TARGET_STRATEGY, scenario)
            value = ratio(mine.median if mine else None, floor.median if floor else None)
            results.append(
                BenchTarget(
                    f"{scenario}: {TARGET_STRATEGY} / engine's fully cached build",
                    f"<= {times:.1f}x",
                    "-" if value is None else f"{value:.2f}x",
                    None if value is None else value <= times,
                )
            )
        imp = self.import_stats(TARGET_STRATEGY)
        cpu = self.import_cpu_stats(TARGET_STRATEGY)
        measured = "-" if imp is None else f"{imp.median:.2f} s"
        if imp is not None and cpu is not None:
            measured += f" (CPU {cpu.median:.2f} s)"
        results.append(
            BenchTarget(
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
            "notes": self.notes,
            "fresh_machine": self.fresh_machine,
        }
