"""BuildKit's progress: the stream parser, the per-service reports, and the one build runner
that build-fast and bench share."""

from __future__ import annotations

from dockyard.progress.names import VertexName, parse_vertex_name
from dockyard.progress.report import (
    DEFAULT_FAILURE_LINES,
    BuildReport,
    Event,
    LogLine,
    PlainText,
    Step,
    StepFinished,
    StepStarted,
)
from dockyard.progress.stream import (
    DEFAULT_MAX_LOG_LINES,
    RawJsonStream,
    parse_timestamp,
    reports_from_stream,
)

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
