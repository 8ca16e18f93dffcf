"""One frozen Settings object: CLI flags > environment > .env (python-dotenv) > defaults.

The `.env` file is read with `dotenv_values` on an explicit path (never `find_dotenv`, which walks
up from the calling file). Compose's own variables (`COMPOSE_FILE`, `COMPOSE_PROJECT_NAME`,
`COMPOSE_PROFILES`) choose the project; dockyard passes them to compose as explicit flags, so the
path separator and precedence are decided here once, the same way on Windows and Unix.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.errors import SettingsError
from dockyard.units import parse_ratio, parse_size


@dataclass(frozen=True)
class SettingSpec:
    """One documented setting: its name, default (as written in .env) and what it does."""

    name: str
    default: str
    help: str


# Every setting dockyard reads. `.env.example` and the README's table must name each one
# (a unit test checks that they do).
SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "COMPOSE_FILE",
        "",
        "Compose file(s) of the project, separated by ':' (';' on Windows) (default: "
        "compose.yaml, compose.yml, docker-compose.yaml or docker-compose.yml, in the project "
        "folder or the nearest one above it, as Compose looks for them)",
    ),
    SettingSpec(
        "COMPOSE_PROJECT_NAME",
        "",
        "Compose project name (default: the file's `name:` or its directory name)",
    ),
    SettingSpec("COMPOSE_PROFILES", "", "Compose profiles to enable, comma-separated"),
    SettingSpec(
        "COMPOSE_PATH_SEPARATOR",
        "",
        "Separator inside COMPOSE_FILE (default ':' on Unix, ';' on Windows)",
    ),
    SettingSpec(
        "DOCKYARD_SERVICES",
        "",
        "Services `build-fast` builds by default, comma-separated "
        "(default: every service with a build: section)",
    ),
    SettingSpec(
        "DOCKYARD_UP_SERVICES",
        "",
        "Services `up` starts (with their dependencies), comma-separated (default: all)",
    ),
    SettingSpec(
        "DOCKYARD_WAIT_TIMEOUT", "180", "Seconds `up` waits for every service to be healthy"
    ),
    SettingSpec(
        "DOCKYARD_LOG_LINES",
        "40",
        "Log lines `up` shows of a service that failed to become healthy",
    ),
    SettingSpec(
        "DOCKYARD_LEDGER",
        "",
        "The build ledger (SQLite) file (default: <DOCKYARD_STATE_DIR>/ledger.sqlite3)",
    ),
    SettingSpec(
        "DOCKYARD_STATE_DIR",
        ".dockyard",
        "Where dockyard keeps its ledger and caches (git-ignored)",
    ),
    SettingSpec(
        "DOCKYARD_TEAM_CACHE",
        "",
        "A team build cache in a registry, <registry>/<repository prefix> (e.g. "
        "registry.example.com/team/cache): `build-fast` imports every service's cache from "
        "it, and with --push-cache exports to it (default: none)",
    ),
    SettingSpec(
        "DOCKYARD_BENCH_STRATEGIES",
        "naive=Dockerfile.naive,pip-cache=Dockerfile.pip-cache,optimized=Dockerfile.optimized",
        "`bench` strategies, name=Dockerfile (relative to the build context); "
        "the first is the baseline of the ratios",
    ),
    SettingSpec(
        "DOCKYARD_BENCH_CODE_FILE",
        "",
        "The source file `bench`'s code-edit scenario changes (default: main.py/app.py "
        "in the context)",
    ),
    SettingSpec(
        "DOCKYARD_BENCH_REQUIREMENTS",
        "requirements.txt",
        "The requirements file `bench`'s deps-edit scenario adds a package to "
        "(relative to the build context)",
    ),
    SettingSpec(
        "DOCKYARD_BENCH_IMPORT",
        "app.main",
        "The module `bench` imports in each image to time the app's start-up",
    ),
    SettingSpec(
        "DOCKYARD_SIZE_BUDGETS",
        "",
        "Size budgets per service (or image) for `size` and `inspect-layers`, "
        "e.g. backend=300MB,worker=100MB",
    ),
    SettingSpec(
        "DOCKYARD_MAX_IMAGE_SIZE",
        "",
        "Size budget of every image without its own budget (empty or off: none)",
    ),
    SettingSpec(
        "DOCKYARD_MIN_EFFICIENCY",
        "90%",
        "`inspect-layers` gate: minimum efficiency of your layers (0.9 or 90%; off: no rule)",
    ),
    SettingSpec(
        "DOCKYARD_MAX_WASTED",
        "20MB",
        "`inspect-layers` gate: maximum bytes your layers waste (off: no rule)",
    ),
    SettingSpec(
        "DOCKYARD_DOCTOR_CONTEXT_MB",
        "50",
        "`doctor` warns when a build context is larger (MB, 1 MB = 1,000,000 bytes)",
    ),
    SettingSpec(
        "DOCKYARD_DOCTOR_CONTEXT_FILES",
        "5000",
        "`doctor` warns when a build context has more files",
    ),
    SettingSpec(
        "DOCKYARD_DOCTOR_MIN_FREE_GB",
        "5",
        "`doctor` warns when the disk where Docker keeps its data has less free (GB)",
    ),
)

_DOTENV_LINE = re.compile(r"starting at line (\d+)")
_OFF = frozenset({"off", "none", "no", "false", "0"})


@dataclass(frozen=True)
class BenchStrategy:
    """One `bench` strategy: a name (part of image tags) and its Dockerfile, as configured."""

    name: str
    dockerfile: str  # relative to the build context unless absolute


@dataclass(frozen=True)
class Settings:
    """Every setting, parsed once (a bad value ends the task before any Docker call)."""

    root: Path
    env_file: Path
    compose_files: tuple[Path, ...]
    project_name: str | None
    profiles: tuple[str, ...]
    build_services: tuple[str, ...]
    up_services: tuple[str, ...]
    wait_timeout: int
    log_lines: int
    state_dir: Path
    ledger_path: Path
    bench_strategies: tuple[BenchStrategy, ...]
    bench_code_file: str
    bench_requirements: str
    bench_import: str
    size_budgets: Mapping[str, int]
    max_image_size: int | None
    min_efficiency: float | None
    max_wasted: int | None
    doctor_context_bytes: int
    doctor_context_files: int
    doctor_min_free_bytes: int
    team_cache: str = ""  # <registry>/<prefix>, checked by dockyard.teamcache.parse_location
    # Problems worth a warning line, e.g. a .env line python-dotenv could not parse.
    warnings: tuple[str, ...] = ()


def default(name: str) -> str:
    """The default of a setting, as written in `.env` (from the one table above)."""
    return next(spec.default for spec in SETTINGS if spec.name == name)


# The names Compose looks for when no file is named, in its order of preference.
COMPOSE_FILE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def find_compose_file(start: Path) -> Path:
    """The compose file Compose itself would pick: the first default name in `start` or the
    nearest folder above it; `start/compose.yaml` (reported as missing later) when none."""
    for folder in (start, *start.parents):
        for name in COMPOSE_FILE_NAMES:
            if (folder / name).is_file():
                return folder / name
    return start / COMPOSE_FILE_NAMES[0]


def split_compose_file(value: str, separator: str) -> list[str]:
    """Split COMPOSE_FILE the way Compose does: by the platform's separator, empties dropped."""
    return [part.strip() for part in value.split(separator) if part.strip()]


