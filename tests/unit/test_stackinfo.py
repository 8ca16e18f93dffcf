"""Knowing the stack from what the docker CLI printed on both CI stacks (tests/data/stack)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockyard.engine.stackinfo import StackInfo, compose_uses_bake, from_outputs, version_tuple

DATA = Path(__file__).resolve().parents[1] / "data" / "stack"


def captured(name: str, **environ: str) -> StackInfo:
    return from_outputs(
        json.loads((DATA / f"{name}.version.json").read_text(encoding="utf-8")),
        json.loads((DATA / f"{name}.info.json").read_text(encoding="utf-8")),
        (DATA / f"{name}.buildx.txt").read_text(encoding="utf-8"),
        (DATA / f"{name}.compose.txt").read_text(encoding="utf-8"),
        environ=environ,
    )


def test_the_2024_stack() -> None:
    stack = captured("classic")
    assert (stack.engine, stack.buildx, stack.compose) == ("26.1.5+dfsg1", "0.13.1+ds1", "2.26.1-4")
    assert (stack.image_store, stack.compose_bake, stack.history) == ("classic", False, False)
    assert stack.cache_exports == ("inline",)
    assert stack.describe() == (
        "engine 26.1.5+dfsg1, buildx 0.13.1+ds1, compose 2.26.1-4 (compose), classic store"
    )


def test_the_stack_users_have_today() -> None:
    stack = captured("sid")
    assert (stack.engine, stack.buildx, stack.compose) == ("28.5.2+dfsg4", "0.29.1+ds1", "2.40.3-3")
    assert (stack.image_store, stack.compose_bake, stack.history) == ("containerd", True, True)
    assert "registry" in stack.cache_exports
    assert stack.build_path == "bake"
    assert captured("sid", COMPOSE_BAKE="false").build_path == "compose"
    assert captured("sid", DOCKER_BUILDKIT="0").build_path == "compose"
    data = stack.to_dict()
    assert data["build_path"] == "bake" and data["errors"] == {}


@pytest.mark.parametrize(
    ("version", "environ", "bake"),
    [
        ("2.26.1", {}, False),
        ("2.32.0", {}, False),
        ("2.32.0", {"COMPOSE_BAKE": "true"}, True),
        ("2.36.2", {"COMPOSE_BAKE": "1"}, True),
        ("2.37.0", {}, True),
        ("2.40.3", {"COMPOSE_BAKE": "false"}, False),
        ("v5.0.1", {"COMPOSE_BAKE": "false"}, True),  # Compose 5 has no other builder
        ("2.40.3", {"DOCKER_BUILDKIT": "0"}, False),
        ("", {}, False),
    ],
)
def test_when_compose_hands_builds_to_bake(
    version: str, environ: dict[str, str], bake: bool
) -> None:
    assert compose_uses_bake(version, environ) is bake


def test_version_tuple() -> None:
    assert version_tuple("26.1.5+dfsg1") == (26, 1, 5)
    assert version_tuple("v0.29.1") == (0, 29, 1)
    assert version_tuple("2.40") == (2, 40)
    assert version_tuple("dev") == ()
