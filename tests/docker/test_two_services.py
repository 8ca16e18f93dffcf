"""Two services built at once, edited, built again: each service gets its own steps, cache
hits and reasons, in the report and in the ledger, on every stack (Compose 2.40 hands the
build to bake, whose stream names the services only because there are two)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import PYTHON_IMAGE, DockerStack
from tests.docker.helpers import Project, steps_of, unique

pytestmark = pytest.mark.docker

COMPOSE = """\
services:
  api:
    build: ./api
    image: {tag}-api
  worker:
    build: ./worker
    image: {tag}-worker
"""


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, docker_stack: DockerStack) -> Iterator[Project]:
    root = tmp_path_factory.mktemp("two-services")
    tag = f"dockyard-test/pair:{unique('p')}"
    token = unique("token")
    for name in ("api", "worker"):
        (root / name).mkdir()
        (root / name / f"{name}.py").write_text(f'print("{name} {token}")\n', encoding="utf-8")
        (root / name / "Dockerfile").write_text(
            f"FROM {PYTHON_IMAGE}\nWORKDIR /srv\nCOPY {name}.py .\nRUN python3 {name}.py\n",
            encoding="utf-8",
        )
    (root / "compose.yml").write_text(COMPOSE.format(tag=tag), encoding="utf-8")
    (root / "dockyard.env").write_text("", encoding="utf-8")
    project = Project(root=root, name=unique("dyt-pair"), compose_files=[root / "compose.yml"])
    yield project
    project.teardown([f"{tag}-api", f"{tag}-worker"])


def service(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in report["services"] if s["service"] == name)


def test_each_service_gets_its_steps_reasons_and_ledger_rows(pair: Project) -> None:
    first = pair.inv_json("build-fast")
    assert [s["service"] for s in first["services"]] == ["api", "worker"]
    for name in ("api", "worker"):
        names = [s["instruction"] for s in steps_of(first, name)]
        assert names == ["WORKDIR /srv", f"COPY {name}.py .", f"RUN python3 {name}.py"], names

    worker_py = pair.root / "worker" / "worker.py"
    worker_py.write_text(worker_py.read_text(encoding="utf-8") + "print(2)\n", encoding="utf-8")
    # A user's own progress mode for Compose (2.40 reads it) must not cost the step view.
    second = pair.inv_json("build-fast", COMPOSE_PROGRESS="plain")
    api, worker = service(second, "api"), service(second, "worker")
    assert api["cache_ratio"] == 1.0 and api["reasons"] == {}
    ran = {s["instruction"]: s["cached"] for s in steps_of(second, "worker")}
    assert ran == {"WORKDIR /srv": True, "COPY worker.py .": False, "RUN python3 worker.py": False}
    reasons = list(worker["reasons"].values())
    assert any("`worker.py` changed (+1 line)" in why for why in reasons), reasons
    assert worker["seconds"] is not None and worker["slowest"]

    history = pair.inv_json("timing", "--history")
    recorded = [(b["service"], b["build_id"], len(b["steps"])) for b in history]
    assert sorted(recorded) == sorted(
        (name, build["build_id"], 4) for build in (first, second) for name in ("api", "worker")
    )
    latest_worker = max(
        (b for b in history if b["service"] == "worker"), key=lambda b: b["build_id"]
    )
    assert latest_worker["reasons"] == worker["reasons"]