def split_list(value: str) -> tuple[str, ...]:
    """A comma-separated list setting (spaces allowed around items)."""
    return tuple(item.strip() for item in value.split(",") if item.strip())


def read_env_file(path: Path) -> tuple[dict[str, str], list[str]]:
    """The values of a .env file and a warning per line python-dotenv could not parse.

    python-dotenv skips a malformed line with a logged warning; we catch that warning so the
    user hears about it (Compose itself would refuse the same file).
    """
    from dotenv import dotenv_values

    if not path.is_file():
        return {}, []
    messages: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger = logging.getLogger("dotenv.main")
    handler = _Collect(level=logging.WARNING)
    logger.addHandler(handler)
    try:
        raw = dotenv_values(path, encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"{path} is not valid UTF-8 ({exc.reason} at byte {exc.start})",
            "save the file as UTF-8",
        ) from None
    finally:
        logger.removeHandler(handler)
    warnings = []
    for message in messages:
        match = _DOTENV_LINE.search(message)
        where = f"line {match.group(1)}" if match else "a line"
        warnings.append(f"{path.name}: {where} could not be parsed and was ignored")
    values = {key: value for key, value in raw.items() if value is not None}
    return values, warnings


def parse_size_setting(text: str, where: str) -> int:
    """ "300MB", "1.2GB", "300000000" -> bytes above zero; SettingsError naming `where`."""
    try:
        value = parse_size(text)
    except ValueError:
        raise SettingsError(
            f"{where}: {text!r} is not a size", "write it like 300MB, 1.2GB or 300000000 (bytes)"
        ) from None
    if value <= 0:
        raise SettingsError(f"{where}: the size must be above zero, got {text!r}", "e.g. 300MB")
    return value


