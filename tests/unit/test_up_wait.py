"""`stack.up` judges health by the containers, not only by compose's exit code.

Compose 2.26 sometimes ends `up --wait --wait-timeout N` with exit 0 while a healthcheck is
still `starting` (seen on the real engine under load, in tests/docker/test_bad_input.py's
health-timeout case): `up` must still fail with the health diagnosis. And a port conflict is
not a health problem, even though the container it left behind is not running.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard import stack
from dockyard.engine import ServiceState
from dockyard.errors import CommandFailed, DockyardError, HealthTimeout
from dockyard.settings import load_settings
from tests.fake_engine import FakeEngine


def fake(states: list[ServiceState], error: DockyardError | None = None) -> FakeEngine:
    return FakeEngine(load_settings(Path("."), environ={}), states=states, up_error=error)


def state(health: str, status: str = "running") -> ServiceState:
    return ServiceState("web", "p-web-1", status, health, 0, "")


def test_exit_0_with_a_starting_healthcheck_is_a_health_timeout() -> None:
    engine = fake([state("starting")])
    with pytest.raises(HealthTimeout) as caught:
        stack.up(engine, [], timeout=5)
    assert caught.value.message == "not healthy after 5s: web is starting"
    assert "still starting" in caught.value.detail


def test_healthy_containers_pass() -> None:
    result = stack.up(fake([state("healthy"), state("")]), [], timeout=5)
    assert [s.health for s in result.states] == ["healthy", ""]


def test_a_port_conflict_is_not_reported_as_a_health_failure() -> None:
    conflict = CommandFailed("port 127.0.0.1:8000 is already in use", "stop what uses the port")
    engine = fake([state("", status="created")], error=conflict)
    with pytest.raises(CommandFailed) as caught:
        stack.up(engine, [], timeout=5)
    assert caught.value is conflict
