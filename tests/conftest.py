"""Test tiers: unit tests need nothing; tests marked `docker` need a real engine.

When DOCKYARD_REQUIRE_DOCKER=1 (set by .ci/run), a `docker` test whose engine is missing
fails instead of skipping, so CI cannot pass with the real-engine tier silently skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess

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


def _engine_problem() -> str | None:
    """Why the real-engine tier cannot run, or None when it can."""
    if shutil.which("docker") is None:
        return "no docker binary on PATH"
    try:
        info = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "docker info timed out"
    if info.returncode != 0:
        last = (info.stderr.strip().splitlines() or ["(no message)"])[-1]
        return f"docker daemon not reachable: {last}"
    for image in (PYTHON_IMAGE, POSTGRES_IMAGE):
        probe = subprocess.run(
            ["docker", "image", "inspect", image], capture_output=True, timeout=20, check=False
        )
        if probe.returncode != 0:
            return f"stand-in image {image} missing (run scripts/provision-docker.sh)"
    return None


_PROBLEM: list[str | None] = []


def engine_problem() -> str | None:
    if not _PROBLEM:
        _PROBLEM.append(_engine_problem())
    return _PROBLEM[0]


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("docker") is None:
        return
    problem = engine_problem()
    if problem is None:
        return
    if REQUIRE_DOCKER:
        pytest.fail(
            f"Docker tier required (DOCKYARD_REQUIRE_DOCKER=1) but {problem}", pytrace=False
        )
    pytest.skip(f"needs a Docker engine: {problem}")