def parse_ratio_setting(text: str, where: str) -> float:
    try:
        return parse_ratio(text)
    except ValueError as exc:
        raise SettingsError(f"{where}: {exc}", "write it like 0.9 or 90%") from None


def go_bool(text: str) -> bool | None:
    """A boolean as Go's `strconv.ParseBool` reads it (Docker, Compose and BuildKit read their
    variables and build args so); None when it is not one."""
    value = text.strip()
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    return None


def is_off(text: str) -> bool:
    """ "off", "none", "no", ... or empty: the rule or budget is not applied."""
    return not text.strip() or text.strip().lower() in _OFF


def parse_budgets(text: str, where: str = "DOCKYARD_SIZE_BUDGETS") -> dict[str, int]:
    """ "backend=300MB, worker=100MB" -> {"backend": 300000000, "worker": 100000000}."""
    budgets: dict[str, int] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, size = item.rpartition("=")
        if not sep or not name.strip():
            raise SettingsError(
                f"{where}: {item!r} is not NAME=SIZE", "write it like backend=300MB,worker=100MB"
            )
        budgets[name.strip()] = parse_size_setting(size.strip(), f"{where} ({name.strip()})")
    return budgets


def parse_strategies(value: str) -> tuple[BenchStrategy, ...]:
    """`name=Dockerfile,name=Dockerfile` (paths relative to the build context)."""
    example = default("DOCKYARD_BENCH_STRATEGIES")
    found: list[BenchStrategy] = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, path = item.partition("=")
        name, path = name.strip(), path.strip()
        if not sep or not name or not path:
            raise SettingsError(
                f"DOCKYARD_BENCH_STRATEGIES: {item!r} is not name=Dockerfile", f"e.g. {example}"
            )
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name):
            raise SettingsError(
                f"DOCKYARD_BENCH_STRATEGIES: strategy name {name!r} must be lowercase "
                "letters, digits, '.', '_' or '-'",
                "it becomes part of an image tag",
            )
        if name in [s.name for s in found]:
            raise SettingsError(f"DOCKYARD_BENCH_STRATEGIES names {name!r} twice", "")
        found.append(BenchStrategy(name, path))
    if not found:
        raise SettingsError("DOCKYARD_BENCH_STRATEGIES is empty", f"e.g. {example}")
    return tuple(found)


def _int_setting(name: str, text: str, minimum: int = 0) -> int:
    try:
        number = int(text)
    except ValueError:
        raise SettingsError(
            f"{name} must be a whole number, got {text!r}",
            "fix it in .env or the environment",
        ) from None
    if number < minimum:
        raise SettingsError(
            f"{name} must be at least {minimum}, got {number}", "fix it in .env or the environment"
        )
    return number


def _path_setting(text: str, base: Path) -> Path | None:
    if not text:
        return None
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path


