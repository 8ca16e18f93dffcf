"""`stack.up` judges health by the containers, not only by compose's exit code.

Compose 2.26 sometimes ends `up --wait --wait-timeout N` with exit 0 while a healthcheck is
still `starting` (seen on the real engine under load, in tests/docker/test_bad_input.py's
health-timeout case): `up` must still fail with the health diagnosis. And a port conflict is
not a health problem, even though the container it left behind is not running.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from python_on_whales.components.container.models import ContainerInspectResult

from dockyard import stack
from dockyard.engine import HealthProbe, ServiceState, health_probes
from dockyard.errors import CommandFailed, DockyardError, HealthTimeout
from dockyard.settings import load_settings
from tests.fake_engine import FakeEngine

HEALTH = Path(__file__).resolve().parents[1] / "data" / "health"


def fake(
    states: list[ServiceState],
    error: DockyardError | None = None,
    health: dict[str, list[HealthProbe]] | None = None,
) -> FakeEngine:
    return FakeEngine(
        load_settings(Path("."), environ={}), states=states, up_error=error, health=health
    )


def captured(stack_name: str) -> list[HealthProbe]:
    """The healthcheck runs of a really unhealthy container (tests/data/health/capture.py)."""
    (data,) = json.loads((HEALTH / f"{stack_name}.inspect.json").read_text(encoding="utf-8"))
    return health_probes(ContainerInspectResult(**data).state)


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


def test_the_healthcheck_runs_are_read_from_a_real_inspect() -> None:
    classic, sid = captured("classic"), captured("sid")
    assert len(classic) == len(sid) == 5  # Docker keeps the last 5
    assert [p.exit_code for p in classic + sid] == [1] * 10
    assert classic[-1].output == "checking db:5432 ...\n  connection refused\n"
    assert sid[-1].output == "  connection refused\nchecking db:5432 ...\n"
    assert classic[-1].started is not None and classic[-1].started.isoformat() == (
        "2026-12-01T11:57:36.990524+00:00"
    )


# The check writes one line to stdout and one to stderr; Docker keeps them in the order they
# arrived, which varies from run to run (both captures have both orders).
OUT = "checking db:5432 ... | connection refused"
ERR_FIRST = "connection refused | checking db:5432 ..."


@pytest.mark.parametrize(
    ("capture", "expected"),
    [
        ("classic", [("11:57:33Z", OUT), ("11:57:35Z", ERR_FIRST), ("11:57:36Z", OUT)]),
        ("sid", [("11:57:46Z", OUT), ("11:57:47Z", ERR_FIRST), ("11:57:48Z", ERR_FIRST)]),
    ],
)
def test_the_last_healthchecks_are_shown_with_the_log_tail(
    capture: str, expected: list[tuple[str, str]]
) -> None:
    engine = fake([state("unhealthy")], health={"p-web-1": captured(capture)})
    with pytest.raises(HealthTimeout) as caught:
        stack.up(engine, [], timeout=5)
    assert caught.value.message == "web is unhealthy"
    assert caught.value.detail.splitlines() == [
        "--- last 40 log lines of web (is unhealthy) ---",
        "web-1  | still starting",
        "--- last 3 healthchecks of web ---",
        *(f"{when}  exit 1  {output}" for when, output in expected),
    ]


def test_healthcheck_output_is_cut_and_a_check_that_never_ran_is_said() -> None:
    long = HealthProbe(None, -1, "x" * 500)
    assert stack.health_lines("web", [long]) == [
        "--- last 1 healthchecks of web ---",
        f"?  exit -1  {'x' * 157}...",
    ]
    assert stack.health_lines("web", []) == ["--- no healthcheck of web has finished yet ---"]
    assert stack.health_lines("web", [HealthProbe(None, None, "")])[1] == "?  exit ?  (no output)"
