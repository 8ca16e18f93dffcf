"""Settings precedence: flags > environment > .env > defaults; COMPOSE_* choose the project."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.errors import SettingsError
from dockyard.settings import (
    SETTINGS,
    BenchStrategy,
    Settings,
    default,
    go_bool,
    load_settings,
    parse_strategies,
    split_compose_file,
)

REPO = Path(__file__).resolve().parents[2]


def write_env(tmp_path: Path, text: str) -> Path:
    env = tmp_path / ".env"
    env.write_text(text, encoding="utf-8")
    return env


def test_defaults_without_env_file(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={})
    assert settings.compose_files == (
        tmp_path.resolve() / "compose.yaml",
    )  # missing: reported later
    assert settings.project_name is None
    assert settings.profiles == ()
    assert settings.wait_timeout == 180
    assert settings.state_dir == tmp_path.resolve() / ".dockyard"
    assert settings.warnings == ()


def test_env_file_then_environment_then_flags(tmp_path: Path) -> None:
    write_env(tmp_path, "DOCKYARD_WAIT_TIMEOUT=30\nCOMPOSE_PROJECT_NAME=from-file\n")
    from_file = load_settings(tmp_path, environ={})
    assert (from_file.wait_timeout, from_file.project_name) == (30, "from-file")

    environ = {"DOCKYARD_WAIT_TIMEOUT": "45", "COMPOSE_PROJECT_NAME": "from-env"}
    from_env = load_settings(tmp_path, environ=environ)
    assert (from_env.wait_timeout, from_env.project_name) == (45, "from-env")

    from_flag = load_settings(tmp_path, environ=environ, overrides={"wait_timeout": 5})
    assert from_flag.wait_timeout == 5
    # A flag that was not given (None) does not hide the environment.
    assert (
        load_settings(tmp_path, environ=environ, overrides={"wait_timeout": None}).wait_timeout
        == 45
    )


def test_empty_environment_variable_does_not_hide_the_env_file(tmp_path: Path) -> None:
    write_env(tmp_path, "COMPOSE_PROJECT_NAME=from-file\n")
    assert load_settings(tmp_path, environ={"COMPOSE_PROJECT_NAME": ""}).project_name == "from-file"


def test_compose_file_list_from_env_file_is_relative_to_it(tmp_path: Path) -> None:
    sep = os.pathsep
    write_env(tmp_path, f"COMPOSE_FILE=a.yml{sep}sub/b.yml\nCOMPOSE_PROFILES=extra, debug\n")
    settings = load_settings(tmp_path, environ={})
    assert settings.compose_files == (
        (tmp_path / "a.yml").resolve(),
        (tmp_path / "sub" / "b.yml").resolve(),
    )
    assert settings.profiles == ("extra", "debug")


def test_compose_file_from_environment_is_relative_to_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_settings(tmp_path, environ={"COMPOSE_FILE": "compose.yml"})
    assert settings.compose_files == ((elsewhere / "compose.yml").resolve(),)


def test_windows_separator_splits_on_semicolon() -> None:
    # Windows paths contain ':' after the drive letter: only ';' separates there.
    assert split_compose_file(r"C:\proj\a.yml;C:\proj\b.yml", ";") == [
        r"C:\proj\a.yml",
        r"C:\proj\b.yml",
    ]
    assert split_compose_file("a.yml:b.yml", ":") == ["a.yml", "b.yml"]


def test_explicit_path_separator_setting(tmp_path: Path) -> None:
    environ = {"COMPOSE_FILE": "a.yml;b.yml", "COMPOSE_PATH_SEPARATOR": ";"}
    settings = load_settings(tmp_path, environ=environ)
    assert [p.name for p in settings.compose_files] == ["a.yml", "b.yml"]


def test_unparsable_env_line_is_reported_with_its_number(tmp_path: Path) -> None:
    write_env(tmp_path, "A=1\nthis line is malformed\nDOCKYARD_WAIT_TIMEOUT=7\n")
    settings = load_settings(tmp_path, environ={})
    assert settings.wait_timeout == 7
    assert settings.warnings == (".env: line 2 could not be parsed and was ignored",)


def test_bad_number_is_a_settings_error(tmp_path: Path) -> None:
    write_env(tmp_path, "DOCKYARD_WAIT_TIMEOUT=soon\n")
    with pytest.raises(SettingsError, match="DOCKYARD_WAIT_TIMEOUT must be a whole number"):
        load_settings(tmp_path, environ={})


def test_quoted_values_keep_their_spaces(tmp_path: Path) -> None:
    write_env(tmp_path, 'COMPOSE_PROJECT_NAME="my project"  # inline comment\n')
    assert load_settings(tmp_path, environ={}).project_name == "my project"


def test_env_example_documents_every_setting() -> None:
    example = (REPO / ".env.example").read_text(encoding="utf-8")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for spec in SETTINGS:
        assert spec.name in example, f".env.example does not document {spec.name}"
        assert spec.name in readme, f"README.md does not document {spec.name}"


def test_parse_strategies_default() -> None:
    assert parse_strategies(default("DOCKYARD_BENCH_STRATEGIES")) == (
        BenchStrategy("naive", "Dockerfile.naive"),
        BenchStrategy("pip-cache", "Dockerfile.pip-cache"),
        BenchStrategy("optimized", "Dockerfile.optimized"),
    )


@pytest.mark.parametrize(
    "value", ["", "naive", "naive=", "=Dockerfile", "Naive=Dockerfile", "a=x,a=y", "a b=x"]
)
def test_parse_strategies_rejects(value: str) -> None:
    with pytest.raises(SettingsError):
        parse_strategies(value)


def settings_for(tmp_path: Path, **values: str) -> Settings:
    environ = {
        "COMPOSE_FILE": str(tmp_path / "compose.yml"),
        "DOCKYARD_ENV_FILE": str(tmp_path / "none.env"),
        "DOCKYARD_STATE_DIR": str(tmp_path / "state"),
        **values,
    }
    return load_settings(tmp_path, environ=environ)


def test_default_limits(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    assert (
        settings.min_efficiency,
        settings.max_wasted,
        settings.max_image_size,
        settings.size_budgets,
    ) == (0.9, 20_000_000, None, {})


def test_limits_from_the_environment(tmp_path: Path) -> None:
    limits = settings_for(
        tmp_path,
        DOCKYARD_MIN_EFFICIENCY="0.95",
        DOCKYARD_MAX_WASTED="5MB",
        DOCKYARD_MAX_IMAGE_SIZE="1.2GB",
        DOCKYARD_SIZE_BUDGETS=" backend=300MB, worker = 100MiB ,",
    )
    assert (
        limits.min_efficiency,
        limits.max_wasted,
        limits.max_image_size,
        limits.size_budgets,
    ) == (0.95, 5_000_000, 1_200_000_000, {"backend": 300_000_000, "worker": 100 * 1024**2})


def test_limits_can_be_switched_off(tmp_path: Path) -> None:
    limits = settings_for(tmp_path, DOCKYARD_MIN_EFFICIENCY="off", DOCKYARD_MAX_WASTED="none")
    assert (limits.min_efficiency, limits.max_wasted) == (None, None)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DOCKYARD_MIN_EFFICIENCY", "high", "DOCKYARD_MIN_EFFICIENCY: not a ratio: 'high'"),
        ("DOCKYARD_MIN_EFFICIENCY", "120%", "DOCKYARD_MIN_EFFICIENCY: ratio out of range"),
        ("DOCKYARD_MAX_WASTED", "lots", "DOCKYARD_MAX_WASTED: 'lots' is not a size"),
        ("DOCKYARD_MAX_IMAGE_SIZE", "0MB", "DOCKYARD_MAX_IMAGE_SIZE: the size must be above zero"),
        ("DOCKYARD_SIZE_BUDGETS", "backend:300MB", "DOCKYARD_SIZE_BUDGETS: 'backend:300MB' is not"),
        ("DOCKYARD_SIZE_BUDGETS", "backend=big", "DOCKYARD_SIZE_BUDGETS (backend): 'big' is not"),
    ],
)
def test_bad_settings_name_the_setting_and_give_a_hint(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        settings_for(tmp_path, **{name: value})
    assert caught.value.message.startswith(message), caught.value.message
    assert caught.value.hint
    assert caught.value.exit_code == 2


def test_doctor_thresholds(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, DOCKYARD_DOCTOR_CONTEXT_MB="7")
    assert settings.doctor_context_bytes == 7_000_000
    with pytest.raises(SettingsError, match="DOCKYARD_DOCTOR_MIN_FREE_GB must be a whole number"):
        settings_for(tmp_path, DOCKYARD_DOCTOR_MIN_FREE_GB="lots")


def test_the_compose_file_is_found_as_compose_finds_it(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text("services: {}\n", encoding="utf-8")
    sub = tmp_path / "sub"
    sub.mkdir()
    assert load_settings(sub, environ={}).compose_files == (
        tmp_path.resolve() / "docker-compose.yml",
    )
    (sub / "compose.yaml").write_text("services: {}\n", encoding="utf-8")
    (sub / "compose.yml").write_text("services: {}\n", encoding="utf-8")
    assert load_settings(sub, environ={}).compose_files == (sub.resolve() / "compose.yaml",)


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", True), ("True", True), (" t ", True), ("0", False), ("FALSE", False), ("yes", None),
     ("on", None), ("", None), ("tRuE", None)],
)  # fmt: skip
def test_go_bool_reads_booleans_as_docker_does(text: str, value: bool | None) -> None:
    assert go_bool(text) is value


def test_inline_cache_is_the_build_arg_buildkit_reads() -> None:
    from dockyard.compose import BuildSpec

    assert BuildSpec("/c", args={"BUILDKIT_INLINE_CACHE": "1"}).inline_cache
    assert not BuildSpec("/c", args={"BUILDKIT_INLINE_CACHE": "yes"}).inline_cache  # not Go's bool
    assert not BuildSpec("/c").inline_cache
