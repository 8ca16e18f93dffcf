"""Bad input, each case through the real CLI: one clear line with a hint, a non-zero exit, and
never a traceback. The README's "Bad input" table lists the same cases, in the same order.

Each case runs `python -m invoke ...` in a subprocess against a tiny compose project in a
temporary directory (unique project name and image tags, its own state dir and .env), so a
developer's stack and other test runs on the same engine are not touched.
"""

from __future__ import annotations

import json
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.ledger import Ledger
from tests.conftest import PYTHON_IMAGE
from tests.docker import teamcache_cases
from tests.docker.helpers import (
    STOPS,
    Project,
    assert_nothing_left_running,
    interrupt,
    start,
    steps_of,
    survivors,
    unique,
)
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


def test_wrong_docker_context(simple: Project) -> None:
    # DOCKER_HOST would win over DOCKER_CONTEXT (the sid stack sets it): unset, so the stack's
    # own docker CLI and DOCKER_CONFIG look the context up.
    name = unique("dyt-nosuch-context")
    done = simple.inv("ps", DOCKER_CONTEXT=name, DOCKER_HOST=None)
    assert_one_error(
        done,
        f"docker context '{name}' does not exist (DOCKER_CONTEXT={name})",
        hint="`docker context ls` lists the contexts",
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
    line = assert_one_error(
        done,
        "build of app failed at `2/2 RUN echo about-to-fail && exit 7`: exit code: 7",
        hint="fix the step and build again",
    )
    assert "/bin/sh" not in line  # BuildKit's repeat of the command stays in the detail
    assert 'error: process "/bin/sh -c echo about-to-fail && exit 7"' in done.stderr
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
        done,
        "build of app failed at `2/2 RUN python3 -m venv /v && /v/bin/pip install --retrie...`: "
        "exit code: 1",
        hint="could not reach the package",
    )
    assert "No matching distribution found for idna==3.10" in done.stderr


# Images no engine can pull, whatever the network: `.invalid` never resolves (RFC 6761), so the
# engine's answer is the one of a machine without a registry (`lookup ...: no such host`).
NOWHERE = "dockyard.invalid"


def test_unpullable_base_image(tmp_path: Path) -> None:
    proj = build_project(
        tmp_path, f"ARG BASE_IMAGE={NOWHERE}/python:3.11-slim\nFROM ${{BASE_IMAGE}}\nRUN true\n"
    )
    done = proj.inv("build-fast")
    assert_one_error(
        done,
        f"cannot pull {NOWHERE}/python:3.11-slim (Dockerfile:2, FROM): no registry reachable (",
        hint="or point the build ARG BASE_IMAGE at a local image",
    )
    assert "no such host" in done.stderr


def test_unpullable_copy_from_image(tmp_path: Path) -> None:
    # Engine 28 cancels the base image's metadata load when this one fails: a broken build,
    # not an interrupted one (exit 1, not 130).
    proj = build_project(tmp_path, f"FROM @BASE@\nCOPY --from={NOWHERE}/busybox:1.36 /bin/sh /sh\n")
    done = proj.inv("build-fast")
    assert_one_error(
        done,
        f"cannot pull {NOWHERE}/busybox:1.36 (Dockerfile:2, COPY --from): no registry reachable (",
        hint="or copy from a local image or a build stage instead",
    )


def test_syntax_line_offline(tmp_path: Path) -> None:
    proj = build_project(tmp_path, f"# syntax={NOWHERE}/dockerfile:1\nFROM @BASE@\nRUN true\n")
    done = proj.inv("build-fast")
    assert_one_error(
        done,
        f"cannot pull {NOWHERE}/dockerfile:1 (Dockerfile:1, # syntax=): no registry reachable (",
        hint="drop the `# syntax=` line (Dockerfile:1)",
    )


DB = """\
services:
  db:
    image: @DB@
"""


