"""up / down / ps / logs for the compose project: start, wait on healthchecks, explain failures."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dockyard.engine import Engine, ServiceState
from dockyard.errors import DockyardError, HealthTimeout, Interrupted

# What `compose up --wait` says when a service does not become healthy (2.26 .. 2.3x).
HEALTH_FAILURE_WORDS = ("not healthy", "unhealthy", "exited", "dependency failed")

# Ports that do not speak HTTP; everything else published is shown as an http:// URL.
NON_HTTP_PORTS = {5432, 3306, 6379, 27017, 5672, 11211, 9092}


@dataclass(frozen=True)
class Endpoint:
    service: str
    url: str


@dataclass(frozen=True)
class UpResult:
    states: list[ServiceState]
    endpoints: list[Endpoint]
    seconds: float


def endpoints(services: dict[str, dict[str, object]]) -> list[Endpoint]:
    """Where the published ports of the compose model can be reached from this host."""
    found = []
    for name in sorted(services):
        for port in services[name].get("ports") or []:  # type: ignore[attr-defined]
            if not isinstance(port, dict) or not port.get("published"):
                continue
            host = str(port.get("host_ip") or "127.0.0.1")
            if host in ("0.0.0.0", "::"):
                host = "127.0.0.1"
            target = int(port.get("target") or 0)
            address = f"{host}:{port['published']}"
            url = address if target in NON_HTTP_PORTS else f"http://{address}"
            found.append(Endpoint(name, url))
    return found


def services_to_start(engine: Engine) -> list[str]:
    wanted = list(engine.settings.up_services)
    return engine.require_services(wanted) if wanted else []


def buildable_to_start(engine: Engine, services: Sequence[str]) -> list[str]:
    """Buildable services among `services` (all when empty) and their dependencies."""
    wanted = set(services) or set(engine.services)
    pending = list(wanted)
    while pending:  # follow depends_on, as `up` will
        deps = engine.services.get(pending.pop(), {}).get("depends_on") or {}
        for dep in deps:
            if dep not in wanted:
                wanted.add(dep)
                pending.append(dep)
    return [name for name in engine.buildable_services() if name in wanted]


def missing_images(engine: Engine, services: Sequence[str]) -> list[str]:
    """Of those, the ones whose image is not built yet."""
    return [
        name
        for name in buildable_to_start(engine, services)
        if not engine.image_exists(engine.image_of(name))
    ]


def describe(state: ServiceState) -> str:
    if state.state == "exited":
        return f"exited with code {state.exit_code}"
    if state.health and state.health != "healthy":
        return f"is {state.health}"
    return f"is {state.state or 'not running'}"


def up(
    engine: Engine,
    services: Sequence[str],
    *,
    timeout: int,
    on_output: Callable[[str], None] = lambda line: None,
) -> UpResult:
    """Start `services` (all when empty) detached, wait until healthy, or explain who is not.

    Images are expected to exist (the caller builds first); `--no-build` keeps compose from
    building with its own, unobserved progress.
    """
    started = time.monotonic()
    try:
        for _source, raw in engine.up_stream(services, timeout=timeout, no_build=True):
            on_output(raw.decode("utf-8", "replace").rstrip())
    except KeyboardInterrupt:
        raise Interrupted(
            "up interrupted; containers that already started keep running",
            "`inv ps` shows them, `inv down` stops them, `inv up` starts the rest",
        ) from None
    except DockyardError as err:
        # A port conflict or a missing image is not a health problem: say that, not "created".
        if not any(word in err.message for word in HEALTH_FAILURE_WORDS):
            raise
        failing = [s for s in engine.ps() if not s.ok]
        if not failing:
            raise
        raise health_failure(engine, failing, timeout, cause=err.message) from None
    states = engine.ps()
    # Compose 2.26 sometimes ends `up --wait` with exit 0 when --wait-timeout runs out while
    # a healthcheck is still starting (seen under load): trust the containers, not the code.
    waiting = [s for s in states if s.health in ("starting", "unhealthy")]
    if waiting:
        raise health_failure(engine, waiting, timeout, cause="not healthy after")
    return UpResult(states, endpoints(engine.services), time.monotonic() - started)


def health_failure(
    engine: Engine, failing: list[ServiceState], timeout: int, cause: str
) -> HealthTimeout:
    lines = engine.settings.log_lines
    details = []
    for state in failing:
        tail = engine.logs(state.service, tail=lines).rstrip() or "(no log output)"
        details.append(f"--- last {lines} log lines of {state.service} ({describe(state)}) ---")
        details.append(tail)
    first = failing[0]
    if "not healthy after" in cause:
        message = f"not healthy after {timeout}s: {first.service} {describe(first)}"
    else:
        message = f"{first.service} {describe(first)}"
    others = [s.service for s in failing[1:]]
    if others:
        message += f" (also: {', '.join(others)})"
    return HealthTimeout(
        message,
        f"read the log above, `inv logs {first.service}` for more; "
        "`inv down` stops what started (volumes are kept)",
        detail="\n".join(details),
    )


def down(engine: Engine, *, volumes: bool) -> list[str]:
    """Stop and remove the containers; named volumes only when asked. Returns removed volumes."""
    doomed = engine.volumes() if volumes else []
    engine.down(volumes=volumes)
    return doomed
