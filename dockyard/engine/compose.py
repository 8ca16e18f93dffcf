"""`docker compose`: the project model, build, up, down, ps, logs, volumes."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.compose import ComposeProject, require_files

if TYPE_CHECKING:
    from python_on_whales.components.container.models import ContainerState

from dockyard.engine.base import (
    BUILDKIT_ENVIRONMENT,
    PROGRESS_OVERRIDES,
    EngineBase,
    environment,
)
from dockyard.engine.process import Lines, Stream, stream_lines


@dataclass(frozen=True)
class ServiceState:
    """One container of the project as `compose ps` sees it."""

    service: str
    name: str
    state: str  # running, exited, created, restarting, ...
    health: str  # healthy, unhealthy, starting, or "" without a healthcheck
    exit_code: int
    ports: str

    @property
    def ok(self) -> bool:
        return self.state == "running" and self.health in ("", "healthy")


@dataclass(frozen=True)
class HealthProbe:
    """One run of a container's healthcheck, as Docker keeps it (`.State.Health.Log`, the
    last 5): when it started, its exit code (-1: it timed out or could not start), output."""

    started: datetime | None
    exit_code: int | None
    output: str


def health_probes(state: ContainerState | None) -> list[HealthProbe]:
    """The healthcheck runs in python-on-whales' `container.state`, oldest first."""
    health = state.health if state is not None else None
    return [
        HealthProbe(run.start, run.exit_code, run.output or "")
        for run in (health.log or [] if health is not None else [])
    ]


def parse_compose_ps(output: str) -> list[ServiceState]:
    """Parse `docker compose ps --format json` (a JSON array on old Compose, NDJSON on 2.21+)."""
    text = output.strip()
    if not text:
        return []
    if text.startswith("["):
        rows: list[dict[str, Any]] = json.loads(text)
    else:
        rows = [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]
    states = [
        ServiceState(
            service=str(row.get("Service", "")),
            name=str(row.get("Name", "")),
            state=str(row.get("State", "")),
            health=str(row.get("Health", "")),
            exit_code=int(row.get("ExitCode") or 0),
            ports=str(row.get("Ports", "")),
        )
        for row in rows
    ]
    return sorted(states, key=lambda s: (s.service, s.name))


def build_command(
    compose: Sequence[str], services: Sequence[str], *, no_cache: bool, pull: bool
) -> list[str]:
    """`docker compose ... build`, one flag per line (the progress mode comes by environment:
    Compose 2.40 refuses `--progress rawjson`)."""
    command = [*compose, "build"]
    command += ["--no-cache"] if no_cache else []
    command += ["--pull"] if pull else []
    return [*command, *services]


def up_command(
    compose: Sequence[str], services: Sequence[str], *, timeout: int, no_build: bool
) -> list[str]:
    """`docker compose ... up --detach --wait`; no services: all of them."""
    command = [*compose, "up", "--detach", "--wait"]
    command += ["--wait-timeout", str(timeout)]
    command += ["--no-build"] if no_build else []
    return [*command, *services]


def follow_logs_command(compose: Sequence[str], service: str | None) -> list[str]:
    command = [*compose, "logs", "--no-color", "--follow"]
    command += ["--tail", "100"]
    return [*command, *([service] if service else [])]


class StartedStream:
    """A command already running; iterate for its lines (Docker failures translated), or
    `close()` to stop it, also when it was never read."""

    def __init__(
        self, lines: Lines, errors: Callable[[], contextlib.AbstractContextManager[None]]
    ) -> None:
        self._lines = lines
        self._errors = errors

    def __iter__(self) -> Stream:
        try:
            with self._errors():
                yield from self._lines
        finally:
            self._lines.close()

    def close(self) -> None:
        self._lines.close()


class ComposeCommands(EngineBase):
    @cached_property
    def config(self) -> dict[str, Any]:
        """The resolved compose model (`compose config --format json`), incl. cache_from."""
        require_files(self.settings.compose_files)
        return dict(json.loads(self.run(self.compose_cmd("config", "--format", "json"))))

    @cached_property
    def project(self) -> ComposeProject:
        return ComposeProject.from_config(
            self.config,
            files=self.settings.compose_files,
            fallback_name=self.settings.project_name or "",
        )

    @property
    def project_name(self) -> str:
        return self.project.name

    def build_stream(
        self,
        services: Sequence[str],
        *,
        no_cache: bool = False,
        pull: bool = False,
        extra_env: Mapping[str, str] | None = None,
        extra_files: Sequence[Path] = (),
    ) -> StartedStream:
        """`compose build` with BuildKit's raw JSON progress, started now; iterate for its
        (stream, line) pairs when ready (build-fast starts it before it has read the compose
        model). No services: every service with a build section, as Compose chooses.

        `extra_files` are more compose files (`--file`) after the project's, for this build
        only (the team cache's cache_from / cache_to). Raises the translated error after the
        last line when the build fails; the build stops with the stream or `close()` (Ctrl-C,
        SIGTERM, an error while reading).
        """
        env = {**BUILDKIT_ENVIRONMENT, "BUILDKIT_PROGRESS": "rawjson", **(extra_env or {})}
        command = build_command(
            self.compose_cmd(extra_files=extra_files), services, no_cache=no_cache, pull=pull
        )
        with environment(env, unset=PROGRESS_OVERRIDES), self.errors():
            lines = Lines(command)
        return StartedStream(lines, self.errors)

    def up_stream(self, services: Sequence[str], *, timeout: int, no_build: bool) -> Stream:
        """`compose up --detach --wait`, its output as it comes; stops with the stream."""
        command = up_command(self.compose_cmd(), services, timeout=timeout, no_build=no_build)
        with environment(BUILDKIT_ENVIRONMENT), self.errors():
            yield from stream_lines(command)

    def down(self, *, volumes: bool = False) -> None:
        with self.errors():
            self.client.compose.down(volumes=volumes, quiet=True)

    def ps(self) -> list[ServiceState]:
        # `compose ps` with -p lists the project even when the file is missing or invalid;
        # reading the model first reports that instead of an empty list.
        self.project  # noqa: B018
        states = parse_compose_ps(self.run(self.compose_cmd("ps", "--all", "--format", "json")))
        return self.project.in_order(states, lambda s: s.service)

    def health_log(self, container: str) -> list[HealthProbe]:
        """The last healthcheck runs of a container (`docker container inspect`)."""
        with self.errors():
            return health_probes(self.client.container.inspect(container).state)

    def logs(self, service: str | None, *, tail: int | None = None) -> str:
        with self.errors():
            return str(
                self.client.compose.logs(
                    [service] if service else [],
                    tail=str(tail) if tail is not None else None,
                )
            )

    def follow_logs(self, service: str | None) -> Stream:
        with self.errors():
            yield from stream_lines(follow_logs_command(self.compose_cmd(), service))

    def volumes(self) -> list[str]:
        """Named volumes of the project that exist in the engine."""
        label = f"com.docker.compose.project={self.project_name}"
        with self.errors():
            return sorted(v.name for v in self.client.volume.list(filters={"label": label}))
