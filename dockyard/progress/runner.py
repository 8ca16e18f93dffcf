"""The one build runner: a docker build command's output, fed through the stream parser.

`build-fast` (Compose) and `bench` (buildx) both run their builds through `run_stream`: it
feeds every chunk to the parser, hands the events to the caller's view, and ends with one of
three outcomes — ok, failed (with the translated Docker error), or interrupted (Ctrl-C reached
dockyard, or BuildKit reports the build canceled because Ctrl-C reached the docker CLI first).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from dockyard.errors import BuildFailed, DockyardError
from dockyard.progress.report import CANCELED, DEFAULT_FAILURE_LINES, BuildReport, Event
from dockyard.progress.stream import RawJsonStream

RunStatus = Literal["ok", "failed", "interrupted"]
Listener = Callable[[list[Event], RawJsonStream], None]


@dataclass
class StreamRun:
    """How one build command ended, and its parsed stream."""

    stream: RawJsonStream
    status: RunStatus
    started_at: datetime
    seconds: float
    error: DockyardError | None = None

    @property
    def returncode(self) -> int:
        return {"ok": 0, "failed": 1, "interrupted": 130}[self.status]

    @property
    def stderr(self) -> str:
        """The failed command's stderr (where Compose says `failed to solve: ...`)."""
        if self.error is None:
            return ""
        return self.error.call.stderr if self.error.call else self.error.detail

    def report(self, service: str) -> BuildReport:
        return self.stream.report(service, self.returncode, stderr=self.stderr)


def canceled(error: DockyardError, stream: RawJsonStream) -> bool:
    """Whether a failed build was canceled rather than broken.

    A step that broke makes it broken, whatever else was canceled because of it (engine 28
    cancels the sibling `load metadata` vertices when one image cannot be pulled).
    """
    steps = [step for service in stream.services for step in stream.steps(service)]
    if any(step.hard_error and not step.canceled for step in steps):
        return False
    texts = [error.message, error.detail, error.call.stderr if error.call else ""]
    texts += stream.plain_text
    texts += [step.error or "" for step in steps]
    return any(CANCELED in text for text in texts)


def run_stream(
    chunks: Iterable[tuple[str, bytes]],
    stream: RawJsonStream,
    *,
    on_events: Listener = lambda events, stream: None,
) -> StreamRun:
    """Drive `chunks` (a build command's (source, line) pairs) through `stream`.

    The command's own failure is caught and returned; Ctrl-C is returned as "interrupted"
    (the caller records the build, then raises).
    """
    started_at, started = datetime.now(timezone.utc), time.monotonic()
    status: RunStatus = "ok"
    error: DockyardError | None = None
    try:
        for source, chunk in chunks:
            on_events(stream.feed(chunk, source), stream)
    except KeyboardInterrupt:
        status = "interrupted"
    except DockyardError as err:
        error = err
        status = "interrupted" if canceled(err, stream) else "failed"
    on_events(stream.close(), stream)
    return StreamRun(stream, status, started_at, time.monotonic() - started, error)


def step_failure(subject: str, report: BuildReport, hint: str) -> BuildFailed | None:
    """`<subject> failed at `<instruction>`: <error>`, with the step's last log lines as the
    detail; None when no step of the report failed."""
    step = report.failing_step
    if step is None:
        return None
    lines = report.failure_log(DEFAULT_FAILURE_LINES)
    header = f"--- last {len(lines)} log lines of {step.name} ---"
    return BuildFailed(
        f"{subject} failed at `{step.instruction}`: {step.error}",
        hint,
        detail="\n".join([header, *lines]) if lines else "",
    )
