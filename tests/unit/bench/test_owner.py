"""A run id names its owner; whether that process still runs is asked of the real processes of
this machine (this test's own process, a child that has exited)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from dockyard.bench.owner import (
    describe_state,
    host_key,
    new_run_id,
    owner_of,
    process_started,
    run_state,
)


def ended_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_run_id_names_when_where_and_which_process() -> None:
    now = datetime(2026, 12, 1, 11, 53, 30, 700_000, tzinfo=timezone.utc)
    run_id = new_run_id(now, pid=4711)
    day, time, host, pid, nonce = run_id.split("-")
    assert (day, time, host, pid, len(nonce)) == ("20261201", "115330", host_key(), "4711", 4)
    owner = owner_of(run_id)
    assert owner is not None
    assert (owner.host, owner.pid) == (host_key(), 4711)
    assert owner.started == now.replace(microsecond=0)
    assert new_run_id(now, pid=4711) != run_id  # two runs of one second still differ
    assert owner_of("20261127-184820-ad54") is None  # an older dockyard's: no owner


def test_this_process_is_running_and_an_ended_one_is_gone() -> None:
    assert run_state(new_run_id()) == "running"
    gone = ended_pid()
    assert process_started(gone) is None
    assert run_state(new_run_id(pid=gone)) == "gone"


def test_a_pid_used_again_after_the_run_started_is_not_its_owner() -> None:
    # this process exists, but a run stamped a minute before it started was another's
    started = process_started(os.getpid())
    assert started is not None
    before = datetime.fromtimestamp(started, timezone.utc) - timedelta(minutes=1)
    assert run_state(new_run_id(before)) == "gone"
    assert run_state(new_run_id(before + timedelta(minutes=1))) == "running"


def test_runs_of_other_machines_and_older_dockyards_are_never_judged() -> None:
    other_host = "ffffffff" if host_key() != "ffffffff" else "00000000"
    run_id = f"20261201-115330-{other_host}-{ended_pid()}-ab12"
    assert run_state(run_id) == "unknown"
    assert "another machine" in describe_state(run_id, "unknown")
    assert run_state("20261127-184820-ad54") == "unknown"
    assert "older dockyard" in describe_state("20261127-184820-ad54", "unknown")
    assert describe_state(new_run_id(pid=42), "running") == "still running (pid 42 on this machine)"
