"""A team build cache in a registry: every built service gets a cache ref of its own, every
`build-fast` imports from it, `build-fast --push-cache` exports to it.

`DOCKYARD_TEAM_CACHE=<registry>/<prefix>` gives service S of project P the ref
`<registry>/<prefix>/<P>/<S>:<branch>`, and imports `:<default branch>` too, so a new branch
starts warm. How the cache leaves the machine depends on the engine:

- containerd image store: the docker driver exports cache, so `cache_to:
  type=registry,ref=...,mode=max` (every stage, the dependency stage included);
- classic image store: "Cache export is not supported for the docker driver", so the image is
  built with `BUILDKIT_INLINE_CACHE=1`, tagged with the ref and pushed (inline cache carries
  the final stage's steps only).

Compose takes both through one more compose file (`-f`), written under the state dir: its
`cache_from` entries are appended to the service's own, and a service whose compose file has
its own `cache_to` keeps it (no team export for it). Credentials stay in Docker's login store:
dockyard never reads them, and the registry check below asks `/v2/` without any.
"""

from __future__ import annotations

import ipaddress
import json
import re
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from dockyard import gitinfo
from dockyard.errors import DockyardError, SettingsError

if TYPE_CHECKING:
    from dockyard.engine import EngineProtocol
    from dockyard.progress import BuildReport, RawJsonStream

Export = Literal["registry", "inline", "compose", ""]

SETTING = "DOCKYARD_TEAM_CACHE"
EXAMPLE = "registry.example.com/team/cache"
INLINE_ARG = "BUILDKIT_INLINE_CACHE"
# The vertices BuildKit reports for cache import and export.
IMPORTING = "importing cache manifest from "
EXPORTING = "exporting cache"

_HOST = re.compile(
    r"(localhost|\[[0-9A-Fa-f:]+\]|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)(:[0-9]{1,5})?"
    r"|[A-Za-z0-9-]+:[0-9]{1,5}"
)
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")


@dataclass(frozen=True)
class Location:
    """Where the team cache lives: a registry host and a repository prefix in it."""

    registry: str
    prefix: str = ""

    def __str__(self) -> str:
        return f"{self.registry}/{self.prefix}" if self.prefix else self.registry

    def repository(self, project: str, service: str) -> str:
        return "/".join(p for p in (self.registry, self.prefix, slug(project), slug(service)) if p)


def parse_location(text: str) -> Location:
    """`registry[:port]/prefix` -> Location; SettingsError (never echoing a secret) otherwise."""
    value = text.strip().rstrip("/")
    hint = f"write it as <registry>/<repository prefix>, e.g. {EXAMPLE}"
    if "://" in value:
        raise SettingsError(f"{SETTING}: write the registry without a scheme", hint)
    if "@" in value:
        # user:password@host or a digest: the value is not shown, it may hold a password.
        raise SettingsError(
            f"{SETTING} must not hold credentials or a digest",
            "log in with `docker login <registry>`; dockyard uses Docker's own login store",
        )
    host, _, prefix = value.partition("/")
    if not _HOST.fullmatch(host):
        raise SettingsError(
            f"{SETTING}: {host!r} is not a registry host (a name with a dot, localhost, or "
            "host:port)",
            hint,
        )
    for part in prefix.split("/") if prefix else ():
        if not _COMPONENT.fullmatch(part):
            raise SettingsError(
                f"{SETTING}: {part!r} is not a repository name (lowercase letters, digits, "
                "'.', '_', '-'; no tag)",
                hint,
            )
    return Location(host, prefix)


def slug(text: str) -> str:
    """A repository path component from a project or service name."""
    lowered = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return lowered or "x"


