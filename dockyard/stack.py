"""up / down / ps / logs for the compose project: start, wait on healthchecks, explain failures."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dockyard import pulls, signals
from dockyard.compose import ComposeProject
from dockyard.engine import EngineProtocol, HealthProbe, ServiceState
from dockyard.errors import DockyardError, HealthTimeout, Interrupted, PullFailed
from dockyard.render import one_line
from dockyard.units import format_seconds

# Healthcheck runs shown of a service that did not become healthy (Docker keeps 5), and the
# characters of each one's output.
HEALTH_PROBES_SHOWN = 3
HEALTH_OUTPUT_WIDTH = 160

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


def endpoints(project: ComposeProject) -> list[Endpoint]:
    """Where the published ports of the compose model can be reached from this host."""
    found = []
    for name, service in project.services.items():
        for port in service.ports:
            if not port.published:
                continue
            host = port.host_ip or "127.0.0.1"
            if host in ("0.0.0.0", "::"):
                host = "127.0.0.1"
            address = f"{host}:{port.published}"
            url = address if port.target in NON_HTTP_PORTS else f"http://{address}"
            found.append(Endpoint(name, url))
    return found


def services_to_start(engine: EngineProtocol) -> list[str]:
    wanted = list(engine.settings.up_services)
    return engine.project.require(wanted) if wanted else []


def buildable_to_start(engine: EngineProtocol, services: Sequence[str]) -> list[str]:
    """Buildable services among `services` (all when empty) and their dependencies."""
    project = engine.project
    return [name for name in project.with_dependencies(services) if project.services[name].build]


def missing_images(engine: EngineProtocol, services: Sequence[str]) -> list[str]:
    """Of those, the ones whose image is not built yet."""
    return [
        name
        for name in buildable_to_start(engine, services)
        if not engine.image_exists(engine.project.services[name].image)
    ]


def unhealthy(state: ServiceState) -> bool:
    """A container that started but did not become healthy: exited, unhealthy, or starting.

    One that was only created (a port conflict stopped it) is not a health problem.
    """
    return state.state == "exited" or state.health in ("unhealthy", "starting")


def describe(state: ServiceState) -> str:
    if state.state == "exited":
        return f"exited with code {state.exit_code}"
    if state.health and state.health != "healthy":
        return f"is {state.health}"
    return f"is {state.state or 'not running'}"


def up(
    engine: EngineProtocol,
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
    output = engine.up_stream(services, timeout=timeout, no_build=True)
    try:
        try:
            for _source, raw in output:
                on_output(raw.decode("utf-8", "replace").rstrip())
        finally:
            output.close()  # stops `compose up` if it still runs
    except KeyboardInterrupt as interrupt:  # Ctrl-C or SIGTERM
        raise up_interrupted(signals.signum_of(interrupt), started) from None
    except DockyardError as err:
        if signals.received() is not None:  # the terminal's Ctrl-C reached compose first
            raise up_interrupted(signals.received(), started) from None
        # The containers say what went wrong; a port conflict or a missing image leaves none
        # that started, and compose's own error is the one to show.
        failing = [s for s in engine.ps() if unhealthy(s)]
        if not failing:
            raise pull_failure(engine, err) or err from None
        raise health_failure(engine, failing, timeout) from None
    states = engine.ps()
    # Compose 2.26 sometimes ends `up --wait` with exit 0 when --wait-timeout runs out while
    # a healthcheck is still starting (seen under load): trust the containers, not the code.
    waiting = [s for s in states if unhealthy(s)]
    if waiting:
        raise health_failure(engine, waiting, timeout)
    return UpResult(states, endpoints(engine.project), time.monotonic() - started)


def up_interrupted(signum: int | None, started: float) -> Interrupted:
    by = "" if signum in (None, signal.SIGINT) else f" by {signals.signal_name(signum or 0)}"
    until = signals.received_at() or time.monotonic()
    return Interrupted(
        f"up interrupted{by} after {format_seconds(until - started)}; "
        "containers that already started keep running",
        "`inv ps` shows them, `inv down` stops them, `inv up` starts the rest",
        signum=signum,
    )


def pull_failure(engine: EngineProtocol, err: DockyardError) -> PullFailed | None:
    """`up` stopped because an `image:` could not be pulled: which, for which service, why."""
    stderr = err.call.stderr if err.call else ""
    project = engine.project
    found = pulls.up_pull_errors(stderr, {n: s.image for n, s in project.services.items()})
    if not found:
        return None
    service, error = found[0]
    image = project.services[service].image
    use = pulls.image_use(service, image, project.variable_for(image))
    return pulls.pull_failure(
        error, use, subject=f"service {service}", also=[name for name, _ in found[1:]]
    )


def health_failure(
    engine: EngineProtocol, failing: list[ServiceState], timeout: int
) -> HealthTimeout:
    lines = engine.settings.log_lines
    details = []
    for state in failing:
        tail = engine.logs(state.service, tail=lines).rstrip() or "(no log output)"
        details.append(f"--- last {lines} log lines of {state.service} ({describe(state)}) ---")
        details.append(tail)
        if state.health in ("unhealthy", "starting"):
            try:
                probes = engine.health_log(state.name)
            except DockyardError:  # gone meanwhile: the log tail is all there is
                continue
            details.extend(health_lines(state.service, probes))
    first = failing[0]
    if first.health == "starting":
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


def health_lines(
    service: str, probes: Sequence[HealthProbe], last: int = HEALTH_PROBES_SHOWN
) -> list[str]:
    """The last healthcheck runs of a service: when (UTC), exit code, output on one line."""
    if not probes:
        return [f"--- no healthcheck of {service} has finished yet ---"]
    shown = list(probes)[-last:]
    lines = [f"--- last {len(shown)} healthchecks of {service} ---"]
    for probe in shown:
        when = probe.started.strftime("%H:%M:%SZ") if probe.started else "?"
        code = "?" if probe.exit_code is None else str(probe.exit_code)
        output = " | ".join(line.strip() for line in probe.output.splitlines() if line.strip())
        lines.append(
            f"{when}  exit {code}  {one_line(output, HEALTH_OUTPUT_WIDTH) or '(no output)'}"
        )
    return lines


def down(engine: EngineProtocol, *, volumes: bool) -> list[str]:
    """Stop and remove the containers; named volumes only when asked. Returns removed volumes."""
    doomed = engine.volumes() if volumes else []
    engine.down(volumes=volumes)
    return doomed
