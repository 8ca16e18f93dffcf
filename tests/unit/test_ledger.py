"""The ledger: round trip, two writers at once, a writer killed mid-way, an unwritable place."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from dockyard import render
from dockyard.ledger import BuildRecord, Ledger, LedgerError, ServiceBuild
from dockyard.render import timing as render_timing
from dockyard.timings import compare, history

REPO = Path(__file__).resolve().parents[2]


def record(seconds: float, status: str = "ok", service: str = "backend") -> BuildRecord:
    return BuildRecord(
        started_at="2026-11-27T17:40:12+00:00",
        finished_at="2026-11-27T17:40:20+00:00",
        seconds=seconds,
        status=status,
        project="demo",
        services=[
            ServiceBuild(
                service=service,
                status=status,
                seconds=seconds,
                steps_total=8,
                steps_cached=6,
                cache_ratio=0.75,
                image="demo/backend:latest",
                image_id="sha256:abc",
                image_size=220_800_000,
                steps=[{"stage": "deps", "instruction": "RUN uv pip install", "cached": True}],
                reasons={"[runtime] COPY app/ ./app/": "`COPY app/ ./app/` re-ran because ..."},
                context={
                    "digest": "sha256:1",
                    "files": {"app/main.py": [10, 1, "ab", 420, 3, None]},
                },
                build_args={"PYTHON_IMAGE": "python:3.11-slim"},
            )
        ],
        git_commit="abc1234",
    )


def test_round_trip(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "state" / "ledger.sqlite3")
    first = ledger.record(record(12.5))
    second = ledger.record(record(3.0))
    assert second > first
    latest = ledger.service_builds(services=["backend"], project="demo", last=1)[0]
    assert (latest.build_id, latest.seconds, latest.git_commit) == (second, 3.0, "abc1234")
    assert latest.steps[0]["instruction"] == "RUN uv pip install"
    assert latest.context == {}  # fingerprints only when asked for
    previous = ledger.previous_ok("backend", "demo")
    assert previous is not None and previous.context["digest"] == "sha256:1"
    assert ledger.service_builds(project="other") == []


def test_reading_a_missing_ledger_creates_nothing(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "nope" / "ledger.sqlite3")
    assert ledger.service_builds() == []
    assert not (tmp_path / "nope").exists()


def test_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    ledger = Ledger(blocker / "ledger.sqlite3")
    with pytest.raises(LedgerError) as caught:
        ledger.check_writable()
    assert "cannot use the build ledger" in caught.value.message
    assert "DOCKYARD_LEDGER" in caught.value.hint


WRITER = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from unit.test_ledger import record
from dockyard.ledger import Ledger
ledger = Ledger(Path(sys.argv[1]))
print("ready", flush=True)
for i in range(int(sys.argv[2])):
    ledger.record(record(float(i), service=sys.argv[3]))
"""


def _writer(path: Path, count: int, service: str) -> subprocess.Popen[str]:
    code = WRITER.format(tests=str(REPO / "tests"))
    return subprocess.Popen(
        [sys.executable, "-c", code, str(path), str(count), service],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_two_writers_at_once(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    writers = [_writer(path, 40, "a"), _writer(path, 40, "b")]
    for writer in writers:
        assert writer.wait(timeout=120) == 0
    ledger = Ledger(path)
    assert len(ledger.service_builds(services=["a"], last=1000)) == 40
    assert len(ledger.service_builds(services=["b"], last=1000)) == 40


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX")
def test_writer_killed_mid_way_leaves_a_readable_ledger(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    writer = _writer(path, 100_000, "killed")
    assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
    time.sleep(1.0)
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    builds = Ledger(path).service_builds(services=["killed"], last=1_000_000)
    assert builds, "some builds were committed before the kill"
    # Every build that is there is whole: its service row came with it, in one transaction.
    assert all(b.steps and b.image_id == "sha256:abc" for b in builds)


def text_of(con: Console) -> str:
    value = con.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in value.splitlines())


def test_timing_renderers_exact_text(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    for seconds, status in ((12.0, "ok"), (4.0, "failed"), (3.0, "ok"), (6.0, "ok")):
        ledger.record(record(seconds, status))
    con = render.make_console(file=io.StringIO(), width=100, color_system=None)
    (comparison,) = compare(ledger, "demo", 4, ["backend"])
    assert comparison.median_seconds == 7.5 and comparison.change == -1.5
    con.print(render_timing.comparison_table([comparison]))
    builds = history(ledger, "demo", last=3)
    con.print(render_timing.history_table(builds))
    render_timing.trend_chart(con, builds, width=10)
    assert (
        text_of(con)
        == """\
Against earlier builds
┏━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┳━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
┃ service ┃ this build ┃ median before ┃ change ┃ earlier builds (newest first) ┃
┡━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━━━╇━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩
│ backend │       6.0s │          7.5s │  -1.5s │ 3.0s, 12.0s                   │
└─────────┴────────────┴───────────────┴────────┴───────────────────────────────┘
Build history (oldest first)
┏━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━┳━━━━━━┳━━━━━━━━━┳━━━━━━━━━━┓
┃ build ┃ when (UTC)  ┃ commit  ┃ service ┃ status ┃ time ┃  cached ┃     size ┃
┡━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━╇━━━━━━╇━━━━━━━━━╇━━━━━━━━━━┩
│    #2 │ 11-27 17:40 │ abc1234 │ backend │ failed │ 4.0s │ 6/8 75% │ 220.8 MB │
│    #3 │ 11-27 17:40 │ abc1234 │ backend │ ok     │ 3.0s │ 6/8 75% │ 220.8 MB │
│    #4 │ 11-27 17:40 │ abc1234 │ backend │ ok     │ 6.0s │ 6/8 75% │ 220.8 MB │
└───────┴─────────────┴─────────┴─────────┴────────┴──────┴─────────┴──────────┘
backend: seconds per build, cache ratio
#2  ███████      4.0s  75%
#3  █████        3.0s  75%
#4  ██████████   6.0s  75%"""
    )
