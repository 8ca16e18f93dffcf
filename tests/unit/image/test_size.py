"""dockyard.image.size: budgets from flags and settings, the previous build in the ledger, size
rows of the whole project and of named images."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from dockyard.errors import ImageNotFound, SettingsError
from dockyard.image.size import Previous, budget_failure, budget_for, previous_build, size_rows
from dockyard.image.targets import ImageTarget
from dockyard.ledger import BuildRecord, Ledger, ServiceBuild
from tests.unit.image.project import app_project, settings_for


def test_budget_precedence(tmp_path: Path) -> None:
    limits = replace(
        settings_for(tmp_path),
        max_image_size=900,
        size_budgets={"backend": 300, "example/db:16": 200},
    )
    backend = ImageTarget("dockyard/backend:latest", "backend", ("backend",), True)
    db = ImageTarget("docker.io/example/db", "db", ("db",))  # same image as example/db:16
    other = ImageTarget("alpine:3")
    assert budget_for(limits, backend, "1MB") == (1_000_000, "--max-size")
    assert budget_for(limits, backend) == (300, "DOCKYARD_SIZE_BUDGETS (backend)")
    assert budget_for(limits, db) == (900, "DOCKYARD_MAX_IMAGE_SIZE")  # :latest != :16
    assert budget_for(limits, ImageTarget("example/db:16")) == (
        200,
        "DOCKYARD_SIZE_BUDGETS (example/db:16)",
    )
    assert budget_for(limits, other) == (900, "DOCKYARD_MAX_IMAGE_SIZE")
    assert budget_for(settings_for(tmp_path), other) == (None, "")
    with pytest.raises(SettingsError, match="--max-size: 'huge' is not a size"):
        budget_for(limits, other, "huge")


def record(ledger: Ledger, image_id: str, size: int, status: str = "ok", cached: int = 1) -> None:
    """One build of `app` with 3 countable steps, `cached` of them from cache."""
    build = ServiceBuild(
        "app",
        status,
        1.0,
        3,
        cached,
        cached / 3,
        image="example/app:1",
        image_id=image_id,
        image_size=size,
    )
    ledger.record(
        BuildRecord(
            "2026-11-27T17:00:00+00:00", "2026-11-27T17:00:01+00:00", 1.0, status, "demo", [build]
        )
    )


def test_previous_build_is_the_one_before_the_build_that_made_the_image(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    assert previous_build(ledger, "demo", "app", "sha256:b") is None  # no file yet
    record(ledger, "sha256:a", 100, cached=0)  # build 1: cold
    record(ledger, "sha256:x", 999, status="failed")  # build 2: failed builds never count
    record(ledger, "sha256:b", 120)  # build 3: an edit
    record(ledger, "sha256:b", 120, cached=3)  # build 4: a rebuild that made the same image
    record(ledger, "sha256:c", 120, cached=3)  # build 5: fully cached, yet a new image id
    record(ledger, "sha256:a", 100, cached=3)  # build 6: the edit reverted, cache reused

    def previous(image_id: str, project: str = "demo") -> int | None:
        found = previous_build(ledger, project, "app", image_id)
        return found.build_id if found else None

    assert previous("sha256:a") == 5  # made by build 6; build 5 made another image
    assert previous("sha256:c") == 4
    assert previous("sha256:b") == 1  # made by build 4 (and 3); before them: build 1
    assert previous("sha256:d") == 6  # built outside dockyard: the last recorded build
    assert previous("sha256:d", project="other") is None


def test_size_rows_of_the_whole_project(tmp_path: Path) -> None:
    engine = app_project(tmp_path, DOCKYARD_SIZE_BUDGETS="app=20kB")
    ledger = Ledger(engine.settings.ledger_path)
    record(ledger, "sha256:old", 15000)  # the image here is not in the ledger: compare with it
    rows = size_rows(engine, [])
    assert [(r.target.services, r.status) for r in rows] == [
        (("app",), "over budget"),
        (("db", "cache"), "not pulled"),
    ]
    app = rows[0]
    assert (app.size, app.layers, app.change, app.budget) == (20120, 5, 5120, 20000)
    assert app.previous == Previous(1, "sha256:old", 15000, "2026-11-27T17:00:00+00:00")
    data = json.loads(json.dumps([row.to_dict() for row in rows]))
    assert data[0] == {
        "service": "app",
        "services": ["app"],
        "image": "example/app:1",
        "present": True,
        "image_id": "sha256:" + "a" * 64,
        "size": 20120,
        "size_human": "20.1 kB",
        "layers": 5,
        "created": "2026-11-27T17:31:24.922486115Z",
        "previous": {
            "build_id": 1,
            "image_id": "sha256:old",
            "size": 15000,
            "started_at": "2026-11-27T17:00:00+00:00",
        },
        "change": 5120,
        "budget": 20000,
        "budget_source": "DOCKYARD_SIZE_BUDGETS (app)",
        "over_budget": True,
        "status": "over budget",
    }
    assert data[1]["present"] is False and data[1]["size"] is None
    failure = budget_failure(rows)
    assert failure is not None
    assert failure.message == (
        "app is over budget: 20.1 kB > 20.0 kB (DOCKYARD_SIZE_BUDGETS (app))"
    )
    assert "--max-size" in failure.hint


def test_size_rows_of_named_images(tmp_path: Path) -> None:
    engine = app_project(tmp_path)
    rows = size_rows(engine, ["example/base:1", "app", "example/app:1"], max_size="1MB")
    assert [(r.target.label, r.status, r.budget) for r in rows] == [
        ("example/base:1", "ok", 1_000_000),
        ("app", "ok", 1_000_000),
    ]
    assert rows[1].previous is None and rows[1].change is None
    assert budget_failure(rows) is None
    with pytest.raises(ImageNotFound, match="image not found: nosuch"):
        size_rows(engine, ["nosuch"])
    with pytest.raises(SettingsError, match="--max-size"):
        size_rows(engine, [], max_size="big")
