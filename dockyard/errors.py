"""Errors that end a task with one clear line and a hint, never a traceback.

Everything that can go wrong in a way the user can fix is raised as a DockyardError; tasks.py
turns it into `invoke.Exit` at the boundary. Docker's own exceptions are translated in engine.py.
"""

from __future__ import annotations


class DockyardError(Exception):
    """An expected failure: `message` says what happened, `hint` what to do about it."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "", *, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        # Extra lines (a log tail, a failing step's output) shown before the one-line message.
        self.detail = detail

    def one_line(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message


class SettingsError(DockyardError):
    """A setting, flag or .env value that cannot be used."""

    exit_code = 2


class DockerNotFound(DockyardError):
    """No docker binary on PATH."""


class DaemonUnreachable(DockyardError):
    """The docker CLI is there but no engine answers."""


class ComposeProjectError(DockyardError):
    """The compose file is missing, invalid, or names something that does not exist."""


class UnknownService(DockyardError):
    """A service name that the compose project does not define."""

    exit_code = 2


class ImageNotFound(DockyardError):
    """An image name or id the engine does not have."""

    exit_code = 2


class BuildFailed(DockyardError):
    """A build step failed; `detail` carries the step's last log lines."""


class HealthTimeout(DockyardError):
    """`up --wait` gave up: a service is unhealthy, exited, or not healthy in time."""


class Interrupted(DockyardError):
    """Ctrl-C: the work was stopped, what was recorded is safe."""

    exit_code = 130


class CommandFailed(DockyardError):
    """A docker command failed in a way we have no better words for."""

    def __init__(
        self,
        message: str,
        hint: str = "",
        *,
        command: list[str] | None = None,
        return_code: int | None = None,
        stderr_tail: str = "",
    ) -> None:
        super().__init__(message, hint, detail=stderr_tail)
        self.command = command or []
        self.return_code = return_code
        self.stderr_tail = stderr_tail
