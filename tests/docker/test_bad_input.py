"""Bad input, each case through the real CLI: one clear line with a hint, a non-zero exit, and
never a traceback. The README's "Bad input" table lists the same cases, in the same order.

Each case runs `python -m invoke ...` in a subprocess against a tiny compose project in a
temporary directory (unique project name and image tags, its own state dir and .env), so a
developer's stack and other test runs on the same engine are not touched.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.ledger import Ledger
from tests.conftest import PYTHON_IMAGE
from tests.docker import teamcache_cases
from tests.docker.helpers import REPO, Project, unique
from tests.docker.teamcache_cases import team_project
from tests.teambed import Registry, TlsEngine, make_certificates

pytestmark = pytest.mark.docker

FAIL_MARKS = ("\u2717 ", "x ")  # the error line's symbol: UTF-8 console, or ASCII fallback


def assert_one_error(
    done: subprocess.CompletedProcess[str], message: str, *, code: int = 1, hint: str = ""
) -> str:
    """Exit `code`, no traceback, exactly one error line: it contains `message` and a hint."""
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    assert done.returncode == code, f"exit {done.returncode}, expected {code}:\n{output[-3000:]}"
    lines = [line for line in done.stderr.splitlines() if "hint:" in line]
    assert len(lines) == 1, f"expected one error line with a hint:\n{done.stderr}"
    line = lines[0]
    assert line.startswith(FAIL_MARKS), line
    assert message in line, f"{message!r} not in {line!r}"
    assert hint in line.split("hint:", 1)[1], line
    return line


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def project(tmp_path: Path, compose: str, dockerfile: str | None = None) -> Project:
    name = unique("dyt-bad")
    root = tmp_path / name
    compose_file = write(root / "compose.yml", compose.replace("@IMAGE@", f"{name}/app:t"))
    if dockerfile is not None:
        write(root / "Dockerfile", dockerfile.replace("@BASE@", PYTHON_IMAGE))
    return Project(root=root, name=name, compose_files=[compose_file])


BUILD_APP = """\
services:
  app:
    build:
      context: .
@EXTRA@    image: @IMAGE@
"""

WEB = """\
services:
  web:
    image: @BASE@
    command: ["sleep", "infinity"]
    init: true
    stop_signal: SIGKILL
