"""What every command group of the Engine shares: the settings, one DockerClient, running a
docker command, and the environment BuildKit needs.

python-on-whales (and pydantic under it) is imported inside the functions that need it, so
`inv --list` stays fast.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.engine.errors import docker_errors
from dockyard.settings import Settings

if TYPE_CHECKING:
    from python_on_whales import DockerClient

# Set for every Docker call a task makes: BuildKit on, Compose building through the docker CLI.
BUILDKIT_ENVIRONMENT: Mapping[str, str] = {"DOCKER_BUILDKIT": "1", "COMPOSE_DOCKER_CLI_BUILD": "1"}
# A user's progress mode for Compose (2.40 reads it) would replace the raw stream dockyard reads.
PROGRESS_OVERRIDES = ("COMPOSE_PROGRESS",)


@contextlib.contextmanager
def environment(extra: Mapping[str, str], unset: Sequence[str] = ()) -> Iterator[None]:
    """Set (and unset) environment variables for the docker processes started in the block.

    python-on-whales passes os.environ to every command it runs and has no per-call env for
    compose; restoring afterwards keeps the change local.
    """
    saved = {key: os.environ.get(key) for key in (*extra, *unset)}
    for key in unset:
        os.environ.pop(key, None)
    os.environ.update(extra)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


class EngineBase:
    """The settings and the DockerClient built from them (lazily: listing tasks needs none)."""

    def __init__(self, settings: Settings, client: DockerClient | None = None) -> None:
        self.settings = settings
        self._client = client

    @property
    def client(self) -> DockerClient:
        if self._client is None:
            from python_on_whales import DockerClient

            self._client = DockerClient(
                compose_files=list(self.settings.compose_files),
                compose_project_name=self.settings.project_name,
                compose_profiles=list(self.settings.profiles),
            )
        return self._client

    def client_with_files(self, extra_files: Sequence[Path]) -> DockerClient:
        """A client like `client`, with more compose files after the project's own."""
        from python_on_whales import DockerClient

        # Made as `client` is (python-on-whales ignores every option when given a client_config).
        return DockerClient(
            compose_files=[*self.settings.compose_files, *extra_files],
            compose_project_name=self.settings.project_name,
            compose_profiles=list(self.settings.profiles),
        )

    def errors(self) -> contextlib.AbstractContextManager[None]:
        """Translate Docker failures inside the block (the compose files name the hint)."""
        return docker_errors(self.settings.compose_files)

    def run(self, command: Sequence[str]) -> str:
        """Run a docker command line; its stdout, or a translated error."""
        from python_on_whales.utils import run

        with self.errors():
            return str(run(list(command)))

    def docker_cmd(self, *args: str) -> list[str]:
        """`docker` with the client's global flags (context, host, config), then `args`."""
        return [*[str(p) for p in self.client.docker_cmd], *args]
