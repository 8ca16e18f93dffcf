"""Every test module here runs once per Docker stack (see tests/conftest.py).

A module-scoped fixture that makes something on the engine takes `docker_stack`, so pytest
makes it again for each stack instead of reusing the first stack's.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator

import pytest

from tests.conftest import PYTHON_IMAGE, REQUIRE_DOCKER, DockerStack
from tests.teambed import Registry, TlsEngine, running_registry, running_tls_engine


@pytest.fixture(scope="module", autouse=True)
def _on_stack(docker_stack: DockerStack) -> DockerStack:
    # Autouse and module-scoped: the stack's environment is set before the module's fixtures.
    return docker_stack


@pytest.fixture(scope="session")
def team_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A registry on 127.0.0.1:<free port> for the whole session (its storage removed after)."""
    with (
        _bed("the team-cache registry"),
        running_registry(tmp_path_factory.mktemp("registry")) as r,
    ):
        yield r


@pytest.fixture
def readonly_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A registry that refuses every push (distribution's read-only maintenance mode)."""
    root = tmp_path_factory.mktemp("readonly-registry")
    with _bed("the read-only registry"), running_registry(root, readonly=True) as registry:
        yield registry


@pytest.fixture(scope="session")
def tls_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsEngine]:
    """The third dockerd: a fresh machine (empty build cache) reached over TCP with TLS."""
    with (
        _bed("the third (TLS) engine"),
        running_tls_engine(tmp_path_factory.mktemp("tls-engine"), [PYTHON_IMAGE]) as engine,
    ):
        yield engine


# The test bed needs root (a bridge, a dockerd), Debian's docker-registry and sid's dockerd, as
# .ci/run provisions them. Required wherever the docker tier is, except where the run says the
# bed cannot exist (DOCKYARD_TEAMBED=0: GitHub's runners, no root): there its tests skip, by name.
REQUIRE_BED = REQUIRE_DOCKER and os.environ.get("DOCKYARD_TEAMBED", "1") != "0"


@contextlib.contextmanager
def _bed(what: str) -> Iterator[None]:
    if os.environ.get("DOCKYARD_TEAMBED", "1") == "0":
        pytest.skip(f"{what}: DOCKYARD_TEAMBED=0 (this run has no team-cache test bed)")
    try:
        yield
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        message = f"{what} could not start: {exc}"
        if REQUIRE_BED:
            pytest.fail(message)
        pytest.skip(message)
