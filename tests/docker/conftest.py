"""Every test module here runs once per Docker stack (see tests/conftest.py).

A module-scoped fixture that makes something on the engine takes `docker_stack`, so pytest
makes it again for each stack instead of reusing the first stack's.
"""

from __future__ import annotations

import pytest

from tests.conftest import DockerStack


@pytest.fixture(scope="module", autouse=True)
def _on_stack(docker_stack: DockerStack) -> DockerStack:
    # Autouse and module-scoped: the stack's environment is set before the module's fixtures.
    return docker_stack
