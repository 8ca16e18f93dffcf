"""What the bench unit tests share: real captured build streams, the bundled backend's plan, and
a report of made-up but plausible timings."""

from __future__ import annotations

import hashlib
from pathlib import Path

from dockyard.bench.installer import InstallerCounts
from dockyard.bench.plan import DEFAULT_SCENARIOS, BenchPlan, PlannedStrategy, make_plan
from dockyard.bench.report import BenchReport, Sample, StepTime
from dockyard.progress import BuildReport, reports_from_stream
from dockyard.settings import default, parse_strategies

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "tests" / "data" / "bench"
BACKEND = REPO / "backend"


def captured(name: str) -> BuildReport:
    reports = reports_from_stream((DATA / name).read_bytes(), returncode=0, default_service="b")
    assert list(reports) == ["b"]
    return reports["b"]


def tree_digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and ".mypy_cache" not in p.parts
    }


def backend_plan(**overrides: object) -> BenchPlan:
    options: dict[str, object] = {
        "service": "backend",
        "context_dir": BACKEND,
        "dockerfiles": parse_strategies(default("DOCKYARD_BENCH_STRATEGIES")),
        "build_args": {"PYTHON_IMAGE": "dockyard-local/python:3.11-slim", "CACHE_ID": "dockyard"},
        "run_id": "20261127-180000-abcd",
    }
    options.update(overrides)
    return make_plan(**options)  # type: ignore[arg-type]


TIMES = {
    "naive": {"cold": 8.5, "no-change": 0.3, "engine": 0.3, "code-edit": 8.2, "deps-edit": 9.1},
    "pip-cache": {
        "cold": 9.0,
        "no-change": 0.31,
        "engine": 0.3,
        "code-edit": 0.33,
        "deps-edit": 8.9,
    },
    "optimized": {
        "cold": 3.9,
        "no-change": 0.31,
        "engine": 0.29,
        "code-edit": 0.35,
        "deps-edit": 1.3,
    },
}


def make_report(
    repetitions: int = 3, scenarios: tuple[str, ...] = DEFAULT_SCENARIOS
) -> BenchReport:
    plan = BenchPlan(
        run_id="20261127-180000-abcd",
        service="backend",
        context_dir=BACKEND,
        strategies=tuple(
            PlannedStrategy(name, BACKEND / f"Dockerfile.{name}", f"Dockerfile.{name}")
            for name in TIMES
        ),
        baseline="naive",
        scenarios=scenarios,
        repetitions=repetitions,
        build_args={},
        files=(),
        code_file="app/main.py",
        requirements_file="requirements.txt",
        import_module="app.main",
        import_runs=3,
        command="inv bench --markdown results.md",
    )
    report = BenchReport(
        plan=plan,
        started_at="2026-11-27T18:00:00+00:00",
        finished_at="2026-11-27T18:06:00+00:00",
        engine_version="26.1.5",
        buildx_version="0.13.1",
        cpus=2,
        load_before=(0.91, 1.2, 1.5),
        load_after=(1.4, 1.3, 1.5),
    )
    downloads = {
        ("naive", "cold"): InstallerCounts("pip", 17, 17, 0),
        ("pip-cache", "cold"): InstallerCounts("pip", 17, 17, 0),
        ("optimized", "cold"): InstallerCounts("uv", 17, 17, 0),
        ("naive", "deps-edit"): InstallerCounts("pip", 18, 18, 0),
        ("pip-cache", "deps-edit"): InstallerCounts("pip", 18, 18, 0),
        ("optimized", "deps-edit"): InstallerCounts("uv", 18, 1, 17),
    }
    for rep in range(1, repetitions + 1):
        for strategy, times in TIMES.items():
            for scenario, seconds in times.items():
                if scenario not in scenarios and not (
                    scenario == "engine" and "no-change" in scenarios
                ):
                    continue
                report.samples.append(
                    Sample(
                        strategy,
                        scenario,
                        rep,
                        round(seconds * (1 + 0.02 * (rep - 2)), 4),
                        installer=downloads.get((strategy, scenario), InstallerCounts()),
                        steps=(
                            StepTime("[runtime 4/6] RUN uv pip sync", 0.9 + rep / 100, False),
                            StepTime("exporting to image", 0.25, False),
                            StepTime("[runtime 2/6] RUN groupadd", 0.3, True),
                        ),
                    )
                )
    report.image_sizes = {"naive": 220_850_000, "pip-cache": 220_860_000, "optimized": 220_790_000}
    report.import_seconds = {name: [0.47, 0.45, 0.52] for name in TIMES}
    report.import_cpu_seconds = {name: [0.42, 0.41, 0.44] for name in TIMES}
    report.removed = ["dockyard-bench/naive:20261127-180000-abcd"]
    return report
