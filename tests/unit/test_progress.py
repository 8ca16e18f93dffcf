"""The rawjson parser against real streams captured from Docker 26.1 / buildx 0.13 / Compose 2.26.

The captures and how they were made: tests/data/rawjson/README.md. Nothing here is invented;
the one-object-per-line variant (BuildKit >= 0.14) is the real capture re-serialised.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from dockyard.progress import (
    BuildReport,
    LogLine,
    PlainText,
    RawJsonStream,
    StepFinished,
    StepStarted,
    parse_timestamp,
    parse_vertex_name,
    reports_from_stream,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "rawjson"


def capture(name: str) -> bytes:
    return (DATA / name).read_bytes()


def returncode(name: str) -> int:
    return int((DATA / name).with_suffix(".rc").read_text())


def reports(name: str) -> dict[str, BuildReport]:
    stderr_file = (DATA / name).with_suffix(".err")
    stderr = stderr_file.read_bytes() if name.endswith(".out") and stderr_file.exists() else b""
    return reports_from_stream(capture(name), returncode=returncode(name), stderr=stderr)


def json_objects(data: bytes) -> list[object]:
    text = data.decode("utf-8")
    decoder = json.JSONDecoder()
    pos = 0
    out: list[object] = []
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text) or text[pos] != "{":
            return out
        obj, pos = decoder.raw_decode(text, pos)
        out.append(obj)


def summary(result: dict[str, BuildReport]) -> dict[str, object]:
    return {svc: rep.to_dict() for svc, rep in result.items()}


def ran(report: BuildReport) -> list[str]:
    return [s.instruction for s in report.dockerfile_steps if not s.cached and not s.is_from]


# -- timestamps ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # as BuildKit writes them: 9, 8 and fewer fraction digits, always Z
        (
            "2026-11-27T15:16:24.906285106Z",
            datetime(2026, 11, 27, 15, 16, 24, 906285, tzinfo=timezone.utc),
        ),
        (
            "2026-11-27T15:16:30.19096935Z",
            datetime(2026, 11, 27, 15, 16, 30, 190969, tzinfo=timezone.utc),
        ),
        ("2026-11-27T15:16:30.5Z", datetime(2026, 11, 27, 15, 16, 30, 500000, tzinfo=timezone.utc)),
        ("2026-11-27T15:16:30Z", datetime(2026, 11, 27, 15, 16, 30, tzinfo=timezone.utc)),
        (
            "2026-11-27T16:16:30.000000001+01:00",
            datetime(2026, 11, 27, 15, 16, 30, tzinfo=timezone.utc),
        ),
    ],
)
def test_parse_timestamp(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


def test_parse_timestamp_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="RFC 3339"):
        parse_timestamp("yesterday")


def test_every_timestamp_in_the_captures_parses() -> None:
    count = 0
    for path in sorted(DATA.glob("*.out")) + sorted(DATA.glob("*.err")):
        for obj in json_objects(path.read_bytes()):
            assert isinstance(obj, dict)
            for vertex in obj.get("vertexes", []):
                for key in ("started", "completed"):
                    if key in vertex:
                        assert parse_timestamp(vertex[key]).tzinfo is not None
                        count += 1
    assert count > 100


# -- vertex names (strings as they appear in the captures) -----------------------------------


@pytest.mark.parametrize(
    ("name", "services", "expected"),
    [
        (
            "[backend deps 3/4] COPY requirements.txt ./",
            (),
            ("backend", "deps", 3, 4, "COPY requirements.txt ./", False),
        ),
        (
            "[worker 2/3] COPY worker.py /w/",
            ("worker",),
            ("worker", None, 2, 3, "COPY worker.py /w/", False),
        ),
        # without the hint, `[x N/M]` is a plain build's stage
        (
            "[worker 2/3] COPY worker.py /w/",
            (),
            (None, "worker", 2, 3, "COPY worker.py /w/", False),
        ),
        (
            "[backend internal] load build context",
            (),
            ("backend", None, None, None, "load build context", True),
        ),
        (
            "[backend] importing cache manifest from dockyard-nonexistent/never-built:latest",
            (),
            (
                "backend",
                None,
                None,
                None,
                "importing cache manifest from dockyard-nonexistent/never-built:latest",
                False,
            ),
        ),
        (
            "[backend] exporting to image",
            (),
            ("backend", None, None, None, "exporting to image", False),
        ),
        ("[internal] load .dockerignore", (), (None, None, None, None, "load .dockerignore", True)),
        ("[2/3] COPY worker.py /w/", (), (None, None, 2, 3, "COPY worker.py /w/", False)),
        ("exporting to image", (), (None, None, None, None, "exporting to image", False)),
        # service names may contain dashes
        (
            "[article-api deps 1/4] FROM docker.io/dockyard-local/python:3.11-slim",
            ("article-api",),
            (
                "article-api",
                "deps",
                1,
                4,
                "FROM docker.io/dockyard-local/python:3.11-slim",
                False,
            ),
        ),
    ],
)
def test_parse_vertex_name(
    name: str, services: tuple[str, ...], expected: tuple[object, ...]
) -> None:
    parsed = parse_vertex_name(name, services)
    assert (
        parsed.service,
        parsed.stage,
        parsed.index,
        parsed.total,
        parsed.instruction,
        parsed.internal,
    ) == expected


# -- whole captures ---------------------------------------------------------------------------


def test_cold_compose_build() -> None:
    result = reports("compose_cold.out")
    assert list(result) == ["backend", "worker"]
    backend = result["backend"]
    assert backend.ok is True
    assert backend.error is None
    assert backend.failing_step is None
    assert [(s.stage, s.index) for s in backend.dockerfile_steps] == [
        ("deps", 1),
        ("deps", 2),
        ("deps", 3),
        ("deps", 4),
        ("runtime", 2),
        ("runtime", 3),
        ("runtime", 4),
        ("runtime", 5),
    ]
    assert ran(backend) == [
        "COPY requirements.txt ./",
        next(s.instruction for s in backend.steps if s.index == 4 and s.stage == "deps"),
        "COPY --from=deps /deps/requirements.txt ./",
        "COPY app ./app",
        backend.dockerfile_steps[-1].instruction,
    ]
    deps_run = next(s for s in backend.steps if s.stage == "deps" and s.index == 4)
    assert deps_run.instruction.startswith("RUN echo")
    # stdout and stderr interleave in arrival order; here stderr came first
    assert deps_run.log_tail[0] == "a warning on stderr"
    assert deps_run.log_tail[1].startswith("token ")
    assert deps_run.log_tail[2:] == tuple(f"installing package {i}" for i in (1, 2, 3))
    assert deps_run.seconds is not None and deps_run.seconds > 0.1
    assert backend.slowest(2)[0].instruction.startswith("RUN")
    assert backend.seconds is not None and 0 < backend.seconds < 60
    # The missing cache_from image errors a vertex, yet the build succeeded (exit code 0).
    importing = [s for s in backend.steps if s.is_cache_import]
    assert len(importing) == 1 and importing[0].error
    assert "registry cache importer" in importing[0].error

    worker = result["worker"]
    assert worker.ok is True
    assert worker.total_steps == 3
    assert worker.cache_ratio == 0.0
    assert [s.instruction for s in worker.steps if s.index is None] == [
        "load build definition from Dockerfile",
        "load metadata for docker.io/dockyard-local/python:3.11-slim",
        "load .dockerignore",
        "load build context",
        "exporting to image",
    ]


def test_shared_from_vertex_is_reported_under_both_services() -> None:
    """The base image's FROM (one digest) carries backend's stage and N/M in worker too."""
    result = reports("compose_cold.out")
    backend_from = next(s for s in result["backend"].steps if s.is_from)
    worker_from = next(s for s in result["worker"].steps if s.is_from)
    assert backend_from.digest == worker_from.digest
    assert backend_from.shared and worker_from.shared
    assert worker_from.name.startswith("[worker deps 1/4] FROM ")
    # The other shared vertex: both services resolve the same base image metadata.
    assert [s.instruction for s in result["worker"].steps if s.shared and not s.is_from] == [
        "load metadata for docker.io/dockyard-local/python:3.11-slim"
    ]


def test_fully_cached_rebuild() -> None:
    result = reports("compose_cached.out")
    for report in result.values():
        assert report.ok is True
        assert report.cache_ratio == 1.0
        assert report.slowest() == []
        assert ran(report) == []
    assert result["backend"].cached_steps == 7  # all but FROM, reported not cached here
    assert result["backend"].total_steps == 8


def test_code_only_edit_reruns_the_copy_and_what_follows() -> None:
    result = reports("compose_code_edit.out")
    backend = result["backend"]
    assert ran(backend) == ["COPY app ./app", backend.dockerfile_steps[-1].instruction]
    assert backend.cache_ratio == pytest.approx(5 / 7)
    assert result["worker"].cache_ratio == 1.0


def test_failed_compose_build() -> None:
    assert returncode("compose_fail.out") == 17  # Compose's code, not the RUN's 7
    result = reports("compose_fail.out")
    backend = result["backend"]
    assert backend.ok is False
    step = backend.failing_step
    assert step is not None
    assert (step.stage, step.index, step.total) == ("runtime", 6, 6)
    assert step.error is not None and step.error.endswith("exit code: 7")
    assert backend.error is not None and backend.error.startswith("[backend runtime 6/6] RUN")
    tail = backend.failure_log()
    assert len(tail) == 30
    assert tail[-1] == "log line 40"
    # BuildKit reads stdout and stderr separately: the stderr line written after line 40 arrived
    # (and is timestamped) between lines 6 and 7. The tail keeps arrival order.
    assert step.log_tail[:9] == (
        step.log_tail[0],
        *(f"log line {i}" for i in range(1, 7)),
        "about to fail",
        "log line 7",
    )
    assert len(step.log_tail) == 42  # token + 40 lines + the stderr line, all kept (<= 200)
    # The other service finished (exported its image) and is not blamed.
    assert result["worker"].ok is True
    assert result["worker"].failing_step is None
    failing = backend.to_dict()["failing_step"]
    assert failing["log_tail"] == tail


def test_failure_log_respects_max_log_lines() -> None:
    result = reports_from_stream(capture("compose_fail.out"), returncode=17, max_log_lines=10)
    tail = result["backend"].failure_log()
    assert tail == [f"log line {i}" for i in range(31, 41)]


def test_non_utf8_and_non_cp1252_output_is_decoded_with_replacement() -> None:
    result = reports("compose_encoding.out")
    step = result["backend"].dockerfile_steps[-1]
    assert step.log_tail[:2] == ("bad byte: \ufffd end", "euro: \u20ac check: \u2713")


def test_plain_buildx_build_has_no_service_prefix() -> None:
    result = reports("buildx_plain.err")
    assert list(result) == [""]
    report = result[""]
    assert report.ok is True
    assert [(s.stage, s.index, s.total) for s in report.dockerfile_steps] == [
        (None, 1, 3),
        (None, 2, 3),
        (None, 3, 3),
    ]
    named = reports_from_stream(capture("buildx_plain.err"), default_service="worker")
    assert list(named) == ["worker"]
    assert named["worker"].ok is None  # no exit code given: outcome unknown


def test_failed_buildx_build_appends_plain_text() -> None:
    parser = RawJsonStream()
    events = parser.feed(capture("buildx_plain_fail.err")) + parser.close()
    text = parser.plain_text
    assert text[0] == "Dockerfile:2"
    assert text[-1].startswith("ERROR: failed to solve: process ")
    assert [e.text for e in events if isinstance(e, PlainText)] == text
    report = parser.report("", returncode("buildx_plain_fail.err"))
    assert report.ok is False
    assert report.failing_step is not None
    # A log chunk without newline is joined with the next chunk into one line.
    first, second = report.failure_log()
    assert first.startswith("token ")
    assert second == "partial line without newline ...then the rest"


def test_unfinished_service_of_a_failed_build_takes_the_message_from_stderr() -> None:
    """A service cut off mid-build (Compose cancels the others when one fails) is not ok."""
    parser = RawJsonStream()
    stderr = (DATA / "compose_fail.err").read_text()
    for line in capture("compose_fail.out").splitlines(keepends=True):
        parser.feed(line)
        cut = [r for r in parser.reports(17, stderr=stderr).values() if r.running_steps]
        if cut and all(r.failing_step is None for r in cut):
            break
    assert cut
    for report in cut:
        assert report.ok is False
        assert report.error is not None and report.error.startswith("failed to solve: process")


# -- incremental parsing ----------------------------------------------------------------------

ALL = [
    "compose_cold.out",
    "compose_cached.out",
    "compose_code_edit.out",
    "compose_fail.out",
    "compose_encoding.out",
    "buildx_plain.err",
    "buildx_plain_fail.err",
]


@pytest.mark.parametrize("name", ALL)
def test_any_chunking_gives_the_same_reports(name: str) -> None:
    data = capture(name)
    whole = summary(reports_from_stream(data, returncode=returncode(name)))
    by_line = data.splitlines(keepends=True)
    tiny = [data[i : i + 7] for i in range(0, len(data), 7)]
    text_lines = data.decode("utf-8").splitlines(keepends=True)
    for chunks in (by_line, tiny, text_lines):
        assert summary(reports_from_stream(chunks, returncode=returncode(name))) == whole


def test_byte_by_byte_feed_keeps_multibyte_characters() -> None:
    parser = RawJsonStream()
    data = capture("compose_encoding.out")
    for i in range(len(data)):
        parser.feed(data[i : i + 1])
    parser.close()
    assert "euro: \u20ac check: \u2713" in parser.report("backend").dockerfile_steps[-1].log_tail


@pytest.mark.parametrize("name", ALL)
def test_one_object_per_line_format(name: str) -> None:
    """BuildKit >= 0.14 writes each message on one line: the same messages, compacted."""
    data = capture(name)
    compact = "".join(json.dumps(obj, separators=(",", ":")) + "\n" for obj in json_objects(data))
    tail = data.decode("utf-8")[len(data.decode("utf-8").rstrip()) :]
    assert tail.strip() == ""
    whole = reports_from_stream(data, returncode=returncode(name))
    lines = reports_from_stream(compact.encode(), returncode=returncode(name))
    assert summary(lines) == summary(whole)


def test_events_for_a_live_view() -> None:
    parser = RawJsonStream(["backend", "worker"])
    events = []
    for line in capture("compose_cold.out").splitlines(keepends=True):
        events.extend(parser.feed(line))
    events.extend(parser.close())
    started = [e for e in events if isinstance(e, StepStarted)]
    finished = [e for e in events if isinstance(e, StepFinished)]
    logs = [e for e in events if isinstance(e, LogLine)]
    assert not [e for e in events if isinstance(e, PlainText)]
    # every step that ran was started before it finished
    for event in finished:
        if not event.cached and event.step.is_dockerfile_step and not event.step.is_from:
            first_start = next(
                i
                for i, e in enumerate(events)
                if isinstance(e, StepStarted)
                and e.step.digest == event.step.digest
                and e.service == event.service
            )
            assert first_start < events.index(event)
    cached = {
        (e.service, e.step.stage, e.step.index) for e in finished if e.cached and e.step.index
    }
    assert ("backend", "deps", 2) in cached and ("backend", "runtime", 2) in cached
    assert {e.service for e in started} == {"backend", "worker"}
    assert ("worker", "worker ready") in {(e.service, e.text.rsplit(" ", 1)[0]) for e in logs}
    deps_run = [e for e in logs if e.service == "backend" and e.text.startswith("installing")]
    assert [e.text for e in deps_run] == [f"installing package {i}" for i in (1, 2, 3)]
    assert {e.stream for e in logs if e.text == "a warning on stderr"} == {2}


def test_report_mid_stream_shows_the_running_step() -> None:
    parser = RawJsonStream()
    data = capture("compose_cold.out")
    seen_running = False
    for line in data.splitlines(keepends=True):
        parser.feed(line)
        backend = parser.report("backend")
        assert backend.ok is None
        for step in backend.running_steps:
            seen_running = True
            assert step.completed is None and step.started is not None
            later = step.started + timedelta(seconds=2)
            assert step.elapsed(later) == pytest.approx(2.0)
            assert backend.done_steps <= backend.total_steps
    assert seen_running
    parser.close()
    assert parser.report("backend").done_steps == parser.report("backend").total_steps == 8


def test_to_dict_is_json() -> None:
    for name in ALL:
        assert json.loads(json.dumps(summary(reports(name))))
    data = reports("compose_cold.out")["backend"].to_dict()
    assert data["ok"] is True
    assert data["total_steps"] == 8
    assert data["started"].endswith("+00:00")
    assert all("log_tail" not in step for step in data["steps"])


def test_feed_after_close_is_an_error() -> None:
    parser = RawJsonStream()
    parser.close()
    with pytest.raises(ValueError, match="after close"):
        parser.feed(b"{}")


def test_interleaved_stdout_and_stderr_like_python_on_whales() -> None:
    """`compose.build(stream_logs=True)` yields (source, line) pairs from both pipes."""
    stdout = capture("compose_fail.out").splitlines(keepends=True)
    stderr = (DATA / "compose_fail.err").read_bytes()
    parser = RawJsonStream()
    half = len(stdout) // 2
    for line in stdout[:half]:
        parser.feed(line, "stdout")
    parser.feed(stderr, "stderr")  # lands in the middle of an indented JSON object
    for line in stdout[half:]:
        parser.feed(line, "stdout")
    parser.close()
    assert parser.plain_text == [stderr.decode().strip()]
    expected = reports("compose_fail.out")
    got = parser.reports(17)
    assert {k: v.to_dict() for k, v in got.items()} == summary(expected)
