"""The compose project as dockyard reads it: services, their images and their builds.

Built from `docker compose config --format json` (Compose has already merged the files,
interpolated variables and made build contexts absolute). Build, doctor, images and stack all
read this model, so "which image does a service run" and "what does its build read" are
answered in one place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.errors import ComposeProjectError, UnknownService
from dockyard.settings import go_bool

# A build context that is not a directory on this machine (Compose passes it to BuildKit).
_REMOTE_CONTEXT = re.compile(r"^(https?://|git@|git://|ssh://|github\.com/)")
INLINE_DOCKERFILE = "<dockerfile_inline>"
# `${NAME:-default}` / `${NAME-default}` in a compose file's text.
_DEFAULTED_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?-([^}]*)\}")


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(item) for item in value)


def _words(value: Any) -> tuple[str, ...]:
    """`command:` / `entrypoint:` as words (Compose normalises both to lists; be lenient)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(value.split())
    return tuple(str(item) for item in value)


@dataclass(frozen=True)
class BuildSpec:
    """A service's `build:` section: what BuildKit is asked to build, and from what."""

    context: str  # an absolute directory, or a URL for a remote context
    dockerfile: str = "Dockerfile"  # relative to the context, or absolute
    dockerfile_inline: str | None = None
    target: str | None = None
    args: Mapping[str, str] = field(default_factory=dict)
    cache_from: tuple[str, ...] = ()
    cache_to: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, build: Any) -> BuildSpec:
        if isinstance(build, str):  # `build: ./dir` (Compose normalises it, old files may not)
            build = {"context": build}
        build = build if isinstance(build, Mapping) else {}
        args = build.get("args") or {}
        if isinstance(args, list):  # `args: [A=1]` (normalised to a mapping by Compose)
            args = dict(str(item).partition("=")[::2] for item in args)
        return cls(
            context=str(build.get("context") or "."),
            dockerfile=str(build.get("dockerfile") or "Dockerfile"),
            dockerfile_inline=(
                str(build["dockerfile_inline"])
                if build.get("dockerfile_inline") is not None
                else None
            ),
            target=str(build["target"]) if build.get("target") else None,
            args={str(k): str(v) for k, v in args.items() if v is not None},
            cache_from=_strings(build.get("cache_from")),
            cache_to=_strings(build.get("cache_to")),
            platforms=_strings(build.get("platforms")),
        )

    @property
    def remote(self) -> bool:
        """A git or https context: nothing of it is on this machine to read."""
        return bool(_REMOTE_CONTEXT.match(self.context))

    @property
    def context_dir(self) -> Path:
        return Path(self.context)

    @property
    def dockerfile_path(self) -> Path:
        """Where the Dockerfile is; `<context>/<dockerfile_inline>` for inline text."""
        if self.dockerfile_inline is not None:
            return self.context_dir / INLINE_DOCKERFILE
        path = Path(self.dockerfile)
        return path if path.is_absolute() else self.context_dir / path

    @property
    def dockerfile_label(self) -> str:
        """The Dockerfile as a user names it: relative to the context when inside it."""
        return shown_path(self.dockerfile_path, self.context_dir)

    def dockerfile_bytes(self) -> bytes | None:
        """The Dockerfile's content; None when it is remote, missing or unreadable."""
        if self.dockerfile_inline is not None:
            return self.dockerfile_inline.encode("utf-8")
        if self.remote:
            return None
        try:
            return self.dockerfile_path.read_bytes()
        except OSError:
            return None

    def dockerfile_text(self) -> str | None:
        data = self.dockerfile_bytes()
        return None if data is None else data.decode("utf-8", "replace")

    @property
    def inline_cache(self) -> bool:
        """Built with `BUILDKIT_INLINE_CACHE=1`: the image carries its cache metadata."""
        return go_bool(self.args.get("BUILDKIT_INLINE_CACHE", "")) is True


@dataclass(frozen=True)
class Port:
    target: int
    published: str
    host_ip: str = ""