def tag(text: str) -> str:
    """A tag from a branch name (`feature/x` -> `feature-x`)."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).lstrip(".-")[:128]
    return cleaned or "latest"


def export_mode(image_store: str) -> tuple[Export, str]:
    """How `--push-cache` exports on this engine, and why (one line)."""
    if image_store == "containerd":
        return "registry", (
            "type=registry,mode=max (the containerd image store lets the docker driver export "
            "cache, every stage included)"
        )
    return "inline", (
        f"inline cache in a pushed image (the {image_store} image store's docker driver "
        "cannot export cache; inline cache carries the final stage only)"
    )


def _loopback(registry: str) -> bool:
    host = registry.rsplit(":", 1)[0].strip("[]") if registry.count(":") <= 1 else registry
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def probe(registry: str, timeout: float = 3.0) -> str | None:
    """None when the registry answers `/v2/` (any HTTP status: 401 asks for a login, fine),
    else why not. Plain HTTP is tried only where Docker allows it by default (loopback)."""
    schemes = ("https", "http") if _loopback(registry) else ("https",)
    why = "no answer"
    for scheme in schemes:
        try:
            with urllib.request.urlopen(f"{scheme}://{registry}/v2/", timeout=timeout):
                return None
        except urllib.error.HTTPError:
            return None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ssl.SSLError) and scheme == "https":
                return None  # it answered; Docker's own trust settings decide the rest
            why = str(getattr(exc.reason, "strerror", None) or exc.reason)
        except (OSError, ValueError) as exc:
            why = str(exc)
    return why


@dataclass
class ServiceCache:
    """One service's team-cache refs and what this build does with them."""

    service: str
    push_ref: str
    pull_refs: tuple[str, ...]
    export: Export = ""
    # Filled in after the build.
    imported: list[str] = field(default_factory=list)
    cached_steps: int = 0
    # BuildKit names the layer blobs it pulls, not the step each belongs to (it pulls them
    # lazily, under the last step that needs them): a cached step's layer is either local or
    # pulled, so the pulled layers count the steps that came from the team cache.
    team_steps: int = 0
    local_steps: int = 0
    pulled_layers: int = 0
    pulled_bytes: int | None = None  # None: the stream did not give every blob's size
    pushed: bool = False
    push_error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.push_ref,
            "import_refs": list(self.pull_refs),
            "export": self.export or None,
            "imported": self.imported,
            "cached_steps": self.cached_steps,
            "team_steps": self.team_steps,
            "local_steps": self.local_steps,
            "pulled_layers": self.pulled_layers,
            "pulled_bytes": self.pulled_bytes,
            "pushed": self.pushed,
            "push_error": self.push_error or None,
        }


@dataclass
class TeamCachePlan:
    location: Location
    branch: str
    default_branch: str
    push: bool
    mode: Export
    why: str
    services: dict[str, ServiceCache]
    unreachable: str = ""  # why the registry did not answer ("" when it did)
    override: Path | None = None

    @property
    def importing(self) -> bool:
        return not self.unreachable

    def to_dict(self) -> dict[str, Any]:
        return {
            "location": str(self.location),
            "branch": self.branch,
            "default_branch": self.default_branch,
            "push": self.push,
            "export": self.mode if self.push else None,
            "why": self.why if self.push else None,
            "unreachable": self.unreachable or None,
            "services": {name: svc.to_dict() for name, svc in self.services.items()},
        }


def plan(
    location: Location,
    *,
    project: str,
    services: Mapping[str, tuple[str, ...]],
    root: Path,
    image_store: str,
    push: bool,
    unreachable: str = "",
) -> TeamCachePlan:
    """Refs per service (`services` maps each to its compose file's own cache_to)."""
    branch, default = gitinfo.branches(root)
    mode, why = export_mode(image_store)
    caches = {}
    for service, own_cache_to in services.items():
        repository = location.repository(project, service)
        push_ref = f"{repository}:{tag(branch)}"
        pulls = tuple(dict.fromkeys((push_ref, f"{repository}:{tag(default)}")))
        export: Export = ""
        if push:
            export = "compose" if own_cache_to else mode
        caches[service] = ServiceCache(service, push_ref, pulls, export)
    return TeamCachePlan(location, branch, default, push, mode, why, caches, unreachable)


def prepare(engine: EngineProtocol, services: Sequence[str], *, push: bool) -> TeamCachePlan | None:
    """The team-cache plan of this build (None without DOCKYARD_TEAM_CACHE), its override
    file written; the registry is asked once, before the build."""
    settings = engine.settings
    if not settings.team_cache.strip():
        if push:
            raise SettingsError(
                "--push-cache needs a team cache",
                f"set {SETTING}=<registry>/<prefix> (in .env or the environment) or pass "
                "--team-cache",
            )
        return None
    location = parse_location(settings.team_cache)
    team = plan(
        location,
        project=engine.project_name,
        services={name: engine.project.build_of(name).cache_to for name in services},
        root=settings.compose_files[0].parent,
        image_store=engine.stack.image_store,
        push=push,
        unreachable=probe(location.registry) or "",
    )
    write_override(team, settings.state_dir)
    return team


def before_lines(team: TeamCachePlan) -> tuple[list[str], list[str]]:
    """(warnings, notes) to print before the build: one warning when the registry is down,
    one line saying how the cache is exported and why."""
    if team.unreachable:
        return [
            f"team cache {team.location}: the registry {team.location.registry} is unreachable "
            f"({team.unreachable}); building without it"
        ], []
    notes = []
    if team.push:
        notes.append(f"team cache: exporting as {team.why}")
    return [], notes


