"""Any compose project, chosen by Compose's own variables; failed builds named and recorded."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.ledger import Ledger
from tests.conftest import PYTHON_IMAGE, DockerStack
from tests.docker.helpers import Project, free_port, unique

pytestmark = pytest.mark.docker

BASE = """\
services:
  api:
    build:
      context: ./api
    image: {tag}-api
    command: ["python3", "-m", "http.server", "8080"]
    healthcheck:
      test: ["CMD", "python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/')"]
      interval: 1s
      retries: 20
"""

OVERRIDE = """\
services:
  api:
    ports:
      - "127.0.0.1:{port}:8080"
  worker:
    profiles: ["extra"]
    build:
      context: ./worker
    image: {tag}-worker
    command: ["sleep", "60"]
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, docker_stack: DockerStack) -> Iterator[Project]:
    root = tmp_path_factory.mktemp("tiny-project")
    tag = f"dockyard-test/tiny:{unique('t')}"
    port = free_port()
    for name, text in {
        "api": "RUN echo api > /api.txt",
        "worker": "RUN echo worker > /w.txt",
    }.items():
        (root / name).mkdir()
        (root / name / "Dockerfile").write_text(f"FROM {PYTHON_IMAGE}\n{text}\n", encoding="utf-8")
    (root / "compose.base.yml").write_text(BASE.format(tag=tag), encoding="utf-8")
    (root / "compose.override.yml").write_text(OVERRIDE.format(tag=tag, port=port), "utf-8")
    (root / "dockyard.env").write_text("", encoding="utf-8")
    project = Project(
        root=root,
        name=unique("dyt-tiny"),
        compose_files=[root / "compose.base.yml", root / "compose.override.yml"],
        env={"TINY_PORT": str(port)},
    )
    yield project
    project.teardown([f"{tag}-api", f"{tag}-worker"])


def test_two_compose_files_and_project_name_choose_the_project(tiny: Project) -> None:
    report = tiny.inv_json("build-fast")
    assert [s["service"] for s in report["services"]] == ["api"]  # worker is in a profile
    with_profile = tiny.inv_json("build-fast", COMPOSE_PROFILES="extra")
    assert [s["service"] for s in with_profile["services"]] == ["api", "worker"]


def test_settings_from_the_env_file(tiny: Project) -> None:
    """COMPOSE_* in the .env file choose the project when the environment does not."""
    env_file = tiny.root / "dockyard.env"
    files = os.pathsep.join(f.name for f in tiny.compose_files)  # relative to the .env's dir
    env_file.write_text(
        f"COMPOSE_FILE={files}\nCOMPOSE_PROJECT_NAME={tiny.name}\nCOMPOSE_PROFILES=extra\n",
        encoding="utf-8",
    )
    try:
        done = tiny.inv_json("build-fast", COMPOSE_FILE=None, COMPOSE_PROJECT_NAME=None)
        assert [s["service"] for s in done["services"]] == ["api", "worker"]
    finally:
        env_file.write_text("", encoding="utf-8")


def test_up_ps_down_on_any_project(tiny: Project) -> None:
    api_image = tiny.compose("config", "--images").stdout.split()[0]
    subprocess.run(["docker", "image", "rm", api_image], capture_output=True, check=True)
    up = tiny.inv("up", "--timeout", "60")
    assert up.returncode == 0, up.stdout + up.stderr
    assert "Build summary" in up.stdout  # the missing image was built first, with the build view
    assert f"http://127.0.0.1:{tiny.env['TINY_PORT']}" in up.stdout
    ps = tiny.inv("ps")
    assert "api" in ps.stdout and "healthy" in ps.stdout
    assert "worker" not in ps.stdout  # its profile is not enabled
    down = tiny.inv("down")
    assert down.returncode == 0


def test_unknown_service_is_one_line_with_the_choices(tiny: Project) -> None:
    done = tiny.inv("build-fast", "--service", "nosuch")
    assert done.returncode == 2
    assert "unknown buildable service 'nosuch'" in done.stderr
    assert "choose from: api" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_failed_build_names_the_step_and_is_recorded(tiny: Project) -> None:
    dockerfile = tiny.root / "api" / "Dockerfile"
    good = dockerfile.read_text(encoding="utf-8")
    dockerfile.write_text(
        good + "RUN echo first-line && echo second-line && echo to-stderr >&2 && exit 7\n",
        encoding="utf-8",
    )
    try:
        done = tiny.inv("build-fast")
    finally:
        dockerfile.write_text(good, encoding="utf-8")
    output = done.stdout + done.stderr
    assert done.returncode == 1
    assert "Traceback" not in output
    # The step by its short label (stage N/M, cut), the exit code; the command in the detail.
    assert re.search(r"build of api failed at `(\S+ )?\d+/\d+ RUN echo first-line", done.stderr)
    assert "exit code: 7" in done.stderr
    assert "first-line" in done.stderr and "second-line" in done.stderr  # the step's log tail
    ledger = Ledger(Path(tiny.root / ".state" / "ledger.sqlite3"))
    (last,) = ledger.service_builds(services=["api"], last=1)
    assert last.status == "failed"
    assert "exit code: 7" in last.error
    failed_steps = [s for s in last.steps if s["error"]]
    assert failed_steps and "exit 7" in failed_steps[0]["instruction"]


def test_up_build_flags(tiny: Project) -> None:
    api_image = tiny.compose("config", "--images").stdout.split()[0]
    subprocess.run(["docker", "image", "rm", api_image], capture_output=True, check=True)
    refused = tiny.inv("up", "--no-build")
    assert refused.returncode == 2
    assert "api has no image yet and --no-build was given" in refused.stderr
    assert "Traceback" not in refused.stdout + refused.stderr
    rebuilt = tiny.inv("up", "--build", "--timeout", "60")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "Build summary" in rebuilt.stdout
    again = tiny.inv("up", "--no-build", "--timeout", "60")  # image present: starts, no build
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Build summary" not in again.stdout
    assert tiny.inv("down").returncode == 0
