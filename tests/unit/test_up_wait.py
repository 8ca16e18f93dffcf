"""`stack.up` judges health by the containers, not only by compose's exit code.

Compose 2.26 sometimes ends `up --wait --wait-timeout N` with exit 0 while a healthcheck is
still `starting` (seen on the real engine under load, in tests/docker/test_bad_input.py's
health-timeout case): `up` must still fail with the health diagnosis. And a port conflict is
not a health problem, even though the container it left behind is not running.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dockyard import stack
from dockyard.engine import ServiceState
from dockyard.errors import CommandFailed, DockyardError, HealthTimeout
from dockyard.settings import load_settings


@dataclass
class FakeEngine:
    """What stack.up uses of Engine: up_stream, ps, logs, services, settings."""

    states: list[ServiceState]
    error: DockyardError | None = None
    settings: Any = field(default_factory=lambda: load_settings(Path("."), environ={}))
    services: dict[str, dict[str, Any]] = field(default_factory=dict)

    def up_stream(
        self, services: Sequence[str], *, timeout: int, no_build: bool
    ) -> Iterator[tuple[str, bytes]]:
        yield "stderr", b" Container p-web-1  Waiting\n"
        if self.error is not None:
            raise self.error

    def ps(self) -> list[ServiceState]:
        return self.states

    def logs(self, service: str | None, *, tail: int | None = None) -> str:
        return "web-1  | still starting\n"


def state(health: str, status: str = "running") -> ServiceState:
    return ServiceState("web", "p-web-1", status, health, 0, "")


def test_exit_0_with_a_starting_healthcheck_is_a_health_timeout() -> None:
    engine = FakeEngine([state("starting")])
    with pytest.raises(HealthTimeout) as caught:
        stack.up(engine, [], timeout=5)  # type: ignore[arg-type]
    assert caught.value.message == "not healthy after 5s: web is starting"
    assert "still starting" in caught.value.detail


def test_healthy_containers_pass() -> None:
    result = stack.up(FakeEngine([state("healthy"), state("")]), [], timeout=5)  # type: ignore[arg-type]
    assert [s.health for s in result.states] == ["healthy", ""]


def test_a_port_conflict_is_not_reported_as_a_health_failure() -> None:
    conflict = CommandFailed("port 127.0.0.1:8000 is already in use", "stop what uses the port")
    engine = FakeEngine([state("", status="created")], error=conflict)
    with pytest.raises(CommandFailed) as caught:
        stack.up(engine, [], timeout=5)  # type: ignore[arg-type]
    assert caught.value is conflict
