"""Which Docker dockyard runs on: client, engine, buildx and Compose versions, the image store,
whether Compose hands builds to bake, and what that means for dockyard's features.

Read once per run, with the four docker calls it needs started together (each is a process of
its own: `docker version`, `docker info`, `docker buildx version`, `docker compose version`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from dockyard.settings import go_bool

ImageStore = Literal["containerd", "classic", "unknown"]

# Compose 2.32 can build through bake when COMPOSE_BAKE=true; from 2.37 it does unless
# COMPOSE_BAKE=false, and Compose 5 has no other builder (docker/compose pkg/compose/build_bake.go).
BAKE_OPT_IN = (2, 32)
BAKE_DEFAULT = (2, 37)
BAKE_ONLY = (5, 0)
# buildx keeps build records from 0.20; `history ls --filter` and `--format json` arrive in 0.23.
HISTORY = (0, 23)


def version_tuple(text: str) -> tuple[int, ...]:
    """ "2.40.3", "v0.29.1", "26.1.5+dfsg1", "2.26.1-4" -> (2, 40, 3) ...; () when unreadable."""
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if match is None:
        return ()
    return tuple(int(part) for part in match.groups() if part is not None)


def compose_uses_bake(compose_version: str, environ: Mapping[str, str]) -> bool:
    """Whether `docker compose build` hands the build to `buildx bake` (Compose's own rule)."""
    version = version_tuple(compose_version)
    if not version or go_bool(environ.get("DOCKER_BUILDKIT", "1")) is False:
        return False
    if version >= BAKE_ONLY:
        return True
    wanted = go_bool(environ.get("COMPOSE_BAKE", ""))
    if version >= BAKE_DEFAULT:
        return wanted is not False
    return version >= BAKE_OPT_IN and wanted is True


@dataclass(frozen=True)
class StackInfo:
    client: str = ""
    engine: str = ""
    api: str = ""
    buildx: str = ""
    compose: str = ""
    image_store: ImageStore = "unknown"
    storage_driver: str = ""
    driver_type: str = ""  # io.containerd.snapshotter.v1 with the containerd image store
    engine_name: str = ""
    operating_system: str = ""
    docker_root_dir: str = ""
    context: str = ""  # the docker CLI's context, when it names one
    compose_bake: bool = False
    # What could not be read: command ("version", "info", "buildx", "compose") -> message.
    errors: Mapping[str, str] = field(default_factory=dict)
    daemon_hint: str = ""

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(f"docker {name}: {message}" for name, message in self.errors.items())

    @property
    def build_path(self) -> str:
        return "bake" if self.compose_bake else "compose"

    @property
    def history(self) -> bool:
        """buildx can list and replay build records (a second source of step data)."""
        return bool(version_tuple(self.buildx)) and version_tuple(self.buildx) >= HISTORY

    @property
    def cache_exports(self) -> tuple[str, ...]:
        """Cache backends the default (`docker`) builder can export to on this engine."""
        if self.image_store == "containerd":
            return ("inline", "registry", "local", "gha")
        return ("inline",)

    def describe(self) -> str:
        """One line: `engine 28.5.2, buildx 0.29.1, compose 2.40.3 (bake), containerd store`."""
        parts = [f"engine {self.engine or '?'}", f"buildx {self.buildx or '?'}"]
        parts.append(f"compose {self.compose or '?'} ({self.build_path})")
        parts.append(f"{self.image_store} store" if self.image_store != "unknown" else "store ?")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(
            errors=dict(self.errors),
            build_path=self.build_path,
            history=self.history,
            cache_exports=list(self.cache_exports),
        )
        return data


def driver_type(info: Mapping[str, Any]) -> str:
    for row in info.get("DriverStatus") or []:
        if isinstance(row, list) and len(row) == 2 and str(row[0]).lower() == "driver-type":
            return str(row[1])
    return ""


def image_store(info: Mapping[str, Any]) -> ImageStore:
    """The containerd image store reports a snapshotter driver type; the classic one does not."""
    if not info:
        return "unknown"
    return "containerd" if "containerd.snapshotter" in driver_type(info) else "classic"


def from_outputs(
    version: Mapping[str, Any],
    info: Mapping[str, Any],
    buildx: str,
    compose: str,
    *,
    environ: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    daemon_hint: str = "",
) -> StackInfo:
    """The StackInfo of what the four commands printed (pure: tests feed real captures)."""
    client = version.get("Client") or {}
    server = version.get("Server") or {}
    words = buildx.split()
    return StackInfo(
        client=str(client.get("Version", "")),
        engine=str(server.get("Version", "")),
        api=str(server.get("ApiVersion", "")),
        buildx=words[1] if len(words) > 1 else buildx.strip(),
        compose=compose.strip().removeprefix("v"),
        image_store=image_store(info),
        storage_driver=str(info.get("Driver") or ""),
        driver_type=driver_type(info),
        engine_name=str(info.get("Name") or ""),
        operating_system=str(info.get("OperatingSystem") or ""),
        docker_root_dir=str(info.get("DockerRootDir") or ""),
        context=str(client.get("Context") or ""),
        compose_bake=compose_uses_bake(compose, environ),
        errors=dict(errors or {}),
        daemon_hint=daemon_hint,
    )


def detect(run: Callable[[list[str]], str], docker: list[str]) -> StackInfo:
    """Ask the four commands at once; what fails becomes a problem line, not an error."""
    commands = {
        "version": [*docker, "version", "--format", "{{json .}}"],
        "info": [*docker, "info", "--format", "{{json .}}"],
        "buildx": [*docker, "buildx", "version"],
        "compose": [*docker, "compose", "version", "--short"],
    }
    from dockyard.errors import DockyardError

    outputs: dict[str, str] = {}
    errors: dict[str, str] = {}
    hint = ""

    def call(name: str) -> tuple[str, str | DockyardError]:
        try:
            return name, run(commands[name])
        except DockyardError as err:
            return name, err

    with ThreadPoolExecutor(max_workers=len(commands)) as pool:
        for name, output in pool.map(call, commands):
            if isinstance(output, DockyardError):
                errors[name] = output.message
                hint = hint or (output.hint if name in ("version", "info") else "")
            else:
                outputs[name] = output

    def parsed(name: str) -> dict[str, Any]:
        try:
            return dict(json.loads(outputs.get(name) or "{}"))
        except ValueError:
            return {}

    return from_outputs(
        parsed("version"),
        parsed("info"),
        outputs.get("buildx", ""),
        outputs.get("compose", ""),
        environ=os.environ,
        errors=errors,
        daemon_hint=hint,
    )
