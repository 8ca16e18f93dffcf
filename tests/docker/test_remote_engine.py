"""Every task against an engine on another host: the test bed's third dockerd, reached over TCP
with TLS (tests/teambed.py), and nothing on the local engine. A small web service with a
healthcheck is built, started (`up` waits for healthy), inspected and stopped there."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PYTHON_IMAGE, DockerStack
from tests.docker.helpers import Project, unique
from tests.teambed import TlsEngine

pytestmark = pytest.mark.docker

DOCKERFILE = """\
ARG PYTHON_IMAGE
FROM ${{PYTHON_IMAGE}}
WORKDIR /srv
COPY serve.py ./
RUN python -c "print('{token}')" > token.txt
HEALTHCHECK --interval=1s --timeout=3s --retries=30 \\
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/token.txt')"]
CMD ["python", "serve.py"]
"""
SERVE = """\
import http.server, functools
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory="/srv")
http.server.ThreadingHTTPServer(("0.0.0.0", 8000), handler).serve_forever()
"""


@pytest.fixture
def remote_project(
    tmp_path: Path, docker_stack: DockerStack, tls_engine: TlsEngine
) -> Iterator[Project]:
    token = unique("remote")
    root = tmp_path / "project"
    (root / "web").mkdir(parents=True)
    (root / "web" / "Dockerfile").write_text(DOCKERFILE.format(token=token), encoding="utf-8")
    (root / "web" / "serve.py").write_text(SERVE, encoding="utf-8")
    image = f"dockyard-test/remote:{token}"
    (root / "compose.yml").write_text(
        "services:\n"
        "  web:\n"
        "    build:\n"
        "      context: ./web\n"
        f"      args: {{PYTHON_IMAGE: {PYTHON_IMAGE}}}\n"
        f"    image: {image}\n",
        encoding="utf-8",
    )
    (root / "dockyard.env").write_text("", encoding="utf-8")
    project = Project(root, unique("dyt-remote"), [root / "compose.yml"])
    project.env.update(tls_engine.client_env())
    project.env["REMOTE_IMAGE"] = image
    try:
        yield project
    finally:
        project.inv("down", "--yes", "--volumes")
        tls_engine.docker("image", "rm", "--force", image)


def test_every_task_works_on_a_remote_engine(
    remote_project: Project, tls_engine: TlsEngine
) -> None:
    project, image = remote_project, remote_project.env["REMOTE_IMAGE"]

    def ok(*args: str) -> subprocess.CompletedProcess[str]:
        done = project.inv(*args)
        assert done.returncode == 0, f"inv {' '.join(args)}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stdout + done.stderr, done.stderr
        return done

    built = ok("build-fast")
    assert f"remote engine: {tls_engine.host}" in built.stdout + built.stderr
    assert "context sent: web" in built.stdout + built.stderr
    # the image is on the remote engine, not on the local one
    assert tls_engine.docker("image", "inspect", image).returncode == 0
    local = subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False)
    assert local.returncode != 0

    up = ok("up")
    assert "web" in up.stdout + up.stderr
    ps = ok("ps").stdout
    assert "web" in ps and "healthy" in ps, ps
    assert "GET /token.txt" in ok("logs").stdout

    (size,) = json.loads(ok("size", "--json").stdout)
    assert (size["image"], size["present"], size["services"]) == (image, True, ["web"]), size
    history = json.loads(ok("history", "--json").stdout)
    assert history["image"] == image
    assert any("token.txt" in row["instruction"] for row in history["rows"]), history
    layers = json.loads(ok("inspect-layers", "--json").stdout)  # docker save, from afar
    assert layers["image"] == image and layers["analysis"]["file_count"] > 0
    timed = json.loads(ok("timing", "--json").stdout)
    assert timed["build"]["build_id"] and timed["comparisons"], timed
    builds = json.loads(ok("timing", "--history", "--json").stdout)
    assert len(builds) == 2 and {b["service"] for b in builds} == {"web"}, builds

    doctor = project.inv("doctor", "--json")
    assert "Traceback" not in doctor.stderr, doctor.stderr
    checks = {c["id"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert checks["docker-daemon"]["status"] == "PASS"
    assert tls_engine.host in checks["docker-daemon"]["reason"], checks["docker-daemon"]
    # a local-only check says "remote" instead of measuring this machine's disk
    assert checks["disk-free"]["status"] == "SKIP"
    assert f"the engine is remote ({tls_engine.host})" in checks["disk-free"]["reason"]

    ok("down")
    gone = tls_engine.docker(
        "ps", "--all", "--quiet", "--filter", f"label=com.docker.compose.project={project.name}"
    )
    assert gone.stdout.strip() == ""
