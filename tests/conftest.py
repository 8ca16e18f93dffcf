"""Test tiers: unit tests need nothing; tests marked `docker` need a real engine, and run once per
Docker stack the run is given.

`DOCKYARD_TEST_STACKS` names the stacks, comma-separated: `name` (the environment as it is) or
`name=FILE` (FILE holds `DOCKER_HOST=...`, `DOCKER_CONFIG=...` and `DOCKYARD_SID_BIN=...`, a
folder put first on PATH, as scripts/provision-docker-sid.sh writes it). Default: one stack,
`default`. Every `docker` test runs on each stack (its id says which); while it runs, the
process environment points at that stack, so fixtures, subprocesses and dockyard itself use it.

When DOCKYARD_REQUIRE_DOCKER=1 (set by .ci/run), a `docker` test whose stack is missing fails
instead of skipping, so CI cannot pass with a tier silently skipped.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REQUIRE_DOCKER = os.environ.get("DOCKYARD_REQUIRE_DOCKER", "") == "1"

# Base images of the real-engine tests: PYTHON_IMAGE / POSTGRES_IMAGE (the compose file's own
# variables) when set, else the local stand-ins made by scripts/provision-docker.sh (no registry
# is reachable on the CI machines).
PYTHON_IMAGE = (
    os.environ.get("PYTHON_IMAGE")
    or os.environ.get("DOCKYARD_PYTHON_IMAGE")
    or "dockyard-local/python:3.11-slim"
)
POSTGRES_IMAGE = (
    os.environ.get("POSTGRES_IMAGE")
    or os.environ.get("DOCKYARD_POSTGRES_IMAGE")
    or "dockyard-local/postgres:15"
)
# uv's image for the bundled backend's Dockerfile.optimized (stand-in: scripts/make_uv_image.py).
UV_IMAGE = os.environ.get("UV_IMAGE") or "dockyard-local/uv:0.13.9"

# What a stack file may set (anything else in it is ignored).
_STACK_VARIABLES = ("DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT")


@dataclass
class DockerStack:
    """One Docker stack the `docker` tier runs on."""

    name: str
    env: Mapping[str, str] = field(default_factory=dict)  # set while its tests run
    problem: str | None = None  # why it cannot run, once probed
    versions: str = ""  # what it is, for the summary
    probed: bool = False
    outcomes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0  # setup, call and teardown of its tests

    @classmethod
    def parse(cls, spec: str) -> DockerStack:
        name, sep, file = spec.strip().partition("=")
        if not sep:
            return cls(name)
        path = Path(file).expanduser()
        if not path.is_file():
            return cls(name, problem=f"stack file {path} not found (provision the stack first)")
        from dotenv import dotenv_values

        values = {k: v for k, v in dotenv_values(path).items() if v}
        env = {k: values[k] for k in _STACK_VARIABLES if k in values}
        if values.get("DOCKYARD_SID_BIN"):
            env["PATH"] = f"{values['DOCKYARD_SID_BIN']}{os.pathsep}{os.environ.get('PATH', '')}"
        return cls(name, env)

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        saved = {key: os.environ.get(key) for key in (*_STACK_VARIABLES, "PATH")}
        if self.env:  # a stack file says everything: nothing of the caller's leaks in
            for key in _STACK_VARIABLES:
                os.environ.pop(key, None)
        os.environ.update(self.env)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def probe(self) -> str | None:
        """Why the tier cannot run on this stack, or None when it can (asked once)."""
        if not self.probed:
            self.probed = True
            if self.problem is None:
                with self.active():
                    self.problem, self.versions = _probe()
        return self.problem


def _probe() -> tuple[str | None, str]:
    if shutil.which("docker") is None:
        return "no docker binary on PATH", ""
    try:
        info = subprocess.run(
            ["docker", "version", "--format", "{{json .}}"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "docker version timed out", ""
    if info.returncode != 0 or '"Server":null' in info.stdout.replace(" ", ""):
        last = (info.stderr.strip().splitlines() or ["(no message)"])[-1]
        return f"docker daemon not reachable: {last}", ""
    for image in (PYTHON_IMAGE, POSTGRES_IMAGE, UV_IMAGE):
        probe = subprocess.run(
            ["docker", "image", "inspect", image], capture_output=True, timeout=20, check=False
        )
        if probe.returncode != 0:
            return f"stand-in image {image} missing (run scripts/provision-docker.sh)", ""
    return None, _describe(json.loads(info.stdout))


def _describe(version: Mapping[str, object]) -> str:
    server = version.get("Server") or {}
    engine = server.get("Version", "?") if isinstance(server, dict) else "?"

    def plugin(*args: str) -> str:
        done = subprocess.run(
            ["docker", *args], capture_output=True, text=True, timeout=20, check=False
        )
        words = done.stdout.split()
        return (words[1] if args[0] == "buildx" and len(words) > 1 else done.stdout.strip()) or "?"

    store = subprocess.run(
        ["docker", "info", "--format", "{{json .DriverStatus}}"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    ).stdout
    kind = "containerd store" if "io.containerd.snapshotter" in store else "classic store"
    buildx, compose = plugin("buildx", "version"), plugin("compose", "version", "--short")
    return f"engine {engine}, buildx {buildx}, compose {compose}, {kind}"


STACKS = [
    DockerStack.parse(spec)
    for spec in (os.environ.get("DOCKYARD_TEST_STACKS") or "default").split(",")
    if spec.strip()
]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("docker") is not None:
        metafunc.parametrize(
            "docker_stack", STACKS, ids=[s.name for s in STACKS], scope="session", indirect=True
        )


@pytest.fixture(scope="session")
def docker_stack(request: pytest.FixtureRequest) -> Iterator[DockerStack]:
    """The stack a `docker` test runs on; the environment points at it meanwhile."""
    stack: DockerStack = request.param
    problem = stack.probe()
    if problem is not None:
        message = f"needs the Docker stack {stack.name!r}: {problem}"
        if REQUIRE_DOCKER:
            pytest.fail(f"Docker tier required (DOCKYARD_REQUIRE_DOCKER=1) but {message}")
        pytest.skip(message)
    with stack.active():
        yield stack


_STACK_OF: dict[str, DockerStack] = {}  # nodeid -> the stack a collected test runs on


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "docker_stack" in callspec.params:
            _STACK_OF[item.nodeid] = callspec.params["docker_stack"]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    stack = _STACK_OF.get(report.nodeid)
    if stack is None:
        return  # not a docker test
    stack.seconds += report.duration
    if report.when != "call" and report.outcome == "passed":
        return  # a passed setup / teardown is not a result of its own
    key = report.outcome if report.when == "call" else f"{report.outcome} ({report.when})"
    stack.outcomes[key] = stack.outcomes.get(key, 0) + 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _STACK_OF:
        return
    terminalreporter.section("Docker stacks")
    for stack in STACKS:
        counts = ", ".join(f"{n} {k}" for k, n in sorted(stack.outcomes.items())) or "no tests"
        what = stack.versions or stack.problem or "not probed"
        spent = f" in {stack.seconds / 60:.1f} min" if stack.seconds else ""
        terminalreporter.write_line(f"{stack.name}: {what}: {counts}{spent}")
