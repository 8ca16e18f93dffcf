"""A docker command whose output is read line by line, and that never outlives its reader.

python-on-whales' `stream_stdout_and_stderr` leaves the child running when the reader stops (an
exception, Ctrl-C that reached only Python, SIGTERM): the build goes on unseen. `stream_lines`
yields the same (source, line) pairs and raises DockerCommandFailed (the same fields) on a
non-zero exit,
and when it is closed or interrupted with the child still running it stops the child: first a
short wait (a terminal's Ctrl-C reaches the whole process group, so the child is already
stopping), then the signal that stopped dockyard (SIGINT / SIGTERM; on Windows, which has no
such signals between processes, TerminateProcess), then, if the child still runs, a kill.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Generator, Mapping, Sequence
from queue import Queue
from typing import TypeAlias

from dockyard import signals
from dockyard.engine.errors import DockerCommandFailed

# A command's output as it comes, ("stdout" | "stderr", line); closing it stops the command.
Stream: TypeAlias = Generator[tuple[str, bytes], None, None]

# The child got the same Ctrl-C from the terminal: time to stop by itself.
GRACE_SECONDS = 1.0
# After dockyard's own signal: time for docker to cancel the build and say so to the engine.
STOP_SECONDS = 10.0


def stop(process: subprocess.Popen[bytes], signum: int | None = None) -> None:
    """End `process`: wait briefly, send it `signum` (SIGINT by default), wait, then kill."""
    try:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(GRACE_SECONDS)
        if process.poll() is None:
            if os.name == "posix":
                process.send_signal(signum or signal.SIGINT)
            else:
                process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(STOP_SECONDS)
    except KeyboardInterrupt:  # asked again while waiting: no more patience
        process.kill()
        process.wait()
        raise
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _reader(pipe: object, name: str, queue: Queue[tuple[str, bytes] | None]) -> None:
    try:
        with pipe:  # type: ignore[attr-defined]
            for line in iter(pipe.readline, b""):  # type: ignore[attr-defined]
                queue.put((name, line))
    finally:
        queue.put(None)


def stream_lines(command: Sequence[str], env: Mapping[str, str] | None = None) -> Stream:
    """Run `command`; yield ("stdout" | "stderr", line) as they come.

    `env` is added to the current environment. A non-zero exit raises DockerCommandFailed
    (command, exit code, stderr) after the last line.
    """
    full = [str(part) for part in command]
    process = subprocess.Popen(
        full,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **env} if env is not None else None,
    )
    queue: Queue[tuple[str, bytes] | None] = Queue()
    for pipe, name in ((process.stdout, "stdout"), (process.stderr, "stderr")):
        threading.Thread(target=_reader, args=(pipe, name, queue), daemon=True).start()
    stderr = bytearray()
    try:
        open_pipes = 2
        while open_pipes:
            item = queue.get()
            if item is None:
                open_pipes -= 1
                continue
            if item[0] == "stderr":
                stderr += item[1]
            yield item
        code = process.wait()
    finally:
        if process.poll() is None:
            stop(process, signals.received())
    if code != 0:
        raise DockerCommandFailed(full, code, "", stderr.decode("utf-8", "replace"))
