"""`inv bench` on the real engine, in its quickest form: the bundled project, one repetition of
the code-edit scenario, two strategies. The benchmark must leave the user's tree and the
project's own image alone and remove exactly what it created; two runs and a `--clean` at once
on one engine must not touch each other's things.

Other checkouts' suites may run this module on the same engine at the same time: every
`--clean` here that removes anything names its runs (`--run-id`), and the project's image is a
tag of this run's own."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.bench.owner import host_key, owner_of
from tests.conftest import PYTHON_IMAGE, DockerStack
from tests.docker.helpers import (
    REPO,
    STOPS,
    Project,
    assert_nothing_left_running,
    image_store,
    interrupt,
    start,
    survivors,
    unique,
)
from tests.teambed import Registry

pytestmark = pytest.mark.docker

BACKEND = REPO / "backend"


def tree_digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and ".mypy_cache" not in p.parts
    }


def image_id(reference: str) -> str | None:
    done = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", reference],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else None


def images_of_run(run_id: str) -> list[str]:
    done = subprocess.run(
        ["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "dockyard-bench/*"],
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in done.stdout.splitlines() if line.endswith(run_id) or run_id in line]


def build_cache_records() -> list[dict[str, Any]]:
    # The test's own listing, not dockyard's (engine/buildcache.py). The containerd store's
    # engine fails it now and then while a build drops a snapshot (2 of 9 during one bench,
    # more with two): asked again, it answers.
    for attempt in range(12):
        done = subprocess.run(
            ["docker", "system", "df", "-v", "--format", "{{json .BuildCache}}"],
            capture_output=True,
            text=True,
            check=attempt == 11,
        )
        if done.returncode == 0:
            break
        time.sleep(1.0)
    return list(json.loads(done.stdout or "[]") or [])


def cache_mounts_of_run(run_id: str) -> list[str]:
    return [
        r["Description"]
        for r in build_cache_records()
        if f'"/dockyard-bench-{run_id}-' in r["Description"]
    ]


@pytest.fixture(scope="module")
def project(
    tmp_path_factory: pytest.TempPathFactory, docker_stack: DockerStack
) -> Iterator[Project]:
    """The repository's own compose project (read only), with its own state dir and .env, and
    its own project image: a tag of the base image, this run's only, removed at the end."""
    root = tmp_path_factory.mktemp("bench")
    (root / "dockyard.env").write_text("", encoding="utf-8")
    name = unique("dyt-bench")
    image = f"dockyard-test/backend:{name}"
    subprocess.run(["docker", "image", "tag", PYTHON_IMAGE, image], check=True, timeout=60)
    yield Project(
        root=root,
        name=name,
        compose_files=[REPO / "docker-compose.yml"],
        env={"BACKEND_IMAGE": image},
    )
    subprocess.run(["docker", "image", "rm", image], capture_output=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def quick_run(project: Project) -> dict[str, Any]:
    before_tree = tree_digest(BACKEND)
    before_image = image_id(project.env["BACKEND_IMAGE"])
    out = project.root / "out"
    out.mkdir()
    done = project.inv(
        "bench",
        "--scenario",
        "code-edit",
        "--strategy",
        "naive",
        "--strategy",
        "optimized",
        "--repetitions",
        "1",
        "--import-runs",
        "1",
        "--yes",
        "--json",
        str(out / "bench.json"),
        "--markdown",
        str(out / "bench.md"),
    )
    ok = done.returncode == 0
    return {
        "done": done,
        "report": json.loads((out / "bench.json").read_text(encoding="utf-8")) if ok else {},
        "markdown": (out / "bench.md").read_text(encoding="utf-8") if ok else "",
        "tree_before": before_tree,
        "tree_after": tree_digest(BACKEND),
        "image_before": before_image,
        "image_after": image_id(project.env["BACKEND_IMAGE"]),
    }


def test_quick_bench_runs_end_to_end(quick_run: dict[str, Any]) -> None:
    done = quick_run["done"]
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stdout + done.stderr
    report = quick_run["report"]
    plan = report["plan"]
    assert plan["scenarios"] == ["code-edit"]
    assert list(plan["strategies"]) == ["naive", "optimized"]
    assert report["status"] == "ok"
    samples = {(s["strategy"], s["scenario"]): s for s in report["samples"]}
    assert set(samples) == {("naive", "code-edit"), ("optimized", "code-edit")}
    # naive copies the code before its install: the edit reinstalls every package;
    # optimized installs before the code is copied: its install step comes from cache
    assert samples[("naive", "code-edit")]["installer"]["tool"] == "pip"
    assert samples[("naive", "code-edit")]["installer"]["downloaded"] > 0
    assert samples[("optimized", "code-edit")]["installer"]["tool"] is None
    cells = {(c["strategy"], c["scenario"]): c for c in report["cells"]}
    assert cells[("naive", "code-edit")]["ratio"] == 1.0
    ratio = cells[("optimized", "code-edit")]["ratio"]
    assert ratio is not None and 0 < ratio < 1
    assert report["import_seconds"]["optimized"]["n"] == 1
    assert report["image_sizes"]["optimized"] > 0
    assert report["engine_version"]
    # the output: the table, the bars and the targets, and the Markdown file
    assert "Build time (1 run)" in done.stdout
    assert "share of naive's build time" in done.stdout
    assert "deps-edit: optimized / naive" in done.stdout  # the targets table, not measured here
    # the exact command, as it was typed (here through `python -m invoke --search-root ...`)
    assert quick_run["markdown"].startswith(f"Measured {report['started_at'][:10]} with `inv ")
    assert " bench --scenario code-edit --strategy naive" in quick_run["markdown"]
    assert "| code edit |" in quick_run["markdown"]


def test_quick_bench_leaves_the_users_tree_and_image_alone(quick_run: dict[str, Any]) -> None:
    assert quick_run["tree_after"] == quick_run["tree_before"]
    assert quick_run["image_before"] is not None
    assert quick_run["image_after"] == quick_run["image_before"]


def test_quick_bench_removes_what_it_created(quick_run: dict[str, Any]) -> None:
    report = quick_run["report"]
    run_id = report["plan"]["run_id"]
    assert images_of_run(run_id) == []
    assert cache_mounts_of_run(run_id) == []
    for sample in report["samples"]:
        assert image_id(sample["image_id"]) is None, sample
    removed = report["removed"]
    assert f"dockyard-bench/optimized:{run_id}" in removed
    assert f"cache mount dockyard-bench-{run_id}-optimized-uv" in removed
    assert f"removed {len(removed)}:" in quick_run["done"].stdout


def test_without_yes_and_without_a_terminal_it_refuses_before_building(project: Project) -> None:
    done = project.inv("bench", "--quick")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "add --yes to confirm, or --keep to leave them" in done.stderr
    match = re.search(r"dockyard-bench/naive:(\S+?),", done.stdout)
    assert match, done.stdout
    assert images_of_run(match[1]) == []


def test_dry_run_names_everything_and_builds_nothing(project: Project) -> None:
    done = project.inv("bench", "--dry-run", "--scenario", "no-change")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 strategies x 1 scenarios x 3 repetition(s) = 21 builds" in done.stdout
    match = re.search(r"dockyard-bench/naive:(\S+?),", done.stdout)
    assert match
    owner = owner_of(match[1])  # the run id names this run's process: the `inv` just started
    assert owner is not None and owner.host == host_key()
    assert f"dockyard-bench/optimized:{match[1]}-engine" in done.stdout
    assert images_of_run(match[1]) == []


def test_bad_choices_end_with_one_line(project: Project) -> None:
    done = project.inv("bench", "--scenario", "warm", "--dry-run")
    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    assert "unknown scenario 'warm'" in done.stderr
    assert "choose from: cold, no-change, code-edit, deps-edit" in done.stderr


def test_keep_leaves_its_images_and_clean_removes_them(project: Project) -> None:
    out = project.root / "keep.json"
    done = project.inv(
        "bench",
        "--keep",
        "--scenario",
        "no-change",
        "--strategy",
        "optimized",
        "--repetitions",
        "1",
        "--import-runs",
        "0",
        "--json",
        str(out),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    run_id = report["plan"]["run_id"]
    assert report["removed"] == []
    assert sorted(images_of_run(run_id)) == [
        f"dockyard-bench/optimized:{run_id}",
        f"dockyard-bench/optimized:{run_id}-engine",
    ]
    assert cache_mounts_of_run(run_id)
    # the run's process has ended: a plain --clean lists its things (a dry run removes nothing)
    listed = project.inv("bench", "--clean", "--dry-run")
    assert listed.returncode == 0
    assert f"image dockyard-bench/optimized:{run_id}" in listed.stdout
    assert f"cache mount dockyard-bench-{run_id}-optimized-uv" in listed.stdout
    refused = project.inv("bench", "--clean", "--run-id", run_id)
    assert refused.returncode == 2 and "add --yes to confirm" in refused.stderr
    assert images_of_run(run_id)
    cleaned = project.inv("bench", "--clean", "--yes", "--run-id", run_id)
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    assert f"image dockyard-bench/optimized:{run_id}" in cleaned.stdout
    assert images_of_run(run_id) == []
    assert cache_mounts_of_run(run_id) == []


def test_a_failing_strategy_ends_with_one_line_and_leaves_nothing(project: Project) -> None:
    broken = project.root / "Broken.Dockerfile"
    broken.write_text(
        "ARG PYTHON_IMAGE=python:3.11-slim\n"
        "FROM ${PYTHON_IMAGE}\n"
        "ARG CACHE_ID=x\n"
        "RUN --mount=type=cache,id=${CACHE_ID}-x,target=/x echo about to fail && exit 3\n",
        encoding="utf-8",
    )
    done = project.inv(
        "bench",
        "--strategy",
        "broken",
        "--scenario",
        "no-change",
        "--repetitions",
        "1",
        "--yes",
        DOCKYARD_BENCH_STRATEGIES=f"naive=Dockerfile.naive,broken={broken}",
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert re.search(
        r"failed at `(\S+ )?\d+/\d+ RUN echo about to fail && exit 3`: exit code: 3", done.stderr
    )
    assert "about to fail" in done.stderr  # the failing step's log lines
    assert "hint: fix the Dockerfile" in done.stderr
    match = re.search(r"dockyard-bench/broken:(\S+?),", done.stdout)
    assert match, done.stdout
    assert images_of_run(match[1]) == []
    assert cache_mounts_of_run(match[1]) == []


@pytest.mark.parametrize("how", list(STOPS))
def test_an_interrupted_benchmark_stops_its_build_and_removes_what_it_made(
    project: Project, how: str
) -> None:
    token = secrets.token_hex(8)
    slow = project.root / f"Slow-{token}.Dockerfile"
    slow.write_text(
        "ARG PYTHON_IMAGE=python:3.11-slim\n"
        "FROM ${PYTHON_IMAGE}\n"
        "ARG CACHE_ID=x\n"
        f"RUN echo quick-{token}\n"
        f"RUN echo slow-{token} && sleep 60\n",
        encoding="utf-8",
    )
    proc, seen = start(
        project,
        "bench",
        "--strategy",
        "slow",
        "--scenario",
        "no-change",
        "--repetitions",
        "1",
        "--import-runs",
        "0",
        "--yes",
        env={"DOCKYARD_BENCH_STRATEGIES": f"naive=Dockerfile.naive,slow={slow}"},
    )
    deadline = time.monotonic() + 120
    while not survivors(
        f"slow-{token}", exclude=(proc.pid,)
    ):  # the slow step runs (no output says so here)
        assert proc.poll() is None, "".join(seen)
        assert time.monotonic() < deadline, "the slow step never started"
        time.sleep(0.2)
    stderr = interrupt(proc, seen, "", 1, how)
    signum = STOPS[how][0]
    assert proc.returncode == 128 + signum, "".join(seen) + stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    by = " by SIGTERM" if signum == signal.SIGTERM else ""
    assert f"benchmark build (rep 1/1 warm-up slow) interrupted{by} after " in lines[0]
    assert f"at `3/3 RUN echo slow-{token} && sleep 60`" in lines[0]
    assert "hint: run `inv bench` again when ready" in lines[0]
    match = re.search(r"dockyard-bench/slow:(\S+?),", "".join(seen))
    assert match, "".join(seen)
    # No RUN, no `docker buildx build --tag dockyard-bench/slow:<run>` left.
    assert_nothing_left_running(f"slow-{token}", f"dockyard-bench/slow:{match[1]}")
    assert images_of_run(match[1]) == []
    assert cache_mounts_of_run(match[1]) == []


# -- one engine, many users ----------------------------------------------------------------------
class Running:
    """`inv bench ...` started in the background; its output collected as it comes."""

    def __init__(self, project: Project, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "invoke", "--search-root", str(REPO), "bench", *args],
            # Unbuffered: the run id line must reach the test while the run goes on.
            env={**project.environ(), "PYTHONUNBUFFERED": "1"},
            cwd=project.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        self.out: list[str] = []
        self.err: list[str] = []
        for pipe, sink in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=sink.extend, args=(pipe,), daemon=True).start()

    def run_id(self) -> str | None:
        match = re.search(r"dockyard-bench/optimized:(\S+?)[, ]", "".join(self.out))
        return match[1] if match else None

    def finish(self, timeout: float = 900) -> tuple[int, str]:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        time.sleep(0.2)  # the pump threads read the last lines
        return code, "".join(self.out) + "".join(self.err)


def test_two_runs_and_a_clean_at_once_leave_each_other_alone(project: Project) -> None:
    """Two `inv bench` runs at once, and a `--clean` while both build: each run finishes with
    its own images (its import step at the end starts a container of each), the `--clean`
    leaves both alone and removes only what a run whose process has ended left behind."""
    ended_json = project.root / "ended.json"
    ended = project.inv(
        "bench", "--keep", "--scenario", "no-change", "--strategy", "optimized",
        "--repetitions", "1", "--import-runs", "0", "--json", str(ended_json),
    )  # fmt: skip
    assert ended.returncode == 0, ended.stdout + ended.stderr
    ended_id = json.loads(ended_json.read_text(encoding="utf-8"))["plan"]["run_id"]
    assert images_of_run(ended_id)

    # Long enough that both runs are surely building at once, however fast the machine and
    # its package proxy (five repetitions of the optimized Dockerfile alone once took 13 s, and
    # one run ended before the other had an image): the strategy "optimized" is the bundled
    # Dockerfile with a 3 s step at the end, which every edit runs again.
    # Their cold downloads do not start together: two uv processes opening 17 connections each
    # at the same instant once had every connect to the package host time out on a CI network
    # (both stacks, one run each), so the second run starts once the first has its image, and
    # this test's copy downloads at most 4 wheels at a time.
    slow = project.root / "Dockerfile.slow"
    text = (BACKEND / "Dockerfile.optimized").read_text(encoding="utf-8")
    assert "export UV_LINK_MODE=copy" in text
    text = text.replace("export UV_LINK_MODE", "export UV_CONCURRENT_DOWNLOADS=4 UV_LINK_MODE")
    slow.write_text(text + "RUN sleep 3\n", encoding="utf-8")
    quick = ("--quick", "--repetitions", "5", "--strategy", "optimized", "--import-runs", "1")
    quick = (*quick, "--yes")

    def start(name: str) -> Running:
        project.env["DOCKYARD_BENCH_STRATEGIES"] = f"optimized={slow}"
        try:
            return Running(project, *quick, "--json", str(project.root / f"{name}.json"))
        finally:
            del project.env["DOCKYARD_BENCH_STRATEGIES"]

    def have_images(runs: list[Running]) -> list[str]:
        """Waits until every run has an image in the engine, each still running; their ids."""
        deadline = time.monotonic() + 600
        while True:
            ids = [run.run_id() for run in runs]
            if all(ids) and all(images_of_run(str(i)) for i in ids):
                return [str(i) for i in ids]
            for run in runs:
                assert run.proc.poll() is None, "".join(run.out + run.err)[-4000:]
            assert time.monotonic() < deadline, "the runs built nothing in 10 minutes"
            time.sleep(0.5)

    runs = [start("first")]
    try:
        have_images(runs)
        runs.append(start("second"))
        run_ids = have_images(runs)
        assert run_ids[0] != run_ids[1]

        # --clean while both build (limited to the three runs: other checkouts' suites on this
        # engine keep their own ended runs until they clean them)
        named = [arg for run_id in (*run_ids, ended_id) for arg in ("--run-id", run_id)]
        cleaned = project.inv("bench", "--clean", "--yes", *named)
        assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
        assert f"image dockyard-bench/optimized:{ended_id}" in cleaned.stdout
        assert f"cache mount dockyard-bench-{ended_id}-optimized-uv" in cleaned.stdout
        for run_id in run_ids:
            assert f"left alone: run {run_id} (" in cleaned.stdout, cleaned.stdout
            assert f"image dockyard-bench/optimized:{run_id}" not in cleaned.stdout
        assert cleaned.stdout.count("still running (pid") == 2, cleaned.stdout
        assert images_of_run(ended_id) == []
        assert cache_mounts_of_run(ended_id) == []

        # a plain --clean (a dry run: it removes nothing) offers nothing of a live run either
        listed = project.inv("bench", "--clean", "--dry-run")
        assert listed.returncode == 0, listed.stdout + listed.stderr
        for run_id in run_ids:
            assert f"image dockyard-bench/optimized:{run_id}" not in listed.stdout
            assert f"cache mount dockyard-bench-{run_id}-" not in listed.stdout
    finally:
        finished = [run.finish() for run in runs]

    for run_id, (code, output), name in zip(run_ids, finished, ("first", "second"), strict=True):
        assert code == 0, output[-4000:]
        assert "Traceback" not in output
        report = json.loads((project.root / f"{name}.json").read_text(encoding="utf-8"))
        assert report["plan"]["run_id"] == run_id
        assert report["status"] == "ok"
        assert report["import_seconds"]["optimized"]["n"] == 1  # its image was still there
        assert f"dockyard-bench/optimized:{run_id}" in report["removed"]
        assert images_of_run(run_id) == []
        assert cache_mounts_of_run(run_id) == []


def test_fresh_machine_with_the_team_cache(project: Project, team_registry: Registry) -> None:
    """The scenario on a real registry: each export build's own records, cache mounts and image
    are removed (nothing else), and the timed build gets every step from the team cache."""
    prefix = f"{team_registry.address}/{unique('bench')}"
    out = project.root / "team.json"
    done = project.inv(
        "bench", "--scenario", "team-cache", "--strategy", "naive", "--strategy", "optimized",
        "--repetitions", "1", "--import-runs", "0", "--yes", "--team-cache", prefix,
        "--json", str(out),
    )  # fmt: skip
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stdout + done.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    run_id = report["plan"]["run_id"]
    assert report["plan"]["scenarios"] == ["cold", "team-cache"]
    mode = "registry" if image_store() == "containerd" else "inline"
    assert report["plan"]["team_cache"]["export"] == mode

    samples = {(s["strategy"], s["scenario"]): s for s in report["samples"]}
    assert set(samples) == {("naive", "cold"), ("optimized", "cold"), ("optimized", "team-cache")}
    fresh = samples[("optimized", "team-cache")]
    steps = [s for s in fresh["steps"] if s["name"].startswith("[runtime")]
    assert len(steps) == 6 and all(s["cached"] for s in steps), steps
    ref = f"{prefix}/{project.name}/backend:dockyard-bench-{run_id}-optimized"
    assert f"importing cache manifest from {ref}" in [s["name"] for s in fresh["steps"]]
    repository = ref.split("/", 1)[1].rsplit(":", 1)[0]
    assert team_registry.tags(repository) == [ref.rsplit(":", 1)[1]]  # naive pushed nothing
    # the export build's records are gone from the engine, and only they were removed
    (made,) = report["fresh_machine"]
    assert (made["strategy"], made["ref"], made["stayed_records"]) == ("optimized", ref, [])
    assert len(made["removed_records"]) >= 6
    assert not set(made["removed_records"]) & {r["ID"] for r in build_cache_records()}
    # naive has no CACHE_ID: its cache is every other build's too, so it is not measured
    assert report["notes"] == [
        "team-cache naive: not measured: `WORKDIR /app` (stage 0) runs before `ARG CACHE_ID`"
    ]
    target = next(t for t in report["targets"] if t["name"].startswith("team-cache"))
    assert target["met"] is not None and target["measured"].endswith("%")
    assert "fresh machine, team" in done.stdout
    # and the run's own things are gone at the end
    assert images_of_run(run_id) == []
    assert cache_mounts_of_run(run_id) == []
