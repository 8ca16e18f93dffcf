"""Running dockyard's real CLI against throwaway compose projects on the real engine."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import POSTGRES_IMAGE, PYTHON_IMAGE, UV_IMAGE

REPO = Path(__file__).resolve().parents[2]

# Variables a developer's shell could set that would change what a test project does.
_SCRUBBED = (
    "COMPOSE_FILE",
    "COMPOSE_PROJECT_NAME",
    "COMPOSE_PROFILES",
    "COMPOSE_PATH_SEPARATOR",
    "BACKEND_IMAGE",
    "BACKEND_PORT",
    "CACHE_ID",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_DB",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Project:
    """A compose project in a temp dir, driven through `inv` with its own state and env."""

    root: Path
    name: str
    compose_files: list[Path]
    env: dict[str, str] = field(default_factory=dict)

    def environ(self, **extra: str | None) -> dict[str, str]:
        """The environment for a run; an `extra` value of None removes that variable."""
        environ = {
            k: v
            for k, v in os.environ.items()
            if k not in _SCRUBBED and not k.startswith("DOCKYARD_")
        }
        environ.update(
            COMPOSE_FILE=os.pathsep.join(str(f) for f in self.compose_files),
            COMPOSE_PROJECT_NAME=self.name,
            DOCKYARD_STATE_DIR=str(self.root / ".state"),
            DOCKYARD_ENV_FILE=str(self.root / "dockyard.env"),
            PYTHON_IMAGE=PYTHON_IMAGE,
            POSTGRES_IMAGE=POSTGRES_IMAGE,
            UV_IMAGE=UV_IMAGE,
            NO_COLOR="1",
            COLUMNS="120",
        )
        environ.update(self.env)
        for key, value in extra.items():
            if value is None:
                environ.pop(key, None)
            else:
                environ[key] = value
        return environ

    def inv(
        self, *args: str, timeout: float = 600, **extra: str | None
    ) -> subprocess.CompletedProcess[str]:
        """This repository's `inv` (its tasks.py), run in the project's folder."""
        return self.run_cli(["-m", "invoke", "--search-root", str(REPO), *args], timeout, extra)

    def dockyard(
        self, *args: str, timeout: float = 600, **extra: str | None
    ) -> subprocess.CompletedProcess[str]:
        """The `dockyard` command (`python -m dockyard`), run in the project's folder."""
        return self.run_cli(["-m", "dockyard", *args], timeout, extra)

    def run_cli(
        self, python_args: list[str], timeout: float, extra: dict[str, str | None]
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *python_args],
            env=self.environ(**extra),
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            check=False,
            cwd=self.root,
        )

    def dockyard_json(self, *args: str, **extra: str | None) -> Any:
        done = self.dockyard(*args, "--json", **extra)
        assert done.returncode == 0, (
            f"dockyard {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        )
        return json.loads(done.stdout)

    def inv_json(self, *args: str, **extra: str | None) -> Any:
        done = self.inv(*args, "--json", **extra)
        assert done.returncode == 0, f"inv {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return json.loads(done.stdout)

    def compose(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = ["docker", "compose", "-p", self.name]
        for file in self.compose_files:
            command += ["-f", str(file)]
        return subprocess.run(
            command + list(args),
            env=self.environ(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def teardown(self, images: list[str]) -> None:
        """Down with volumes, then remove `images` and the dangling images of this project."""
        self.compose("down", "--volumes", "--remove-orphans", "--timeout", "2")
        remove_images(images, project=self.name)


def remove_images(images: list[str], *, project: str) -> None:
    """Remove `images` (those that exist) and the dangling images compose left for `project`.

    Cached rebuilds can leave untagged images labelled with the project: they are this test's.
    """
    dangling = subprocess.run(
        [
            "docker",
            "image",
            "ls",
            "--quiet",
            "--filter",
            "dangling=true",
            "--filter",
            f"label=com.docker.compose.project={project}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout.split()
    existing = [
        image
        for image in images
        if subprocess.run(
            ["docker", "image", "inspect", image], capture_output=True, check=False
        ).returncode
        == 0
    ]
    if existing or dangling:
        subprocess.run(
            ["docker", "image", "rm", "--force", *existing, *dangling],
            capture_output=True,
            timeout=120,
            check=False,
        )


def bundled_backend_copy(tmp: Path) -> Project:
    """The bundled backend + compose file copied to `tmp`, with unique name, tag and port."""
    shutil.copytree(
        REPO / "backend",
        tmp / "backend",
        ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"),
    )
    shutil.copy2(REPO / "docker-compose.yml", tmp / "docker-compose.yml")
    (tmp / "dockyard.env").write_text("", encoding="utf-8")
    (tmp / ".env").write_text("", encoding="utf-8")  # compose reads the project dir's .env
    name = unique("dyt-stack")
    return Project(
        root=tmp,
        name=name,
        compose_files=[tmp / "docker-compose.yml"],
        env={"BACKEND_IMAGE": f"dockyard-test/backend:{name}", "BACKEND_PORT": str(free_port())},
    )


def steps_of(report: dict[str, Any], service: str) -> list[dict[str, Any]]:
    """The Dockerfile steps (not FROM) of one service in a `build-fast --json` report."""
    for svc in report["services"]:
        if svc["service"] == service:
            return [
                s
                for s in svc["steps"]
                if s["index"] is not None and not s["instruction"].upper().startswith("FROM ")
            ]
    raise AssertionError(f"{service} not in report: {[s['service'] for s in report['services']]}")


def step(steps: list[dict[str, Any]], needle: str) -> dict[str, Any]:
    found = [s for s in steps if needle in s["instruction"]]
    assert len(found) == 1, (
        f"{needle!r} matches {len(found)} steps: {[s['instruction'] for s in steps]}"
    )
    return found[0]


def image_store() -> str:
    """ "containerd" or "classic": the image store of the engine the tests run on."""
    done = subprocess.run(
        ["docker", "info", "--format", "{{json .DriverStatus}}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return "containerd" if "io.containerd.snapshotter" in done.stdout else "classic"


def layer_file_bytes(reference: str, skip: int) -> int:
    """Bytes of the non-directory tar members of the image's layers after the first `skip`,
    read from `docker save` with plain tarfile (a check independent of dockyard's reader).

    The classic store's `Size` is the same figure; the containerd store's `Size` counts the
    compressed blobs instead, so tests that compare with Docker use this there.
    """
    import io
    import tarfile

    saved = subprocess.run(
        ["docker", "save", reference], capture_output=True, timeout=300, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(saved)) as outer:
        index = json.load(outer.extractfile("index.json"))  # type: ignore[arg-type]

        def blob(digest: str) -> bytes:
            member = outer.extractfile(f"blobs/sha256/{digest.split(':', 1)[1]}")
            assert member is not None
            return member.read()

        manifest = json.loads(blob(index["manifests"][0]["digest"]))
        while "manifests" in manifest:  # an index (the containerd store adds attestations)
            first = next(
                m for m in manifest["manifests"] if m.get("platform", {}).get("os") != "unknown"
            )
            manifest = json.loads(blob(first["digest"]))
        total = 0
        for layer in manifest["layers"][skip:]:
            with tarfile.open(fileobj=io.BytesIO(blob(layer["digest"]))) as inner:
                total += sum(m.size for m in inner.getmembers() if not m.isdir())
        return total


# -- stopping a run: Ctrl-C, SIGINT, SIGTERM ----------------------------------------------------


def start(
    proj: Project, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], list[str]]:
    """Run `inv ARGS` in its own process group (like a terminal's foreground job)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "invoke", "--search-root", str(REPO), *args],
        env=proj.environ(**(env or {})),
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


# How a run is stopped: Ctrl-C in a terminal (SIGINT to the whole foreground process group,
# the docker child included), SIGINT to the Python process only (how CI cancels a job, or
# `timeout -s INT`), SIGTERM to the Python process only (`kill`, a service manager).
STOPS = {
    "ctrl-c": (signal.SIGINT, True),
    "sigint-process": (signal.SIGINT, False),
    "sigterm-process": (signal.SIGTERM, False),
}


def interrupt(
    proc: subprocess.Popen[str], seen: list[str], marker: str, settle: float, how: str
) -> str:
    """Wait until `marker` was printed, `settle` more seconds, then stop the run as `how`
    says; return its stderr."""
    deadline = time.monotonic() + 120
    while not any(marker in line for line in seen):
        assert proc.poll() is None, f"finished before {marker!r}: {''.join(seen)}"
        assert time.monotonic() < deadline, f"{marker!r} never printed: {''.join(seen)}"
        time.sleep(0.1)
    time.sleep(settle)
    assert proc.poll() is None, "finished before the signal"
    signum, group = STOPS[how]
    if group:
        os.killpg(proc.pid, signum)  # the terminal sends it to the whole foreground group
    else:
        proc.send_signal(signum)
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    proc.wait(timeout=60)
    return stderr


def survivors(*needles: str, exclude: tuple[int, ...] = ()) -> list[str]:
    """Processes on this machine whose command line or environment holds one of `needles`
    (a build's RUN runs as a host process under the engine; docker children carry the
    project's COMPOSE_PROJECT_NAME), other than this one and `exclude` (e.g. the `inv` itself,
    whose environment has it too).
    """
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) in (os.getpid(), *exclude):
            continue
        try:
            text = (proc / "cmdline").read_bytes() + b"\0" + (proc / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if any(needle.encode() in text for needle in needles):
            found.append(f"{proc.name}: {(proc / 'cmdline').read_bytes()!r}"[:200])
    return found


def assert_nothing_left_running(*needles: str) -> None:
    deadline = time.monotonic() + 15  # the engine takes a moment to cancel a RUN
    while survivors(*needles) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert survivors(*needles) == []
