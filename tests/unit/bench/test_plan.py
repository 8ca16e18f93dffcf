"""The plan of the bundled backend: strategies, scenarios, the files copied, the names it owns,
bad choices, and its description."""

from __future__ import annotations

import os

import pytest

from dockyard.bench.owner import owner_of
from dockyard.bench.plan import (
    DEFAULT_SCENARIOS,
    QUICK_SCENARIOS,
    TeamBench,
    choose_code_file,
    context_path,
    describe_plan,
)
from dockyard.errors import SettingsError
from dockyard.settings import BenchStrategy
from tests.unit.bench.helpers import backend_plan


def test_plan_of_the_bundled_backend() -> None:
    plan = backend_plan()
    assert [s.name for s in plan.strategies] == ["naive", "pip-cache", "optimized"]
    assert plan.baseline == "naive"
    assert plan.scenarios == DEFAULT_SCENARIOS
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
    plan = backend_plan(scenarios=QUICK_SCENARIOS, repetitions=1)
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
    assert choose_code_file(files) == "app/main.py"
    assert choose_code_file(["src/app.py", "src/util.py"]) == "src/app.py"
    assert choose_code_file(["pkg/core.py", "tests/main.py"]) == "pkg/core.py"
    assert choose_code_file(files, "./app/db.py") == "app/db.py"
    with pytest.raises(SettingsError):
        choose_code_file(["run.sh", "README.md"])


def test_describe_plan_names_everything_it_removes() -> None:
    lines = describe_plan(backend_plan(scenarios=["no-change"], repetitions=1))
    assert lines[0].startswith("service backend: 3 strategies x 1 scenarios x 1 repetition(s) =")
    assert "dockyard-bench/optimized:20261127-180000-abcd-engine" in lines[1]
    assert lines[2] == (
        "cache mounts it creates and removes at the end: ids dockyard-bench-20261127-180000-abcd-*"
    )
    assert len(lines) == 4  # an older run id names no owner


def test_a_plan_names_its_owner_and_label() -> None:
    plan = backend_plan(run_id="", scenarios=["code-edit"], repetitions=1)
    owner = owner_of(plan.run_id)
    assert owner is not None and owner.pid == os.getpid()
    assert plan.labels == {"dockyard.bench.run": plan.run_id}
    assert describe_plan(plan)[-1] == (
        f"run {plan.run_id}: images labelled dockyard.bench.run={plan.run_id}; while process "
        f"{os.getpid()} runs, `inv bench --clean` anywhere leaves them alone"
    )


def test_context_paths_keep_a_leading_dot_of_a_name() -> None:
    # `lstrip("./")` made `.config/app.py` into `config/app.py`, a file the context lacks
    assert context_path("./app\\main.py") == "app/main.py"
    assert context_path("/app/./main.py") == "app/main.py"
    assert context_path(".config/app.py") == ".config/app.py"
    assert context_path("") == ""
    assert choose_code_file([".config/app.py", "run.sh"], ".config/app.py") == ".config/app.py"


TEAM_BENCH = TeamBench(
    "127.0.0.1:5000/team",
    "127.0.0.1:5000/team/dockyard/backend",
    "inline",
    "inline cache in a pushed image",
)


def test_the_team_cache_scenario_needs_a_team_cache() -> None:
    with pytest.raises(SettingsError) as caught:
        backend_plan(scenarios=["team-cache"])
    assert "needs a team cache" in caught.value.message
    assert "DOCKYARD_TEAM_CACHE" in caught.value.hint


def test_the_team_cache_scenario_brings_the_cold_build_it_is_a_share_of() -> None:
    plan = backend_plan(scenarios=["team-cache"], team=TEAM_BENCH, repetitions=2)
    assert plan.scenarios == ("cold", "team-cache")
    assert plan.team is TEAM_BENCH
    # its own CACHE_ID per repetition, apart from cold's: its export build's records are its own
    ids = {plan.team_cache_id("optimized", 1), plan.team_cache_id("optimized", 2)}
    assert len(ids) == 2 and plan.cache_id("optimized", 1) not in ids
    assert all(i.startswith(plan.cache_prefix) for i in ids)  # removed with the run's mounts
    # naive's and pip-cache's first steps come before ARG CACHE_ID: only optimized is measured,
    # an untimed export build before each timed one
    assert set(plan.team_skipped) == {"naive", "pip-cache"}
    assert [s.name for s in plan.team_strategies] == ["optimized"]
    assert plan.builds() == 3 * 2 * 1 + 2 * 2 * 1
    ref = plan.team_ref("optimized")
    assert (
        ref == "127.0.0.1:5000/team/dockyard/backend:dockyard-bench-20261127-180000-abcd-optimized"
    )
    assert plan.to_dict()["team_cache"]["export"] == "inline"
    text = "\n".join(describe_plan(plan))
    assert ref in text and "left in the registry" in text
    assert "naive not measured: `WORKDIR /app` (stage 0) runs before `ARG CACHE_ID`" in text


def test_a_team_cache_without_its_scenario_is_not_part_of_the_plan() -> None:
    plan = backend_plan(scenarios=["code-edit"], team=TEAM_BENCH)
    assert plan.team is None and plan.team_ref("optimized") == ""
    assert "registry" not in "\n".join(describe_plan(plan))
