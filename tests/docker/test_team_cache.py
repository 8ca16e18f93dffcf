"""The team cache on real engines and a real registry (tests/teambed.py).

On each stack a build with `--push-cache` exports its cache (debian13, classic store: inline
cache in a pushed image; sid, containerd store: type=registry,mode=max), then the third engine
(a fresh machine with an empty build cache, reached over TCP with TLS) builds the same project
from the team cache alone and gets every step CACHED. A registry that is down costs one
warning; a registry that refuses the push keeps the image and ends in one error line; a
password in Docker's login store never shows up in dockyard's output, ledger or files.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PYTHON_IMAGE, DockerStack
from tests.docker.helpers import Project, free_port, image_store, remove_images, steps_of, unique
from tests.teambed import Registry, TlsEngine, running_registry

pytestmark = pytest.mark.docker

DOCKERFILE = """\
FROM {base} AS deps
RUN echo "{token}" > /deps.txt && python3 -c "import time; time.sleep(1)"
FROM deps
WORKDIR /srv
COPY app.py .
RUN python3 app.py > /srv/out.txt
"""

SENTINEL = "dyk-sentinel-9f3a1c"  # a password no output may ever show


@pytest.fixture
def project(tmp_path: Path, docker_stack: DockerStack) -> Iterator[Project]:
    token = unique("tc")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "app.py").write_text(f'print("{token}")\n', encoding="utf-8")
    (tmp_path / "app" / "Dockerfile").write_text(
        DOCKERFILE.format(base=PYTHON_IMAGE, token=token), encoding="utf-8"
    )
    image = f"dockyard-test/teamcache:{token}"
    (tmp_path / "compose.yml").write_text(
        f"services:\n  app:\n    build: ./app\n    image: {image}\n", encoding="utf-8"
    )
    (tmp_path / "dockyard.env").write_text("", encoding="utf-8")
    made = Project(tmp_path, unique("dyt-tc"), [tmp_path / "compose.yml"])
    made.env["TC_IMAGE"] = image
    yield made
    remove_images([image, *_pushed_tags(made)], project=made.name)


def _pushed_tags(project: Project) -> list[str]:
    """The team-cache tags inline export put on the local image (removed with it)."""
    done = subprocess.run(
        ["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return [ref for ref in done.stdout.split() if f"/{project.name}/app:" in ref]


def _cached(report: dict[str, object]) -> dict[str, bool]:
    return {s["instruction"]: s["cached"] for s in steps_of(report, "app")}  # type: ignore[arg-type]


def test_push_cache_lets_a_fresh_tls_engine_reuse_every_step(
    project: Project, team_registry: Registry, tls_engine: TlsEngine
) -> None:
    prefix = f"{team_registry.address}/{unique('team')}"
    store = image_store()
    pushed = project.inv("build-fast", "--push-cache", "--json", DOCKYARD_TEAM_CACHE=prefix)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    report = json.loads(pushed.stdout)
    team = report["team_cache"]
    expected = "registry" if store == "containerd" else "inline"
    assert team["export"] == expected, team
    assert (
        f"team cache: exporting as {'type=registry' if expected == 'registry' else 'inline'}"
        in (pushed.stderr)
    )
    service = team["services"]["app"]
    assert service["pushed"] is True and service["push_error"] is None, service
    assert service["ref"] == f"{prefix}/{project.name}/app:main"
    repository = service["ref"].split("/", 1)[1].rsplit(":", 1)[0]
    assert team_registry.tags(repository) == ["main"]

    # The teammate's fresh machine: the third engine, its build cache emptied, over TLS.
    tls_engine.forget_builds()
    fresh = project.inv(
        "build-fast", "--json", DOCKYARD_TEAM_CACHE=prefix, **tls_engine.client_env()
    )
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    rebuilt = json.loads(fresh.stdout)
    cached = _cached(rebuilt)
    assert cached and all(cached.values()), cached
    got = rebuilt["team_cache"]["services"]["app"]
    assert got["imported"] == [service["ref"]], got
    assert got["team_steps"] >= 1 and got["cached_steps"] == len(cached), got
    # the image is there, on that engine
    assert tls_engine.docker("image", "inspect", project.env["TC_IMAGE"]).returncode == 0


def test_registry_down_costs_one_warning(project: Project) -> None:
    down = f"127.0.0.1:{free_port()}/team"
    done = project.inv("build-fast", DOCKYARD_TEAM_CACHE=down)
    assert done.returncode == 0, done.stdout + done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "unreachable" in warnings[0], done.stderr
    assert "building without it" in warnings[0]

    # With --push-cache the build still finishes, then one error line and a non-zero exit.
    pushed = project.inv("build-fast", "--push-cache", DOCKYARD_TEAM_CACHE=down)
    assert pushed.returncode == 1, pushed.stdout + pushed.stderr
    errors = [line for line in pushed.stderr.splitlines() if line.startswith("✗")]
    assert len(errors) == 1 and "team cache not pushed" in errors[0], pushed.stderr
    assert "hint: the images are built and kept" in errors[0]
    image = subprocess.run(
        ["docker", "image", "inspect", project.env["TC_IMAGE"]], capture_output=True, check=False
    )
    assert image.returncode == 0


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


def test_refused_push_keeps_the_image_and_no_secret_leaks(
    project: Project, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with running_registry(tmp_path_factory.mktemp("readonly"), readonly=True) as registry:
        config = _config_with_sentinel(project.root, registry.address)
        done = project.inv(
            "build-fast",
            "--push-cache",
            "--json",
            DOCKYARD_TEAM_CACHE=f"{registry.address}/team",
            DOCKER_CONFIG=str(config),
        )
    assert done.returncode == 1, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("✗")]
    assert len(errors) == 1, done.stderr
    assert "team cache push of" in errors[0] and "refused" in errors[0], errors
    assert "hint: the image is built and kept" in errors[0]
    report = json.loads(done.stdout)
    assert report["status"] == "ok" and report["team_cache"]["services"]["app"]["push_error"]
    image = subprocess.run(
        ["docker", "image", "inspect", project.env["TC_IMAGE"]], capture_output=True, check=False
    )
    assert image.returncode == 0
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
