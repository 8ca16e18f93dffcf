"""Interruptions: Ctrl-C and SIGTERM, however they reach the build, end it the same way.

The build streams are real captures of an interrupted build on both stacks (tests/data/bake,
see its README: `*_one_interrupt` is Ctrl-C to the whole process group, `*_interrupt_cli`
SIGINT to the docker CLI only). The child processes in the stopper's tests are real processes
(this Python), since what is tested is how a child is stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from python_on_whales.exceptions import DockerException

from dockyard import signals
from dockyard.engine import process
from dockyard.engine.errors import DockerCommandFailed, translate
from dockyard.errors import Interrupted
from dockyard.progress import RawJsonStream
from dockyard.progress.runner import run_stream, short_error, step_interruption

DATA = Path(__file__).resolve().parents[1] / "data" / "bake"
POSIX = pytest.mark.skipif(os.name != "posix", reason="POSIX signals between processes")

CUT_STEP = '`runtime 6/6 RUN echo "token 17961157994302 interrupt" && ...`'


def capture(name: str) -> list[tuple[str, bytes]]:
    data = (DATA / f"{name}.out").read_bytes()
    return [("stdout", line) for line in data.splitlines(keepends=True)]


def interrupted_by(name: str, stop: BaseException) -> Iterator[tuple[str, bytes]]:
    """The captured stream, then the interruption where the capture ended."""
    yield from capture(name)
    raise stop


def child_ended_first(name: str) -> Iterator[tuple[str, bytes]]:
    """The captured stream, then the docker CLI's own exit (it got the terminal's Ctrl-C)."""
    yield from capture(name)
    rc = int((DATA / f"{name}.rc").read_text())
    stderr = (DATA / f"{name}.err").read_bytes()
    raise translate(DockerException(["docker", "compose", "build"], rc, stderr=stderr))


def interruption(chunks: Iterator[tuple[str, bytes]]) -> Interrupted:
    run = run_stream(chunks, RawJsonStream(["api"], default_service="api"))
    assert run.status == "interrupted"
    return step_interruption("build", run, [run.report("api")], "run it again")


@pytest.mark.parametrize("stack", ["classic", "sid"])
def test_ctrl_c_names_the_step_it_cut_off_in_one_short_line(stack: str) -> None:
    err = interruption(interrupted_by(f"{stack}_one_interrupt", KeyboardInterrupt()))
    assert err.message.startswith("build interrupted after ")
    assert err.message.endswith(f"s at {CUT_STEP}"), err.message
    assert "\n" not in err.message and "context canceled" not in err.message
    assert err.exit_code == 130


@pytest.mark.parametrize("stack", ["classic", "sid"])
def test_sigterm_says_so_and_exits_143(stack: str) -> None:
    err = interruption(interrupted_by(f"{stack}_one_interrupt", signals.Stopped(signal.SIGTERM)))
    assert err.message.startswith("build interrupted by SIGTERM after ")
    assert err.message.endswith(f"s at {CUT_STEP}"), err.message
    assert err.exit_code == 143


@pytest.mark.parametrize(
    "name", ["classic_one_interrupt", "sid_one_interrupt", "classic_one_interrupt_cli"]
)
def test_a_docker_cli_that_stopped_first_is_an_interruption_not_a_failure(name: str) -> None:
    # Classic: the RUN step ends with `exit code: 137: context canceled`, stderr `canceled`;
    # sid: the stream just stops, stderr is a newline; both exit 130.
    err = interruption(child_ended_first(name))
    assert err.exit_code == 130
    assert "failed" not in err.message and " at `runtime 6/6 RUN echo " in err.message


def test_a_signal_seen_by_dockyard_wins_over_the_childs_own_error() -> None:
    # Ctrl-C reached both; the child's error came through first.
    with signals.handled():
        signals.note(signal.SIGINT)  # what the handler notes before it raises
        run = run_stream(
            child_ended_first("classic_one_interrupt"),
            RawJsonStream(["api"], default_service="api"),
        )
    assert (run.status, run.returncode) == ("interrupted", 130)
    assert signals.received() is None  # noted only inside the block


def test_short_error_drops_the_command_buildkit_repeats() -> None:
    failing = (DATA / "classic_one_fail.out").read_bytes()
    stream = RawJsonStream(["api"], default_service="api")
    stream.feed(failing)
    step = stream.report("api", 1).failing_step
    assert step is not None and step.error is not None
    assert step.error.startswith('process "/bin/sh -c echo \\"token')
    assert short_error(step.error) == "exit code: 7"
    assert short_error("failed to compute cache key: not found") == (
        "failed to compute cache key: not found"
    )


# -- signals -------------------------------------------------------------------------------------


@POSIX
def test_sigterm_raises_stopped_inside_the_block_only() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(signals.Stopped) as caught, signals.handled():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises here
    assert caught.value.signum == signal.SIGTERM
    assert isinstance(caught.value, KeyboardInterrupt)  # every Ctrl-C path handles it
    assert signals.exit_code(caught.value.signum) == 143
    assert signal.getsignal(signal.SIGTERM) == before


def test_a_handler_somebody_else_installed_is_left_alone() -> None:
    def mine(signum: int, frame: object) -> None:
        pass

    old = signal.signal(signal.SIGINT, mine)
    try:
        with signals.handled():
            assert signal.getsignal(signal.SIGINT) is mine
    finally:
        signal.signal(signal.SIGINT, old)


# -- the child process ---------------------------------------------------------------------------

CHILD = """
import os, signal, sys, time
out = sys.argv[1]
def note(signum, frame):
    with open(out, "w") as f:
        f.write(signal.Signals(signum).name)
    sys.exit(3)
if sys.argv[2] == "obey":
    signal.signal(signal.SIGINT, note)
    signal.signal(signal.SIGTERM, note)
else:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
print(os.getpid(), flush=True)
time.sleep(60)
"""


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@POSIX
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_closing_the_stream_sends_the_child_dockyards_signal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int
) -> None:
    monkeypatch.setattr(process, "GRACE_SECONDS", 0.2)
    note = tmp_path / "note"
    lines = process.stream_lines([sys.executable, "-c", CHILD, str(note), "obey"])
    _source, first = next(lines)
    pid = int(first)
    started = time.monotonic()
    with signals.handled():
        signals.note(signum)  # as if dockyard had got it
        lines.close()
    assert note.read_text() == signal.Signals(signum).name
    assert gone(pid) and time.monotonic() - started < 5


@POSIX
def test_a_child_that_ignores_the_signal_is_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(process, "GRACE_SECONDS", 0.1)
    monkeypatch.setattr(process, "STOP_SECONDS", 0.3)
    lines = process.stream_lines([sys.executable, "-c", CHILD, str(tmp_path / "n"), "ignore"])
    pid = int(next(lines)[1])
    lines.close()
    assert gone(pid)
    assert not (tmp_path / "n").exists()


def test_a_failing_command_raises_with_its_exit_code_and_stderr() -> None:
    code = "import sys; print('out'); print('boom', file=sys.stderr); sys.exit(4)"
    lines = process.stream_lines([sys.executable, "-c", code])
    seen = []
    with pytest.raises(DockerCommandFailed) as caught:
        for item in lines:
            seen.append(item)
    assert sorted(seen) == [("stderr", b"boom\n"), ("stdout", b"out\n")]
    assert caught.value.return_code == 4 and "boom" in (caught.value.stderr or "")


def test_a_finished_child_is_not_signalled() -> None:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    process.stop(done)  # nothing to stop: returns at once, raises nothing
    assert done.returncode == 0
