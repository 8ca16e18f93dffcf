"""dockyard.image.targets: command-line names -> images (services, references, no compose
project), what a missing image says, and the tasks' optional `[SERVICE|IMAGE]` argument."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import pytest

from dockyard.compose import ComposeProject
from dockyard.errors import ComposeProjectError, ImageNotFound, SettingsError
from dockyard.image.targets import ImageTarget, default_target, inspect_image, resolve_target
from tests.fake_engine import FakeEngine
from tests.unit.image.project import BASE, app_project, inspect_data, settings_for


class BrokenCompose(FakeEngine):
    @cached_property
    def project(self) -> ComposeProject:
        raise ComposeProjectError("compose file not found: x.yml", "set COMPOSE_FILE")


def test_resolve_service_image_reference_and_plain_names(tmp_path: Path) -> None:
    engine = app_project(tmp_path)
    assert resolve_target(engine, "app") == ImageTarget("example/app:1", "app", ("app",), True)
    assert resolve_target(engine, "docker.io/example/app:1").service == "app"
    assert resolve_target(engine, "db").services == ("db",)
    assert resolve_target(engine, "example/db:16").services == ("db", "cache")  # one image
    assert resolve_target(engine, "alpine:3.20") == ImageTarget("alpine:3.20")
    assert default_target(engine).service == "app"
    with pytest.raises(SettingsError):
        resolve_target(engine, " ")


def test_unknown_names_end_with_a_message_that_says_what_to_do(tmp_path: Path) -> None:
    engine = app_project(tmp_path)
    engine.images.pop("example/app:1")
    cases = {
        "app": ("app has no image yet (example/app:1)", "inv build-fast --service app"),
        "db": ("the image of db (example/db:16) is not in the engine", "docker compose pull db"),
        "nosuch:image": ("image not found: nosuch:image", "docker image ls"),
    }
    for name, (message, hint) in cases.items():
        with pytest.raises(ImageNotFound) as caught:
            inspect_image(engine, resolve_target(engine, name))
        assert caught.value.message == message
        assert hint in caught.value.hint


def test_without_a_compose_project_a_name_is_an_image(tmp_path: Path) -> None:
    engine = BrokenCompose(
        settings_for(tmp_path), {}, images={"example/base:1": inspect_data(BASE, "sha256:b")}
    )
    target = resolve_target(engine, "example/base:1")
    assert inspect_image(engine, target)["Id"] == "sha256:b"
    # Not an image either: the compose problem is the error worth reporting.
    with pytest.raises(ComposeProjectError, match="compose file not found"):
        inspect_image(engine, resolve_target(engine, "backend"))
