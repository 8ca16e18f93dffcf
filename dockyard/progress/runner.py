"""The one build runner: a docker build command's output, fed through the stream parser.

`build-fast` (Compose) and `bench` (buildx) both run their builds through `run_stream`: it
feeds every chunk to the parser, hands the events to the caller's view, and ends with one of
three outcomes: ok, failed (with the translated Docker error), or interrupted. Interrupted is
Ctrl-C or SIGTERM reaching dockyard (`dockyard.signals`), whoever saw it first: a terminal's
Ctrl-C reaches the docker CLI too, which may end first with BuildKit's "context canceled" or
exit code 130. Either way the stream is closed before `run_stream` returns, and closing it
stops the docker child (`dockyard.engine.process`): no build goes on unseen.

Messages name a step as the live view does (`runtime 5/7 RUN uv pip sync ...`), never with
the whole instruction: that and the last log lines are the error's detail.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from dockyard import signals
from dockyard.errors import BuildFailed, DockyardError, Interrupted
from dockyard.progress.report import CANCELED, DEFAULT_FAILURE_LINES, BuildReport, Event, Step
from dockyard.progress.stream import RawJsonStream
from dockyard.units import format_seconds

RunStatus = Literal["ok", "failed", "interrupted"]
Listener = Callable[[list[Event], RawJsonStream], None]

# Exit codes of a docker CLI ended by SIGINT / SIGTERM (its own, or the signal's as Popen says).
_SIGNAL_EXITS = {128 + signal.SIGINT: signal.SIGINT, -signal.SIGINT: signal.SIGINT}
if hasattr(signal, "SIGTERM"):
    _SIGNAL_EXITS.update({128 + signal.SIGTERM: signal.SIGTERM, -signal.SIGTERM: signal.SIGTERM})
# BuildKit's words for a RUN that failed: the whole command again, then the exit code.
_PROCESS_FAILED = re.compile(r'^process ".*" did not complete successfully: (.*)$', re.DOTALL)


@dataclass
class StreamRun:
    """How one build command ended, and its parsed stream."""

    stream: RawJsonStream
    status: RunStatus
    started_at: datetime
    seconds: float
    error: DockyardError | None = None
    # The signal that interrupted the build (SIGINT for a canceled build with none seen here).
    signum: int | None = None

    @property
    def returncode(self) -> int:
        if self.status == "interrupted":
            return signals.exit_code(self.signum)
        return {"ok": 0, "failed": 1}[self.status]

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

    A docker CLI ended by SIGINT / SIGTERM was interrupted. Otherwise a step that broke makes
    it broken, whatever else was canceled because of it (engine 28 cancels the sibling `load
    metadata` vertices when one image cannot be pulled).
    """
    if error.call is not None and error.call.return_code in _SIGNAL_EXITS:
        return True
    steps = [step for service in stream.services for step in stream.steps(service)]
    if any(step.hard_error and not step.canceled for step in steps):
        return False
    texts = [error.message, error.detail, error.call.stderr if error.call else ""]
    texts += stream.plain_text
    texts += [step.error or "" for step in steps]
    return any(CANCELED in text for text in texts)


def _signal_of(error: DockyardError) -> int:
    code = error.call.return_code if error.call is not None else None
    return _SIGNAL_EXITS.get(code, signal.SIGINT) if code is not None else signal.SIGINT


def _close(chunks: Iterable[tuple[str, bytes]]) -> None:
    close = getattr(chunks, "close", None)
    if callable(close):
        close()


def run_stream(
    chunks: Iterable[tuple[str, bytes]],
    stream: RawJsonStream,
    *,
    on_events: Listener = lambda events, stream: None,
) -> StreamRun:
    """Drive `chunks` (a build command's (source, line) pairs) through `stream`.

    The command's own failure is caught and returned; Ctrl-C and SIGTERM are returned as
    "interrupted" (the caller records the build, then raises). The command is stopped when
    this returns.
    """
    started_at, started = datetime.now(timezone.utc), time.monotonic()
    status: RunStatus = "ok"
    error: DockyardError | None = None
    signum: int | None = None
    iterator = iter(chunks)
    try:
        try:
            for source, chunk in iterator:
                on_events(stream.feed(chunk, source), stream)
        finally:
            _close(iterator)  # stops a child that is still running
    except KeyboardInterrupt as stop:
        status, signum = "interrupted", signals.signum_of(stop)
    except DockyardError as err:
        error = err
        if signals.received() is not None:
            status, signum = "interrupted", signals.received()
        elif canceled(err, stream):
            status, signum = "interrupted", _signal_of(err)
        else:
            status = "failed"
    if status == "ok" and signals.received() is not None:
        status, signum = "interrupted", signals.received()
    # Until the signal came, when dockyard saw one (not the moment the child was stopped).
    seconds = min(time.monotonic(), signals.received_at() or time.monotonic()) - started
    on_events(stream.close(), stream)
    return StreamRun(stream, status, started_at, seconds, error, signum)