@EXTRA@"""


def build_project(tmp_path: Path, dockerfile: str | None, extra: str = "") -> Project:
    return project(tmp_path, BUILD_APP.replace("@EXTRA@", extra), dockerfile)


def web_project(tmp_path: Path, extra: str) -> Project:
    return project(tmp_path, WEB.replace("@BASE@", PYTHON_IMAGE).replace("@EXTRA@", extra))


@pytest.fixture
def cleanup() -> Iterator[list[tuple[Project, list[str]]]]:
    """Projects (and their image tags) to take down after the test."""
    made: list[tuple[Project, list[str]]] = []
    yield made
    for proj, images in made:
        proj.teardown(images)


@pytest.fixture
def simple(tmp_path: Path) -> Project:
    return build_project(tmp_path, "FROM @BASE@\nRUN true\n")


# -- the engine ----------------------------------------------------------------------------------


def test_no_docker_binary(simple: Project, tmp_path: Path) -> None:
    python_only = tmp_path / "python-only"
    python_only.mkdir()
    done = simple.inv("ps", PATH=str(python_only))
    assert_one_error(done, "the `docker` command was not found", hint="put `docker` on PATH")


def test_daemon_down(simple: Project, tmp_path: Path) -> None:
    socket_path = tmp_path / "no-daemon.sock"  # nothing listens there: a stopped engine
    done = simple.inv("ps", DOCKER_HOST=f"unix://{socket_path}")
    assert_one_error(
        done, f"no Docker engine answers at unix://{socket_path}", hint="start the Docker engine"
    )


def test_docker_host_pointing_nowhere(simple: Project) -> None:
    done = simple.inv("ps", DOCKER_HOST="tcp://nowhere.invalid:2375")
    assert_one_error(
        done, "no Docker engine answers at tcp://nowhere.invalid:2375", hint="fix DOCKER_HOST"
    )


def test_tls_engine_with_a_bad_certificate(
    simple: Project, tls_engine: TlsEngine, tmp_path: Path
) -> None:
    # A client certificate and CA of another authority than the engine's (tests/teambed.py).
    make_certificates(tmp_path / "intruder", "intruder")
    done = simple.inv("ps", **tls_engine.client_env(tmp_path / "intruder"))
    assert_one_error(
        done,
        f"TLS with the Docker engine at {tls_engine.host} failed: tls: failed to verify "
        "certificate: x509: certificate signed by unknown authority",
        hint="DOCKER_CERT_PATH must hold that engine's CA",
    )


# -- the compose project -------------------------------------------------------------------------


def test_compose_file_missing(simple: Project, tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "compose.yml"
    done = simple.inv("ps", COMPOSE_FILE=str(missing))
    assert_one_error(done, f"compose file not found: {missing}", hint="set COMPOSE_FILE")


def test_compose_file_invalid_yaml(simple: Project, tmp_path: Path) -> None:
    broken = write(tmp_path / "broken.yml", "services:\n  app:\n   image: [oops\n")
    done = simple.inv("ps", COMPOSE_FILE=str(broken))
    assert_one_error(done, "invalid compose file: yaml: line ", hint=f"fix {broken}")


def test_unknown_service(simple: Project) -> None:
    done = simple.inv("build-fast", "--service", "nosuch")
    assert_one_error(done, "unknown buildable service 'nosuch'", code=2, hint="choose from: app")
    done = simple.inv("logs", "--service", "nosuch")
    assert_one_error(done, "unknown service 'nosuch'", code=2, hint="choose from: app")


def test_env_line_python_dotenv_cannot_parse(simple: Project) -> None:
    # In the compose project's own .env, Compose refuses the file: a warning with the line
    # number, then Compose's own words as the one error line.
    write(simple.root / ".env", "A=1\nthis line is malformed\nB=2\n")
    done = simple.inv("ps", DOCKYARD_ENV_FILE=str(simple.root / ".env"))
    assert ".env: line 2 could not be parsed and was ignored" in done.stderr
    assert_one_error(
        done,
        f"compose cannot read {simple.root / '.env'}: line 2: key cannot contain a space",
        hint="write that line as KEY=value",
    )


def test_env_line_in_dockyards_own_env_file_is_not_ignored_silently(simple: Project) -> None:
    settings = write(simple.root / "dockyard.env", "DOCKYARD_LOG_LINES=5\nnot a setting\n")
    done = simple.inv("ps", DOCKYARD_ENV_FILE=str(settings))
    assert done.returncode == 0, done.stderr
    assert "warning: dockyard.env: line 2 could not be parsed and was ignored" in done.stderr
    assert "Traceback" not in done.stderr


# -- builds --------------------------------------------------------------------------------------


def test_dockerfile_missing(tmp_path: Path) -> None:
    proj = build_project(tmp_path, None)
    done = proj.inv("build-fast")
    assert_one_error(
        done, f"Dockerfile of app not found: {proj.root / 'Dockerfile'}", hint="build.dockerfile"
    )


def test_dockerfile_syntax_error(tmp_path: Path) -> None:
    proj = build_project(tmp_path, "FROM @BASE@\nRUNN echo typo\n")
    done = proj.inv("build-fast")
    assert_one_error(
        done,
        "dockerfile parse error on line 2: unknown instruction: RUNN",
        hint="fix line 2 of the Dockerfile",
    )


def test_failing_run(tmp_path: Path) -> None:
    proj = build_project(tmp_path, "FROM @BASE@\nRUN echo about-to-fail && exit 7\n")
    done = proj.inv("build-fast")
    assert_one_error(
        done,
        "build of app failed at `RUN echo about-to-fail && exit 7`",
        hint="fix the step and build again",
    )
    assert "exit code: 7" in done.stderr
    assert "about-to-fail" in done.stderr  # the step's own output, above the error line


def test_package_index_unreachable(tmp_path: Path) -> None:
    # `network: none` for the build: pip cannot reach any index (fast: no retries).
    proj = build_project(
        tmp_path,
        "FROM @BASE@\nRUN python3 -m venv /v && /v/bin/pip install --retries 0 --timeout 5 "
        "idna==3.10\n",
        extra="      network: none\n",
    )
    done = proj.inv("build-fast", timeout=300)
    assert_one_error(
        done, "build of app failed at `RUN python3 -m venv /v", hint="could not reach the package"
    )
    assert "No matching distribution found for idna==3.10" in done.stderr


# -- up ------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_port_already_taken_at_up(tmp_path: Path, cleanup: list[tuple[Project, list[str]]]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proj = web_project(tmp_path, '    ports:\n      - "127.0.0.1:${WEB_PORT}:8000"\n')
        proj.env["WEB_PORT"] = str(port)
        cleanup.append((proj, []))
        done = proj.inv("up", "--timeout", "30", timeout=120)
    assert_one_error(
        done, f"port 127.0.0.1:{port} is already in use", hint="stop what uses the port"
    )


HEALTH_NEVER = """\
    healthcheck:
      test: ["CMD", "false"]
      interval: 1s
      retries: 1000
