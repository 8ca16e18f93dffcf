"""Environment checks over facts built by hand (no Docker needed)."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.doctor.checks import ENVIRONMENT_CHECKS
from dockyard.doctor.checks.environment import check_image_store
from dockyard.doctor.facts import EnvironmentFacts, Thresholds
from dockyard.doctor.report import FAIL, PASS, SKIP, WARN
from tests.unit.doctor.helpers import GOOD_ENV, LIMITS, captured_stack, statuses


def env_statuses(env: EnvironmentFacts, limits: Thresholds = LIMITS) -> dict[str, str]:
    return statuses([check(env, limits) for check in ENVIRONMENT_CHECKS])


def test_environment_all_pass() -> None:
    assert set(env_statuses(GOOD_ENV).values()) == {PASS}


@pytest.mark.parametrize(
    ("changes", "check_id", "status"),
    [
        ({"docker_path": None}, "docker-binary", FAIL),
        ({"daemon_error": "no Docker engine answers at tcp://x:1"}, "docker-daemon", FAIL),
        ({"engine_version": "20.10.24"}, "docker-daemon", WARN),
        ({"buildx_version": "", "buildx_error": "not a docker command"}, "buildkit", FAIL),
        ({"docker_buildkit": "0"}, "buildkit", WARN),
        ({"compose_version": "", "compose_error": "not a docker command"}, "compose", FAIL),
        ({"free_bytes": 1_000_000_000}, "disk-free", WARN),
        (
            {"free_bytes": None, "disk_note": "the engine is remote (tcp://h:2376)"},
            "disk-free",
            SKIP,
        ),
        ({"env_warnings": (".env: line 3 could not be parsed",)}, "env-file", WARN),
    ],
)
def test_environment_problems(changes: dict[str, Any], check_id: str, status: str) -> None:
    env = EnvironmentFacts(**{**GOOD_ENV.__dict__, **changes})
    assert env_statuses(env)[check_id] == status


def test_no_docker_binary_skips_what_needs_it() -> None:
    found = env_statuses(EnvironmentFacts(env_file="/p/.env"))
    assert found == {
        "docker-binary": FAIL,
        "docker-daemon": SKIP,
        "buildkit": SKIP,
        "compose": SKIP,
        "build-path": SKIP,
        "step-data": SKIP,
        "image-store": SKIP,
        "disk-free": SKIP,
        "env-file": PASS,
    }


def test_containerd_image_store_is_named() -> None:
    env = EnvironmentFacts(**{**GOOD_ENV.__dict__, "driver_type": "io.containerd.snapshotter.v1"})
    result = check_image_store(env, LIMITS)
    assert result.reason.startswith("containerd image store (io.containerd.snapshotter.v1)")


def test_the_stack_is_said_for_both_ci_stacks() -> None:
    old = {r.id: r.reason for r in (check(GOOD_ENV, LIMITS) for check in ENVIRONMENT_CHECKS)}
    assert old["build-path"].startswith("compose 2.26.1-4 builds through BuildKit itself")
    assert old["step-data"].endswith("keeps no build records to read afterwards (0.23+ does)")
    today = EnvironmentFacts(**{**GOOD_ENV.__dict__, "stack": captured_stack("sid")})
    new = {r.id: r.reason for r in (check(today, LIMITS) for check in ENVIRONMENT_CHECKS)}
    assert new["build-path"].startswith("compose 2.40.3-3 hands builds to buildx bake")
    assert new["step-data"].endswith("buildx 0.29.1+ds1 also keeps build records")
