"""What the doctor's checks look at, gathered once: plain frozen dataclasses, and the thresholds
(settings `DOCKYARD_DOCTOR_*`) they are judged by."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.compose import Service, shown_path
from dockyard.dockerfile import Dockerfile, DockerfileSyntaxError, parse
from dockyard.engine.stackinfo import StackInfo
from dockyard.teamcache import DoctorFacts

if TYPE_CHECKING:
    from dockyard.settings import Settings


@dataclass(frozen=True)
class Thresholds:
    """The doctor's thresholds (settings DOCKYARD_DOCTOR_*)."""

    context_bytes: int = 50_000_000
    context_files: int = 5_000
    min_free_bytes: int = 5_000_000_000

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(
            context_bytes=settings.doctor_context_bytes,
            context_files=settings.doctor_context_files,
            min_free_bytes=settings.doctor_min_free_bytes,
        )


@dataclass(frozen=True)
class EnvironmentFacts:
    docker_path: str | None = None
    daemon_error: str = ""  # "" when the engine answered
    daemon_hint: str = ""
    client_version: str = ""
    engine_version: str = ""
    api_version: str = ""
    host: str = ""
    buildx_version: str = ""
    buildx_error: str = ""
    compose_version: str = ""
    compose_error: str = ""
    docker_buildkit: str | None = None  # DOCKER_BUILDKIT in the environment
    storage_driver: str = ""
    driver_type: str = ""  # io.containerd.snapshotter.v1 with the containerd image store
    docker_root_dir: str = ""
    free_bytes: int | None = None
    disk_note: str = ""  # why free_bytes is unknown
    env_file: str = ""
    env_file_exists: bool = False
    env_warnings: tuple[str, ...] = ()
    stack: StackInfo | None = None  # what the engine, buildx and Compose are


@dataclass(frozen=True)
class ProjectFacts:
    name: str = ""
    compose_files: tuple[str, ...] = ()
    error: str = ""  # compose could not read the project
    error_hint: str = ""
    services: Mapping[str, Service] = field(default_factory=dict)
    unread: str = ""  # why the compose file was not read at all (no docker / no compose)
    team_cache: DoctorFacts = field(default_factory=DoctorFacts)


@dataclass(frozen=True)
class HadolintFinding:
    code: str
    level: str  # error, warning, info, style
    line: int
    message: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HadolintFinding:
        return cls(
            code=str(data.get("code", "")),
            level=str(data.get("level", "")),
            line=int(data.get("line") or 0),
            message=str(data.get("message", "")),
        )


@dataclass(frozen=True)
class HadolintResult:
    path: str | None  # None: not on PATH
    findings: tuple[HadolintFinding, ...] = ()
    error: str = ""


@dataclass(frozen=True)
class ContextFile:
    path: str  # slash path relative to the context
    size: int


@dataclass(frozen=True)
class ServiceFacts:
    """What one `build:` section would do: its Dockerfile, ignore file and context."""

    service: str
    context_dir: Path
    dockerfile_path: Path
    dockerfile_bytes: bytes | None  # None: missing or unreadable
    image: str
    build_args: Mapping[str, str] = field(default_factory=dict)
    cache_from: tuple[str, ...] = ()
    target: str | None = None
    user: str | None = None  # compose `user:`
    command_words: tuple[str, ...] = ()  # compose `entrypoint` + `command`
    ignore_file: Path | None = None
    ignore_patterns: tuple[str, ...] = ()
    files: tuple[ContextFile, ...] = ()
    file_texts: Mapping[str, bytes] = field(default_factory=dict)
    base_user: str | None = None  # Config.User of the base the final stage ends in, if local
    remote_context: bool = False
    hadolint: HadolintResult | None = None
    # Images that services of this project build, with whether they embed inline cache.
    project_builds: Mapping[str, bool] = field(default_factory=dict)

    @cached_property
    def _parsed(self) -> Dockerfile | DockerfileSyntaxError | None:
        if self.dockerfile_bytes is None:
            return None
        try:
            return parse(self.dockerfile_bytes.decode("utf-8", "replace"))
        except DockerfileSyntaxError as err:
            return err

    @property
    def dockerfile(self) -> Dockerfile | None:
        """The parsed Dockerfile; None when it is missing or does not parse."""
        parsed = self._parsed
        return parsed if isinstance(parsed, Dockerfile) else None

    @property
    def syntax_error(self) -> DockerfileSyntaxError | None:
        """What BuildKit's parser rejects in the Dockerfile, if anything."""
        parsed = self._parsed
        return parsed if isinstance(parsed, DockerfileSyntaxError) else None

    @property
    def scope(self) -> str:
        return f"service {self.service}"

    @property
    def dockerfile_label(self) -> str:
        return shown_path(self.dockerfile_path, self.context_dir)


@dataclass(frozen=True)
class Facts:
    environment: EnvironmentFacts
    project: ProjectFacts
    services: tuple[ServiceFacts, ...] = ()
