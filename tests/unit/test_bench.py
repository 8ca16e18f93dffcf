"""`inv bench` without Docker: statistics, installer counting on real captured output, the
scratch-copy edits, the plan, and the renderers (exact text on a fixed-width console)."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from python_on_whales.exceptions import DockerException
from rich.console import Console

from dockyard import bench
from dockyard.bench import (
    BenchPlan,
    BenchReport,
    InstallerCounts,
    Sample,
    Stats,
    Strategy,
)
from dockyard.engine.buildx import build_command
from dockyard.engine.errors import translate
from dockyard.errors import DockyardError, SettingsError
from dockyard.progress import BuildReport, reports_from_stream
from dockyard.render import bench as render_bench
from dockyard.render import make_console
from dockyard.settings import BenchStrategy, default, load_settings, parse_strategies
from tests.fake_engine import FakeEngine

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "bench"
BACKEND = REPO / "backend"


def captured(name: str) -> BuildReport:
    reports = reports_from_stream((DATA / name).read_bytes(), returncode=0, default_service="b")
    assert list(reports) == ["b"]
    return reports["b"]


# -- statistics ----------------------------------------------------------------------------------
def test_stats_median_and_range_odd() -> None:
    assert Stats.of([3.0, 1.0, 2.0]) == Stats(2.0, 1.0, 3.0, 3)


def test_stats_median_of_even_count_is_the_mean_of_the_middle_two() -> None:
    assert Stats.of([4.0, 1.0, 2.0, 10.0]) == Stats(3.0, 1.0, 10.0, 4)


def test_stats_of_nothing_is_none() -> None:
    assert Stats.of([]) is None


def test_ratio() -> None:
    assert bench.ratio(0.5, 10.0) == 0.05
    assert bench.ratio(None, 10.0) is None
    assert bench.ratio(1.0, None) is None
    assert bench.ratio(1.0, 0.0) is None


# -- installer output (real captures) ------------------------------------------------------------
@pytest.mark.parametrize(
    ("capture", "expected"),
    [
        ("naive-cold.rawjson", InstallerCounts("pip", 17, 17, 0)),
        ("naive-code-edit.rawjson", InstallerCounts("pip", 17, 17, 0)),
        ("naive-deps-edit.rawjson", InstallerCounts("pip", 18, 18, 0)),
        ("pip-cache-cold.rawjson", InstallerCounts("pip", 17, 17, 0)),
        ("pip-cache-code-edit.rawjson", InstallerCounts()),
        ("pip-cache-deps-edit.rawjson", InstallerCounts("pip", 18, 18, 0)),
        # pip installing uv itself does not count: that step does not name requirements.txt
        ("optimized-cold.rawjson", InstallerCounts("uv", 17, 17, 0)),
        ("optimized-code-edit.rawjson", InstallerCounts()),
        ("optimized-deps-edit.rawjson", InstallerCounts("uv", 18, 1, 17)),
    ],
)
def test_installer_counts_on_real_builds(capture: str, expected: InstallerCounts) -> None:
    assert bench.installer_counts(captured(capture), "requirements.txt") == expected


def test_without_the_requirements_name_every_install_step_counts() -> None:
    # optimized-cold: pip downloads uv (1 package), uv downloads the 17 requirements
    counts = bench.installer_counts(captured("optimized-cold.rawjson"))
    assert counts == InstallerCounts("pip+uv", 18, 18, 0)


def test_count_installer_reads_uv_lines_of_a_real_deps_edit() -> None:
    report = captured("optimized-deps-edit.rawjson")
    lines = [line for step in report.steps for line in step.log_tail]
    assert [line for line in lines if line.startswith("Prepared ")] == [
        next(line for line in lines if line.startswith("Prepared 1 package in "))
    ]
    assert bench.count_installer(lines) == InstallerCounts("uv", 18, 1, 17)


def test_count_installer_pip_using_cached_lines() -> None:
    # The pip cache never fills on this network (the proxy strips caching headers), so no
    # capture has `Using cached`; the lines below have pip's format (`pip/_internal/
    # operations/prepare.py`: "Using cached %s", "Downloading %s").
    lines = [
        "Collecting fastapi==0.165.0",
        "  Using cached fastapi-0.165.0-py3-none-any.whl (159 kB)",
        "Collecting six==1.17.0",
        "  Downloading six-1.17.0-py2.py3-none-any.whl.metadata (1.7 kB)",
        "  Downloading six-1.17.0-py2.py3-none-any.whl (11 kB)",
    ]
    assert bench.count_installer(lines) == InstallerCounts("pip", 2, 1, 1)


def test_count_installer_without_installer_output() -> None:
    assert bench.count_installer(["useradd warning: app's uid 10001 is greater"]) == (
        InstallerCounts()
    )
    assert not InstallerCounts().ran


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        ("RUN pip install --timeout=120 -r requirements.txt", True),
        ("RUN --mount=type=bind,source=requirements.txt,target=/tmp/requirements.txt uv", True),
        ("RUN pip install --target=/opt/uv -r /tmp/uv-requirements.txt", False),
        ("RUN pip install -r requirements.txt.bak", False),
        ("RUN pip install -r dev-requirements.txt", False),
    ],
)
def test_names_file(instruction: str, expected: bool) -> None:
    assert bench.names_file(instruction, "requirements.txt") is expected


# -- strategies, plan, scratch copies -----------------------------------------------------------
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
    return bench.make_plan(**options)  # type: ignore[arg-type]


def test_plan_of_the_bundled_backend() -> None:
    plan = backend_plan()
    assert [s.name for s in plan.strategies] == ["naive", "pip-cache", "optimized"]
    assert plan.baseline == "naive"
    assert plan.scenarios == bench.SCENARIOS
    assert plan.code_file == "app/main.py"
    assert plan.requirements_file == "requirements.txt"
    # what Docker sends: code and requirements yes; tests and Dockerfiles (.dockerignore) no
    assert {
        "app/main.py",
        "requirements.txt",
        "run.sh",
        "uv-requirements.txt",
        ".dockerignore",
    } <= set(plan.files)
    assert not [f for f in plan.files if f.startswith("tests/") or f.startswith("Dockerfile")]
    assert plan.image("optimized") == "dockyard-bench/optimized:20261127-180000-abcd"
    assert plan.cache_id("optimized", 2) == "dockyard-bench-20261127-180000-abcd-optimized-r2"
    # 3 strategies x 3 repetitions x (4 scenarios + the plain no-change reference)
    assert plan.builds() == 45
    assert not plan.warm_up


def test_quick_plan_warms_up_once_and_keeps_one_cache_id() -> None:
    plan = backend_plan(scenarios=bench.QUICK_SCENARIOS, repetitions=1)
    assert plan.scenarios == ("code-edit", "deps-edit")
    assert plan.warm_up and not plan.reference_runs
    assert plan.builds() == 3 * (1 * 2 + 1)
    assert plan.cache_id("naive", 1) == plan.cache_id("naive", 5)


def test_scenarios_keep_their_canonical_order() -> None:
    plan = backend_plan(scenarios=["deps-edit", "cold"])
    assert plan.scenarios == ("cold", "deps-edit")


def test_strategies_take_turns() -> None:
    plan = backend_plan()
    assert [[s.name for s in plan.order(rep)] for rep in (1, 2, 3, 4)] == [
        ["naive", "pip-cache", "optimized"],
        ["pip-cache", "optimized", "naive"],
        ["optimized", "naive", "pip-cache"],
        ["naive", "pip-cache", "optimized"],
    ]


def test_strategy_subset_keeps_the_baseline_name() -> None:
    plan = backend_plan(strategies=["optimized"])
    assert [s.name for s in plan.strategies] == ["optimized"]
    assert plan.baseline == "naive"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"scenarios": ["warm"]}, "unknown scenario 'warm'"),
        ({"strategies": ["fast"]}, "unknown strategy 'fast'"),
        ({"repetitions": 0}, "--repetitions must be at least 1"),
        ({"import_runs": -1}, "--import-runs must be 0 or more"),
        ({"code_file": "nope.py"}, "code file 'nope.py' is not part of the build context"),
        ({"code_file": "tests/test_app_settings.py"}, "is not part of the build context"),
        ({"requirements_file": "reqs.txt"}, "requirements file 'reqs.txt' is not part of"),
        (
            {"dockerfiles": [BenchStrategy("naive", "Dockerfile.nope")]},
            "Dockerfile of strategy 'naive' not found",
        ),
    ],
)
def test_plan_rejects_bad_choices(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError) as info:
        backend_plan(**overrides)
    assert message in info.value.message


def test_requirements_may_be_missing_without_deps_edit() -> None:
    plan = backend_plan(scenarios=["code-edit"], requirements_file="reqs.txt")
    assert plan.scenarios == ("code-edit",)


def test_choose_code_file() -> None:
    files = ["app/__init__.py", "app/db.py", "app/main.py", "run.sh", "tests/test_x.py"]
    assert bench.choose_code_file(files) == "app/main.py"
    assert bench.choose_code_file(["src/app.py", "src/util.py"]) == "src/app.py"
    assert bench.choose_code_file(["pkg/core.py", "tests/main.py"]) == "pkg/core.py"
    assert bench.choose_code_file(files, "./app/db.py") == "app/db.py"
    with pytest.raises(SettingsError):
        bench.choose_code_file(["run.sh", "README.md"])


def test_scratch_copy_and_edits_leave_the_users_tree_alone(tmp_path: Path) -> None:
    before = tree_digest(BACKEND)
    plan = backend_plan()
    scratch = bench.copy_context(plan, tmp_path / "optimized")
    copied = tree_digest(scratch)
    for rel in plan.files:
        assert copied[rel] == before[rel]
    for name in ("Dockerfile.naive", "Dockerfile.pip-cache", "Dockerfile.optimized"):
        assert copied[name] == before[name]
    assert "tests/test_app_settings.py" not in copied
    assert (scratch / "run.sh").stat().st_mode & 0o111  # still executable

    code = (BACKEND / plan.code_file).read_text(encoding="utf-8")
    reqs = (BACKEND / plan.requirements_file).read_text(encoding="utf-8")
    (scratch / plan.code_file).write_text(bench.code_edit(code, plan.run_id, 1), "utf-8")
    (scratch / plan.requirements_file).write_text(bench.deps_edit(reqs, plan.run_id, 1), "utf-8")
    assert tree_digest(BACKEND) == before
    assert tree_digest(scratch) != copied


def test_dockerfile_outside_the_context_is_copied_under_its_own_name(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "Fast.Dockerfile"
    outside.parent.mkdir()
    outside.write_text("FROM scratch\n", encoding="utf-8")
    outside.with_name("Fast.Dockerfile.dockerignore").write_text("tests\n", encoding="utf-8")
    plan = backend_plan(
        dockerfiles=[
            BenchStrategy("naive", "Dockerfile.naive"),
            BenchStrategy("fast", str(outside)),
        ]
    )
    fast = plan.strategies[1]
    assert fast.scratch_dockerfile == "Dockerfile.dockyard-bench-fast"
    scratch = bench.copy_context(plan, tmp_path / "scratch")
    assert (scratch / "Dockerfile.dockyard-bench-fast").read_text() == "FROM scratch\n"
    assert (scratch / "Dockerfile.dockyard-bench-fast.dockerignore").read_text() == "tests\n"


def test_code_edit_appends_one_unique_comment_line() -> None:
    assert bench.code_edit("x = 1\n", "run", 2) == "x = 1\n# dockyard bench run repetition 2\n"
    assert bench.code_edit("x = 1", "run", 1) == "x = 1\n# dockyard bench run repetition 1\n"
    assert bench.code_edit("x", "run", 1) != bench.code_edit("x", "run", 2)
    assert bench.code_edit("x", "run-a", 1) != bench.code_edit("x", "run-b", 1)


def test_deps_edit_with_hashes_adds_a_hash_pinned_package() -> None:
    reqs = (BACKEND / "requirements.txt").read_text(encoding="utf-8")
    edited = bench.deps_edit(reqs, "run", 1)
    assert edited.startswith(reqs)
    assert edited[len(reqs) :] == (
        "# dockyard bench run repetition 1: adds six\n"
        "six==1.17.0 \\\n"
        "    --hash=sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274\n"
    )


def test_deps_edit_without_hashes_and_cycling() -> None:
    edited = bench.deps_edit("fastapi==0.165.0\nsix==1.16.0", "r", 1)
    # six is already required: the first package it adds is the next one
    assert edited == (
        "fastapi==0.165.0\nsix==1.16.0\n# dockyard bench r repetition 1: adds iniconfig\n"
        "iniconfig==2.0.0\n"
    )
    names = [bench.extra_package("", rep).name for rep in range(1, 8)]
    assert names == ["six", "iniconfig", "tabulate", "toml", "colorama", "six", "iniconfig"]


def test_deps_edit_when_every_candidate_is_required() -> None:
    everything = "\n".join(f"{p.name.upper()}=={p.version}" for p in bench.EXTRA_PACKAGES)
    with pytest.raises(SettingsError):
        bench.deps_edit(everything, "r", 1)


# -- docker-side helpers (pure) ------------------------------------------------------------------
def test_owned_cache_records_from_real_rows() -> None:
    rows = json.loads((DATA / "buildcache-records.json").read_text(encoding="utf-8"))
    owned = bench.owned_cache_records(rows, "dockyard-bench-v2exp17036-")
    assert [r["Description"].rsplit(" ", 1)[-1] for r in owned] == [
        '"/dockyard-bench-v2exp17036-pip"',
        '"/dockyard-bench-v2exp17036-uv"',
        '"/dockyard-bench-v2exp17036-venv"',
    ]
    assert all(r["CacheType"] == "exec.cachemount" for r in owned)
    assert bench.owned_cache_records(rows, "dockyard-bench-nothing-") == []
    # a mount without id (`//root/.cache/pip`) never matches a benchmark prefix
    assert bench.owned_cache_records(rows, "root") == []


def test_parse_import_seconds() -> None:
    assert bench.parse_import_seconds("dockyard-import 0.4512 0.4011\n") == (0.4512, 0.4011)
    assert bench.parse_import_seconds("warning\ndockyard-import 1 2") == (1.0, 2.0)
    with pytest.raises(DockyardError):
        bench.parse_import_seconds("ModuleNotFoundError: No module named 'app'")


def test_build_command_one_flag_per_item() -> None:
    command = build_command(
        ["docker"],
        "/tmp/ctx",
        dockerfile="/tmp/ctx/Dockerfile.optimized",
        tag="dockyard-bench/optimized:run",
        build_args={"PYTHON_IMAGE": "py:3.11", "CACHE_ID": "dockyard-bench-run-optimized"},
        no_cache=True,
    )
    assert command == [
        "docker",
        "buildx",
        "build",
        "--progress=rawjson",
        "--load",
        "--file",
        "/tmp/ctx/Dockerfile.optimized",
        "--tag",
        "dockyard-bench/optimized:run",
        "--build-arg",
        "PYTHON_IMAGE=py:3.11",
        "--build-arg",
        "CACHE_ID=dockyard-bench-run-optimized",
        "--no-cache",
        "/tmp/ctx",
    ]
    quiet = build_command(["docker"], "c", dockerfile="c/D", tag="t", build_args={}, quiet=True)
    assert quiet == [
        *["docker", "buildx", "build", "--quiet", "--load", "--file", "c/D"],
        *["--tag", "t", "c"],
    ]


# -- the report and its renderers ----------------------------------------------------------------
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


def make_report(repetitions: int = 3, scenarios: tuple[str, ...] = bench.SCENARIOS) -> BenchReport:
    plan = BenchPlan(
        run_id="20261127-180000-abcd",
        service="backend",
        context_dir=BACKEND,
        strategies=tuple(
            Strategy(name, BACKEND / f"Dockerfile.{name}", f"Dockerfile.{name}") for name in TIMES
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
                            bench.StepTime("[runtime 4/6] RUN uv pip sync", 0.9 + rep / 100, False),
                            bench.StepTime("exporting to image", 0.25, False),
                            bench.StepTime("[runtime 2/6] RUN groupadd", 0.3, True),
                        ),
                    )
                )
    report.image_sizes = {"naive": 220_850_000, "pip-cache": 220_860_000, "optimized": 220_790_000}
    report.import_seconds = {name: [0.47, 0.45, 0.52] for name in TIMES}
    report.import_cpu_seconds = {name: [0.42, 0.41, 0.44] for name in TIMES}
    report.removed = ["dockyard-bench/naive:20261127-180000-abcd"]
    return report


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
        ("4.3 %", False),
        ("14.3 %", True),
        ("45.9 %", True),
        ("1.07x", True),
        ("0.47 s (CPU 0.42 s)", True),
    ]
    assert list(targets) == [
        "code-edit: optimized / naive",
        "deps-edit: optimized / naive",
        "cold: optimized / naive",
        "no-change: optimized / engine's fully cached build",
        "app import at container start (optimized)",
    ]


def test_targets_not_measured_in_a_quick_run() -> None:
    report = make_report(repetitions=1, scenarios=bench.QUICK_SCENARIOS)
    report.import_seconds = {}
    report.import_cpu_seconds = {}
    met = [t.met for t in report.targets()]
    assert met == [False, True, None, None, None]


def test_report_to_dict_is_json() -> None:
    data = json.loads(json.dumps(make_report().to_dict()))
    assert data["plan"]["scenarios"] == list(bench.SCENARIOS)
    assert data["plan"]["images"][0] == "dockyard-bench/naive:20261127-180000-abcd"
    assert len(data["samples"]) == 3 * 3 * 5
    cells = {(c["strategy"], c["scenario"]): c for c in data["cells"]}
    assert set(cells) == {(s, sc) for s in TIMES for sc in [*bench.SCENARIOS, "engine"]}
    assert cells[("optimized", "deps-edit")]["seconds"] == {
        "median": 1.3,
        "min": 1.274,
        "max": 1.326,
        "n": 3,
    }
    assert cells[("optimized", "deps-edit")]["installer"]["downloaded"] == 1
    assert data["import_seconds"]["optimized"]["median"] == 0.47
    assert data["import_cpu_seconds"]["optimized"]["runs"] == [0.42, 0.41, 0.44]
    assert [t["met"] for t in data["targets"]] == [False, True, True, True, True]


def console(width: int = 100) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return make_console(file=buffer, width=width, color_system=None), buffer


def test_results_table_text() -> None:
    out, buffer = console(width=80)
    out.print(render_bench.results_table(make_report()))
    assert buffer.getvalue() == (
        "Build time (median of 3, min-max below); % = share of naive's time              \n"
        "┏━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━┓\n"
        "┃                   ┃                   ┃         pip-cache ┃                  ┃\n"
        "┃                   ┃             naive ┃      after: pip + ┃        optimized ┃\n"
        "┃ build             ┃            before ┃       cache mount ┃               uv ┃\n"
        "┡━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━┩\n"
        "│ first build       │             8.50s │        9.00s 106% │      3.90s 45.9% │\n"
        "│ (cold)            │         8.33-8.67 │         8.82-9.18 │        3.82-3.98 │\n"
        "│ no change         │             0.30s │        0.31s 103% │       0.31s 103% │\n"
        "│                   │         0.29-0.31 │         0.30-0.32 │        0.30-0.32 │\n"
        "│ no change (plain  │             0.30s │             0.30s │            0.29s │\n"
        "│ docker build)     │         0.29-0.31 │         0.29-0.31 │        0.28-0.30 │\n"
        "│ code edit         │             8.20s │        0.33s 4.0% │       0.35s 4.3% │\n"
        "│                   │         8.04-8.36 │         0.32-0.34 │        0.34-0.36 │\n"
        "│ dependency added  │             9.10s │       8.90s 97.8% │      1.30s 14.3% │\n"
        "│                   │         8.92-9.28 │         8.72-9.08 │        1.27-1.33 │\n"
        "├───────────────────┼───────────────────┼───────────────────┼──────────────────┤\n"
        "│ image size        │          220.8 MB │          220.9 MB │         220.8 MB │\n"
        "│ app import at     │ 0.47s (CPU 0.42s) │ 0.47s (CPU 0.42s) │       0.47s (CPU │\n"
        "│ start             │                   │                   │           0.42s) │\n"
        "│ packages, first   │          17 of 17 │          17 of 17 │         17 of 17 │\n"
        "│ build (cold)      │        downloaded │        downloaded │       downloaded │\n"
        "│ packages,         │          18 of 18 │          18 of 18 │          1 of 18 │\n"
        "│ dependency added  │        downloaded │        downloaded │       downloaded │\n"
        "└───────────────────┴───────────────────┴───────────────────┴──────────────────┘\n"
    )


def test_markdown() -> None:
    assert render_bench.markdown(make_report()) == (
        "Measured 2026-11-27 with `inv bench --markdown results.md` (engine 26.1.5, buildx 0.13.1, "
        "2 CPUs, load average (1 min) 0.91 at start, 1.40 at end; run 20261127-180000-abcd, "
        "2026-11-27T18:00:00+00:00 to 2026-11-27T18:06:00+00:00). Wall-clock time of each "
        "`docker buildx build`, median of 3 (min-max); **%** = share of naive's time in the "
        "same scenario.\n"
        "\n"
        "| build | naive (before) | pip-cache (after: pip + cache mount) | optimized (uv) |\n"
        "|---|---:|---:|---:|\n"
        "| first build (cold) | 8.50s (8.33-8.67) | 9.00s (8.82-9.18) **106%** | "
        "3.90s (3.82-3.98) **45.9%** |\n"
        "| no change | 0.30s (0.29-0.31) | 0.31s (0.30-0.32) **103%** | "
        "0.31s (0.30-0.32) **103%** |\n"
        "| no change (plain docker build) | 0.30s (0.29-0.31) | 0.30s (0.29-0.31) | "
        "0.29s (0.28-0.30) |\n"
        "| code edit | 8.20s (8.04-8.36) | 0.33s (0.32-0.34) **4.0%** | "
        "0.35s (0.34-0.36) **4.3%** |\n"
        "| dependency added | 9.10s (8.92-9.28) | 8.90s (8.72-9.08) **97.8%** | "
        "1.30s (1.27-1.33) **14.3%** |\n"
        "| image size | 220.8 MB | 220.9 MB | 220.8 MB |\n"
        "| app import at start | 0.47s (CPU 0.42s) | 0.47s (CPU 0.42s) | 0.47s (CPU 0.42s) |\n"
        "| packages, first build (cold) | 17 of 17 downloaded | 17 of 17 downloaded | "
        "17 of 17 downloaded |\n"
        "| packages, dependency added | 18 of 18 downloaded | 18 of 18 downloaded | "
        "1 of 18 downloaded |\n"
        "\n"
        "| target | limit | measured | |\n"
        "|---|---:|---:|---|\n"
        "| code-edit: optimized / naive | <= 2 % | 4.3 % | missed |\n"
        "| deps-edit: optimized / naive | <= 15 % | 14.3 % | met |\n"
        "| cold: optimized / naive | <= 50 % | 45.9 % | met |\n"
        "| no-change: optimized / engine's fully cached build | <= 1.5x | 1.07x | met |\n"
        "| app import at container start (optimized) | <= 0.5 s | 0.47 s (CPU 0.42 s) | met |\n"
    )


class Cp1252Buffer(io.StringIO):
    """What a Windows console reports: rich then falls back to ASCII symbols."""

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "cp1252"


def test_ratio_bars_on_a_cp1252_console() -> None:
    buffer = Cp1252Buffer()
    out = make_console(file=buffer, width=100, color_system=None)
    report = make_report(repetitions=1, scenarios=("cold", "deps-edit"))
    render_bench.ratio_bars(out, report, width=20)
    assert buffer.getvalue() == (
        "share of naive's build time (full width = 106%)\n"
        "first build (cold)  pip-cache  ####################    106%\n"
        "                    optimized  #########              45.9%\n"
        "dependency added    pip-cache  ##################     97.8%\n"
        "                    optimized  ###                    14.3%\n"
    )


def test_targets_table_and_where_the_time_went() -> None:
    out, buffer = console(width=80)
    report = make_report(repetitions=1, scenarios=bench.QUICK_SCENARIOS)
    out.print(render_bench.targets_table(report))
    out.print(render_bench.time_went_table(report))
    assert buffer.getvalue() == (
        "Targets                                                                         \n"
        "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━┓\n"
        "┃ target                       ┃    limit ┃            measured ┃              ┃\n"
        "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━┩\n"
        "│ code-edit: optimized / naive │   <= 2 % │               4.3 % │ missed       │\n"
        "│ deps-edit: optimized / naive │  <= 15 % │              14.3 % │ met          │\n"
        "│ cold: optimized / naive      │  <= 50 % │                   - │ not measured │\n"
        "│ no-change: optimized /       │  <= 1.5x │                   - │ not measured │\n"
        "│ engine's fully cached build  │          │                     │              │\n"
        "│ app import at container      │ <= 0.5 s │ 0.47 s (CPU 0.42 s) │ met          │\n"
        "│ start (optimized)            │          │                     │              │\n"
        "└──────────────────────────────┴──────────┴─────────────────────┴──────────────┘\n"
        "optimized: where the time went                               \n"
        "┏━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓\n"
        "┃ build            ┃ steps that ran (median), slowest first ┃\n"
        "┡━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩\n"
        "│ code edit        │  0.91s [runtime 4/6] RUN uv pip sync   │\n"
        "│                  │  0.25s exporting to image              │\n"
        "│ dependency added │  0.91s [runtime 4/6] RUN uv pip sync   │\n"
        "│                  │  0.25s exporting to image              │\n"
        "└──────────────────┴────────────────────────────────────────┘\n"
    )


def test_progress_lines_without_a_terminal() -> None:
    out, buffer = console()
    progress = render_bench.BenchProgress(out)
    assert not progress.live_mode
    with progress:
        progress.build_started("rep 1/1  warm-up    naive", 1, 3)
        progress.build_finished(None, "rep 1/1  warm-up    naive")
        sample = Sample(
            "optimized",
            "deps-edit",
            1,
            1.234,
            installer=InstallerCounts("uv", 18, 1, 17),
            cached_steps=4,
            total_steps=8,
        )
        progress.build_finished(sample, "rep 1/1  deps-edit  optimized")
        progress.build_finished(Sample("optimized", "engine", 1, 0.3), "rep 1/1  engine  optimized")
        progress.message("removing [the] benchmark's images")
    assert buffer.getvalue() == (
        "rep 1/1 warm-up naive: done (not timed)\n"
        "rep 1/1 deps-edit optimized  1.23s  4/8 steps cached, 1 of 18 downloaded\n"
        "rep 1/1 engine optimized  0.30s\n"
        "removing [the] benchmark's images\n"
    )


def test_describe_plan_names_everything_it_removes() -> None:
    lines = bench.describe_plan(backend_plan(scenarios=["no-change"], repetitions=1))
    assert lines[0].startswith("service backend: 3 strategies x 1 scenarios x 1 repetition(s) =")
    assert "dockyard-bench/optimized:20261127-180000-abcd-engine" in lines[1]
    assert lines[2] == (
        "cache mounts it creates and removes at the end: ids dockyard-bench-20261127-180000-abcd-*"
    )


def test_leftovers_are_the_benchmarks_own_images_and_cache_mounts(tmp_path: Path) -> None:
    engine = FakeEngine(
        load_settings(tmp_path, environ={}),
        cache_records=json.loads((DATA / "buildcache-records.json").read_text(encoding="utf-8")),
        references=["dockyard-bench/naive:20261127-180000-abcd", "other/image:1"],
    )
    leftovers = bench.find_leftovers(engine)
    assert leftovers.describe() == [
        "image dockyard-bench/naive:20261127-180000-abcd",
        "cache mount dockyard-bench-v1exp24906-pip",
        "cache mount dockyard-bench-v2exp17036-pip",
        "cache mount dockyard-bench-v2exp17036-uv",
        "cache mount dockyard-bench-v2exp17036-venv",
    ]
    removed = bench.remove_leftovers(engine, leftovers)
    assert engine.removed == ["dockyard-bench/naive:20261127-180000-abcd"]
    assert len(engine.pruned) == 4  # by record id; `dockyard-uv`, `bh-cold1-uv` stay
    assert removed[0] == "image dockyard-bench/naive:20261127-180000-abcd"
    assert sorted(removed[1:]) == [
        "cache mount dockyard-bench-v1exp24906-pip",
        "cache mount dockyard-bench-v2exp17036-pip",
        "cache mount dockyard-bench-v2exp17036-uv",
        "cache mount dockyard-bench-v2exp17036-venv",
    ]


def test_step_text_drops_mount_flags() -> None:
    name = (
        "[runtime 5/7] RUN --mount=from=uv,source=/opt/uv/bin/uv,target=/usr/local/bin/uv     "
        "--mount=type=cache,id=${CACHE_ID}-uv,target=/root/.cache/uv,sharing=locked     "
        "export UV_CONFIG_FILE=/tmp/deps/uv.toml && uv pip sync"
    )
    assert render_bench.step_text(name, 60) == (
        "[runtime 5/7] RUN export UV_CONFIG_FILE=/tmp/deps/uv.toml..."
    )


def test_a_failing_step_is_named_with_its_log() -> None:
    report = captured("naive-cold.rawjson")
    failing = bench._failure(
        "rep 1/1  cold  naive",
        report,
        translate(DockerException(["docker", "buildx", "build"], 1, stderr=b"failed\n")),
    )
    # this capture succeeded: no failing step, so the command's own message is used
    assert failing.message == "bench build (rep 1/1 cold naive) failed: failed"
