"""The tests' one fake Docker engine: implements dockyard.engine.EngineProtocol from data.

Everything it serves is given by the test (real captured Docker output where it matters:
build streams from tests/data, `docker system df` rows, `docker image history` rows). Calls
are recorded, so a test can say what dockyard asked for.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import IO, Any

from dockyard.compose import ComposeProject
from dockyard.engine import EngineProtocol, HealthProbe, ServiceState
from dockyard.engine.process import Stream
from dockyard.engine.stackinfo import StackInfo
from dockyard.errors import DockyardError, ImageNotFound
from dockyard.imageref import normalize
from dockyard.settings import Settings


@dataclass
class BuildScript:
    """What one `compose build` call does: the chunks it streams, then an error or success."""

    chunks: Sequence[tuple[str, bytes]] = ()
    error: DockyardError | BaseException | None = None
    # Images the build leaves in the engine: reference -> `docker image inspect` dict.
    produces: Mapping[str, dict[str, Any]] = field(default_factory=dict)


class FakeEngine:
    """An engine whose compose model, images and command outcomes are given."""

    def __init__(
        self,
        settings: Settings,
        services: Mapping[str, dict[str, Any]] | None = None,
        *,
        project: str = "demo",
        images: Mapping[str, dict[str, Any]] | None = None,
        archives: Mapping[str, bytes] | None = None,
        histories: Mapping[str, list[dict[str, Any]]] | None = None,
        builds: Sequence[BuildScript] = (),
        states: Sequence[ServiceState] = (),
        health: Mapping[str, Sequence[HealthProbe]] | None = None,
        up_error: DockyardError | None = None,
        compose_error: DockyardError | None = None,
        cache_records: Sequence[dict[str, Any]] = (),
        references: Sequence[str] = (),
        stack: StackInfo | None = None,
        history: Sequence[tuple[dict[str, Any], dict[str, Any], bytes]] = (),
    ) -> None:
        self.settings = settings
        self._config = {"name": project, "services": dict(services or {})}
        self._compose_error = compose_error
        self.images = dict(images or {})
        self.archives = dict(archives or {})
        self.histories = dict(histories or {})
        self.builds = list(builds)
        self.states = list(states)
        self.health = {name: list(probes) for name, probes in (health or {}).items()}
        self.up_error = up_error
        self.cache_records = list(cache_records)
        self.references = list(references)
        # buildx build records: (`history ls` row, `history inspect`, `history logs` stream)
        self.records = list(history)
        self.stack_info = stack or StackInfo(
            client="28.2.2", engine="26.1.5", buildx="0.13.1", compose="2.26.1",
            image_store="classic",
        )  # fmt: skip
        self.calls: list[tuple[Any, ...]] = []
        self.saved: list[str] = []
        self.removed: list[str] = []
        self.pruned: list[str] = []
        self.labels: list[dict[str, str]] = []  # the labels of each buildx build, in order
        self.extra_files: list[tuple[Path, ...]] = []
        self.pushed: list[str] = []
        self.push_refused: set[str] = set()

    # -- compose -------------------------------------------------------------------------------
    @cached_property
    def project(self) -> ComposeProject:
        if self._compose_error is not None:
            raise self._compose_error
        return ComposeProject.from_config(self._config, files=self.settings.compose_files)

    @property
    def project_name(self) -> str:
        return self.project.name

    def build_stream(
        self,
        services: Sequence[str],
        *,
        no_cache: bool = False,
        pull: bool = False,
        extra_env: Mapping[str, str] | None = None,
        extra_files: Sequence[Path] = (),
    ) -> Stream:
        self.calls.append(("build", tuple(services), no_cache, pull))
        self.extra_files.append(tuple(extra_files))
        script = self.builds.pop(0) if self.builds else BuildScript()
        yield from script.chunks
        self.images.update(script.produces)
        if script.error is not None:
            raise script.error

    def up_stream(self, services: Sequence[str], *, timeout: int, no_build: bool) -> Stream:
        self.calls.append(("up", tuple(services), timeout, no_build))
        yield "stderr", b" Container p-web-1  Waiting\n"
        if self.up_error is not None:
            raise self.up_error

    def down(self, *, volumes: bool = False) -> None:
        self.calls.append(("down", volumes))

    def ps(self) -> list[ServiceState]:
        return list(self.states)

    def health_log(self, container: str) -> list[HealthProbe]:
        return list(self.health.get(container, []))

    def logs(self, service: str | None, *, tail: int | None = None) -> str:
        return f"{service or 'all'}-1  | still starting\n"

    def follow_logs(self, service: str | None) -> Stream:
        yield "stdout", self.logs(service).encode()

    def volumes(self) -> list[str]:
        return []

    # -- image ---------------------------------------------------------------------------------
    def image_inspect(self, reference: str) -> dict[str, Any]:
        key = normalize(reference)
        for name, data in self.images.items():
            if normalize(name) == key or data.get("Id") == reference:
                return data
        raise ImageNotFound(f"image not found: {reference}", "check the name")

    def images_inspect(self, references: Sequence[str]) -> dict[str, dict[str, Any]]:
        found = {}
        for reference in references:
            with contextlib.suppress(ImageNotFound):
                found[reference] = self.image_inspect(reference)
        return found

    def image_exists(self, reference: str) -> bool:
        try:
            self.image_inspect(reference)
        except ImageNotFound:
            return False
        return True

    def history(self, reference: str) -> list[dict[str, Any]]:
        self.image_inspect(reference)
        return self.histories[reference]

    @contextlib.contextmanager
    def save(self, reference: str) -> Iterator[IO[bytes]]:
        self.saved.append(reference)
        yield io.BytesIO(self.archives[reference])

    def image_remove(self, reference: str) -> bool:
        self.removed.append(reference)
        return True

    def local_images(self) -> list[dict[str, Any]]:
        self.calls.append(("local images",))
        unique = {str(data.get("Id") or id(data)): data for data in self.images.values()}
        return list(unique.values())

    def push(self, reference: str) -> None:
        self.pushed.append(reference)
        if reference in self.push_refused:
            raise DockyardError(f"push refused: {reference}", "")

    def image_references(self, pattern: str) -> list[str]:
        prefix = pattern.rstrip("*")
        return [ref for ref in self.references if ref.startswith(prefix)]

    def labelled_images(self, label: str) -> list[dict[str, Any]]:
        key, _, value = label.partition("=")
        found = []
        for data in self.images.values():
            labels = (data.get("Config") or {}).get("Labels") or {}
            if key in labels and (not value or labels[key] == value) and data not in found:
                found.append(data)
        return found

    # -- buildx --------------------------------------------------------------------------------
    def buildx_build_stream(
        self,
        context_dir: os.PathLike[str] | str,
        *,
        dockerfile: os.PathLike[str] | str,
        tag: str,
        build_args: Mapping[str, str],
        labels: Mapping[str, str] | None = None,
        no_cache: bool = False,
        tags: Sequence[str] = (),
        cache_from: Sequence[str] = (),
        cache_to: Sequence[str] = (),
    ) -> Stream:
        self.calls.append(("buildx", tag, no_cache))
        self.labels.append(dict(labels or {}))
        script = self.builds.pop(0) if self.builds else BuildScript()
        yield from script.chunks
        self.images.update(script.produces)
        if script.error is not None:
            raise script.error

    def buildx_build_quiet(
        self,
        context_dir: os.PathLike[str] | str,
        *,
        dockerfile: os.PathLike[str] | str,
        tag: str,
        build_args: Mapping[str, str],
        labels: Mapping[str, str] | None = None,
    ) -> str:
        self.calls.append(("buildx-quiet", tag))
        self.labels.append(dict(labels or {}))
        return "sha256:" + "e" * 64

    def history_records(self, since: datetime) -> list[dict[str, Any]]:
        self.calls.append(("history ls", since))
        return [row for row, _, _ in self.records]

    def history_inspect(self, ref: str) -> dict[str, Any]:
        return next(data for row, data, _ in self.records if row["ref"].endswith(ref))

    def history_logs(self, ref: str) -> bytes:
        return next(logs for row, _, logs in self.records if row["ref"].endswith(ref))

    # -- system --------------------------------------------------------------------------------
    @property
    def stack(self) -> StackInfo:
        return self.stack_info

    def docker_path(self) -> str | None:
        return "/usr/bin/docker"

    def build_cache_records(self) -> list[dict[str, Any]]:
        return list(self.cache_records)

    def prune_build_cache_records(self, record_ids: Sequence[str]) -> set[str]:
        self.pruned.extend(record_ids)
        return set(record_ids)

    def python_in_image(self, image: str, code: str) -> str:
        return "dockyard-import 0.4 0.3\n"


def _implements_the_protocol(engine: FakeEngine) -> EngineProtocol:
    return engine  # mypy checks that the fake keeps up with the protocol
