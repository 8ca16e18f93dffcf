"""The compose command lines dockyard streams (builds, `up --wait`, `logs --follow`)."""

from __future__ import annotations

from dockyard.engine.compose import build_command, follow_logs_command, up_command

COMPOSE = ["docker", "compose", "--file", "c.yml", "--project-name", "p"]


def test_build_command_one_flag_per_item() -> None:
    assert build_command(COMPOSE, ["api"], no_cache=False, pull=False) == [*COMPOSE, "build", "api"]
    assert build_command(COMPOSE, ["api", "worker"], no_cache=True, pull=True) == [
        *COMPOSE,
        "build",
        "--no-cache",
        "--pull",
        "api",
        "worker",
    ]


def test_up_command_waits_and_never_builds_unseen() -> None:
    assert up_command(COMPOSE, [], timeout=180, no_build=True) == [
        *COMPOSE,
        "up",
        "--detach",
        "--wait",
        "--wait-timeout",
        "180",
        "--no-build",
    ]
    assert up_command(COMPOSE, ["web"], timeout=5, no_build=False)[-3:] == [
        "--wait-timeout",
        "5",
        "web",
    ]


def test_follow_logs_command() -> None:
    assert follow_logs_command(COMPOSE, None) == [
        *COMPOSE,
        "logs",
        "--no-color",
        "--follow",
        "--tail",
        "100",
    ]
    assert follow_logs_command(COMPOSE, "db")[-1] == "db"
