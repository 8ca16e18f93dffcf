"""`inv bench` on the real engine, in its quickest form: the bundled project, one repetition of
the code-edit scenario, two strategies. The benchmark must leave the user's tree and the
project's own image alone and remove exactly what it created."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DockerStack
from tests.docker.helpers import REPO, Project, unique

pytestmark = pytest.mark.docker

BACKEND = REPO / "backend"
PROJECT_IMAGE = "dockyard/backend:latest"


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


def cache_mounts_of_run(run_id: str) -> list[str]:
    done = subprocess.run(
        ["docker", "system", "df", "-v", "--format", "{{json .BuildCache}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = json.loads(done.stdout or "[]") or []
    return [r["Description"] for r in rows if f'"/dockyard-bench-{run_id}-' in r["Description"]]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, docker_stack: DockerStack) -> Project:
    """The repository's own compose project (read only), with its own state dir and .env."""
    root = tmp_path_factory.mktemp("bench")
    (root / "dockyard.env").write_text("", encoding="utf-8")
    return Project(root=root, name=unique("dyt-bench"), compose_files=[REPO / "docker-compose.yml"])


@pytest.fixture(scope="module")
def quick_run(project: Project) -> dict[str, Any]:
    before_tree = tree_digest(BACKEND)
    before_image = image_id(PROJECT_IMAGE)
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
        "image_after": image_id(PROJECT_IMAGE),
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
    assert match and match[1].count("-") == 2
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
    listed = project.inv("bench", "--clean", "--dry-run")
    assert listed.returncode == 0
    assert f"image dockyard-bench/optimized:{run_id}" in listed.stdout
    assert f"cache mount dockyard-bench-{run_id}-optimized-uv" in listed.stdout
    refused = project.inv("bench", "--clean")
    assert refused.returncode == 2 and "add --yes to confirm" in refused.stderr
    assert images_of_run(run_id)
    cleaned = project.inv("bench", "--clean", "--yes")
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
    assert "failed at `RUN --mount=type=cache" in done.stderr
    assert "exit code: 3" in done.stderr
    assert "about to fail" in done.stderr  # the failing step's log lines
    assert "hint: fix the Dockerfile" in done.stderr
    match = re.search(r"dockyard-bench/broken:(\S+?),", done.stdout)
    assert match, done.stdout
    assert images_of_run(match[1]) == []
    assert cache_mounts_of_run(match[1]) == []
