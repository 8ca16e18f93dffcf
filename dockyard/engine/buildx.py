"""`docker buildx`: plain builds of one Dockerfile (what `inv bench` measures), and the build
records it keeps (`buildx history`, 0.23+)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from dockyard.engine.base import BUILDKIT_ENVIRONMENT, EngineBase, environment
from dockyard.engine.process import Stream, stream_lines


def build_command(
    docker: Sequence[str],
    context_dir: os.PathLike[str] | str,
    *,
    dockerfile: os.PathLike[str] | str,
    tag: str,
    build_args: Mapping[str, str],
    labels: Mapping[str, str] | None = None,
    no_cache: bool = False,
    quiet: bool = False,
    tags: Sequence[str] = (),
    cache_from: Sequence[str] = (),
    cache_to: Sequence[str] = (),
) -> list[str]:
    """The `docker buildx build` command line of one build, one flag per line.

    `--progress=rawjson` writes BuildKit's status stream on stderr (buildx); `--load` puts the
    image into the engine's image store with any builder driver.
    """
    command = [*docker, "buildx", "build"]
    command += ["--quiet"] if quiet else ["--progress=rawjson"]
    command += ["--load"]
    command += ["--file", os.fspath(dockerfile)]
    for name in (tag, *tags):
        command += ["--tag", name]
    for spec in cache_from:
        command += ["--cache-from", spec]
    for spec in cache_to:
        command += ["--cache-to", spec]
    for name, value in (labels or {}).items():
        command += ["--label", f"{name}={value}"]
    for name, value in build_args.items():
        command += ["--build-arg", f"{name}={value}"]
    if no_cache:
        command += ["--no-cache"]
    command += [os.fspath(context_dir)]
    return command


class BuildxCommands(EngineBase):
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
        """Run one build; yield (stream, line) pairs (the rawjson is on stderr).

        `tags` are more names for the image, `cache_from` / `cache_to` buildx's cache specs
        (`type=registry,ref=...`). Raises the translated error after the last line when the
        build fails; the build stops with the stream.
        """
        command = build_command(
            self.docker_cmd(),
            context_dir,
            dockerfile=dockerfile,
            tag=tag,
            build_args=build_args,
            labels=labels,
            no_cache=no_cache,
            tags=tags,
            cache_from=cache_from,
            cache_to=cache_to,
        )
        with self.errors():
            yield from stream_lines(command, env=BUILDKIT_ENVIRONMENT)

    def buildx_build_quiet(
        self,
        context_dir: os.PathLike[str] | str,
        *,
        dockerfile: os.PathLike[str] | str,
        tag: str,
        build_args: Mapping[str, str],
        labels: Mapping[str, str] | None = None,
    ) -> str:
        """A plain quiet `docker buildx build`; returns the image id it prints."""
        command = build_command(
            self.docker_cmd(),
            context_dir,
            dockerfile=dockerfile,
            tag=tag,
            build_args=build_args,
            labels=labels,
            quiet=True,
        )
        with environment(BUILDKIT_ENVIRONMENT):
            output = self.run(command)
        return output.strip().splitlines()[-1].strip() if output.strip() else ""

    # -- build records (never `history rm`: on BuildKit 0.25 it can take the daemon down) -------
    def history_records(self, since: datetime) -> list[dict[str, Any]]:
        """Build records started after `since`, newest first (`history ls --format json`)."""
        stamp = since.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        output = self.run(
            self.docker_cmd(
                "buildx", "history", "ls", "--filter", f"startedAt>{stamp}", "--format", "json"
            )
        )
        return [json.loads(line) for line in output.splitlines() if line.strip().startswith("{")]

    def history_inspect(self, ref: str) -> dict[str, Any]:
        output = self.run(self.docker_cmd("buildx", "history", "inspect", ref, "--format", "json"))
        return dict(json.loads(output))

    def history_logs(self, ref: str) -> bytes:
        """The record's vertices replayed as BuildKit's raw JSON stream (buildx writes it on
        stderr)."""
        command = self.docker_cmd("buildx", "history", "logs", "--progress", "rawjson", ref)
        with self.errors():
            return b"".join(chunk for source, chunk in stream_lines(command) if source == "stderr")