def test_unpullable_image_at_up(tmp_path: Path, cleanup: list[tuple[Project, list[str]]]) -> None:
    proj = project(tmp_path, DB.replace("@DB@", f"{NOWHERE}/postgres:16"))
    cleanup.append((proj, []))
    done = proj.inv("up", "--timeout", "30", timeout=120)
    assert_one_error(
        done,
        f"cannot pull {NOWHERE}/postgres:16 (service db, image:): no registry reachable (",
        hint=f"`docker pull {NOWHERE}/postgres:16` where a registry is reachable",
    )
    # A name meant as a local image that is not there (a registry, where one is reachable,
    # refuses it: then the reason differs, the line and the hint do not).
    local = f"{unique('dyt-never-built')}/db:v1"
    proj = project(tmp_path, DB.replace("@DB@", f"${{DYT_DB_IMAGE:-{local}}}"))
    cleanup.append((proj, []))
    done = proj.inv("up", "--timeout", "30", timeout=120)
    assert_one_error(
        done,
        f"cannot pull {local} (service db, image:): ",
        hint="or set DYT_DB_IMAGE to a local image in .env or the environment",
    )


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
      test: ["CMD-SHELL", "echo web-probe-says-not-ready; exit 1"]
      interval: 1s
      retries: 1000
"""


def test_health_timeout(tmp_path: Path, cleanup: list[tuple[Project, list[str]]]) -> None:
    proj = web_project(tmp_path, HEALTH_NEVER)
    cleanup.append((proj, []))
    done = proj.inv("up", "--timeout", "5", timeout=120)
    assert_one_error(done, "not healthy after 5s: web is starting", hint="inv logs web")
    assert "--- last " in done.stderr and " log lines of web (is starting) ---" in done.stderr
    # The healthcheck's own last runs, from `docker container inspect`: when, exit code, output.
    assert "--- last 3 healthchecks of web ---" in done.stderr, done.stderr
    runs = [line for line in done.stderr.splitlines() if "  exit 1  web-probe-says" in line]
    assert len(runs) == 3 and all(line.endswith("web-probe-says-not-ready") for line in runs)


# -- images --------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["history", "inspect-layers"])
def test_unknown_image(simple: Project, task: str) -> None:
    done = simple.dockyard(task, "no-such-image:nope")
    assert_one_error(done, "image not found: no-such-image:nope", code=2, hint="docker image ls")


# -- the ledger: a fault is one warning, and the task still does its job -------------------------


def assert_one_warning(done: subprocess.CompletedProcess[str], message: str, *, hint: str) -> str:
    """Exit 0, no traceback, no error line, exactly one warning line: `message` and a hint."""
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    assert done.returncode == 0, f"exit {done.returncode}:\n{output[-3000:]}"
    assert not any(line.startswith(FAIL_MARKS) for line in done.stderr.splitlines()), output
    lines = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(lines) == 1, f"expected one warning line:\n{done.stderr}"
    line = lines[0]
    assert message in line, f"{message!r} not in {line!r}"
    assert hint in line.split("hint:", 1)[1], line
    return line


def built(proj: Project) -> bool:
    """The image `build-fast` makes exists in the engine."""
    done = subprocess.run(
        ["docker", "image", "inspect", f"{proj.name}/app:t"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    return done.returncode == 0


@pytest.fixture
def app(simple: Project, cleanup: list[tuple[Project, list[str]]]) -> Project:
    """The simple project, whose image these tests build (and remove afterwards)."""
    cleanup.append((simple, [f"{simple.name}/app:t"]))
    return simple


def test_unwritable_ledger(app: Project) -> None:
    # /proc refuses new directories even to root (chmod would not stop root).
    ledger = "/proc/forbidden/ledger.sqlite3"
    done = app.inv("build-fast", DOCKYARD_LEDGER=ledger)
    assert_one_warning(
        done,
        f"this build was not recorded in the build ledger at {ledger}: [Errno 2] No such file "
        "or directory: '/proc/forbidden'",
        hint="set DOCKYARD_LEDGER (or DOCKYARD_STATE_DIR) to a writable place",
    )
    assert built(app) and "app" in done.stdout  # the build and its summary
    done = app.inv("timing", DOCKYARD_LEDGER=ledger)
    assert_one_warning(done, "this build was not recorded", hint="DOCKYARD_LEDGER")
    assert "(not recorded)" in done.stdout
    for task in (["timing", "--history"], ["size"]):  # nothing to read: no warning
        done = app.inv(*task, DOCKYARD_LEDGER=ledger)
        assert done.returncode == 0 and "warning" not in done.stderr, done.stderr


RUN_APP = """\
services:
  app:
    build:
      context: .
    image: @IMAGE@
    command: ["sleep", "infinity"]
    init: true
    stop_signal: SIGKILL
