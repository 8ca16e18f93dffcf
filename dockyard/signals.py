"""Interruptions: Ctrl-C (SIGINT) and, where the platform has it, SIGTERM end a task the same way.

While a task runs (`handled()`, entered by `tasks.boundary`), both signals raise `Stopped`, a
KeyboardInterrupt that remembers its signal: every `except KeyboardInterrupt` treats SIGTERM as
it treats Ctrl-C, and the exit code says which it was (130 = 128 + SIGINT, 143 = 128 + SIGTERM).
`received()` says whether one arrived since the block began, so a build that a signal cut off
counts as interrupted however its docker child ended (a terminal's Ctrl-C reaches the child too,
and the child may end first with its own "canceled" error).

Windows: SIGINT is Ctrl-C there as well; SIGTERM exists in the signal module but is never sent
by another process, so its handler is harmless. No handler is installed outside the main thread
(Python allows none there), and a handler someone else installed is left alone.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, TypeAlias

# The signals a task treats as "stop now", where the platform defines them.
STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    sig for sig in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if sig
)

_received: list[int] = []
_received_at: list[float] = []  # time.monotonic() of each
_Handler: TypeAlias = Callable[[int, FrameType | None], Any] | int | None


class Stopped(KeyboardInterrupt):
    """A stop signal arrived; raised where the main thread was."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal_name(signum))
        self.signum = signum


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def exit_code(signum: int | None) -> int:
    """The shell's exit code for a process ended by `signum` (130 for Ctrl-C)."""
    return 128 + (signum or signal.SIGINT)


def signum_of(interrupt: BaseException) -> int:
    """The signal behind a KeyboardInterrupt (a plain one is Ctrl-C)."""
    return getattr(interrupt, "signum", signal.SIGINT)


def received() -> int | None:
    """The first stop signal that arrived inside the current `handled()` block, if any."""
    return _received[0] if _received else None


def received_at() -> float | None:
    """When (`time.monotonic()`) that signal arrived: stopping the child takes a moment more."""
    return _received_at[0] if _received_at else None


def note(signum: int) -> None:
    """Remember that `signum` arrived (the handler does, before it raises)."""
    _received.append(signum)
    _received_at.append(time.monotonic())


def _raise(signum: int, frame: FrameType | None) -> None:
    note(signum)
    raise Stopped(signum)


def _ours(handler: object) -> bool:
    """A handler that may be replaced: Python's own defaults (not somebody else's)."""
    return handler in (signal.default_int_handler, signal.SIG_DFL, _raise)


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """Inside the block SIGINT and SIGTERM raise `Stopped`; the old handlers come back after."""
    saved: dict[signal.Signals, _Handler] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in STOP_SIGNALS:
            try:
                old = signal.getsignal(sig)
                if _ours(old):
                    signal.signal(sig, _raise)
                    saved[sig] = old
            except (OSError, ValueError, RuntimeError):  # not settable on this platform
                continue
    outer, outer_at = list(_received), list(_received_at)
    _received.clear()
    _received_at.clear()
    try:
        yield
    finally:
        _received[:], _received_at[:] = outer, outer_at
        for sig, old in saved.items():
            with contextlib.suppress(OSError, ValueError, TypeError):
                signal.signal(sig, old)
