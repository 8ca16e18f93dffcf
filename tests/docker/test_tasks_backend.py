"""`inv build-fast`, `inv up`, `inv down`, `inv timing` on a copy of the bundled backend.

Cache hits are read from BuildKit's own output (the `cached` flag of each step in
`build-fast --json`), never from timing. The tests run in file order and share one project.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.ledger import Ledger
from tests.conftest import DockerStack
from tests.docker.helpers import Project, bundled_backend_copy, step, steps_of

pytestmark = pytest.mark.docker

UV_STEP = "uv pip sync"  # Dockerfile.optimized syncs a venv kept in a cache mount
CODE_STEP = "COPY app/ ./app/"


@pytest.fixture(scope="module")
def project(
    tmp_path_factory: pytest.TempPathFactory, docker_stack: DockerStack
) -> Iterator[Project]:
    proj = bundled_backend_copy(tmp_path_factory.mktemp("backend-project"))
    yield proj
    proj.teardown([proj.env["BACKEND_IMAGE"]])


def api(project: Project, path: str, body: dict[str, Any] | None = None) -> Any:
    url = f"http://127.0.0.1:{project.env['BACKEND_PORT']}{path}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_build_fast_builds_the_backend(project: Project) -> None:
    report = project.inv_json("build-fast")
    assert report["status"] == "ok"
    (backend,) = report["services"]
    assert backend["service"] == "backend"
    assert backend["image"] == project.env["BACKEND_IMAGE"]
    assert backend["image_size"] > 50_000_000
    assert backend["image_id"].startswith("sha256:")
    ledger = Ledger(project.root / ".state" / "ledger.sqlite3")
    (recorded,) = ledger.service_builds(services=["backend"], last=1)
    assert (recorded.status, recorded.image_id) == ("ok", backend["image_id"])


def test_no_change_rebuild_is_fully_cached(project: Project) -> None:
    report = project.inv_json("build-fast")
    steps = steps_of(report, "backend")
    assert steps and all(s["cached"] for s in steps), [s for s in steps if not s["cached"]]
    assert report["services"][0]["cache_ratio"] == 1.0
    assert report["services"][0]["reasons"] == {}


def test_code_edit_keeps_dependencies_cached(project: Project) -> None:
    main = project.root / "backend" / "app" / "main.py"
    # A token of this run: the engine may have cached an identical edit from an earlier run.
    edit = f"\n# a code-only edit {project.name}\n"
    main.write_text(main.read_text(encoding="utf-8") + edit, encoding="utf-8")
    report = project.inv_json("build-fast")
    steps = steps_of(report, "backend")
    assert step(steps, UV_STEP)["cached"] is True
    assert step(steps, CODE_STEP)["cached"] is False
    reasons = " ".join(report["services"][0]["reasons"].values())
    assert "app/main.py" in reasons and "+2 lines" in reasons, reasons


def test_requirements_edit_reruns_the_dependency_step(project: Project) -> None:
    requirements = project.root / "backend" / "requirements.txt"
    requirements.write_text(
        requirements.read_text(encoding="utf-8") + f"# a requirements edit {project.name}\n",
        encoding="utf-8",
    )
    report = project.inv_json("build-fast")
    steps = steps_of(report, "backend")
    assert step(steps, UV_STEP)["cached"] is False
    assert step(steps, "COPY requirements.txt")["cached"] is False
    reasons = report["services"][0]["reasons"]
    copy_reason = next(v for k, v in reasons.items() if "COPY requirements.txt" in k)
    assert "`requirements.txt` changed (+1 line)" in copy_reason


def test_timing_compares_with_earlier_builds(project: Project) -> None:
    payload = project.inv_json("timing")
    (comparison,) = payload["comparisons"]
    assert comparison["service"] == "backend"
    assert len(comparison["earlier"]) == 4  # the four builds above, all successful
    history = project.inv_json("timing", "--history", "--last", "3")
    assert [b["build_id"] for b in history] == sorted(b["build_id"] for b in history)
    assert len(history) == 3
    text = project.inv("timing", "--history")
    assert text.returncode == 0
    assert "Build history" in text.stdout and "seconds per build" in text.stdout


def test_up_is_healthy_and_search_ranks(project: Project) -> None:
    done = project.inv("up", "--timeout", "120")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"http://127.0.0.1:{project.env['BACKEND_PORT']}" in done.stdout
    assert api(project, "/health")["status"] == "ok"
    articles = [
        {
            "title": "Tuning PostgreSQL",
            "body": "Vacuum and indexes for a busy database.",
            "tags": ["db"],
        },
        {
            "title": "Docker layer caching",
            "body": "BuildKit cache mounts keep pip downloads; "
            "layer order keeps the dependency layer cached.",
            "tags": ["docker"],
        },
        {"title": "Gardening", "body": "Tomatoes need sun.", "tags": []},
    ]
    ids = [api(project, "/articles", a)["id"] for a in articles]
    hits = api(project, "/search?q=cache+layer&limit=5")["results"]
    assert hits[0]["id"] == ids[1]
    assert ids[2] not in [h["id"] for h in hits]


def test_data_survives_down_and_up(project: Project) -> None:
    before = api(project, "/search?q=tomatoes")["results"]
    assert len(before) == 1
    down = project.inv("down")
    assert down.returncode == 0, down.stderr
    assert "volumes kept" in down.stdout
    assert project.inv("ps").stdout.count("running") == 0
    up = project.inv("up", "--timeout", "120")
    assert up.returncode == 0, up.stdout + up.stderr
    after = api(project, "/search?q=tomatoes")["results"]
    assert [h["id"] for h in after] == [h["id"] for h in before]


def test_down_volumes_needs_confirmation(project: Project) -> None:
    refused = project.inv("down", "--volumes")
    assert refused.returncode != 0
    assert "add --yes" in refused.stderr and "Traceback" not in refused.stderr
    done = project.inv("down", "--volumes", "--yes")
    assert done.returncode == 0, done.stderr
    assert f"{project.name}_pgdata" in done.stdout


def _untouched(repo_file: Path) -> None:
    """The test edits a copy; the repository's own files must not change."""
    assert "a code-only edit" not in repo_file.read_text(encoding="utf-8")


def test_repository_tree_untouched() -> None:
    from tests.docker.helpers import REPO

    _untouched(REPO / "backend" / "app" / "main.py")
    assert "a requirements edit" not in (REPO / "backend" / "requirements.txt").read_text("utf-8")
