"""BuildKit's `rawjson` progress stream, parsed incrementally into events and BuildReports.

Each message is one JSON `client.SolveStatus` (`vertexes`, `statuses`, `logs`, `warnings`).
What the parser copes with, all seen in the captures under tests/data/rawjson/ (their README
says more): indented JSON spanning lines (BuildKit v0.13) or one object per line; plain text
after the JSON when a build fails; vertices re-sent on every state change (merged by service
and digest, last wins); one digest under two services (identical LLB is shared); base64 log
chunks holding partial lines; a vertex `error` while the build succeeds (a missing cache_from
image) — success is decided by the exit code the caller passes in.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from dockyard.progress.names import VertexName, parse_vertex_name
from dockyard.progress.report import (
    BuildReport,
    Event,
    LogLine,
    PlainText,
    Step,
    StepFinished,
    StepStarted,
)

DEFAULT_MAX_LOG_LINES = 200

_TIMESTAMP = re.compile(
    r"^(?P<base>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d+))?"
    r"(?P<tz>Z|z|[+-]\d{2}:?\d{2})?$"
)


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
        # Layer blobs transferred, per vertex (`statuses` with id `sha256:<blob>` on the
        # containerd store, `pulling sha256:<blob>` on the classic one), with their size when
        # the status says it: a cached step's layer pulled came from a remote (team) cache.
        self._blobs: dict[str, dict[str, int | None]] = {}
        # Bytes of build context sent, per `load build context` vertex (its last `current`).
        self._context: dict[str, int] = {}
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

    def blobs_pulled(self, vertices: Iterable[str]) -> dict[str, int | None]:
        """The layer blobs these vertices transferred, each with its size (None: not said)."""
        found: dict[str, int | None] = {}
        for vertex in vertices:
            for blob, size in self._blobs.get(vertex, {}).items():
                found[blob] = size if size is not None else found.get(blob)
        return found

    def context_bytes(self, service: str) -> int | None:
        """Bytes of build context the client sent for `service` (None: the stream did not say)."""
        sent = [
            self._context[v.digest]
            for v in self._vertices.values()
            if v.service == service and v.digest in self._context
        ]
        return sum(sent) if sent else None

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
        for raw in message.get("statuses") or ():
            if not isinstance(raw, dict):
                continue
            status_id, vertex = str(raw.get("id") or ""), str(raw.get("vertex") or "")
            blob = status_id.removeprefix("pulling ")
            if blob.startswith("sha256:") and " " not in blob:
                total = raw.get("total")
                sizes = self._blobs.setdefault(vertex, {})
                if isinstance(total, int) or blob not in sizes:
                    sizes[blob] = total if isinstance(total, int) else sizes.get(blob)
            elif status_id.startswith("transferring context") and isinstance(
                raw.get("current"), int
            ):
                self._context[vertex] = max(self._context.get(vertex, 0), int(raw["current"]))
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
        error = raw.get("error")
        # A step that came from a registry cache is reported cached, then again without
        # `cached` while BuildKit pulls its layers lazily (at export): it stays cached.
        vertex.cached = bool(raw.get("cached")) or (vertex.cached and not error)
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
