"""The team cache's faults, run from tests/docker/test_bad_input.py (README "Bad input"): a
registry that is down costs one warning; a registry that refuses the push keeps the image and
ends in one error line; a password in Docker's login store never shows up in dockyard's output,
ledger or files.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import PYTHON_IMAGE
from tests.docker.helpers import Project, free_port, remove_images, unique
from tests.teambed import Registry

DOCKERFILE = """\
FROM {base} AS deps
RUN echo "{token}" > /deps.txt && python3 -c "import time; time.sleep(1)"
FROM deps
WORKDIR /srv
COPY app.py .
RUN python3 app.py > /srv/out.txt
"""

SENTINEL = "dyk-sentinel-9f3a1c"  # a password no output may ever show


@contextlib.contextmanager
def team_project(root: Path) -> Iterator[Project]:
    """A one-service project (two stages) with a unique image; its images removed after."""
    token = unique("tc")
    root.mkdir(parents=True, exist_ok=True)
    (root / "app").mkdir()
    (root / "app" / "app.py").write_text(f'print("{token}")\n', encoding="utf-8")
    (root / "app" / "Dockerfile").write_text(
        DOCKERFILE.format(base=PYTHON_IMAGE, token=token), encoding="utf-8"
    )
    image = f"dockyard-test/teamcache:{token}"
    (root / "compose.yml").write_text(
        f"services:\n  app:\n    build: ./app\n    image: {image}\n", encoding="utf-8"
    )
    (root / "dockyard.env").write_text("", encoding="utf-8")
    made = Project(root, unique("dyt-tc"), [root / "compose.yml"])
    made.env["TC_IMAGE"] = image
    try:
        yield made
    finally:
        remove_images([image, *pushed_tags(made)], project=made.name)


def pushed_tags(project: Project) -> list[str]:
    """The team-cache tags inline export put on the local image (removed with it)."""
    done = subprocess.run(
        ["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return [ref for ref in done.stdout.split() if f"/{project.name}/app:" in ref]


def image_exists(image: str) -> bool:
    done = subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False)
    return done.returncode == 0


def registry_down_case(project: Project) -> tuple[str, subprocess.CompletedProcess[str]]:
    """Build with the registry down (one warning, exit 0), then push with it down: the
    warning line, and the push's finished command (its one error line checked by the caller)."""
    down = f"127.0.0.1:{free_port()}/team"
    done = project.inv("build-fast", DOCKYARD_TEAM_CACHE=down)
    assert done.returncode == 0, done.stdout + done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "unreachable" in warnings[0], done.stderr
    assert "building without it" in warnings[0]

    # With --push-cache the build still finishes, then one error line and a non-zero exit.
    pushed = project.inv("build-fast", "--push-cache", DOCKYARD_TEAM_CACHE=down)
    assert image_exists(project.env["TC_IMAGE"])
    return warnings[0], pushed


def _auth(password: str) -> str:
    return base64.b64encode(f"dyk-user:{password}".encode()).decode()


def _config_with_sentinel(root: Path, registry: str) -> Path:
    """A DOCKER_CONFIG whose login store holds the sentinel password for `registry` (and the
    stack's own CLI plugins, so the same buildx and compose run)."""
    config = root / "docker-config"
    config.mkdir()
    (config / "config.json").write_text(
        json.dumps({"auths": {registry: {"auth": _auth(SENTINEL)}}}), encoding="utf-8"
    )
    plugins = Path(os.environ.get("DOCKER_CONFIG", "")) / "cli-plugins"
    if os.environ.get("DOCKER_CONFIG") and plugins.is_dir():
        shutil.copytree(plugins, config / "cli-plugins", symlinks=True)
    return config


def refused_push_case(project: Project, registry: Registry) -> subprocess.CompletedProcess[str]:
    """Push to a registry that refuses every push, with a sentinel password in the login
    store; the finished command (its one error line is checked by the caller too)."""
    config = _config_with_sentinel(project.root, registry.address)
    done = project.inv(
        "build-fast",
        "--push-cache",
        "--json",
        DOCKYARD_TEAM_CACHE=f"{registry.address}/team",
        DOCKER_CONFIG=str(config),
    )
    report = json.loads(done.stdout)
    assert report["status"] == "ok" and report["team_cache"]["services"]["app"]["push_error"]
    assert image_exists(project.env["TC_IMAGE"])
    # The sentinel is in Docker's login store only: not in output, ledger or state files,
    # neither plain nor as the store keeps it (base64 of user:password).
    needles = [SENTINEL, _auth(SENTINEL)]
    leaked = [
        str(path)
        for path in (project.root / ".state").rglob("*")
        if path.is_file() and any(n.encode() in path.read_bytes() for n in needles)
    ]
    assert leaked == []
    assert not [n for n in needles if n in done.stdout or n in done.stderr]
    return done
