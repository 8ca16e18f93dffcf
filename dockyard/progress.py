"""BuildKit `rawjson` progress stream -> events for a live view, then one BuildReport per service.

Compose 2.26 builds through buildx's printer, so `BUILDKIT_PROGRESS=rawjson docker compose build`
writes BuildKit's raw status stream on **stdout** (`docker buildx build --progress=rawjson` writes
it on **stderr**). Each message is one JSON-encoded `client.SolveStatus`:
`{"vertexes": [...], "statuses": [...], "logs": [...], "warnings": [...]}`.

What the parser copes with (all seen in the captures under tests/data/rawjson/):

* BuildKit v0.13 writes indented JSON spanning many lines, later versions one object per line;
  a failed `buildx build` appends plain text (`Dockerfile:3`, a code frame, `ERROR: failed to
  solve: ...`). `json.JSONDecoder.raw_decode` runs in a loop over a buffer; text that is not a
  JSON object is kept as `plain_text` lines.
* A vertex is re-sent on every state change (known, started, completed, cached); states are
  merged by (service, digest), the last message wins.
* Compose prefixes vertex names with the service: `[backend deps 4/5] RUN ...`,
  `[backend 2/3] COPY ...`, `[backend internal] load build context`, `[backend] exporting to
  image`. Identical LLB is deduplicated, so one digest can be reported under two services, and
  its stage and `N/M` may come from the other service's Dockerfile; the service prefix is right.
* `logs[].data` is base64 of raw bytes; a chunk may hold several lines or part of one. Lines are
  decoded as UTF-8 with replacement once complete.
* A vertex can carry an `error` while the build succeeds (importing a `cache_from` image that
  does not exist): success is judged by the exit code the caller passes in.

Nothing here imports python-on-whales or rich: this is pure analysis.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
import re
from collections import deque
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeAlias

__all__ = [
    "DEFAULT_FAILURE_LINES",
    "DEFAULT_MAX_LOG_LINES",
    "BuildReport",
    "Event",
    "LogLine",
    "PlainText",
    "RawJsonStream",
    "Step",
    "StepFinished",
    "StepStarted",
    "VertexName",
    "parse_timestamp",
    "parse_vertex_name",
    "reports_from_stream",
]

DEFAULT_MAX_LOG_LINES = 200
DEFAULT_FAILURE_LINES = 30

_TIMESTAMP = re.compile(
    r"^(?P<base>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d+))?"
    r"(?P<tz>Z|z|[+-]\d{2}:?\d{2})?$"
)
_STEP_COUNTER = re.compile(r"^(\d+)/(\d+)$")
_CACHE_IMPORT = "importing cache manifest"


def parse_timestamp(value: str) -> datetime:
    """Parse a BuildKit RFC 3339 timestamp (nanoseconds, `Z`) on any Python >= 3.10.

    `datetime.fromisoformat` of Python 3.10 rejects both a 9-digit fraction and `Z`: the fraction
    is cut (not rounded) to microseconds and `Z` becomes UTC. A timestamp without zone is UTC.

    >>> parse_timestamp("2026-11-27T15:16:24.906285106Z").isoformat()
    '2026-11-27T15:16:24.906285+00:00'
    """
    match = _TIMESTAMP.match(value.strip())
    if match is None:
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}")
    base = match["base"].replace(" ", "T")
    frac = (match["frac"] or "")[:6].ljust(6, "0")
    tz = match["tz"]
    if tz is None or tz in ("Z", "z"):
        tz = "+00:00"
    elif ":" not in tz:
        tz = f"{tz[:3]}:{tz[3:]}"
    return datetime.fromisoformat(f"{base}.{frac}{tz}")


def _timestamp_or_none(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class VertexName:
    """The parts of a vertex name such as `[backend deps 4/5] RUN pip install ...`.

    `service` is None when the name has no service prefix (plain `docker build`); `stage` is None
    for an unnamed stage; `index`/`total` are None for anything that is not a Dockerfile step
    (`[backend internal] load build context`, `[backend] exporting to image`); `internal` is
    True for BuildKit's `[... internal]` vertices.
    """

    service: str | None
    stage: str | None
    index: int | None
    total: int | None
    instruction: str
    internal: bool = False


def parse_vertex_name(
    name: str, service_names: Collection[str] = (), *, compose: bool | None = None
) -> VertexName:
    """Split a vertex name into service, stage, step `N/M` and instruction.

    `[a N/M] ...` is ambiguous: service `a` with an unnamed stage (Compose), or stage `a`
    without service (plain build). `a` is taken as a service when it is in `service_names`, or
    when `compose` is True; otherwise as a stage. Service names may contain dashes, never spaces,
    so every other form splits on spaces unambiguously.
    """
    known = service_names
    if not name.startswith("["):
        return VertexName(None, None, None, None, name)
    close = name.find("]")
    if close < 0:
        return VertexName(None, None, None, None, name)
    tokens = name[1:close].split()
    instruction = name[close + 1 :].strip()
    if not tokens:
        return VertexName(None, None, None, None, instruction)
    counter = _STEP_COUNTER.match(tokens[-1])
    if counter is not None:
        index, total = int(counter[1]), int(counter[2])
        head = tokens[:-1]
        if not head:
            return VertexName(None, None, index, total, instruction)
        if len(head) == 1:
            if head[0] in known or compose:
                return VertexName(head[0], None, index, total, instruction)
            return VertexName(None, head[0], index, total, instruction)
        return VertexName(head[0], " ".join(head[1:]), index, total, instruction)
    if tokens == ["internal"]:
        return VertexName(None, None, None, None, instruction, internal=True)
    if len(tokens) == 2 and tokens[1] == "internal":
        return VertexName(tokens[0], None, None, None, instruction, internal=True)
    if len(tokens) == 1:
        # `[backend] exporting to image`, `[backend] importing cache manifest from ...`
        return VertexName(tokens[0], None, None, None, instruction)
    return VertexName(None, None, None, None, name)


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
            "started": _iso(self.started),
            "completed": _iso(self.completed),
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
        # A Dockerfile step beats a BuildKit vertex; among equals the one that ended last.
        failed.sort(
            key=lambda step: (
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
            "started": _iso(self.started),
            "finished": _iso(self.finished),
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


@dataclass
class _Vertex:
    """Mutable parser state of one (service, digest)."""

    service: str
    digest: str
    name: str
    parsed: VertexName
    order: int
    started: datetime | None = None
    completed: datetime | None = None
    cached: bool = False
    error: str | None = None
    inputs: tuple[str, ...] = ()

    def snapshot(self, log_tail: tuple[str, ...], *, shared: bool = False) -> Step:
        return Step(
            service=self.service,
            digest=self.digest,
            name=self.name,
            stage=self.parsed.stage,
            index=self.parsed.index,
            total=self.parsed.total,
            instruction=self.parsed.instruction,
            started=self.started,
            completed=self.completed,
            cached=self.cached,
            error=self.error,
            internal=self.parsed.internal,
            log_tail=log_tail,
            shared=shared,
        )


@dataclass
class _Source:
    """One input pipe: its incremental UTF-8 decoder and not yet parsed text."""

    decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace")
    )
    buffer: str = ""
    stalled: bool = False


@dataclass
class _LogBuffer:
    lines: deque[str]
    partial: dict[int, bytes] = field(default_factory=dict)


class RawJsonStream:
    """Incremental parser: `feed()` chunks as they arrive, get events back; `close()` at the end.

    `service_names` helps split `[svc N/M]` from `[stage N/M]`; without it, a name counts as a
    service once seen as `[name internal]` or `[name]` (Compose sends `[svc internal] load build
    definition` first). Vertices without a service prefix belong to `default_service`.
    """

    def __init__(
        self,
        service_names: Iterable[str] = (),
        *,
        default_service: str = "",
        max_log_lines: int = DEFAULT_MAX_LOG_LINES,
    ) -> None:
        self._services: set[str] = set(service_names)
        self._default_service = default_service
        self._max_log_lines = max_log_lines
        self._decoder = json.JSONDecoder()
        self._sources: dict[str, _Source] = {}
        self._vertices: dict[tuple[str, str], _Vertex] = {}
        self._by_digest: dict[str, list[_Vertex]] = {}
        self._logs: dict[str, _LogBuffer] = {}
        self._plain: list[str] = []
        self._warnings: list[tuple[str | None, str]] = []
        self._messages = 0
        self._closed = False

    # -- input -------------------------------------------------------------------------------

    def feed(self, chunk: bytes | str, source: str = "stdout") -> list[Event]:
        """Add the next piece of the stream (any split: bytes, lines, or whole output).

        `source` keeps interleaved pipes apart (python-on-whales' `stream_logs=True` yields
        `(source, line)` pairs): each source is buffered and decoded on its own.
        """
        if self._closed:
            raise ValueError("feed() after close()")
        src = self._sources.get(source)
        if src is None:
            src = self._sources[source] = _Source()
        text = src.decoder.decode(chunk) if isinstance(chunk, bytes) else chunk
        src.buffer += text
        if src.stalled and "}" not in text and "{" not in text:
            return []  # still inside the same unfinished object: no need to decode again
        return self._drain(src, final=False)

    def close(self) -> list[Event]:
        """End of stream: parse what is left, flush partial log lines."""
        if self._closed:
            return []
        events: list[Event] = []
        for src in self._sources.values():
            src.buffer += src.decoder.decode(b"", final=True)
            events.extend(self._drain(src, final=True))
        for digest, buf in self._logs.items():
            for stream, rest in sorted(buf.partial.items()):
                if rest:
                    events.extend(self._add_line(digest, stream, rest))
            buf.partial.clear()
        self._closed = True
        return events

    # -- results -----------------------------------------------------------------------------

    @property
    def plain_text(self) -> list[str]:
        """Lines of the stream that were not JSON (e.g. buildx's `ERROR: failed to solve`)."""
        return list(self._plain)

    @property
    def messages(self) -> int:
        """How many JSON status messages were parsed."""
        return self._messages

    @property
    def services(self) -> list[str]:
        """Services seen in the stream, in order of first appearance."""
        seen: dict[str, None] = {}
        for vertex in sorted(self._vertices.values(), key=lambda v: v.order):
            seen.setdefault(vertex.service, None)
        return list(seen)

    def steps(self, service: str) -> list[Step]:
        """The service's vertices in build order.

        Build order: a vertex comes after its inputs (so `[deps 4/4]` before `[runtime 3/5]
        COPY --from=deps`), otherwise in the order they started (not started ones last). Cached
        steps all "start" within microseconds in arbitrary order, so start time alone would not do.
        """
        vertices = [v for v in self._vertices.values() if v.service == service]
        return [self._snapshot(v) for v in _build_order(vertices)]

    def report(
        self, service: str, returncode: int | None = None, *, stderr: str = ""
    ) -> BuildReport:
        """This service's BuildReport; usable mid-stream (for a live view) and at the end.

        `returncode` is the build command's exit code: 0 makes every service ok; non-zero fails
        the services that have a failing step or did not finish all their vertices (Compose
        exits non-zero for all services when one fails).
        """
        steps = tuple(self.steps(service))
        starts = [s.started for s in steps if s.started is not None]
        ends = [s.completed for s in steps if s.completed is not None]
        ok: bool | None
        error: str | None = None
        if returncode is None:
            ok = None
        elif returncode == 0:
            ok = True
        else:
            finished = bool(steps) and all(s.done for s in steps)
            ok = finished and not any(s.hard_error for s in steps)
        if ok is False:
            error = self._failure_message(steps, returncode, stderr)
        warnings = tuple(text for svc, text in self._warnings if svc in (None, service))
        return BuildReport(
            service=service,
            steps=steps,
            started=min(starts) if starts else None,
            finished=max(ends) if ends else None,
            ok=ok,
            error=error,
            warnings=warnings,
        )

    def reports(self, returncode: int | None = None, *, stderr: str = "") -> dict[str, BuildReport]:
        return {svc: self.report(svc, returncode, stderr=stderr) for svc in self.services}

    # -- internals ---------------------------------------------------------------------------

    def _failure_message(self, steps: tuple[Step, ...], returncode: int | None, stderr: str) -> str:
        failed = [s for s in steps if s.hard_error and s.is_dockerfile_step] or [
            s for s in steps if s.hard_error
        ]
        if failed:
            step = max(
                failed,
                key=lambda s: s.completed or datetime.min.replace(tzinfo=timezone.utc),
            )
            return f"{step.name}: {step.error}"
        for line in [*self._plain, *stderr.splitlines()]:
            if "failed to solve" in line or line.startswith("ERROR"):
                return line.strip()
        return f"build did not finish (exit code {returncode})"

    def _drain(self, src: _Source, *, final: bool) -> list[Event]:
        events: list[Event] = []
        buf = src.buffer
        pos = 0
        size = len(buf)
        src.stalled = False
        while pos < size:
            ch = buf[pos]
            if ch in " \t\r\n":
                pos += 1
                continue
            if ch == "{":
                try:
                    obj, end = self._decoder.raw_decode(buf, pos)
                except json.JSONDecodeError:
                    # Incomplete so far, or not JSON at all. A top-level object always starts
                    # at column 0 (indented and one-line formats alike): when another one
                    # follows, or the stream ended, this line was text.
                    if not final and not _next_object_follows(buf, pos):
                        src.stalled = True
                        break
                    pos = self._take_text_line(buf, pos, events)
                    continue
                pos = end
                if isinstance(obj, dict):
                    self._messages += 1
                    events.extend(self._handle(obj))
                else:
                    self._plain.append(json.dumps(obj))
                continue
            newline = buf.find("\n", pos)
            if newline < 0 and not final:
                break
            pos = self._take_text_line(buf, pos, events)
        src.buffer = buf[pos:]
        return events

    def _take_text_line(self, buf: str, pos: int, events: list[Event]) -> int:
        newline = buf.find("\n", pos)
        end = len(buf) if newline < 0 else newline
        line = buf[pos:end].rstrip("\r")
        self._plain.append(line)
        events.append(PlainText(line))
        return end + 1 if newline >= 0 else end

    def _handle(self, message: Mapping[str, Any]) -> list[Event]:
        events: list[Event] = []
        for raw in message.get("vertexes") or ():
            if isinstance(raw, dict):
                events.extend(self._vertex(raw))
        for raw in message.get("logs") or ():
            if isinstance(raw, dict):
                events.extend(self._log(raw))
        for raw in message.get("warnings") or ():
            if isinstance(raw, dict):
                self._warning(raw)
        return events

    def _vertex(self, raw: Mapping[str, Any]) -> list[Event]:
        digest = str(raw.get("digest") or "")
        name = str(raw.get("name") or "")
        if not digest:
            return []
        parsed = parse_vertex_name(name, self._services)
        if parsed.service is not None and (
            parsed.internal or parsed.index is None or parsed.stage is not None
        ):
            self._services.add(parsed.service)
        service = parsed.service if parsed.service is not None else self._default_service
        key = (service, digest)
        vertex = self._vertices.get(key)
        if vertex is None:
            vertex = _Vertex(service, digest, name, parsed, order=len(self._vertices))
            self._vertices[key] = vertex
            self._by_digest.setdefault(digest, []).append(vertex)
        was_running = vertex.started is not None and vertex.completed is None
        before = (vertex.completed, vertex.cached, vertex.error)
        vertex.name, vertex.parsed = name, parsed
        inputs = raw.get("inputs")
        if isinstance(inputs, list) and inputs:
            vertex.inputs = tuple(str(i) for i in inputs)
        vertex.started = _timestamp_or_none(raw.get("started"))
        vertex.completed = _timestamp_or_none(raw.get("completed"))
        vertex.cached = bool(raw.get("cached"))
        error = raw.get("error")
        vertex.error = str(error) if error else None
        events: list[Event] = []
        if vertex.completed is not None:
            if before != (vertex.completed, vertex.cached, vertex.error):
                events.extend(self._flush_partial(digest))
                events.append(StepFinished(service, self._snapshot(vertex)))
        elif vertex.started is not None and not was_running:
            events.append(StepStarted(service, self._snapshot(vertex)))
        return events

    def _log(self, raw: Mapping[str, Any]) -> list[Event]:
        digest = str(raw.get("vertex") or "")
        try:
            stream = int(raw.get("stream") or 1)
        except (TypeError, ValueError):
            stream = 1
        try:
            data = base64.b64decode(str(raw.get("data") or ""), validate=False)
        except (binascii.Error, ValueError):
            return []
        buf = self._log_buffer(digest)
        pending = buf.partial.pop(stream, b"") + data
        *complete, rest = pending.split(b"\n")
        if rest:
            buf.partial[stream] = rest
        events: list[Event] = []
        for line in complete:
            events.extend(self._add_line(digest, stream, line))
        return events

    def _flush_partial(self, digest: str) -> list[Event]:
        buf = self._logs.get(digest)
        if buf is None or not buf.partial:
            return []
        events: list[Event] = []
        for stream, rest in sorted(buf.partial.items()):
            events.extend(self._add_line(digest, stream, rest))
        buf.partial.clear()
        return events

    def _add_line(self, digest: str, stream: int, raw_line: bytes) -> list[Event]:
        text = raw_line.decode("utf-8", errors="replace").rstrip("\r")
        # A progress bar redraws with \r: keep what the terminal would finally show.
        if "\r" in text:
            text = text.rsplit("\r", 1)[-1]
        self._log_buffer(digest).lines.append(text)
        services = [v.service for v in self._by_digest.get(digest, [])]
        return [LogLine(svc, digest, stream, text) for svc in services]

    def _log_buffer(self, digest: str) -> _LogBuffer:
        buf = self._logs.get(digest)
        if buf is None:
            buf = _LogBuffer(deque(maxlen=self._max_log_lines))
            self._logs[digest] = buf
        return buf

    def _snapshot(self, vertex: _Vertex) -> Step:
        shared = len(self._by_digest.get(vertex.digest, ())) > 1
        return vertex.snapshot(self._tail(vertex.digest), shared=shared)

    def _tail(self, digest: str) -> tuple[str, ...]:
        buf = self._logs.get(digest)
        return tuple(buf.lines) if buf is not None else ()

    def _warning(self, raw: Mapping[str, Any]) -> None:
        short = raw.get("short")
        text = ""
        if isinstance(short, str):
            try:
                text = base64.b64decode(short).decode("utf-8", errors="replace").strip()
            except (binascii.Error, ValueError):
                text = short
        if not text:
            return
        digest = str(raw.get("vertex") or "")
        owners = {v.service for v in self._by_digest.get(digest, [])}
        if not owners:
            self._warnings.append((None, text))
        for service in sorted(owners):
            self._warnings.append((service, text))


def _build_order(vertices: list[_Vertex]) -> list[_Vertex]:
    """Topological order over `inputs`, ties broken by start time, then first appearance."""
    far = datetime.max.replace(tzinfo=timezone.utc)

    def rank(v: _Vertex) -> tuple[datetime, int, int]:
        return (v.started or far, v.parsed.index or 0, v.order)

    by_digest = {v.digest: v for v in vertices}
    waiting = {
        v.digest: {i for i in v.inputs if i in by_digest and i != v.digest} for v in vertices
    }
    ordered: list[_Vertex] = []
    remaining = sorted(vertices, key=rank)
    placed: set[str] = set()
    while remaining:
        ready = next((v for v in remaining if waiting[v.digest] <= placed), remaining[0])
        ordered.append(ready)
        placed.add(ready.digest)
        remaining.remove(ready)
    return ordered


def _next_object_follows(buf: str, pos: int) -> bool:
    return buf.find("\n{", pos) >= 0


def reports_from_stream(
    data: bytes | str | Iterable[bytes | str],
    *,
    returncode: int | None = None,
    service_names: Iterable[str] = (),
    default_service: str = "",
    stderr: bytes | str = "",
    max_log_lines: int = DEFAULT_MAX_LOG_LINES,
) -> dict[str, BuildReport]:
    """Parse a whole captured stream (or an iterable of chunks) into one report per service.

    `stderr` is the build command's other output (Compose prints `failed to solve: ...` there);
    it is only used for the error message of a failed service without a failing step.
    """
    parser = RawJsonStream(
        service_names, default_service=default_service, max_log_lines=max_log_lines
    )
    chunks: Iterable[bytes | str] = [data] if isinstance(data, bytes | str) else data
    for chunk in chunks:
        parser.feed(chunk)
    parser.close()
    err = stderr.decode("utf-8", errors="replace") if isinstance(stderr, bytes) else stderr
    return parser.reports(returncode, stderr=err)