"""


def test_health_timeout(tmp_path: Path, cleanup: list[tuple[Project, list[str]]]) -> None:
    proj = web_project(tmp_path, HEALTH_NEVER)
    cleanup.append((proj, []))
    done = proj.inv("up", "--timeout", "5", timeout=120)
    assert_one_error(done, "not healthy after 5s: web is starting", hint="inv logs web")
    assert "--- last " in done.stderr and " log lines of web (is starting) ---" in done.stderr


# -- images --------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["history", "inspect-layers"])
def test_unknown_image(simple: Project, task: str) -> None:
    done = simple.dockyard(task, "no-such-image:nope")
    assert_one_error(done, "image not found: no-such-image:nope", code=2, hint="docker image ls")


# -- the ledger ----------------------------------------------------------------------------------


def test_unwritable_ledger(simple: Project) -> None:
    # /proc refuses new directories even to root (chmod would not stop root).
    done = simple.inv("build-fast", DOCKYARD_LEDGER="/proc/forbidden/ledger.sqlite3")
    assert_one_error(
        done,
        "cannot use the build ledger at /proc/forbidden/ledger.sqlite3",
        hint="set DOCKYARD_LEDGER",
    )


# -- the team cache ------------------------------------------------------------------------------


def test_registry_down_during_a_build(tmp_path: Path) -> None:
    with team_project(tmp_path / "tc") as proj:
        warning, pushed = teamcache_cases.registry_down_case(proj)
    assert "is unreachable (" in warning and warning.endswith("building without it"), warning
    assert_one_error(
        pushed, "team cache not pushed: the registry 127.0.0.1:", hint="built and kept"
    )


def test_push_refused(tmp_path: Path, readonly_registry: Registry) -> None:
    with team_project(tmp_path / "tc") as proj:
        done = teamcache_cases.refused_push_case(proj, readonly_registry)
    assert_one_error(done, "refused: ", hint="the image is built and kept")


# -- Ctrl-C --------------------------------------------------------------------------------------


def start(proj: Project, *args: str) -> tuple[subprocess.Popen[str], list[str]]:
    """Run `inv ARGS` in its own process group (like a terminal's foreground job)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "invoke", "--search-root", str(REPO), *args],
        env=proj.environ(),
        cwd=proj.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,
    )
    seen: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        seen.extend(proc.stdout)

    threading.Thread(target=pump, daemon=True).start()
    return proc, seen


def ctrl_c(proc: subprocess.Popen[str], seen: list[str], marker: str, settle: float) -> str:
    """Wait until `marker` was printed, `settle` more seconds, then Ctrl-C; return stderr."""
    deadline = time.monotonic() + 120
    while not any(marker in line for line in seen):
        assert proc.poll() is None, f"finished before {marker!r}: {''.join(seen)}"
        assert time.monotonic() < deadline, f"{marker!r} never printed: {''.join(seen)}"
        time.sleep(0.1)
    time.sleep(settle)
    assert proc.poll() is None, "finished before Ctrl-C"
    os.killpg(proc.pid, signal.SIGINT)  # the terminal sends it to the whole foreground group
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    proc.wait(timeout=60)
    return stderr


def test_ctrl_c_during_build(tmp_path: Path, cleanup: list[tuple[Project, list[str]]]) -> None:
    proj = build_project(
        tmp_path,
        f"FROM @BASE@\nRUN echo {secrets.token_hex(8)} && sleep 60\n",  # never cached
    )
    cleanup.append((proj, [f"{proj.name}/app:t"]))
    proc, seen = start(proj, "build-fast")
    stderr = ctrl_c(proc, seen, "building app", settle=4)
    done = subprocess.CompletedProcess(proc.args, proc.returncode, "".join(seen), stderr)
    assert_one_error(
        done, "build interrupted; it is recorded in the ledger as interrupted", code=130
    )
    builds = Ledger(proj.root / ".state" / "ledger.sqlite3").service_builds()
    assert [(b.service, b.status) for b in builds] == [("app", "interrupted")]


def test_ctrl_c_during_up(tmp_path: Path, cleanup: list[tuple[Project, list[str]]]) -> None:
    proj = web_project(tmp_path, HEALTH_NEVER)
    cleanup.append((proj, []))
    proc, seen = start(proj, "up", "--timeout", "120")
    stderr = ctrl_c(proc, seen, "starting", settle=3)
    done = subprocess.CompletedProcess(proc.args, proc.returncode, "".join(seen), stderr)
    assert_one_error(
        done,
        "up interrupted; containers that already started keep running",
        code=130,
        hint="`inv down` stops them",
    )
