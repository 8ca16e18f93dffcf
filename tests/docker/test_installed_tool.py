"""dockyard as a tool: the wheel, installed in a fresh venv, works in any compose project.

Builds the wheel from this checkout, installs it (and its dependencies, from the package index)
into a new virtual environment, and runs the `dockyard` command it provides in a compose
project in a temporary folder outside the repository.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import PYTHON_IMAGE, DockerStack
from tests.docker.helpers import REPO, unique

pytestmark = pytest.mark.docker


def run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKYARD_", "COMPOSE_"))}
    environ.pop("PYTHONPATH", None)  # the venv must stand on its own
    environ.update(env)
    return subprocess.run(
        command, cwd=cwd, env=environ, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, docker_stack: DockerStack) -> Path:
    """The `dockyard` executable of a fresh venv holding only the wheel and its dependencies."""
    root = tmp_path_factory.mktemp("tool")
    wheels = root / "wheels"
    built = run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(wheels), str(REPO)],
        root,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("dockyard-*.whl")
    venv.create(root / "venv", with_pip=True)
    bindir = root / "venv" / ("Scripts" if sys.platform == "win32" else "bin")
    pip = run([str(bindir / "python"), "-m", "pip", "install", "--quiet", str(wheel)], root)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    return bindir / "dockyard"


def test_the_wheel_carries_the_tasks_and_the_command(installed: Path, tmp_path: Path) -> None:
    listed = run([str(installed), "--list"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    for name in ("build-fast", "up", "down", "inspect-layers", "doctor", "bench", "timing"):
        assert name in listed.stdout
    version = run([str(installed), "--version"], tmp_path)
    assert version.stdout.startswith("dockyard ")


def test_dockyard_doctor_in_a_project_outside_the_repo(installed: Path, tmp_path: Path) -> None:
    project = tmp_path / "shop"
    (project / "api").mkdir(parents=True)
    (project / "api" / "Dockerfile").write_text(
        f"FROM {PYTHON_IMAGE}\nWORKDIR /srv\nCOPY app.py .\nUSER 10001\n"
        'CMD ["python3", "app.py"]\n',
        encoding="utf-8",
    )
    (project / "api" / "app.py").write_text('print("shop")\n', encoding="utf-8")
    (project / "api" / ".dockerignore").write_text("**/__pycache__\n", encoding="utf-8")
    name = unique("dyt-tool")
    (project / "compose.yaml").write_text(
        f"name: {name}\nservices:\n  api:\n    build: ./api\n    image: dockyard-test/{name}:1\n",
        encoding="utf-8",
    )
    done = run([str(installed), "doctor", "--json"], project, NO_COLOR="1")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    scopes = {check["scope"] for check in report["checks"]}
    assert {"environment", "project", "service api"} <= scopes
    by_id = {(c["scope"], c["id"]): c for c in report["checks"]}
    assert by_id[("project", "compose-file")]["reason"].startswith(f"project {name!r}: 1 service")
    assert by_id[("service api", "root-user")]["status"] == "PASS"
    assert not (REPO / ".dockyard" / "none").exists()  # nothing written into the repository