@dataclass(frozen=True)
class Service:
    """One service of the project, as Compose resolved it."""

    name: str
    image: str  # what it runs: `image:`, or Compose's `<project>-<service>` for a built one
    build: BuildSpec | None = None
    depends_on: tuple[str, ...] = ()
    ports: tuple[Port, ...] = ()
    user: str | None = None
    entrypoint: tuple[str, ...] = ()
    command: tuple[str, ...] = ()
    healthcheck: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def buildable(self) -> bool:
        return self.build is not None

    @property
    def command_words(self) -> tuple[str, ...]:
        """What the container executes: entrypoint, command and the healthcheck's command."""
        test = self.healthcheck.get("test")
        check = _words(test)
        if isinstance(test, list) and check[:1] in (("CMD",), ("CMD-SHELL",), ("NONE",)):
            check = check[1:]
        return (*self.entrypoint, *self.command, *check)

    @classmethod
    def from_config(cls, name: str, svc: Mapping[str, Any], project: str) -> Service:
        ports = []
        for port in svc.get("ports") or ():
            if isinstance(port, Mapping):
                ports.append(
                    Port(
                        target=int(port.get("target") or 0),
                        published=str(port.get("published") or ""),
                        host_ip=str(port.get("host_ip") or ""),
                    )
                )
        user = svc.get("user")
        build = svc.get("build")
        return cls(
            name=name,
            image=image_name(project, name, svc.get("image")),
            build=BuildSpec.from_config(build) if build else None,
            depends_on=tuple(str(dep) for dep in svc.get("depends_on") or ()),
            ports=tuple(ports),
            user=str(user) if user not in (None, "") else None,
            entrypoint=_words(svc.get("entrypoint")),
            command=_words(svc.get("command")),
            healthcheck=dict(svc.get("healthcheck") or {}),
            raw=svc,
        )


def shown_path(path: Path, root: Path) -> str:
    """A path as a user reads it in a message: relative to `root` (slashes) when inside it."""
    for candidate, base in ((path, root), (path.resolve(), root.resolve())):
        try:
            return candidate.relative_to(base).as_posix()
        except ValueError:
            continue
    return str(path)


def image_name(project: str, service: str, image: Any = None) -> str:
    """The image a service runs: its `image:`, else the one Compose builds, `<project>-<svc>`."""
    return str(image) if image else f"{project}-{service}"


@dataclass(frozen=True)
class ComposeProject:
    """The project's name and services (in the order `compose config` lists them)."""

    name: str
    services: Mapping[str, Service]
    files: tuple[Path, ...] = ()

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], *, files: Sequence[Path] = (), fallback_name: str = ""
    ) -> ComposeProject:
        name = str(config.get("name") or fallback_name)
        raw = config.get("services") or {}
        services = {str(n): Service.from_config(str(n), svc, name) for n, svc in raw.items()}
        return cls(name, services, tuple(files))

    @property
    def directory(self) -> Path:
        """Where relative paths of the project are read from: the first compose file's folder."""
        return self.files[0].parent if self.files else Path.cwd()

    def buildable(self) -> list[str]:
        return [name for name, svc in self.services.items() if svc.buildable]

    def variable_for(self, value: str) -> str | None:
        """The variable the compose files give `value` as its default (`${POSTGRES_IMAGE:-
        postgres:16}` -> POSTGRES_IMAGE), so a message can say which one to set; None if none.

        The resolved model keeps no trace of interpolation: this reads the files' text.
        """
        for file in self.files:
            try:
                text = file.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for match in _DEFAULTED_VARIABLE.finditer(text):
                if match.group(2).strip().strip("\"'") == value:
                    return match.group(1)
        return None

    def service(self, name: str) -> Service:
        try:
            return self.services[name]
        except KeyError:
            raise self._unknown(name, buildable=False) from None

    def build_of(self, name: str) -> BuildSpec:
        build = self.service(name).build
        if build is None:
            raise self._unknown(name, buildable=True)
        return build

    def require(self, names: Sequence[str], *, buildable: bool = False) -> list[str]:
        """The names, checked: each is a service (with `build:` when `buildable`)."""
        known = self.buildable() if buildable else list(self.services)
        for name in names:
            if name not in known:
                raise self._unknown(name, buildable=buildable)
        return list(names)

    def with_dependencies(self, names: Sequence[str]) -> list[str]:
        """The services (all when empty) and everything they depend on, in project order."""
        wanted = set(self.require(names)) or set(self.services)
        pending = list(wanted)
        while pending:
            for dep in self.services[pending.pop()].depends_on:
                if dep not in wanted and dep in self.services:
                    wanted.add(dep)
                    pending.append(dep)
        return [name for name in self.services if name in wanted]

    def _unknown(self, name: str, *, buildable: bool) -> UnknownService:
        known = self.buildable() if buildable else list(self.services)
        kind = "buildable service" if buildable else "service"
        return UnknownService(
            f"unknown {kind} {name!r} in project {self.name!r}",
            f"choose from: {', '.join(known) or '(none)'}",
        )


def require_files(files: Sequence[Path]) -> None:
    """A missing compose file is named before Compose is asked about it."""
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise ComposeProjectError(
            f"compose file not found: {missing[0]}",
            "set COMPOSE_FILE (in .env or the environment) or run from the project directory",
        )
