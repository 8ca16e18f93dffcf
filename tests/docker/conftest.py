"""Every test module here runs once per Docker stack (see tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.conftest import DockerStack


@pytest.fixture(scope="module", autouse=True)
def _on_stack(docker_stack: DockerStack) -> DockerStack:
    # Autouse and module-scoped: set up before the module's own fixtures, once per stack, so
    # they build their images on the stack the tests then use.
    return docker_stack
