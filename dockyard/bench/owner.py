"""Who made a benchmark run, written into its run id, and whether that process still runs.

A run id is `<UTC start, YYYYMMDD-HHMMSS>-<host key>-<pid>-<4 hex>`. Every name a run gives to
the engine carries it (image tags, the image label, cache-mount ids), so whoever finds a
leftover can tell its owner: the host key names the machine and, on Linux, the pid namespace
(pids of two containers on one host are not comparable), and the owner still runs when a
process with that pid exists there and started no later than the run (a pid used again later,
or a reboot, gives a process that started after it).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

import psutil

# `psutil.Process.create_time()` is computed from the boot time, which Linux gives in whole
# seconds; the stamp is cut to whole seconds too.
_SLACK_SECONDS = 2.0

RUN_ID = re.compile(
    r"(?P<stamp>\d{8}-\d{6})-(?P<host>[0-9a-f]{8})-(?P<pid>\d{1,10})-(?P<nonce>[0-9a-f]{4})"
)
# Run ids of dockyard before its runs carried their owner: `<stamp>-<4 hex>`.
OLD_RUN_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{4}")
ANY_RUN_ID = re.compile(f"{RUN_ID.pattern}|{OLD_RUN_ID.pattern}")

RunState = Literal["running", "gone", "unknown"]


def host_key() -> str:
    """8 hex digits for this machine (its host name) and, where there is one, pid namespace."""
    parts = [socket.gethostname()]
    with contextlib.suppress(OSError, AttributeError):  # no /proc (macOS, Windows)
        parts.append(os.readlink("/proc/self/ns/pid"))
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:8]


def new_run_id(now: datetime | None = None, *, pid: int | None = None) -> str:
    stamp = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return (
        f"{stamp.strftime('%Y%m%d-%H%M%S')}-{host_key()}-{os.getpid() if pid is None else pid}"
        f"-{secrets.token_hex(2)}"
    )


@dataclass(frozen=True)
class RunOwner:
    host: str
    pid: int
    started: datetime  # the run's start, UTC, whole seconds


def owner_of(run_id: str) -> RunOwner | None:
    """The owner a run id names; None for a run id without one (an older dockyard's)."""
    match = RUN_ID.fullmatch(run_id)
    if match is None:
        return None
    started = datetime.strptime(match["stamp"], "%Y%m%d-%H%M%S").replace(tzinfo=timezone.utc)
    return RunOwner(match["host"], int(match["pid"]), started)


def process_started(pid: int) -> float | None:
    """When the process `pid` started (epoch seconds); None when there is none (a zombie is
    none); 0.0 when it exists but may not be looked at (counts as started long ago)."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return float(process.create_time())
    except psutil.NoSuchProcess:
        return None
    except psutil.AccessDenied:
        return 0.0


def run_state(run_id: str) -> RunState:
    """`running` (its process is alive here), `gone` (it was made here and its process is not),
    or `unknown` (made on another host or container, or by an older dockyard)."""
    owner = owner_of(run_id)
    if owner is None or owner.host != host_key():
        return "unknown"
    started = process_started(owner.pid)
    if started is None or started > owner.started.timestamp() + _SLACK_SECONDS:
        return "gone"
    return "running"


def describe_state(run_id: str, state: RunState) -> str:
    """Why a run's things are left alone (or not), in a few words."""
    owner = owner_of(run_id)
    if state == "running" and owner is not None:
        return f"still running (pid {owner.pid} on this machine)"
    if state == "gone":
        return "its process has ended"
    if owner is None:
        return "made by an older dockyard (no owner in its run id): cannot tell whether it runs"
    return "made on another machine or container: cannot tell whether it still runs"
