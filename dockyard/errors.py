"""Errors that end a task with one clear line and a hint, never a traceback.

Everything that can go wrong in a way the user can fix is raised as a DockyardError; the tasks
turn it into `invoke.Exit` at the boundary. Docker's own exceptions are translated in
`dockyard.engine.errors`, and keep the docker command that failed (`DockyardError.call`).
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass


@dataclass(frozen=True)
class DockerCall:
    """A docker command that failed: what ran, its exit code, what it wrote on stderr."""

    command: tuple[str, ...]
    return_code: int | None
    stderr: str


class DockyardError(Exception):
    """An expected failure: `message` says what happened, `hint` what to do about it."""

    exit_code = 1

    def __init__(
        self, message: str, hint: str = "", *, detail: str = "", call: DockerCall | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        # Extra lines (a log tail, a failing step's output) shown before the one-line message.
        self.detail = detail
        # The docker command behind it, when one failed.
        self.call = call

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


class PullFailed(DockyardError):
    """An image a build or `up` needs is not local and the engine could not pull it."""


class HealthTimeout(DockyardError):
    """`up --wait` gave up: a service is unhealthy, exited, or not healthy in time."""


class Interrupted(DockyardError):
    """Ctrl-C or SIGTERM: the work was stopped, what was recorded is safe.

    The exit code is the shell's for the signal: 130 for SIGINT (Ctrl-C), 143 for SIGTERM.
    """

    exit_code = 130

    def __init__(
        self, message: str, hint: str = "", *, signum: int | None = None, detail: str = ""
    ) -> None:
        super().__init__(message, hint, detail=detail)
        self.signum = signum or signal.SIGINT
        self.exit_code = 128 + self.signum


class CommandFailed(DockyardError):
    """A docker command failed in a way we have no better words for."""


# Build output that says more than "a step failed", and the hint it deserves.
_BUILD_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"dockerfile parse error on line (\d+)", re.IGNORECASE),
        "fix line {0} of the Dockerfile (`inv doctor` reads it before a build)",
    ),
    (
        re.compile(
            r"from versions: none|Temporary failure in name resolution|Name or service not known"
            r"|Failed to establish a new connection|Network is unreachable|Could not fetch URL"
            r"|dns error|error sending request|Failed to fetch|ENOTFOUND|EAI_AGAIN",
            re.IGNORECASE,
        ),
        "the build could not reach the package index: check the network and proxy "
        "(HTTP_PROXY / HTTPS_PROXY build args), PIP_INDEX_URL / UV_INDEX_URL, and `network:` "
        "in the compose file's build section (or a misspelt package name)",
    ),
)


def refine_hint(err: DockyardError) -> DockyardError:
    """A better hint for a build failure whose log names the cause (parse error, no network)."""
    if not isinstance(err, BuildFailed):
        return err
    text = f"{err.message}\n{err.detail}"
    for pattern, hint in _BUILD_HINTS:
        match = pattern.search(text)
        if match:
            err.hint = hint.format(*match.groups())
            break
    return err
