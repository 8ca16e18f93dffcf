"""The only module that talks to Docker.

It builds the python-on-whales DockerClient from Settings, runs the few docker CLI calls the
library lacks (history, save, compose ps as JSON), and turns every Docker failure into a
DockyardError with a hint. python-on-whales (and pydantic under it) is imported lazily, inside
the functions that need it, so `inv --list` stays fast.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import IO, TYPE_CHECKING, Any

from dockyard.errors import (
    CommandFailed,
    ComposeProjectError,
    DaemonUnreachable,
    DockerNotFound,
    DockyardError,
    ImageNotFound,
    UnknownService,
)
from dockyard.settings import Settings

if TYPE_CHECKING:
    from python_on_whales import DockerClient

# Set for every Docker call a task makes: BuildKit on, Compose building through the docker CLI.
BUILDKIT_ENVIRONMENT: Mapping[str, str] = {"DOCKER_BUILDKIT": "1", "COMPOSE_DOCKER_CLI_BUILD": "1"}

_DOCKER_MISSING_HINT = (
    "install Docker (Docker Desktop, or the docker.io package) and put `docker` on PATH"
)
_DAEMON_HINT = (
    "start the Docker engine (Docker Desktop or `dockerd`), or fix DOCKER_HOST / the docker context"
)


def stderr_tail(text: str | None, lines: int = 20) -> str:
    return "\n".join((text or "").strip().splitlines()[-lines:])


def last_line(text: str | None) -> str:
    tail = stderr_tail(text, 1)
    return tail.removeprefix("Error response from daemon: ").strip()


def translate(exc: BaseException, *, settings: Settings | None = None) -> DockyardError:
    """Turn a python-on-whales or subprocess failure into one DockyardError with a hint."""
    if isinstance(exc, DockyardError):
        return exc
    if type(exc).__name__ == "ClientNotFoundError" or isinstance(exc, FileNotFoundError):
        return DockerNotFound("the `docker` command was not found", _DOCKER_MISSING_HINT)
    stderr = getattr(exc, "stderr", None) or ""
    command = [str(part) for part in getattr(exc, "docker_command", []) or []]
    code = getattr(exc, "return_code", None)
    lowered = stderr.lower()
    if (
        "cannot connect to the docker daemon" in lowered
        or "error during connect" in lowered
        or "is the docker daemon running" in lowered
    ):
        at = re.search(r'daemon at (\S+?)\.? Is the|Get "(\w+://[^/"]+)', stderr)
        where = next((g for g in at.groups() if g), None) if at else None
        host = os.environ.get("DOCKER_HOST") or where or "the default socket"
        return DaemonUnreachable(f"no Docker engine answers at {host}", _DAEMON_HINT)
    env_file = re.search(r"failed to read (\S+): (line \d+: .+)", stderr)
    if env_file:
        return ComposeProjectError(
            f"compose cannot read {env_file.group(1)}: {env_file.group(2).strip()}",
            "write that line as KEY=value (quote a value with spaces), or remove it",
        )
    if "no such image" in lowered:
        return ImageNotFound(
            f"image not found: {last_line(stderr).split(': ', 1)[-1]}",
            "check the name with `docker image ls`, or build it with `inv build-fast`",
        )
    if "no such service" in lowered:
        return UnknownService(
            last_line(stderr), "run `inv ps` or check the compose file's services"
        )
    if (
        "yaml:" in lowered
        or "failed to parse" in lowered
        or "additional properties" in lowered
        or "validating " in lowered
    ):
        files = (
            ", ".join(str(f) for f in settings.compose_files) if settings else "the compose file"
        )
        return ComposeProjectError(
            f"invalid compose file: {last_line(stderr)}",
            f"fix {files} (check with `docker compose config`)",
        )
    if (
        "no such file or directory" in lowered or "no configuration file provided" in lowered
    ) and "compose" in " ".join(command):
        return ComposeProjectError(
            f"compose file not found: {last_line(stderr)}",
            "set COMPOSE_FILE, or run from the project directory",
        )
    if "port is already allocated" in lowered or "address already in use" in lowered:
        port = re.search(r"(?:listen tcp\d?|Bind for) (\S+?):? (?:bind|failed)", stderr)
        return CommandFailed(
            f"port {port.group(1)} is already in use" if port else "a port is already in use",
            "stop what uses the port, or change the published port in .env",
            command=command,
            return_code=code,
            stderr_tail=stderr_tail(stderr),
        )
    first_words = str(exc).strip().splitlines()[:1]
    message = last_line(stderr) or (first_words[0] if first_words else "")
    failed = CommandFailed(
        message or f"docker command failed with exit code {code}",
        "see the output above; rerun with PYTHON_ON_WHALES_DEBUG=1 to see the docker command",
        command=command,
        return_code=code,
        stderr_tail=stderr_tail(stderr),
    )
    if last_line(failed.detail) == failed.message and "\n" not in failed.detail.strip():
        failed.detail = ""  # the one line of stderr is the message: do not print it twice
    return failed


@contextlib.contextmanager
def docker_errors(settings: Settings | None = None) -> Iterator[None]:
    """Translate Docker failures raised inside the block (not KeyboardInterrupt)."""
    from python_on_whales import ClientNotFoundError, DockerException

    try:
        yield
    except (DockerException, ClientNotFoundError, FileNotFoundError) as exc:
        raise translate(exc, settings=settings) from None


@contextlib.contextmanager
def environment(extra: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the docker processes started inside the block.

    python-on-whales passes os.environ to every command it runs and has no per-call env for
    compose; restoring afterwards keeps the change local.
    """
    saved = {key: os.environ.get(key) for key in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@dataclass(frozen=True)
class ServiceState:
    """One container of the project as `compose ps` sees it."""

    service: str
    name: str
    state: str  # running, exited, created, restarting, ...
    health: str  # healthy, unhealthy, starting, or "" without a healthcheck
    exit_code: int
    ports: str

    @property
    def ok(self) -> bool:
        return self.state == "running" and self.health in ("", "healthy")


def parse_compose_ps(output: str) -> list[ServiceState]:
    """Parse `docker compose ps --format json` (a JSON array on old Compose, NDJSON on 2.21+)."""
    text = output.strip()
    if not text:
        return []
    if text.startswith("["):
        rows: list[dict[str, Any]] = json.loads(text)
    else:
        rows = [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]
    states = []
    for row in rows:
        states.append(
            ServiceState(
                service=str(row.get("Service", "")),
                name=str(row.get("Name", "")),
                state=str(row.get("State", "")),
                health=str(row.get("Health", "")),
                exit_code=int(row.get("ExitCode") or 0),
                ports=str(row.get("Ports", "")),
            )
        )
    return sorted(states, key=lambda s: (s.service, s.name))


class Engine:
    """Docker for one compose project, configured from Settings."""

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

    # -- project model ---------------------------------------------------------------------
    def check_compose_files(self) -> None:
        missing = [f for f in self.settings.compose_files if not f.is_file()]
        if missing:
            raise ComposeProjectError(
                f"compose file not found: {missing[0]}",
                "set COMPOSE_FILE (in .env or the environment) or run from the project directory",
            )

    @cached_property
    def config(self) -> dict[str, Any]:
        """The resolved compose model (`compose config --format json`), incl. cache_from."""
        self.check_compose_files()
        with docker_errors(self.settings):
            return self.client.compose.config(return_json=True)

    @property
    def project_name(self) -> str:
        return str(self.config.get("name") or self.settings.project_name or "")

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        return dict(self.config.get("services") or {})

    def buildable_services(self) -> list[str]:
        return sorted(name for name, svc in self.services.items() if svc.get("build"))

    def image_of(self, service: str) -> str:
        """The image reference a service runs (compose names built images project-service)."""
        svc = self.services[service]
        return str(svc.get("image") or f"{self.project_name}-{service}")

    def require_services(self, names: Sequence[str], *, buildable: bool = False) -> list[str]:
        known = self.buildable_services() if buildable else sorted(self.services)
        unknown = [n for n in names if n not in known]
        if unknown:
            kind = "buildable service" if buildable else "service"
            raise UnknownService(
                f"unknown {kind} {unknown[0]!r} in project {self.project_name!r}",
                f"choose from: {', '.join(known) or '(none)'}",
            )
        return list(names)

    # -- compose verbs ---------------------------------------------------------------------
    def build_stream(
        self,
        services: Sequence[str],
        *,
        no_cache: bool = False,
        pull: bool = False,
        extra_env: Mapping[str, str] | None = None,
    ) -> Iterator[tuple[str, bytes]]:
        """Run `compose build` with BuildKit's raw JSON progress; yield (stream, line) pairs.

        Raises the translated error after the last line when the build fails.
        """
        env = {**BUILDKIT_ENVIRONMENT, "BUILDKIT_PROGRESS": "rawjson", **(extra_env or {})}
        with environment(env), docker_errors(self.settings):
            yield from self.client.compose.build(
                list(services), cache=not no_cache, pull=pull, stream_logs=True
            )

    def up_stream(
        self,
        services: Sequence[str],
        *,
        timeout: int,
        no_build: bool,
    ) -> Iterator[tuple[str, bytes]]:
        with environment(BUILDKIT_ENVIRONMENT), docker_errors(self.settings):
            yield from self.client.compose.up(
                list(services) or None,
                detach=True,
                wait=True,
                wait_timeout=timeout,
                no_build=no_build,
                stream_logs=True,
            )

    def down(self, *, volumes: bool = False) -> None:
        with docker_errors(self.settings):
            self.client.compose.down(volumes=volumes, quiet=True)

    def ps(self) -> list[ServiceState]:
        # `compose ps` with -p lists the project even when the file is missing or invalid;
        # reading the model first reports that instead of an empty list.
        self.config  # noqa: B018
        command = [*self.client.docker_compose_cmd, "ps", "--all", "--format", "json"]
        return parse_compose_ps(self.run(command))

    def logs(self, service: str | None, *, tail: int | None = None) -> str:
        with docker_errors(self.settings):
            return str(
                self.client.compose.logs(
                    [service] if service else [],
                    tail=str(tail) if tail is not None else None,
                )
            )

    def follow_logs(self, service: str | None) -> Iterator[tuple[str, bytes]]:
        with docker_errors(self.settings):
            yield from self.client.compose.logs(
                [service] if service else [],
                follow=True,
                stream=True,
                tail="100",
            )

    def volumes(self) -> list[str]:
        """Named volumes of the project that exist in the engine."""
        with docker_errors(self.settings):
            return sorted(
                v.name
                for v in self.client.volume.list(
                    filters={"label": f"com.docker.compose.project={self.project_name}"}
                )
            )

    # -- plain docker CLI ------------------------------------------------------------------
    def run(self, command: Sequence[str]) -> str:
        from python_on_whales.utils import run

        with docker_errors(self.settings):
            return str(run(list(command)))

    def docker_cmd(self, *args: str) -> list[str]:
        return [*[str(p) for p in self.client.docker_cmd], *args]

    def image_inspect(self, reference: str) -> dict[str, Any]:
        """`docker image inspect` as a dict; raises a DockyardError naming the image if absent."""
        output = self.run(self.docker_cmd("image", "inspect", "--format", "{{json .}}", reference))
        return dict(json.loads(output))

    def image_exists(self, reference: str) -> bool:
        """Whether the engine has the image; a daemon that cannot be reached still raises."""
        try:
            self.image_inspect(reference)
        except ImageNotFound:
            return False
        return True

    def version(self) -> dict[str, Any]:
        output = self.run(self.docker_cmd("version", "--format", "{{json .}}"))
        return dict(json.loads(output))

    @contextlib.contextmanager
    def save(self, reference: str) -> Iterator[IO[bytes]]:
        """`docker save` as a byte stream, never written to disk.

        When the reader raises a DockyardError (e.g. a truncated archive) because docker save
        itself failed, docker's own message is raised instead.
        """
        command = self.docker_cmd("save", reference)
        try:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except FileNotFoundError as exc:
            raise translate(exc) from None
        stdout, stderr = process.stdout, process.stderr
        assert stdout is not None and stderr is not None
        with stdout, stderr:
            try:
                yield stdout
                while stdout.read(1 << 20):  # drain what the reader did not need
                    pass
            except DockyardError:
                code = 0
                if not stdout.read(1):  # at the end: docker save has finished or died
                    try:
                        code = process.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        code = 0
                if code:
                    raise self._save_failed(reference, command, code, stderr) from None
                process.kill()
                process.wait()
                raise
            except BaseException:
                process.kill()
                process.wait()
                raise
            code = process.wait()
            if code != 0:
                raise self._save_failed(reference, command, code, stderr)

    def _save_failed(
        self, reference: str, command: list[str], code: int, stderr_pipe: IO[bytes]
    ) -> DockyardError:
        stderr = stderr_pipe.read().decode("utf-8", "replace")
        if "no such image" in stderr.lower() or "reference does not exist" in stderr.lower():
            return ImageNotFound(
                f"image not found: {reference}", "check the name with `docker image ls`"
            )
        return CommandFailed(
            f"docker save {reference} failed: {last_line(stderr) or f'exit code {code}'}",
            "check the image name with `docker image ls`, and the engine's free disk space",
            command=command,
            return_code=code,
            stderr_tail=stderr_tail(stderr),
        )

    def history(self, reference: str) -> list[dict[str, Any]]:
        """`docker image history` rows, newest first (python-on-whales has no history API).

        `--human=false` makes `Size` exact bytes (still a string) and `CreatedAt` RFC 3339.
        """
        command = self.docker_cmd(
            "image",
            "history",
            "--no-trunc",
            "--human=false",
            "--format",
            "{{json .}}",
            reference,
        )
        output = self.run(command)
        return [json.loads(line) for line in output.splitlines() if line.strip().startswith("{")]

    # -- benchmark builds (`inv bench`): plain `docker buildx build`, not compose -------------
    @staticmethod
    def bench_build_command(
        docker: Sequence[str],
        context_dir: os.PathLike[str] | str,
        *,
        dockerfile: os.PathLike[str] | str,
        tag: str,
        build_args: Mapping[str, str],
        no_cache: bool = False,
        quiet: bool = False,
    ) -> list[str]:
        """The `docker buildx build` command line of one benchmark build, one flag per line.

        `--progress=rawjson` writes BuildKit's status stream on stderr (buildx); `--load` puts
        the image into the engine's image store with any builder driver.
        """
        command = [*docker, "buildx", "build"]
        command += ["--quiet"] if quiet else ["--progress=rawjson"]
        command += ["--load"]
        command += ["--file", os.fspath(dockerfile)]
        command += ["--tag", tag]
        for name, value in build_args.items():
            command += ["--build-arg", f"{name}={value}"]
        if no_cache:
            command += ["--no-cache"]
        command += [os.fspath(context_dir)]
        return command

    def bench_build_stream(
        self,
        context_dir: os.PathLike[str] | str,
        *,
        dockerfile: os.PathLike[str] | str,
        tag: str,
        build_args: Mapping[str, str],
        no_cache: bool = False,
    ) -> Iterator[tuple[str, bytes]]:
        """Run one benchmark build; yield (stream, line) pairs (the rawjson is on stderr).

        Raises the translated error after the last line when the build fails.
        """
        from python_on_whales.utils import stream_stdout_and_stderr

        command = self.bench_build_command(
            self.docker_cmd(),
            context_dir,
            dockerfile=dockerfile,
            tag=tag,
            build_args=build_args,
            no_cache=no_cache,
        )
        with docker_errors(self.settings):
            yield from stream_stdout_and_stderr(command, env=dict(BUILDKIT_ENVIRONMENT))

    def bench_build_quiet(
        self,
        context_dir: os.PathLike[str] | str,
        *,
        dockerfile: os.PathLike[str] | str,
        tag: str,
        build_args: Mapping[str, str],
    ) -> str:
        """A plain quiet `docker buildx build`; returns the image id it prints."""
        command = self.bench_build_command(
            self.docker_cmd(),
            context_dir,
            dockerfile=dockerfile,
            tag=tag,
            build_args=build_args,
            quiet=True,
        )
        with environment(BUILDKIT_ENVIRONMENT):
            output = self.run(command)
        return output.strip().splitlines()[-1].strip() if output.strip() else ""

    def buildx_version(self) -> str:
        """`docker buildx version`, e.g. `github.com/docker/buildx 0.13.1 ...` -> `0.13.1`."""
        output = self.run(self.docker_cmd("buildx", "version")).strip()
        parts = output.split()
        return parts[1] if len(parts) > 1 else output

    def python_in_image(self, image: str, code: str) -> str:
        """Run `python -c CODE` in a throwaway container of `image`; return its stdout."""
        return self.run(
            self.docker_cmd(
                "run", "--rm", "--network", "none", "--entrypoint", "python", image, "-c", code
            )
        )

    def image_remove(self, reference: str) -> bool:
        """`docker image rm` (never forced); False when the engine refused (e.g. in use)."""
        try:
            self.run(self.docker_cmd("image", "rm", reference))
        except DockyardError:
            return False
        return True

    def build_cache_records(self) -> list[dict[str, Any]]:
        """The build cache's records (`docker system df -v`): ID, Description, Size, ..."""
        output = self.run(self.docker_cmd("system", "df", "-v", "--format", "{{json .BuildCache}}"))
        text = output.strip()
        if not text or text == "null":
            return []
        return [dict(r) for r in json.loads(text)]

    def prune_build_cache_record(self, record_id: str) -> bool:
        """Remove one build-cache record by its record id (the filter is a regex: anchored)."""
        if not re.fullmatch(r"[A-Za-z0-9]+", record_id):
            raise ValueError(f"not a build-cache record id: {record_id!r}")
        try:
            self.run(
                self.docker_cmd("builder", "prune", "--force", "--filter", f"id=^{record_id}$")
            )
        except DockyardError:
            return False
        return True

    # -- doctor (`inv doctor`) -------------------------------------------------------------
    def docker_path(self) -> str | None:
        """Where the docker CLI is, or None when it is not on PATH (nothing is run)."""
        import shutil

        return shutil.which(str(self.client.client_config.client_call[0]))

    def info(self) -> dict[str, Any]:
        """`docker info` as a dict (storage driver, DriverStatus, DockerRootDir, Name, ...)."""
        output = self.run(self.docker_cmd("info", "--format", "{{json .}}"))
        return dict(json.loads(output))

    def compose_version(self) -> str:
        """`docker compose version --short`, e.g. `2.26.1`."""
        return self.run(self.docker_cmd("compose", "version", "--short")).strip()

    def image_references(self, pattern: str) -> list[str]:
        """`repository:tag` of the local images matching a reference pattern (`repo/*`)."""
        output = self.run(
            self.docker_cmd(
                "image",
                "ls",
                "--filter",
                f"reference={pattern}",
                "--format",
                "{{.Repository}}:{{.Tag}}",
            )
        )
        return sorted({line.strip() for line in output.splitlines() if line.strip()})
