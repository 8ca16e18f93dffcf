"""What every command group of the Engine shares: the settings, one DockerClient, running a
docker command, and the environment BuildKit needs.

python-on-whales (and pydantic under it) is imported only where its API is used, never on the
path of a cached `build-fast`: importing it costs about 0.3 s, the whole of dockyard's overhead
budget there. Plain command lines (`image inspect`, `compose config`, `system df`, ...) run
through `run()` below, which raises the same kind of failure python-on-whales does (command,
exit code, stderr), translated the same way.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.engine.errors import DockerCommandFailed, docker_errors
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

    def errors(self) -> contextlib.AbstractContextManager[None]:
        """Translate Docker failures inside the block (the compose files name the hint)."""
        return docker_errors(self.settings.compose_files)

    def run(self, command: Sequence[str]) -> str:
        """Run a docker command line; its stdout (stripped), or a translated error."""
        with self.errors():
            return run_command(command)

    def docker_cmd(self, *args: str) -> list[str]:
        """`docker` with the client's global flags (an injected client's), then `args`."""
        if self._client is not None:
            return [*[str(p) for p in self._client.docker_cmd], *args]
        return ["docker", *args]

    def compose_cmd(self, *args: str, extra_files: Sequence[Path] = ()) -> list[str]:
        """`docker compose` with the project's files (then `extra_files`), profiles and name,
        as python-on-whales' DockerClient builds it from the same settings, then `args`."""
        command = self.docker_cmd("compose")
        for path in (*self.settings.compose_files, *extra_files):
            command += ["--file", str(path)]
        for profile in self.settings.profiles:
            command += ["--profile", profile]
        if self.settings.project_name:
            command += ["--project-name", self.settings.project_name]
        return [*command, *args]


def run_command(command: Sequence[str]) -> str:
    """Run a command, return its stdout stripped; raise DockerCommandFailed on a non-zero exit
    (FileNotFoundError when the program is missing), as python-on-whales' `run` does."""
    done = subprocess.run(list(command), capture_output=True, check=False)
    stdout = done.stdout.decode("utf-8", "replace").strip()
    if done.returncode != 0:
        raise DockerCommandFailed(
            command, done.returncode, stdout, done.stderr.decode("utf-8", "replace")
        )
    return stdout
