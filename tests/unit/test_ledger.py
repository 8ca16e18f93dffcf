"""The ledger: round trip, two writers at once, a writer killed mid-way, and the faults that
must not fail the work (unwritable place, damaged file, a lock held too long)."""

from __future__ import annotations

import io
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from dockyard import render
from dockyard.ledger import BuildRecord, Ledger, ServiceBuild, fault_of
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


def test_an_unwritable_place_is_one_warning_not_a_failure(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    ledger = Ledger(blocker / "ledger.sqlite3")
    assert ledger.service_builds() == []  # nothing there to read: no fault
    assert ledger.warnings == []
    assert ledger.record(record(1.0)) == 0
    assert ledger.record(record(2.0)) == 0  # the fault is kept, not met again
    (warning,) = ledger.warnings
    # mkdir's own words: "[Errno 17] File exists" here (the parent is a file).
    assert warning.message.startswith(
        f"this build was not recorded in the build ledger at {blocker / 'ledger.sqlite3'}: [Errno "
    )
    assert "DOCKYARD_LEDGER" in warning.hint


def _aside(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".corrupt-*"))


def test_a_file_that_is_not_sqlite_is_set_aside_and_a_new_ledger_started(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    path.write_text("this is not a database\n" * 50, encoding="utf-8")
    (tmp_path / "ledger.sqlite3-wal").write_bytes(b"wal bytes")
    ledger = Ledger(path)
    assert ledger.service_builds() == []
    aside, wal = _aside(path)
    assert re.fullmatch(r"ledger\.sqlite3\.corrupt-\d{8}T\d{6}Z", aside.name), aside.name
    assert wal.name == aside.name + "-wal" and wal.read_bytes() == b"wal bytes"
    assert aside.read_text(encoding="utf-8").startswith("this is not a database")
    build_id = ledger.record(record(4.0))  # into a new ledger
    assert build_id == 1 and [b.seconds for b in Ledger(path).service_builds()] == [4.0]
    (warning,) = ledger.warnings
    assert warning.message == (
        f"the build ledger at {path} was damaged (file is not a database): kept as "
        f"{aside.name}, a new ledger is started"
    )
    assert "kept for inspection" in warning.hint


def test_a_damaged_sqlite_file_is_set_aside_too(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    Ledger(path).record(record(1.0))
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the schema page, past the header
    path.write_bytes(bytes(data))
    ledger = Ledger(path)
    assert ledger.service_builds() == []
    (warning,) = ledger.warnings
    assert "was damaged (database disk image is malformed)" in warning.message
    (aside,) = _aside(path)  # the WAL was checkpointed above: no siblings to move
    assert f"kept as {aside.name}, a new ledger is started" in warning.message
    assert ledger.record(record(2.0)) == 1


HOLDER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
db.execute("INSERT INTO builds (started_at, finished_at, seconds, status, project, services)"
           " VALUES ('', '', 0, 'ok', 'x', '[]')")
print("holding", flush=True)
time.sleep(60)
"""


def test_a_lock_held_past_the_busy_timeout_skips_the_record(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    Ledger(path).record(record(1.0))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        ledger = Ledger(path, busy_timeout=0.3)
        assert [b.seconds for b in ledger.service_builds()] == [1.0]  # readers are not held
        started = time.monotonic()
        assert ledger.record(record(2.0)) == 0
        assert ledger.record(record(3.0)) == 0
        assert time.monotonic() - started < 3  # waited once, not per attempt
    finally:
        holder.kill()
        holder.wait(timeout=30)
    (warning,) = ledger.warnings
    assert warning.message == (
        f"this build was not recorded in the build ledger at {path}: database is locked"
    )
    assert "another process holds the ledger" in warning.hint
    assert [b.seconds for b in Ledger(path).service_builds()] == [1.0]  # nothing half-written


def test_faults_are_told_apart_from_sqlites_own_errors(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "small.sqlite3")
    db.execute("CREATE TABLE t (x)")
    db.execute("PRAGMA max_page_count=2")  # SQLite's own SQLITE_FULL, as on a full disk
    with pytest.raises(sqlite3.OperationalError) as full:
        db.executemany("INSERT INTO t VALUES (?)", [("x" * 4000,)] * 10)
    db.close()
    assert str(full.value) == "database or disk is full" and fault_of(full.value) == "full"
    (tmp_path / "not.sqlite3").write_text("nope" * 100, encoding="utf-8")
    with pytest.raises(sqlite3.DatabaseError) as notadb:
        sqlite3.connect(tmp_path / "not.sqlite3").execute("SELECT * FROM sqlite_master")
    assert fault_of(notadb.value) == "corrupt"
    assert fault_of(OSError(28, "No space left on device")) == "full"
    assert fault_of(OSError(13, "Permission denied")) == "unusable"


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


TEAM = {
    "ref": "127.0.0.1:5000/t/demo/backend:main",
    "imported": ["127.0.0.1:5000/t/demo/backend:main"],
    "export": "inline",
    "pushed": True,
    "push_error": None,
}

# The schema this ledger had before team_cache (dockyard of 2026-11): its files must keep working.
SCHEMA_1 = """
CREATE TABLE builds (id INTEGER PRIMARY KEY AUTOINCREMENT, started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL, seconds REAL NOT NULL, status TEXT NOT NULL, project TEXT NOT NULL,
    services TEXT NOT NULL, git_commit TEXT, no_cache INTEGER NOT NULL DEFAULT 0, error TEXT);
CREATE TABLE service_builds (id INTEGER PRIMARY KEY AUTOINCREMENT,
    build_id INTEGER NOT NULL REFERENCES builds(id), service TEXT NOT NULL, status TEXT NOT NULL,
    seconds REAL, steps_total INTEGER NOT NULL, steps_cached INTEGER NOT NULL, cache_ratio REAL,
    image TEXT, image_id TEXT, image_size INTEGER, base_digest TEXT, context_digest TEXT,
    steps TEXT NOT NULL, reasons TEXT NOT NULL, context TEXT NOT NULL, build_args TEXT NOT NULL,
    error TEXT);
CREATE INDEX service_builds_by_service ON service_builds(service, build_id);
INSERT INTO builds VALUES (1, '2026-11-20T10:00:00+00:00', '2026-11-20T10:00:09+00:00', 9.0,
    'ok', 'demo', '["backend"]', 'old1234', 0, NULL);
INSERT INTO service_builds VALUES (1, 1, 'backend', 'ok', 9.0, 8, 2, 0.25, 'demo/backend:latest',
    'sha256:old', 1, NULL, NULL, '[]', '{}', '{}', '{}', NULL);
PRAGMA user_version=1;
"""


def test_the_team_cache_refs_are_kept_with_the_build(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    with_team = record(2.0)
    with_team.services[0].team_cache = dict(TEAM)
    build_id = ledger.record(with_team)
    plain_id = ledger.record(record(1.0))
    rows = {b.build_id: b for b in ledger.service_builds(project="demo")}
    assert rows[build_id].team_cache == TEAM
    assert rows[plain_id].team_cache is None


def test_a_schema_1_ledger_is_read_as_it_is_and_migrated_on_the_next_write(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA_1)
    ledger = Ledger(path)
    (old,) = ledger.service_builds(project="demo")
    assert (old.build_id, old.git_commit, old.team_cache) == (1, "old1234", None)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 1  # read only
    with_team = record(2.0)
    with_team.services[0].team_cache = dict(TEAM)
    new_id = ledger.record(with_team)
    assert new_id == 2 and not ledger.warnings
    rows = {b.build_id: b for b in ledger.service_builds(project="demo")}
    assert rows[1].team_cache is None and rows[2].team_cache == TEAM
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 2
