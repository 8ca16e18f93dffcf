"""Statistics, cells, ratios, targets and the JSON of a report."""

from __future__ import annotations

import json

import pytest

from dockyard.bench.installer import InstallerCounts
from dockyard.bench.plan import QUICK_SCENARIOS, SCENARIOS
from dockyard.bench.report import Stats, ratio
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
    assert data["plan"]["scenarios"] == list(SCENARIOS)
    assert data["plan"]["images"][0] == "dockyard-bench/naive:20261127-180000-abcd"
    assert len(data["samples"]) == 3 * 3 * 5
    cells = {(c["strategy"], c["scenario"]): c for c in data["cells"]}
    assert set(cells) == {(s, sc) for s in TIMES for sc in [*SCENARIOS, "engine"]}
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
