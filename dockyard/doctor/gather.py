"""The doctor's facts, read once: the only part that touches Docker (through the engine) or the
disk (Dockerfile, `.dockerignore`, the files the build sends and the few a check reads, hadolint).
Never raises for what a check reports."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard import dockerignore, requirements, teamcache
from dockyard.compose import Service
from dockyard.dockerfile import Dockerfile, DockerfileSyntaxError, parse
from dockyard.doctor.executed import executed_names, is_script_candidate
from dockyard.doctor.facts import (
    ContextFile,
    EnvironmentFacts,
    Facts,
    HadolintFinding,
    HadolintResult,
    ProjectFacts,
    ServiceFacts,
)
from dockyard.doctor.installs import requirement_paths
from dockyard.engine.stackinfo import StackInfo
from dockyard.errors import DockyardError
from dockyard.imageref import normalize

if TYPE_CHECKING:
    from dockyard.engine import EngineProtocol

# Files larger than this are not read for line endings or requirements.
READ_LIMIT = 1_000_000


def project_builds(services: Mapping[str, Service]) -> dict[str, bool]:
    """normalized image ref -> built with inline cache, for every service with `build:`."""
    built: dict[str, bool] = {}
    for svc in services.values():
        if svc.build is not None:
            key = normalize(svc.image)
            built[key] = built.get(key, False) or svc.build.inline_cache
    return built


def gather(engine: EngineProtocol, services: Sequence[str] = ()) -> Facts:
    """Everything the checks look at. Never raises for what a check reports."""
    environment = gather_environment(engine)
    settings = engine.settings
    files = tuple(str(f) for f in settings.compose_files)
    if environment.docker_path is None:
        return Facts(
            environment, ProjectFacts(compose_files=files, unread="needs the docker binary")
        )
    if not environment.compose_version:
        return Facts(environment, ProjectFacts(compose_files=files, unread="needs docker compose"))
    try:
        compose = engine.project
    except DockyardError as err:
        return Facts(
            environment, ProjectFacts(compose_files=files, error=err.message, error_hint=err.hint)
        )
    chosen = compose.require(services, buildable=True) if services else compose.buildable()
    project = ProjectFacts(
        compose.name,
        files,
        services=compose.services,
        team_cache=_team_cache(engine, environment, chosen),
    )
    builds = project_builds(compose.services)
    hadolint_path = shutil.which("hadolint")
    project_dir = compose.directory
    reachable = not environment.daemon_error

    def base_user(image: str) -> str | None:
        if not reachable:
            return None
        try:
            config = engine.image_inspect(image).get("Config") or {}
        except DockyardError:
            return None
        return str(config.get("User") or "") or None

    gathered = tuple(
        gather_service(
            compose.services[name],
            builds=builds,
            hadolint_path=hadolint_path,
            hadolint_cwd=project_dir,
            base_user=base_user,
        )
        for name in chosen
    )
    return Facts(environment, project, gathered)


def _team_cache(
    engine: EngineProtocol, environment: EnvironmentFacts, services: Sequence[str]
) -> teamcache.DoctorFacts:
    builds = {}
    for name in services:
        build = engine.project.build_of(name)
        text = "" if build.remote else (build.dockerfile_text() or "")
        builds[name] = (text, build.cache_to, build.target, build.args)
    stack = environment.stack
    return teamcache.doctor_facts(
        engine.settings.team_cache,
        project=engine.project_name,
        builds=builds,
        root=engine.settings.compose_files[0].parent,
        image_store=stack.image_store if stack and not environment.daemon_error else "unknown",
        reachable_engine=not environment.daemon_error,
    )


def gather_environment(engine: EngineProtocol) -> EnvironmentFacts:
    settings = engine.settings
    base: dict[str, Any] = {
        "docker_buildkit": os.environ.get("DOCKER_BUILDKIT"),
        "env_file": str(settings.env_file),
        "env_file_exists": settings.env_file.is_file(),
        "env_warnings": tuple(settings.warnings),
    }
    path = engine.docker_path()
    if path is None:
        return EnvironmentFacts(**base)
    stack = engine.stack  # the four docker calls at once
    found: dict[str, Any] = {
        **base,
        "docker_path": path,
        "stack": stack,
        "buildx_version": stack.buildx,
        "buildx_error": stack.errors.get("buildx", ""),
        "compose_version": stack.compose,
        "compose_error": stack.errors.get("compose", ""),
    }
    daemon_error = stack.errors.get("version") or stack.errors.get("info")
    if daemon_error or not stack.engine:
        found.update(
            daemon_error=daemon_error or "the engine did not say its version",
            daemon_hint=stack.daemon_hint,
        )
        return EnvironmentFacts(**found)
    found.update(
        client_version=stack.client,
        engine_version=stack.engine,
        api_version=stack.api,
        host=os.environ.get("DOCKER_HOST") or f"context {stack.context or 'default'}",
        storage_driver=stack.storage_driver,
        driver_type=stack.driver_type,
        docker_root_dir=stack.docker_root_dir,
    )
    free, note = _free_disk(stack)
    found.update(free_bytes=free, disk_note=note)
    return EnvironmentFacts(**found)


def _free_disk(stack: StackInfo) -> tuple[int | None, str]:
    """Free bytes where the engine keeps its data, only when that engine runs on this machine."""
    root = stack.docker_root_dir
    host = os.environ.get("DOCKER_HOST", "")
    if host and not host.startswith(("unix://", "npipe://")):
        return None, f"the engine is remote ({host})"
    if "desktop" in stack.operating_system.lower():
        return None, "Docker Desktop keeps its data inside its VM (see Settings > Resources)"
    name = stack.engine_name
    if name and name.lower() != platform.node().lower():
        return None, f"the engine runs on another host ({name})"
    if not root or not Path(root).is_dir():
        return None, "the data root is not visible from here"
    try:
        return shutil.disk_usage(root).free, ""
    except OSError as exc:
        return None, str(exc)


def gather_service(
    service: Service,
    *,
    builds: Mapping[str, bool],
    hadolint_path: str | None = None,
    hadolint_cwd: Path | None = None,
    base_user: Callable[[str], str | None] = lambda image: None,
) -> ServiceFacts:
    """Facts of one service with `build:` from the compose model."""
    build = service.build
    assert build is not None, "only services with build: are gathered"
    data = build.dockerfile_bytes()
    common: dict[str, Any] = {
        "service": service.name,
        "context_dir": build.context_dir,
        "dockerfile_path": build.dockerfile_path,
        "dockerfile_bytes": data,
        "image": service.image,
        "build_args": dict(build.args),
        "cache_from": build.cache_from,
        "target": build.target,
        "user": service.user,
        "command_words": service.command_words,
        "remote_context": build.remote,
        "project_builds": dict(builds),
    }
    if build.remote:
        return ServiceFacts(**common)
    context_dir, dockerfile_path = build.context_dir, build.dockerfile_path
    ignore_file = dockerignore.dockerignore_file(context_dir, dockerfile_path)
    patterns = dockerignore.read_dockerignore(context_dir, dockerfile_path)
    files = _context_files(context_dir, patterns)
    dockerfile = _parse_or_none(data)
    executed = executed_names(dockerfile, common["command_words"])
    paths = [f.path for f in files if f.size <= READ_LIMIT]
    wanted = {p for p in paths if is_script_candidate(p, executed)}
    if dockerfile is not None:
        known = set(paths)

        def read(path: str) -> str | None:
            content = _read_small(context_dir / path) if path in known else None
            return None if content is None else content.decode("utf-8", "replace")

        roots = requirement_paths(dockerfile, paths)
        wanted.update(parsed.path for parsed in requirements.follow(roots, read))
    texts = {p: text for p in sorted(wanted) if (text := _read_small(context_dir / p)) is not None}
    user_of_base = None
    if dockerfile is not None:
        user, base = dockerfile.final_user(build.args, build.target)
        if user is None and base:
            user_of_base = base_user(base)
    hadolint = None
    if hadolint_path is not None and data is not None:
        hadolint = run_hadolint(hadolint_path, data, hadolint_cwd or context_dir)
    elif hadolint_path is None:
        hadolint = HadolintResult(None)
    return ServiceFacts(
        **common,
        ignore_file=ignore_file,
        ignore_patterns=tuple(patterns),
        files=files,
        file_texts=texts,
        base_user=user_of_base,
        hadolint=hadolint,
    )


def _context_files(context_dir: Path, patterns: Sequence[str]) -> tuple[ContextFile, ...]:
    found = []
    for rel in dockerignore.context_files(context_dir, patterns):
        try:
            size = (context_dir / rel).lstat().st_size
        except OSError:
            size = 0
        found.append(ContextFile(rel, size))
    return tuple(found)


def _read_small(path: Path) -> bytes | None:
    try:
        if path.is_symlink() or path.stat().st_size > READ_LIMIT:
            return None
        return path.read_bytes()
    except OSError:
        return None


def _parse_or_none(data: bytes | None) -> Dockerfile | None:
    if data is None:
        return None
    try:
        return parse(data.decode("utf-8", "replace"))
    except DockerfileSyntaxError:
        return None


def run_hadolint(binary: str, dockerfile: bytes, cwd: Path) -> HadolintResult:
    """hadolint's JSON findings for a Dockerfile (read from stdin, config from `cwd`)."""
    try:
        done = subprocess.run(
            [binary, "--no-fail", "--format", "json", "-"],
            input=dockerfile,
            capture_output=True,
            cwd=cwd if cwd.is_dir() else None,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return HadolintResult(binary, error=str(exc))
    text = done.stdout.decode("utf-8", "replace").strip()
    try:
        rows = json.loads(text or "[]")
    except ValueError:
        tail = (done.stderr.decode("utf-8", "replace").strip().splitlines() or [text])[-1]
        return HadolintResult(binary, error=tail[:200])
    return HadolintResult(binary, tuple(HadolintFinding.from_json(row) for row in rows))
