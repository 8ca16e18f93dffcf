"""One service's build as steps: what ran, what came from cache, how long, what failed.

Also the events a live view receives while the stream is parsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeAlias

from dockyard.progress.names import step_label

DEFAULT_FAILURE_LINES = 30
_CACHE_IMPORT = "importing cache manifest"
# What BuildKit says when it stopped a step: the client went away (Ctrl-C), or a sibling failed.
CANCELED = "context canceled"


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class Step:
    """One vertex of one service's build, as last reported.

    A Dockerfile step has `index`/`total` (`[deps 4/5]`); BuildKit's own vertices (`load build
    context`, `exporting to image`, `importing cache manifest ...`) have None there.
    `log_tail` keeps the last lines the vertex wrote (stdout and stderr interleaved).
    `shared` is True when the same vertex (digest) was also reported under another service:
    its `stage`/`index`/`total` may then come from that other service's Dockerfile.
    """

    service: str
    digest: str
    name: str
    stage: str | None
    index: int | None
    total: int | None
    instruction: str
    started: datetime | None = None
    completed: datetime | None = None
    cached: bool = False
    error: str | None = None
    internal: bool = False
    log_tail: tuple[str, ...] = ()
    shared: bool = False

    @property
    def seconds(self) -> float | None:
        """Run time from BuildKit's own timestamps; None while running or never started."""
        if self.started is None or self.completed is None:
            return None
        return max(0.0, (self.completed - self.started).total_seconds())

    @property
    def is_dockerfile_step(self) -> bool:
        return self.index is not None

    @property
    def is_from(self) -> bool:
        return self.is_dockerfile_step and self.instruction.upper().startswith("FROM ")

    @property
    def is_cache_import(self) -> bool:
        """`[svc] importing cache manifest from X`: its error never fails a build."""
        return self.instruction.startswith(_CACHE_IMPORT)

    @property
    def running(self) -> bool:
        return self.started is not None and self.completed is None

    @property
    def done(self) -> bool:
        return self.completed is not None

    @property
    def hard_error(self) -> bool:
        """An error that means this step failed (not a missing cache_from image)."""
        return bool(self.error) and not self.is_cache_import

    def label(self, width: int = 60) -> str:
        """`deps 4/5 RUN uv pip install ...`: stage, N/M and the instruction, cut to `width`."""
        return step_label(self.stage, self.index, self.total, self.instruction or self.name, width)

    @property
    def canceled(self) -> bool:
        """Stopped by BuildKit, not broken: Ctrl-C, or a sibling that failed first (engine 28
        cancels the other `load metadata` vertices when one image cannot be pulled)."""
        return CANCELED in (self.error or "")

    def elapsed(self, now: datetime) -> float | None:
        """Seconds since the step started (its run time once completed)."""
        if self.started is None:
            return None
        end = self.completed if self.completed is not None else now
        return max(0.0, (end - self.started).total_seconds())

    def to_dict(self, *, log_lines: int | None = 0) -> dict[str, Any]:
        """JSON-ready dict. `log_lines`: how many last log lines to include (None: all kept)."""
        data: dict[str, Any] = {
            "service": self.service,
            "digest": self.digest,
            "name": self.name,
            "stage": self.stage,
            "index": self.index,
            "total": self.total,
            "instruction": self.instruction,
            "started": iso(self.started),
            "completed": iso(self.completed),
            "seconds": self.seconds,
            "cached": self.cached,
            "error": self.error,
            "shared": self.shared,
        }
        if log_lines is None:
            data["log_tail"] = list(self.log_tail)
        elif log_lines > 0:
            data["log_tail"] = list(self.log_tail[-log_lines:])
        return data


@dataclass(frozen=True)
class StepStarted:
    """A vertex began running (live view: show it as the running step)."""

    service: str
    step: Step


@dataclass(frozen=True)
class StepFinished:
    """A vertex completed, came from cache, or failed.

    BuildKit sometimes revises a completed vertex (`cached` arrives in a later message): the same
    step can then be finished twice, and the later event wins.
    """

    service: str
    step: Step

    @property
    def cached(self) -> bool:
        return self.step.cached

    @property
    def seconds(self) -> float | None:
        return self.step.seconds

    @property
    def error(self) -> str | None:
        return self.step.error


@dataclass(frozen=True)
class LogLine:
    """One complete line of a vertex's output (stream 1 = stdout, 2 = stderr)."""

    service: str
    digest: str
    stream: int
    text: str


@dataclass(frozen=True)
class PlainText:
    """A line of the stream that is not JSON (a failed buildx build appends the reason)."""

    text: str


Event: TypeAlias = StepStarted | StepFinished | LogLine | PlainText


@dataclass(frozen=True)
class BuildReport:
    """One service's build: every vertex as a Step, totals, cache use, the failure if any.

    `ok` is None while the outcome is unknown (no exit code given). `cache_ratio` counts
    Dockerfile steps (`[stage N/M]`) only, without BuildKit's internal vertices and without
    `FROM` steps: BuildKit reports the `FROM` of a local base image as cached in one build and
    not in the next, and it never runs anything, so counting it would make a fully cached
    rebuild look like 7/8.
    """

    service: str
    steps: tuple[Step, ...]
    started: datetime | None
    finished: datetime | None
    ok: bool | None
    error: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def seconds(self) -> float | None:
        if self.started is None or self.finished is None:
            return None
        return max(0.0, (self.finished - self.started).total_seconds())

    @property
    def dockerfile_steps(self) -> tuple[Step, ...]:
        return tuple(step for step in self.steps if step.is_dockerfile_step)

    @property
    def total_steps(self) -> int:
        """Dockerfile steps known so far (BuildKit announces them before running them)."""
        return len(self.dockerfile_steps)

    @property
    def done_steps(self) -> int:
        return sum(1 for step in self.dockerfile_steps if step.done)

    @property
    def cached_steps(self) -> int:
        return sum(1 for step in self.dockerfile_steps if step.cached and step.done)

    @property
    def cache_ratio(self) -> float | None:
        """Cached share of the Dockerfile steps other than FROM; None when there are none."""
        countable = [step for step in self.dockerfile_steps if not step.is_from]
        if not countable:
            return None
        return sum(1 for step in countable if step.cached) / len(countable)

    @property
    def running_steps(self) -> tuple[Step, ...]:
        return tuple(step for step in self.steps if step.running)

    def slowest(self, n: int = 3) -> list[Step]:
        """The `n` Dockerfile steps that ran (not from cache) for longest, slowest first."""
        ran = [
            step
            for step in self.dockerfile_steps
            if not step.cached and step.seconds is not None and not step.is_from
        ]
        return sorted(ran, key=lambda step: step.seconds or 0.0, reverse=True)[:n]

    @property
    def failing_step(self) -> Step | None:
        """The step that failed the build (None when the build did not fail)."""
        if self.ok is not False:
            return None
        failed = [step for step in self.steps if step.hard_error]
        if not failed:
            return None
        # A step that broke beats one canceled because of it; then a Dockerfile step beats a
        # BuildKit vertex; among equals the one that ended last.
        failed.sort(
            key=lambda step: (
                not step.canceled,
                step.is_dockerfile_step,
                step.completed or datetime.min.replace(tzinfo=timezone.utc),
            )
        )
        return failed[-1]

    def failure_log(self, lines: int = DEFAULT_FAILURE_LINES) -> list[str]:
        step = self.failing_step
        if step is None:
            return []
        return list(step.log_tail[-lines:])

    def to_dict(self, *, failure_lines: int = DEFAULT_FAILURE_LINES) -> dict[str, Any]:
        failing = self.failing_step
        return {
            "service": self.service,
            "ok": self.ok,
            "error": self.error,
            "started": iso(self.started),
            "finished": iso(self.finished),
            "seconds": self.seconds,
            "total_steps": self.total_steps,
            "cached_steps": self.cached_steps,
            "cache_ratio": self.cache_ratio,
            "slowest": [step.to_dict() for step in self.slowest()],
            "failing_step": (
                failing.to_dict(log_lines=failure_lines) if failing is not None else None
            ),
            "warnings": list(self.warnings),
            "steps": [step.to_dict() for step in self.steps],
        }
