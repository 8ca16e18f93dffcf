"""`docker compose`: the project model, build, up, down, ps, logs, volumes."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from dockyard.compose import ComposeProject, require_files
from dockyard.engine.base import (
    BUILDKIT_ENVIRONMENT,
    PROGRESS_OVERRIDES,
    EngineBase,
    environment,
)


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


class ComposeCommands(EngineBase):
    @cached_property
    def config(self) -> dict[str, Any]:
        """The resolved compose model (`compose config --format json`), incl. cache_from."""
        require_files(self.settings.compose_files)
        with self.errors():
            return dict(self.client.compose.config(return_json=True))

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
    ) -> Iterator[tuple[str, bytes]]:
        """Run `compose build` with BuildKit's raw JSON progress; yield (stream, line) pairs.

        `extra_files` are more compose files (`-f`) after the project's, for this build only
        (the team cache's cache_from / cache_to). Raises the translated error after the last
        line when the build fails.
        """
        env = {**BUILDKIT_ENVIRONMENT, "BUILDKIT_PROGRESS": "rawjson", **(extra_env or {})}
        client = self.client_with_files(extra_files) if extra_files else self.client
        with environment(env, unset=PROGRESS_OVERRIDES), self.errors():
            yield from client.compose.build(
                list(services), cache=not no_cache, pull=pull, stream_logs=True
            )

    def up_stream(
        self, services: Sequence[str], *, timeout: int, no_build: bool
    ) -> Iterator[tuple[str, bytes]]:
        with environment(BUILDKIT_ENVIRONMENT), self.errors():
            yield from self.client.compose.up(
                list(services) or None,
                detach=True,
                wait=True,
                wait_timeout=timeout,
                no_build=no_build,
                stream_logs=True,
            )

    def down(self, *, volumes: bool = False) -> None:
        with self.errors():
            self.client.compose.down(volumes=volumes, quiet=True)

    def ps(self) -> list[ServiceState]:
        # `compose ps` with -p lists the project even when the file is missing or invalid;
        # reading the model first reports that instead of an empty list.
        self.project  # noqa: B018
        command = [*self.client.docker_compose_cmd, "ps", "--all", "--format", "json"]
        return parse_compose_ps(self.run(command))

    def logs(self, service: str | None, *, tail: int | None = None) -> str:
        with self.errors():
            return str(
                self.client.compose.logs(
                    [service] if service else [],
                    tail=str(tail) if tail is not None else None,
                )
            )

    def follow_logs(self, service: str | None) -> Iterator[tuple[str, bytes]]:
        with self.errors():
            yield from self.client.compose.logs(
                [service] if service else [], follow=True, stream=True, tail="100"
            )

    def volumes(self) -> list[str]:
        """Named volumes of the project that exist in the engine."""
        label = f"com.docker.compose.project={self.project_name}"
        with self.errors():
            return sorted(v.name for v in self.client.volume.list(filters={"label": label}))
