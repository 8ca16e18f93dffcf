"""Docker failures, translated once at the boundary into DockyardErrors with a hint.

python-on-whales raises `DockerException` (command, exit code, stderr) or
`ClientNotFoundError`; what stderr says decides which DockyardError it becomes. The command, its
exit code and its stderr travel on with the error (`DockyardError.call`), so nothing later has to
guess from message words.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from dockyard.errors import (
    CommandFailed,
    ComposeProjectError,
    DaemonUnreachable,
    DockerCall,
    DockerNotFound,
    DockyardError,
    ImageNotFound,
    UnknownService,
)

DOCKER_MISSING_HINT = (
    "install Docker (Docker Desktop, or the docker.io package) and put `docker` on PATH"
)
DAEMON_HINT = (
    "start the Docker engine (Docker Desktop or `dockerd`), or fix DOCKER_HOST / the docker context"
)


class DockerCommandFailed(Exception):
    """A docker command dockyard ran itself exited non-zero; the same fields as
    python-on-whales' DockerException, so both are translated alike."""

    def __init__(self, command: Sequence[str], return_code: int, stdout: str, stderr: str) -> None:
        super().__init__(f"{' '.join(command)} exited with {return_code}")
        self.docker_command = list(command)
        self.return_code = return_code
        self.stdout = stdout
        self.stderr = stderr


TLS_HINT = (
    "DOCKER_CERT_PATH must hold that engine's CA (ca.pem) and your client cert.pem / key.pem "
    "(with DOCKER_TLS_VERIFY=1); or fix DOCKER_HOST / the docker context"
)


def stderr_tail(text: str | None, lines: int = 20) -> str:
    return "\n".join((text or "").strip().splitlines()[-lines:])


def last_line(text: str | None) -> str:
    tail = stderr_tail(text, 1)
    return tail.removeprefix("Error response from daemon: ").strip()


def call_of(exc: BaseException) -> DockerCall:
    """The command, exit code and stderr of a python-on-whales failure."""
    command = tuple(str(part) for part in getattr(exc, "docker_command", None) or ())
    code = getattr(exc, "return_code", None)
    stderr = getattr(exc, "stderr", None) or ""
    return DockerCall(command, code if isinstance(code, int) else None, str(stderr))


def translate(exc: BaseException, *, compose_files: Sequence[Path] = ()) -> DockyardError:
    """Turn a python-on-whales or subprocess failure into one DockyardError with a hint."""
    if isinstance(exc, DockyardError):
        return exc
    if type(exc).__name__ == "ClientNotFoundError" or isinstance(exc, FileNotFoundError):
        return DockerNotFound("the `docker` command was not found", DOCKER_MISSING_HINT)
    call = call_of(exc)
    err = _classify(call, compose_files)
    err.call = call
    return err


def _classify(call: DockerCall, compose_files: Sequence[Path]) -> DockyardError:
    stderr = call.stderr
    lowered = stderr.lower()
    tls = re.search(r"(?:tls|x509|remote error): [^\n]+", stderr)
    if tls and ("error during connect" in lowered or "certificate" in lowered):
        host = os.environ.get("DOCKER_HOST") or "the engine"
        return DaemonUnreachable(
            f"TLS with the Docker engine at {host} failed: {tls.group(0).strip()}", TLS_HINT
        )
    if (
        "cannot connect to the docker daemon" in lowered
        or "error during connect" in lowered
        or "is the docker daemon running" in lowered
    ):
        at = re.search(r'daemon at (\S+?)\.? Is the|Get "(\w+://[^/"]+)', stderr)
        where = next((g for g in at.groups() if g), None) if at else None
        host = os.environ.get("DOCKER_HOST") or where or "the default socket"
        return DaemonUnreachable(f"no Docker engine answers at {host}", DAEMON_HINT)
    context = re.search(r'context "([^"]*)": context not found', stderr)
    if context:
        return _missing_context(context.group(1))
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
        files = ", ".join(str(f) for f in compose_files) or "the compose file"
        # Compose 2.40 names the file first ("failed to parse F: yaml: ..."); the hint names it.
        problem = re.sub(r"^failed to parse \S+?: (?=yaml:)", "", last_line(stderr))
        return ComposeProjectError(
            f"invalid compose file: {problem}",
            f"fix {files} (check with `docker compose config`)",
        )
    if (
        "no such file or directory" in lowered or "no configuration file provided" in lowered
    ) and "compose" in call.command:
        return ComposeProjectError(
            f"compose file not found: {last_line(stderr)}",
            "set COMPOSE_FILE, or run from the project directory",
        )
    if "port is already allocated" in lowered or "address already in use" in lowered:
        port = re.search(
            r"(?:listen tcp\d?|Bind for) (\S+?):? (?:bind|failed)", stderr
        ) or re.search(
            r"failed to bind host port for ((?:\d+\.){3}\d+:\d+|\[[^\]]+\]:\d+)", stderr
        )  # engine 26 / engine 28
        return CommandFailed(
            f"port {port.group(1)} is already in use" if port else "a port is already in use",
            "stop what uses the port, or change the published port in .env",
            detail=stderr_tail(stderr),
        )
    message = last_line(stderr) or f"docker command failed with exit code {call.return_code}"
    tail = stderr_tail(stderr)
    # The one line of stderr is the message: do not print it twice.
    detail = "" if last_line(tail) == message and "\n" not in tail.strip() else tail
    return CommandFailed(
        message,
        "see the output above; rerun with PYTHON_ON_WHALES_DEBUG=1 to see the docker command",
        detail=detail,
    )


def _missing_context(name: str) -> DaemonUnreachable:
    """The docker CLI's context (DOCKER_CONTEXT, else `docker context use`) does not exist."""
    if os.environ.get("DOCKER_CONTEXT") == name:
        return DaemonUnreachable(
            f"docker context {name!r} does not exist (DOCKER_CONTEXT={name})",
            "`docker context ls` lists the contexts: set DOCKER_CONTEXT to one of them, or "
            "unset it (then `docker context use` decides)",
        )
    return DaemonUnreachable(
        f"docker context {name!r} does not exist (the current context of the docker CLI)",
        "`docker context ls` lists the contexts; `docker context use default` (or another) "
        "picks one",
    )


def _docker_failures() -> tuple[type[BaseException], ...]:
    """What a Docker call raises: our own command failures, a missing program, and
    python-on-whales' exceptions once it is imported (nothing raises them before)."""
    whales = sys.modules.get("python_on_whales")
    extra = (whales.DockerException, whales.ClientNotFoundError) if whales else ()
    return (DockerCommandFailed, FileNotFoundError, *extra)


@contextlib.contextmanager
def docker_errors(compose_files: Sequence[Path] = ()) -> Iterator[None]:
    """Translate Docker failures raised inside the block (not KeyboardInterrupt)."""
    try:
        yield
    except Exception as exc:
        if isinstance(exc, _docker_failures()):
            raise translate(exc, compose_files=compose_files) from None
        raise
