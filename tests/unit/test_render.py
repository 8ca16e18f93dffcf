"""The shared rendering helpers of dockyard.render."""

from __future__ import annotations

from dockyard.render import one_line


def test_one_line() -> None:
    assert one_line("RUN a \\\n    && b\n\tc") == "RUN a \\ && b c"
    assert one_line("RUN " + "x" * 50, width=10) == "RUN xxx..."
    assert one_line("short", width=10) == "short"
