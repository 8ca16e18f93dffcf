"""A compose project for the image tests, on the tests' shared FakeEngine: service `app` builds
the core scenario image on `example/base:1`; its `docker image inspect` data and archives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dockyard.settings import Settings, load_settings
from tests.fake_engine import FakeEngine
from tests.image_archives import CORE, Image, history, oci_archive


def inspect_data(image: Image, image_id: str, size: int | None = None) -> dict[str, Any]:
    return {
        "Id": image_id,
        "Size": size if size is not None else sum(len(layer) for layer in image.layers),
        "Created": "2026-11-27T17:31:24.922486115Z",
        "RootFS": {"Type": "layers", "Layers": image.diff_ids},
        "Config": {"Labels": None},
    }


def settings_for(tmp_path: Path, **values: str) -> Settings:
    environ = {
        "COMPOSE_FILE": str(tmp_path / "compose.yml"),
        "DOCKYARD_ENV_FILE": str(tmp_path / "none.env"),
        "DOCKYARD_STATE_DIR": str(tmp_path / "state"),
        **values,
    }
    return load_settings(tmp_path, environ=environ)


BASE = Image(CORE.layers[:2], history("ADD rootfs.tar /", "RUN apt-get install -y tool"))


APP_DOCKERFILE = """\
ARG BASE=example/unused:1
FROM ${BASE} AS deps
RUN make data
FROM deps AS final
RUN make again
"""


def app_project(tmp_path: Path, **settings: str) -> FakeEngine:
    """Service `app` builds CORE on `example/base:1` (from a two-stage Dockerfile); `db` is a
    pulled image that is not here; `cache` runs the same image as `db`."""
    context = tmp_path / "app"
    context.mkdir(exist_ok=True)
    (context / "Dockerfile").write_text(APP_DOCKERFILE, encoding="utf-8")
    services: dict[str, dict[str, Any]] = {
        "app": {
            "build": {
                "context": str(context),
                "dockerfile": "Dockerfile",
                "args": {"BASE": "example/base:1"},
            },
            "image": "example/app:1",
        },
        "db": {"image": "example/db:16"},
        "cache": {"image": "docker.io/example/db:16"},
    }
    return FakeEngine(
        settings_for(tmp_path, **settings),
        services,
        images={
            "example/app:1": inspect_data(CORE, "sha256:" + "a" * 64, size=20120),
            "example/base:1": inspect_data(BASE, "sha256:" + "b" * 64, size=8400),
        },
        archives={"example/app:1": oci_archive(CORE), "example/base:1": oci_archive(BASE)},
    )