def override_model(team: TeamCachePlan) -> dict[str, Any]:
    """The extra compose file's model: cache_from (and cache_to / tags / the inline arg)."""
    services: dict[str, Any] = {}
    for name, svc in team.services.items():
        build: dict[str, Any] = {}
        if team.importing:
            build["cache_from"] = [f"type=registry,ref={ref}" for ref in svc.pull_refs]
        if svc.export == "registry" and team.importing:
            # ignore-error: a refused push must not cost the image; the stream says it failed.
            build["cache_to"] = [f"type=registry,ref={svc.push_ref},mode=max,ignore-error=true"]
        elif svc.export == "inline":
            build["args"] = {INLINE_ARG: "1"}
            if team.importing:
                build["tags"] = [svc.push_ref]
        if build:
            services[name] = {"build": build}
    return {"services": services}


def write_override(team: TeamCachePlan, state_dir: Path) -> Path | None:
    """Write the extra compose file (JSON is YAML); None when it would say nothing."""
    model = override_model(team)
    if not model["services"]:
        return None
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "team-cache.compose.json"
    path.write_text(json.dumps(model, indent=2) + "\n", encoding="utf-8")
    team.override = path
    return path


@dataclass(frozen=True)
class CacheVertex:
    """A BuildKit vertex about cache import/export, and a step with what it pulled."""

    name: str
    error: str | None


def read_stream(
    team: TeamCachePlan,
    vertices: Sequence[CacheVertex],
    cached_steps: Mapping[str, int],
    pulled: Mapping[str, Mapping[str, int | None]],
) -> None:
    """Fill in imports, team/local step counts and registry-export errors from the stream.

    `cached_steps[service]`: its cached Dockerfile steps (FROM left out); `pulled[service]`:
    the layer blobs its steps (FROM left out) pulled, with their sizes.
    """
    # Compose 2.26 prefixes the vertex with its service (`[app] importing cache manifest ...`).
    imported = {
        v.name.partition(IMPORTING)[2].strip()
        for v in vertices
        if IMPORTING in v.name and not v.error
    }
    export_errors = [v.error for v in vertices if EXPORTING in v.name and v.error]
    for name, svc in team.services.items():
        svc.imported = [ref for ref in svc.pull_refs if ref in imported]
        svc.cached_steps = cached_steps.get(name, 0)
        blobs = pulled.get(name, {}) if svc.imported else {}
        svc.pulled_layers = len(blobs)
        sizes = list(blobs.values())
        svc.pulled_bytes = sum(s for s in sizes if s is not None) if None not in sizes else None
        svc.team_steps = min(svc.cached_steps, svc.pulled_layers)
        svc.local_steps = svc.cached_steps - svc.team_steps
        if svc.export == "registry":
            if export_errors:
                svc.push_error = first_line(export_errors[0])
            else:
                svc.pushed = True


def finish(
    engine: EngineProtocol,
    team: TeamCachePlan,
    stream: RawJsonStream,
    reports: Mapping[str, BuildReport],
    *,
    ok: bool,
) -> None:
    """After the build: read the stream, push the inline-cache images (a refused push is
    recorded, never raised: the image is built and kept)."""
    vertices = [
        CacheVertex(step.name, step.error)
        for service in stream.services
        for step in stream.steps(service)
        if IMPORTING in step.name or EXPORTING in step.name
    ]
    cached = {
        name: sum(1 for s in report.dockerfile_steps if s.cached and not s.is_from)
        for name, report in reports.items()
    }
    pulled = {  # FROM's blobs are the base image's, not the team cache's
        name: stream.blobs_pulled(s.digest for s in report.steps if not s.is_from)
        for name, report in reports.items()
    }
    read_stream(team, vertices, cached, pulled)
    if not ok or not team.importing:
        return
    for svc in team.services.values():
        if svc.export != "inline":
            continue
        try:
            engine.push(svc.push_ref)
        except DockyardError as err:
            svc.push_error = first_line((err.call.stderr if err.call else "") or err.message)
        else:
            svc.pushed = True


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), text.strip())