"""


def test_up_builds_and_starts_with_an_unwritable_ledger(
    tmp_path: Path, cleanup: list[tuple[Project, list[str]]]
) -> None:
    proj = project(tmp_path, RUN_APP, "FROM @BASE@\nRUN true\n")
    cleanup.append((proj, [f"{proj.name}/app:t"]))
    done = proj.inv("up", "--build", "--timeout", "60", DOCKYARD_LEDGER="/proc/forbidden/l.db")
    assert_one_warning(done, "this build was not recorded", hint="DOCKYARD_LEDGER")
    assert built(proj) and "healthy" in done.stdout, done.stdout


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 kB tmpfs, filled up: a state dir on a full disk (needs root, as on CI)."""
    mount = tmp_path / "full-disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], check=True)
    try:
        with (mount / "filler").open("wb", buffering=0) as filler, pytest.raises(OSError):
            while True:
                filler.write(b"\0" * 4096)
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_ledger_on_a_full_disk(app: Project, full_disk: Path) -> None:
    state = full_disk / "state"
    done = app.inv("build-fast", DOCKYARD_STATE_DIR=str(state))
    assert_one_warning(
        done,
        f"this build was not recorded in the build ledger at {state / 'ledger.sqlite3'}: "
        "database or disk is full",
        hint="free space on that disk",
    )
    assert built(app)
    for task in (["timing", "--history"], ["size"]):
        done = app.inv(*task, DOCKYARD_STATE_DIR=str(state))
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr


def test_corrupt_ledger(app: Project) -> None:
    path = write(app.root / ".state" / "ledger.sqlite3", "not a database, by accident\n")
    done = app.inv("timing", "--history")
    line = assert_one_warning(
        done,
        f"the build ledger at {path} was damaged (file is not a database): kept as "
        "ledger.sqlite3.corrupt-",
        hint="the damaged file is kept for inspection",
    )
    assert line.split(", ")[-2].endswith("Z") and "a new ledger is started" in line
    (aside,) = path.parent.glob("ledger.sqlite3.corrupt-*")
    assert aside.read_text(encoding="utf-8") == "not a database, by accident\n"
    done = app.inv("build-fast")  # records in the new ledger, with no warning
    assert done.returncode == 0 and "warning" not in done.stderr, done.stderr
    assert [b.service for b in Ledger(path).service_builds()] == ["app"]
    # A damaged SQLite file (its schema page overwritten) is set aside the same way.
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    path.write_bytes(bytes(data))
    done = app.inv("build-fast")
    assert_one_warning(done, "was damaged (database disk image is malformed)", hint="kept")
    assert len(list(path.parent.glob("ledger.sqlite3.corrupt-*"))) >= 2
    assert [b.service for b in Ledger(path).service_builds()] == ["app"]