def short_error(error: str | None) -> str:
    """BuildKit's error of a step without the command it repeats: `exit code: 7`."""
    text = (error or "").strip()
    match = _PROCESS_FAILED.match(text)
    return " ".join((match.group(1) if match else text).split())


def step_failure(subject: str, report: BuildReport, hint: str) -> BuildFailed | None:
    """`<subject> failed at `<step label>`: <exit code>`; the step in full, BuildKit's error
    and the step's last log lines are the detail. None when no step of the report failed."""
    step = report.failing_step
    if step is None:
        return None
    lines = report.failure_log(DEFAULT_FAILURE_LINES)
    detail = [f"failed step: {step.name}", f"error: {step.error}"]
    if lines:
        detail += [f"--- last {len(lines)} log lines of {step.label()} ---", *lines]
    return BuildFailed(
        f"{subject} failed at `{step.label()}`: {short_error(step.error)}",
        hint,
        detail="\n".join(detail),
    )


# gRPC's words when the engine's end of the build session goes away (dockerd restarted or
# stopped mid-build): Compose 2.26 and 2.40 both say `failed to solve: Unavailable: error
# reading from server: EOF`.
_ENGINE_LOST = re.compile(
    r"\bUnavailable\b|error reading from server|transport is closing|connection reset by peer"
)


def engine_lost(
    subject: str, seconds: float, reports: Sequence[BuildReport], error: str
) -> BuildFailed | None:
    """`the Docker engine went away during <subject> after 4.1s at `<step>``, when the build's
    error says the engine's connection broke; None for any other failure."""
    found = _ENGINE_LOST.search(error)
    if found is None:
        return None
    message = f"the Docker engine went away during {subject} after {format_seconds(seconds)}"
    cut = [(r.service, steps) for r in reports if (steps := interrupted_steps(r))]
    if cut:
        service, steps = cut[0]
        label = steps[0].label() if len(reports) == 1 else f"{service} {steps[0].label()}"
        message += f" at `{label}`"
    # gRPC's own wrapping (`rpc error: code = Unavailable desc = ...`) left out
    why = re.split(r"desc = |Unavailable: ", error.strip().splitlines()[-1])[-1].strip()
    return BuildFailed(
        message,
        f"it was restarted or stopped ({why}): once `docker info` answers, build again; the "
        "steps that finished are cached",
        detail=error.strip(),
    )


def interrupted_steps(report: BuildReport) -> list[Step]:
    """The steps the interruption cut off, latest start first: Dockerfile steps still running
    (or canceled); without any, BuildKit's own vertices that were running."""

    def cut(step: Step) -> bool:
        return step.running or step.canceled

    def started(step: Step) -> datetime:
        return step.started or datetime.min.replace(tzinfo=timezone.utc)

    steps = [s for s in report.dockerfile_steps if cut(s)] or [s for s in report.steps if cut(s)]
    return sorted(steps, key=started, reverse=True)


def step_interruption(
    subject: str, run: StreamRun, reports: Sequence[BuildReport], hint: str
) -> Interrupted:
    """`<subject> interrupted after 3.1s at `<step label>``, exit code 130 (143 for SIGTERM).
    With several services the step is named with its service, and the others counted."""
    by = "" if run.signum in (None, signal.SIGINT) else f" by {signals.signal_name(run.signum)}"
    message = f"{subject} interrupted{by} after {format_seconds(run.seconds)}"
    cut = [(r.service, interrupted_steps(r)) for r in reports]
    # A service cut off in a Dockerfile step comes before one in BuildKit's own vertices.
    cut = sorted(
        [(service, steps) for service, steps in cut if steps],
        key=lambda item: not item[1][0].is_dockerfile_step,
    )
    if cut:
        service, steps = cut[0]
        label = steps[0].label() if len(reports) == 1 else f"{service} {steps[0].label()}"
        message += f" at `{label}`"
        others = len(steps) - 1 + sum(len(more) for _, more in cut[1:])
        if others:
            message += f" (and {others} more running)"
    return Interrupted(message, hint, signum=run.signum)