def load_settings(
    root: Path,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Resolve settings for the project rooted at `root` (where tasks.py and .env live).

    `overrides` are values from CLI flags, by Settings field name; None means "not given".
    Relative compose paths from the environment resolve against the working directory (as
    Compose does); those from .env or the defaults against the .env file's directory.
    """
    environ = os.environ if environ is None else environ
    overrides = {k: v for k, v in (overrides or {}).items() if v not in (None, (), [])}
    root = root.resolve()
    env_file = Path(environ.get("DOCKYARD_ENV_FILE") or root / ".env")
    if not env_file.is_absolute():
        env_file = (Path.cwd() / env_file).resolve()
    file_values, warnings = read_env_file(env_file)
    known = {spec.name for spec in SETTINGS}
    values = dict(file_values)
    # An empty variable in the environment counts as unset (it does not hide the .env value).
    values.update(
        {k: v for k, v in environ.items() if v and (k in known or k.startswith("DOCKYARD_"))}
    )

    def get(name: str) -> str:
        return (values.get(name, "") or default(name)).strip()

    def optional_size(name: str) -> int | None:
        return None if is_off(get(name)) else parse_size_setting(get(name), name)

    separator = get("COMPOSE_PATH_SEPARATOR") or os.pathsep
    compose_base = Path.cwd() if environ.get("COMPOSE_FILE") else env_file.parent
    compose_files = tuple(
        (compose_base / part).resolve() if not Path(part).is_absolute() else Path(part)
        for part in split_compose_file(get("COMPOSE_FILE"), separator)
    ) or (find_compose_file(root),)

    state_dir = _path_setting(get("DOCKYARD_STATE_DIR"), env_file.parent) or env_file.parent

    efficiency = get("DOCKYARD_MIN_EFFICIENCY")
    return Settings(
        root=root,
        env_file=env_file,
        compose_files=compose_files,
        project_name=get("COMPOSE_PROJECT_NAME") or None,
        profiles=split_list(get("COMPOSE_PROFILES")),
        build_services=tuple(
            overrides.get("build_services") or split_list(get("DOCKYARD_SERVICES"))
        ),
        up_services=tuple(overrides.get("up_services") or split_list(get("DOCKYARD_UP_SERVICES"))),
        wait_timeout=int(
            overrides.get("wait_timeout")
            or _int_setting("DOCKYARD_WAIT_TIMEOUT", get("DOCKYARD_WAIT_TIMEOUT"), 1)
        ),
        log_lines=_int_setting("DOCKYARD_LOG_LINES", get("DOCKYARD_LOG_LINES"), 0),
        state_dir=state_dir,
        ledger_path=_path_setting(get("DOCKYARD_LEDGER"), env_file.parent)
        or state_dir / "ledger.sqlite3",
        bench_strategies=parse_strategies(get("DOCKYARD_BENCH_STRATEGIES")),
        bench_code_file=get("DOCKYARD_BENCH_CODE_FILE"),
        bench_requirements=get("DOCKYARD_BENCH_REQUIREMENTS"),
        bench_import=get("DOCKYARD_BENCH_IMPORT"),
        size_budgets=parse_budgets(get("DOCKYARD_SIZE_BUDGETS")),
        max_image_size=optional_size("DOCKYARD_MAX_IMAGE_SIZE"),
        min_efficiency=(
            None
            if is_off(efficiency)
            else parse_ratio_setting(efficiency, "DOCKYARD_MIN_EFFICIENCY")
        ),
        max_wasted=optional_size("DOCKYARD_MAX_WASTED"),
        doctor_context_bytes=_int_setting(
            "DOCKYARD_DOCTOR_CONTEXT_MB", get("DOCKYARD_DOCTOR_CONTEXT_MB")
        )
        * 1_000_000,
        doctor_context_files=_int_setting(
            "DOCKYARD_DOCTOR_CONTEXT_FILES", get("DOCKYARD_DOCTOR_CONTEXT_FILES")
        ),
        doctor_min_free_bytes=_int_setting(
            "DOCKYARD_DOCTOR_MIN_FREE_GB", get("DOCKYARD_DOCTOR_MIN_FREE_GB")
        )
        * 1_000_000_000,
        team_cache=str(overrides.get("team_cache") or get("DOCKYARD_TEAM_CACHE")),
        warnings=tuple(warnings),
    )