HOLD_LEDGER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("BEGIN IMMEDIATE")  # a write transaction, held
db.execute("CREATE TABLE IF NOT EXISTS holder (x)")
print("holding", flush=True)
time.sleep(300)
"""


def test_locked_ledger(app: Project) -> None:
    path = app.root / ".state" / "ledger.sqlite3"
    path.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LEDGER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        done = app.inv("build-fast")
        waited = time.monotonic() - started
        assert_one_warning(
            done,
            f"this build was not recorded in the build ledger at {path}: database is locked",
            hint="another process holds the ledger",
        )
        assert built(app) and waited < 60, waited
        done = app.inv("timing", "--history")  # readers are not held by a writer
        assert done.returncode == 0 and "warning" not in done.stderr, done.stderr
    finally:
        holder.kill()
        holder.wait(timeout=30)


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


def stopped(
    proj: Project, how: str, args: tuple[str, ...], marker: str, settle: float
) -> tuple[str, subprocess.CompletedProcess[str]]:
    """Run `inv ARGS`, stop it as `how` says; (its one error line, the finished process)."""
    proc, seen = start(proj, *args)
    stderr = interrupt(proc, seen, marker, settle, how)
    done = subprocess.CompletedProcess(proc.args, proc.returncode, "".join(seen), stderr)
    signum = STOPS[how][0]
    by = " by SIGTERM" if signum == signal.SIGTERM else ""
    line = assert_one_error(done, "interrupted" + by + " after ", code=128 + signum)
    # ONE line: nothing of docker's own words ("canceled", the step's command) around it.
    assert [text for text in stderr.splitlines() if text.strip()] == [line], stderr
    return line, done


def interrupted_build(
    tmp_path: Path, how: str, cleanup: list[tuple[Project, list[str]]], task: str = "build-fast"
) -> None:
    token = secrets.token_hex(8)  # never cached: the quick step runs, then the slow one
    proj = build_project(
        tmp_path, f"FROM @BASE@\nRUN echo quick-{token}\nRUN echo slow-{token} && sleep 60\n"
    )
    cleanup.append((proj, [f"{proj.name}/app:t"]))
    line, _ = stopped(proj, how, (task,), f"RUN echo quick-{token}", settle=3)
    assert f"at `3/3 RUN echo slow-{token} && sleep 60`" in line, line
    assert "hint: run it again: finished steps are cached" in line, line
    builds = Ledger(proj.root / ".state" / "ledger.sqlite3").service_builds()
    assert [(b.service, b.status) for b in builds] == [("app", "interrupted")]
    steps = {s["instruction"]: s for s in builds[0].steps}
    quick = steps[f"RUN echo quick-{token}"]
    assert quick["seconds"] is not None and not quick["cached"], quick  # finished, recorded
    assert steps[f"RUN echo slow-{token} && sleep 60"]["seconds"] is None  # cut off
    assert_nothing_left_running(f"slow-{token}", f"COMPOSE_PROJECT_NAME={proj.name}")


def test_ctrl_c_during_build(tmp_path: Path, cleanup: list[tuple[Project, list[str]]]) -> None:
    interrupted_build(tmp_path, "ctrl-c", cleanup)


def test_sigint_to_the_process_only(
    tmp_path: Path, cleanup: list[tuple[Project, list[str]]]
) -> None:
    interrupted_build(tmp_path, "sigint-process", cleanup)


@pytest.mark.parametrize("task", ["build-fast", "timing", "up"])  # all build the same way
def test_sigterm_during_a_build(
    tmp_path: Path, cleanup: list[tuple[Project, list[str]]], task: str
) -> None:
    interrupted_build(tmp_path, "sigterm-process", cleanup, task)


def test_engine_restarted_mid_build(tmp_path: Path, tls_engine: TlsEngine) -> None:
    """The engine goes away under a running build (`systemctl restart docker`): the test bed's
    own TLS engine, restarted with its data kept. One line, the build recorded as failed with
    the steps finished so far, and the next build goes on from them."""
    token = secrets.token_hex(8)
    proj = build_project(
        tmp_path, f"FROM @BASE@\nRUN echo quick-{token}\nRUN echo slow-{token} && sleep 60\n"
    )
    proj.env.update(tls_engine.client_env())
    proc, seen = start(proj, "build-fast")
    deadline = time.monotonic() + 120
    while not any(f"RUN echo quick-{token}" in line for line in seen):
        assert proc.poll() is None and time.monotonic() < deadline, "".join(seen)
        time.sleep(0.1)
    time.sleep(3)  # the slow step runs
    tls_engine.restart()
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    proc.wait(timeout=60)
    done = subprocess.CompletedProcess(proc.args, proc.returncode, "".join(seen), stderr)
    line = assert_one_error(done, "the Docker engine went away during the build")
    assert f"at `3/3 RUN echo slow-{token} && sleep 60`" in line, line
    assert "restarted or stopped (error reading from server: EOF)" in line, line
    builds = Ledger(proj.root / ".state" / "ledger.sqlite3").service_builds()
    assert [(b.service, b.status) for b in builds] == [("app", "failed")]
    steps = {s["instruction"]: s for s in builds[0].steps}
    assert steps[f"RUN echo quick-{token}"]["seconds"] is not None  # finished, recorded
    # Nothing lost: the engine kept its build cache, the finished step is cached next time.
    dockerfile = proj.root / "Dockerfile"
    text = dockerfile.read_text(encoding="utf-8")
    dockerfile.write_text(text.replace("sleep 60", "true"), encoding="utf-8")
    again = proj.inv("build-fast", "--json", timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    cached = {s["instruction"]: s["cached"] for s in steps_of(json.loads(again.stdout), "app")}
    assert cached[f"RUN echo quick-{token}"] is True, cached


@pytest.mark.parametrize("how", list(STOPS))
def test_ctrl_c_during_up(
    tmp_path: Path, cleanup: list[tuple[Project, list[str]]], how: str
) -> None:
    proj = web_project(tmp_path, HEALTH_NEVER)
    cleanup.append((proj, []))
    line, _ = stopped(proj, how, ("up", "--timeout", "120"), "starting", settle=3)
    assert "up interrupted" in line and "containers that already started keep running" in line
    assert "`inv down` stops them" in line
    # `compose up --wait` is stopped with dockyard; the container keeps running, as it says.
    assert_nothing_left_running(f"COMPOSE_PROJECT_NAME={proj.name}")
    ps = proj.compose("ps", "--format", "{{.Service}} {{.State}}")
    assert ps.stdout.split() == ["web", "running"], ps.stdout + ps.stderr


@pytest.mark.parametrize("how", ["sigint-process", "sigterm-process"])
def test_logs_follow_stops_with_its_compose_child(
    tmp_path: Path, cleanup: list[tuple[Project, list[str]]], how: str
) -> None:
    proj = web_project(tmp_path, "")
    cleanup.append((proj, []))
    started = proj.compose("up", "--detach", "--wait")
    assert started.returncode == 0, started.stderr
    proc, seen = start(proj, "logs", "--follow")
    deadline = time.monotonic() + 60  # `sleep infinity` writes no log: wait for compose itself
    while not survivors(f"COMPOSE_PROJECT_NAME={proj.name}", exclude=(proc.pid,)):
        assert proc.poll() is None and time.monotonic() < deadline, "".join(seen)
        time.sleep(0.2)
    time.sleep(1)
    proc.send_signal(STOPS[how][0])
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    proc.wait(timeout=60)
    if STOPS[how][0] == signal.SIGINT:  # Ctrl-C is how following ends: no error
        assert proc.returncode == 0 and stderr.strip() == "", stderr
    else:
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert proc.returncode == 143 and len(lines) == 1, stderr
        assert lines[0].startswith(FAIL_MARKS) and "interrupted by SIGTERM" in lines[0]
    assert_nothing_left_running(f"COMPOSE_PROJECT_NAME={proj.name}")


# -- inv bench -----------------------------------------------------------------------------------


def test_bench_run_id_without_clean(simple: Project) -> None:
    done = simple.inv("bench", "--run-id", "20261201-115330-c2ef8667-23943-1103", "--yes")
    assert_one_error(done, "--run-id only goes with --clean", code=2, hint="add --clean")