def push_failure(team: TeamCachePlan) -> DockyardError | None:
    """The one error of a refused export (the image is built and kept), or None."""
    if team.push and team.unreachable:
        return DockyardError(
            f"team cache not pushed: the registry {team.location.registry} is unreachable "
            f"({team.unreachable})",
            "the images are built and kept; start or reach the registry, then "
            "`inv build-fast --push-cache` again",
        )
    failed = [svc for svc in team.services.values() if svc.push_error]
    if not failed:
        return None
    svc = failed[0]
    return DockyardError(
        f"team cache push of {svc.push_ref} refused: {svc.push_error}",
        f"the image is built and kept; check `docker login {team.location.registry}`, the "
        "registry's free space and the network, then `inv build-fast --push-cache` again",
    )


def summary_lines(team: TeamCachePlan) -> list[str]:
    """One line per service after the build: where its cached steps came from, what was pushed."""
    from dockyard.units import format_size

    lines = []
    for name, svc in team.services.items():
        source = f"{svc.cached_steps} cached step(s)"
        if svc.team_steps:
            size = f", {format_size(svc.pulled_bytes)}" if svc.pulled_bytes is not None else ""
            source += (
                f": {svc.team_steps} from the team cache ({svc.pulled_layers} layer(s) "
                f"pulled{size}), {svc.local_steps} local"
            )
        elif svc.cached_steps:
            source += ", all local"
        imported = ", ".join(svc.imported) or "nothing imported"
        line = f"team cache {name}: {source} (imported: {imported})"
        if svc.pushed:
            line += f"; pushed {svc.push_ref}"
        elif svc.export == "compose":
            line += "; exported by the compose file's own cache_to"
        lines.append(line)
    return lines


# -- what `inv doctor` checks before a build ----------------------------------------------------


@dataclass(frozen=True)
class DoctorFacts:
    """The team-cache setup as the doctor sees it (gathered once, checked by a pure function)."""

    setting: str = ""
    problem: str = ""  # the setting cannot be used (its one-line message)
    hint: str = ""
    registry: str = ""
    unreachable: str = ""
    refs: tuple[str, ...] = ()
    mode: Export = ""
    why: str = ""
    # `service: RUN ... (stage deps)`: installs inline cache cannot carry (classic store)
    inline_misses: tuple[str, ...] = ()
    # services whose compose file exports cache the engine's docker driver refuses
    unsupported_cache_to: tuple[str, ...] = ()


def inline_misses(text: str, target: str | None, args: Mapping[str, str]) -> list[str]:
    """Install steps in stages the final stage only copies from (`COPY --from`): inline cache
    describes the final image's chain, so those steps run again on a fresh machine."""
    from dockyard.dockerfile import parse
    from dockyard.dockerfile.parser import DockerfileSyntaxError
    from dockyard.doctor.installs import is_install

    try:
        dockerfile = parse(text)
    except DockerfileSyntaxError:  # the dockerfile check reports it
        return []
    chain = dockerfile.chain(target, args)[0]
    missed = []
    for stage in dockerfile.needed_stages(target, args):
        if stage in chain:
            continue
        for ins in stage.instructions:
            if ins.keyword == "RUN" and is_install(ins.script):
                missed.append(f"`{first_line(ins.raw)}` (stage {stage.label})")
    return missed


def doctor_facts(
    setting: str,
    *,
    project: str,
    builds: Mapping[str, tuple[str, tuple[str, ...], str | None, Mapping[str, str]]],
    root: Path,
    image_store: str,
    reachable_engine: bool,
) -> DoctorFacts:
    """`builds`: service -> (Dockerfile text, its own cache_to, target, build args)."""
    unsupported = tuple(
        name
        for name, (_, cache_to, _, _) in builds.items()
        if image_store == "classic" and any(not c.startswith("type=inline") for c in cache_to)
    )
    if not setting.strip():
        return DoctorFacts(unsupported_cache_to=unsupported)
    try:
        location = parse_location(setting)
    except SettingsError as err:
        return DoctorFacts(setting, err.message, err.hint, unsupported_cache_to=unsupported)
    team = plan(
        location,
        project=project,
        services={name: cache_to for name, (_, cache_to, _, _) in builds.items()},
        root=root,
        image_store=image_store,
        push=True,
    )
    misses = []
    if team.mode == "inline" and reachable_engine:
        for name, (text, _, target, args) in builds.items():
            misses += [f"{name}: {miss}" for miss in inline_misses(text, target, args)]
    return DoctorFacts(
        setting,
        registry=location.registry,
        unreachable=probe(location.registry) or "",
        refs=tuple(svc.push_ref for svc in team.services.values()),
        mode=team.mode,
        why=team.why,
        inline_misses=tuple(misses),
        unsupported_cache_to=unsupported,
    )
