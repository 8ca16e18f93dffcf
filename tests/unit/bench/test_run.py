"""A run without Docker: the build command, the import probe's output, a failed build, and
whole runs on the shared fake engine fed real captured build streams."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from python_on_whales.exceptions import DockerException

from dockyard.bench.installer import InstallerCounts
from dockyard.bench.plan import QUICK_SCENARIOS, BenchPlan
from dockyard.bench.report import Sample
from dockyard.bench.run import BenchListener, BenchRun, _failure, parse_import_seconds
from dockyard.engine.buildx import build_command
from dockyard.engine.errors import translate
from dockyard.errors import BuildFailed, DockyardError
from dockyard.settings import load_settings
from tests.fake_engine import BuildScript, FakeEngine
from tests.unit.bench.helpers import BACKEND, DATA, backend_plan, captured, tree_digest


def test_parse_import_seconds() -> None:
    assert parse_import_seconds("dockyard-import 0.4512 0.4011\n") == (0.4512, 0.4011)
    assert parse_import_seconds("warning\ndockyard-import 1 2") == (1.0, 2.0)
    with pytest.raises(DockyardError):
        parse_import_seconds("ModuleNotFoundError: No module named 'app'")


def test_build_command_one_flag_per_item() -> None:
    command = build_command(
        ["docker"],
        "/tmp/ctx",
        dockerfile="/tmp/ctx/Dockerfile.optimized",
        tag="dockyard-bench/optimized:run",
        build_args={"PYTHON_IMAGE": "py:3.11", "CACHE_ID": "dockyard-bench-run-optimized"},
        labels={"dockyard.bench.run": "run"},
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
        "--label",
        "dockyard.bench.run=run",
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


def test_a_failing_step_is_named_with_its_log() -> None:
    report = captured("naive-cold.rawjson")
    failing = _failure(
        "rep 1/1  cold  naive",
        report,
        translate(DockerException(["docker", "buildx", "build"], 1, stderr=b"failed\n")),
    )
    # this capture succeeded: no failing step, so the command's own message is used
    assert failing.message == "bench build (rep 1/1 cold naive) failed: failed"


# -- whole runs on the fake engine ---------------------------------------------------------------
class Heard(BenchListener):
    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[Sample | None] = []
        self.messages: list[str] = []

    def build_started(self, label: str, index: int, total: int) -> None:
        self.started.append(f"{index}/{total} {' '.join(label.split())}")

    def build_finished(self, sample: Sample | None, label: str) -> None:
        self.finished.append(sample)

    def message(self, text: str) -> None:
        self.messages.append(text)


def quick_plan() -> BenchPlan:
    return backend_plan(
        scenarios=QUICK_SCENARIOS,
        repetitions=1,
        strategies=["naive", "optimized"],
        import_runs=2,
        run_id="v2exp17036",  # the run whose cache mounts the captured `system df` rows hold
    )


def script(plan: BenchPlan, strategy: str, capture: str, n: int) -> BuildScript:
    data = (DATA / f"{strategy}-{capture}.rawjson").read_bytes()
    produced = {"Id": f"sha256:{n:064x}", "Size": 220_000_000 + n}
    return BuildScript(
        [("stderr", line) for line in data.splitlines(keepends=True)],
        produces={plan.image(strategy): produced},
    )


def fake(tmp_path: Path, builds: list[BuildScript]) -> FakeEngine:
    records: list[dict[str, Any]] = json.loads(
        (DATA / "buildcache-records.json").read_text(encoding="utf-8")
    )
    return FakeEngine(load_settings(tmp_path, environ={}), builds=builds, cache_records=records)


def test_a_quick_run_measures_times_imports_and_removes_what_it_made(tmp_path: Path) -> None:
    before = tree_digest(BACKEND)
    plan = quick_plan()
    engine = fake(
        tmp_path,
        [
            script(plan, "naive", "cold", 1),  # warm-up, untimed
            script(plan, "optimized", "cold", 2),
            script(plan, "naive", "code-edit", 3),
            script(plan, "optimized", "code-edit", 4),
            script(plan, "naive", "deps-edit", 5),
            script(plan, "optimized", "deps-edit", 6),
        ],
    )
    heard = Heard()
    report = BenchRun(engine, plan, listener=heard, workdir=tmp_path).run()

    assert heard.started == [
        "1/6 rep 1/1 warm-up naive",
        "2/6 rep 1/1 warm-up optimized",
        "3/6 rep 1/1 code-edit naive",
        "4/6 rep 1/1 code-edit optimized",
        "5/6 rep 1/1 deps-edit naive",
        "6/6 rep 1/1 deps-edit optimized",
    ]
    assert heard.finished[:2] == [None, None]
    assert [(s.strategy, s.scenario) for s in report.samples] == [
        ("naive", "code-edit"),
        ("optimized", "code-edit"),
        ("naive", "deps-edit"),
        ("optimized", "deps-edit"),
    ]
    assert heard.finished[2:] == report.samples
    assert [call[2] for call in engine.calls] == [False] * 6  # no --no-cache without `cold`
    # every image of the run carries its label: its ids are its own, and --clean finds them
    assert engine.labels == [{"dockyard.bench.run": "v2exp17036"}] * 6
    assert report.samples[-1].installer == InstallerCounts("uv", 18, 1, 17)
    assert report.samples[-1].image_size == 220_000_006
    assert report.image_sizes == {"naive": 220_000_005, "optimized": 220_000_006}
    assert report.import_seconds == {"naive": [0.4, 0.4], "optimized": [0.4, 0.4]}
    assert report.import_cpu_seconds == {"naive": [0.3, 0.3], "optimized": [0.3, 0.3]}
    assert (report.engine_version, report.buildx_version, report.status) == (
        "26.1.5",
        "0.13.1",
        "ok",
    )

    # removed: both tags, every image id the builds produced, the run's three cache mounts
    assert engine.removed[:2] == [plan.image("naive"), plan.image("optimized")]
    assert len(engine.removed) == 2 + 6
    assert len(engine.pruned) == 3
    assert report.removed[-3:] == [
        "cache mount dockyard-bench-v2exp17036-pip",
        "cache mount dockyard-bench-v2exp17036-uv",
        "cache mount dockyard-bench-v2exp17036-venv",
    ]
    assert heard.messages[-1] == "removing the benchmark's images and cache mounts"
    assert tree_digest(BACKEND) == before
    assert list(tmp_path.glob("dockyard-bench-*")) == []  # the scratch copies are gone


def test_a_failed_build_still_removes_what_the_run_made(tmp_path: Path) -> None:
    plan = quick_plan()
    failure = translate(DockerException(["docker", "buildx", "build"], 1, stderr=b"boom\n"))
    broken = script(plan, "optimized", "cold", 2)
    broken.error = failure
    engine = fake(tmp_path, [script(plan, "naive", "cold", 1), broken])
    run = BenchRun(engine, plan, workdir=tmp_path)
    with pytest.raises(BuildFailed) as caught:
        run.run()
    assert caught.value.message == "bench build (rep 1/1 warm-up optimized) failed: boom"
    assert run.report.status == "failed"
    assert engine.removed[:2] == [plan.image("naive"), plan.image("optimized")]
    assert len(engine.pruned) == 3


def test_a_cleanup_that_fails_after_a_failed_build_does_not_hide_the_build_error(
    tmp_path: Path,
) -> None:
    plan = quick_plan()
    failure = translate(DockerException(["docker", "buildx", "build"], 1, stderr=b"boom\n"))
    broken = script(plan, "naive", "cold", 1)
    broken.error = failure
    engine = fake(tmp_path, [broken])
    # What the containerd store's engine said while BuildKit removed a snapshot (seen in CI).
    vanished = translate(
        DockerException(
            ["docker", "system", "df", "-v"],
            1,
            stderr=b"Error response from daemon: NotFound: snapshot x does not exist: not found\n",
        )
    )

    def listing() -> list[dict[str, Any]]:
        raise vanished

    engine.build_cache_records = listing  # type: ignore[method-assign]
    listener = Heard()
    run = BenchRun(engine, plan, workdir=tmp_path, listener=listener)
    with pytest.raises(BuildFailed, match="failed: boom"):
        run.run()
    assert any("could not remove everything" in line for line in listener.messages)


def test_keep_removes_nothing_and_says_what_it_kept(tmp_path: Path) -> None:
    plan = quick_plan()
    engine = fake(
        tmp_path,
        [
            script(plan, name, capture, n)
            for n, (name, capture) in enumerate(
                [("naive", "cold"), ("optimized", "cold")]
                + [(s, c) for c in ("code-edit", "deps-edit") for s in ("naive", "optimized")],
                1,
            )
        ],
    )
    report = BenchRun(engine, plan, keep=True, workdir=tmp_path).run()
    assert engine.removed == [] and engine.pruned == []
    assert report.kept == [
        plan.image("naive"),
        plan.image("optimized"),
        "cache mounts dockyard-bench-v2exp17036-*",
    ]
