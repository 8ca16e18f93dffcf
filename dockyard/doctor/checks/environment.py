"""Checks of the machine dockyard runs on: the docker CLI, the engine, BuildKit, Compose, the
image store, free disk and the `.env` file."""

from __future__ import annotations

import re

from dockyard.doctor.facts import EnvironmentFacts, Thresholds
from dockyard.doctor.report import FAIL, PASS, SKIP, WARN, CheckResult
from dockyard.units import format_size


def check_docker_binary(env: EnvironmentFacts, limits: Thresholds) -> CheckResult:
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


def check_docker_daemon(env: EnvironmentFacts, limits: Thresholds) -> CheckResult:
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


def check_buildkit(env: EnvironmentFacts, limits: Thresholds) -> CheckResult:
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


def check_compose(env: EnvironmentFacts, limits: Thresholds) -> CheckResult:
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


def check_build_path(env: EnvironmentFacts, limits: Thresholds) -> CheckResult:
    stack = env.stack
    if stack is None or not stack.compose or env.daemon_error:
        return CheckResult("build-path", SKIP, "needs docker compose and a reachable engine")
    if stack.compose_bake:
        return CheckResult(
            "build-path",
            PASS,
            f"compose {stack.compose} hands builds to buildx bake (buildx {stack.buildx}): one "
            "service's steps carry no service name in the stream, dockyard attributes them",
        )
    return CheckResult(
        "build-path",
        PASS,
        f"compose {stack.compose} builds through BuildKit itself (no bake): steps carry the "
        "service name",
    )


def check_step_data(env: EnvironmentFacts, limits: Thresholds) -> CheckResult:
    stack = env.stack
    if stack is None or not stack.buildx or env.daemon_error:
        return CheckResult("step-data", SKIP, "needs buildx and a reachable engine")
    live = "per-step times and cache hits from BuildKit's raw progress stream"
    if stack.history:
        return CheckResult(
            "step-data", PASS, f"{live}; buildx {stack.buildx} also keeps build records"
        )
    return CheckResult(
        "step-data",
        PASS,
        f"{live}; buildx {stack.buildx} keeps no build records to read afterwards (0.23+ does)",
    )


def check_image_store(env: EnvironmentFacts, limits: Thresholds) -> CheckResult:
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


def check_disk_free(env: EnvironmentFacts, limits: Thresholds) -> CheckResult:
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


def check_env_file(env: EnvironmentFacts, limits: Thresholds) -> CheckResult:
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
