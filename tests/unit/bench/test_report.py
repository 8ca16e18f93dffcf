"""Statistics, cells, ratios, targets and the JSON of a report."""

from __future__ import annotations

import dataclasses
import json

import pytest

from dockyard.bench.installer import InstallerCounts
from dockyard.bench.plan import DEFAULT_SCENARIOS, QUICK_SCENARIOS, TEAM, TeamBench
from dockyard.bench.report import BenchReport, Sample, Stats, ratio
from tests.unit.bench.helpers import TIMES, make_report


def test_stats_median_and_range_odd() -> None:
    assert Stats.of([3.0, 1.0, 2.0]) == Stats(2.0, 1.0, 3.0, 3)


def test_stats_median_of_even_count_is_the_mean_of_the_middle_two() -> None:
    assert Stats.of([4.0, 1.0, 2.0, 10.0]) == Stats(3.0, 1.0, 10.0, 4)


def test_stats_of_nothing_is_none() -> None:
    assert Stats.of([]) is None


def test_ratio() -> None:
    assert ratio(0.5, 10.0) == 0.05
    assert ratio(None, 10.0) is None
    assert ratio(1.0, None) is None
    assert ratio(1.0, 0.0) is None


def test_cells_and_ratios() -> None:
    report = make_report()
    cell = report.cell("optimized", "deps-edit")
    assert cell.stats == Stats(1.3, 1.274, 1.326, 3)
    assert cell.ratio == pytest.approx(1.3 / 9.1)
    assert cell.installer == InstallerCounts("uv", 18, 1, 17)
    assert cell.steps == (("[runtime 4/6] RUN uv pip sync", 0.92), ("exporting to image", 0.25))
    assert report.cell("naive", "cold").ratio == 1.0
    assert report.cell("optimized", "nothing").stats is None


def test_targets() -> None:
    targets = {t.name: t for t in make_report().targets()}
    assert [(t.measured, t.met) for t in targets.values()] == [
        ("14.3 %", False),
        ("45.9 %", False),
        ("1.21x", False),
        ("1.07x", True),
        ("0.47 s (CPU 0.42 s)", True),
    ]
    assert list(targets) == [
        "deps-edit: optimized / naive",
        "cold: optimized / naive",
        "code-edit: optimized / engine's fully cached build",
        "no-change: optimized / engine's fully cached build",
        "app import at container start (optimized)",
    ]


def test_targets_not_measured_in_a_quick_run() -> None:
    report = make_report(repetitions=1, scenarios=QUICK_SCENARIOS)
    report.import_seconds = {}
    report.import_cpu_seconds = {}
    met = [t.met for t in report.targets()]
    assert met == [False, None, None, None, None]


def test_report_to_dict_is_json() -> None:
    data = json.loads(json.dumps(make_report().to_dict()))
    assert data["plan"]["scenarios"] == list(DEFAULT_SCENARIOS)
    assert data["plan"]["images"][0] == "dockyard-bench/naive:20261127-180000-abcd"
    assert len(data["samples"]) == 3 * 3 * 5
    cells = {(c["strategy"], c["scenario"]): c for c in data["cells"]}
    assert set(cells) == {(s, sc) for s in TIMES for sc in [*DEFAULT_SCENARIOS, "engine"]}
    assert cells[("optimized", "deps-edit")]["seconds"] == {
        "median": 1.3,
        "min": 1.274,
        "max": 1.326,
        "n": 3,
    }
    assert cells[("optimized", "deps-edit")]["installer"]["downloaded"] == 1
    assert data["import_seconds"]["optimized"]["median"] == 0.47
    assert data["import_cpu_seconds"]["optimized"]["runs"] == [0.42, 0.41, 0.44]
    assert [t["met"] for t in data["targets"]] == [False, False, False, True, True]


def team_report() -> BenchReport:
    """cold (from make_report's timings) and a fresh machine with the team cache for optimized;
    naive's fresh-machine build could not be made fresh (a note instead of a sample)."""
    report = make_report(scenarios=("cold",))
    team = TeamBench("127.0.0.1:5000/t", "127.0.0.1:5000/t/dockyard/backend", "inline", "inline")
    report.plan = dataclasses.replace(report.plan, scenarios=("cold", TEAM), team=team)
    for rep, seconds in enumerate((0.9, 1.1, 1.0), start=1):
        report.samples.append(Sample("optimized", TEAM, rep, seconds, cached_steps=6))
    report.notes.append("rep 1/3 team-cache naive: not measured: 3 of its steps came from ...")
    return report


def test_a_fresh_machine_is_a_share_of_the_same_dockerfiles_cold_build() -> None:
    report = team_report()
    cell = report.cell("optimized", TEAM)
    assert cell.stats is not None and cell.stats.median == 1.0
    assert cell.ratio == pytest.approx(1.0 / 3.9)  # optimized's own cold median, not naive's
    assert report.cell("naive", TEAM).stats is None
    target = next(t for t in report.targets() if t.name.startswith("team-cache"))
    assert (target.name, target.limit, target.measured, target.met) == (
        "team-cache: optimized / optimized cold",
        "<= 25 %",
        "25.6 %",
        False,
    )
    data = report.to_dict()
    assert data["plan"]["team_cache"]["export"] == "inline"
    assert data["notes"] == report.notes
    assert [t["name"] for t in data["targets"]].count(target.name) == 1


def test_without_the_scenario_there_is_no_team_cache_target() -> None:
    assert not [t for t in make_report().targets() if t.name.startswith("team-cache")]
