"""Rendering of `inv timing`: a build against its predecessors, and the history as a trend."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dockyard.render import Identifier, escape, symbols
from dockyard.units import format_seconds, format_size

if TYPE_CHECKING:
    from rich.console import Console

    from dockyard.ledger import ServiceBuild
    from dockyard.timings import Comparison


def _when(build: ServiceBuild) -> str:
    # ISO 8601 UTC from the ledger: "2026-11-27T17:40:12+00:00" -> "11-27 17:40"
    stamp = build.started_at
    return f"{stamp[5:10]} {stamp[11:16]}" if len(stamp) >= 16 else stamp


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _status(build: ServiceBuild) -> str:
    style = {"ok": "ok", "failed": "fail", "interrupted": "warn"}.get(build.status, "muted")
    return f"[{style}]{escape(build.status)}[/{style}]"


def comparison_table(comparisons: Sequence[Comparison]) -> object:
    """This build's total per service against the median of its predecessors."""
    from rich.table import Table

    table = Table(title="Against earlier builds", title_justify="left")
    table.add_column("service")
    table.add_column("this build", justify="right")
    table.add_column("median before", justify="right")
    table.add_column("change", justify="right")
    table.add_column("earlier builds (newest first)", overflow="fold")
    for item in comparisons:
        change = item.change
        shown = "-" if change is None else f"{change:+.1f}s"
        earlier = ", ".join(format_seconds(b.seconds) for b in item.earlier) or "none yet"
        table.add_row(
            Identifier(item.service, "name"),
            format_seconds(item.current.seconds),
            format_seconds(item.median_seconds),
            shown,
            earlier,
        )
    return table


def history_table(builds: Sequence[ServiceBuild]) -> object:
    from rich.table import Table

    table = Table(title="Build history (oldest first)", title_justify="left")
    table.add_column("build", justify="right")
    table.add_column("when (UTC)", no_wrap=True)
    table.add_column("commit", no_wrap=True)
    table.add_column("service")
    table.add_column("status")
    table.add_column("time", justify="right")
    table.add_column("cached", justify="right")
    table.add_column("size", justify="right", no_wrap=True)
    for build in builds:
        table.add_row(
            f"#{build.build_id}",
            _when(build),
            escape(build.git_commit or "-"),
            Identifier(build.service, "name"),
            _status(build),
            format_seconds(build.seconds),
            f"{build.steps_cached}/{build.steps_total} {_ratio(build.cache_ratio)}",
            format_size(build.image_size),
        )
    return table


def trend_chart(
    console: Console,
    builds: Sequence[ServiceBuild],
    width: int = 30,
    order: Sequence[str] = (),
) -> None:
    """Seconds per build as bars, with the cache ratio beside each; one block per service, in
    `order` (the project's), then any other service in the order the builds name them."""
    from rich.table import Table

    sym = symbols(console)
    longest = max((b.seconds or 0.0 for b in builds), default=0.0)
    named = list(dict.fromkeys(b.service for b in builds))
    for service in [*(s for s in order if s in named), *(s for s in named if s not in order)]:
        console.print(f"{escape(service)}: seconds per build, cache ratio")
        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_column("build", justify="right", no_wrap=True)
        table.add_column("bar", no_wrap=True, min_width=width + 1)
        table.add_column("time", justify="right", no_wrap=True)
        table.add_column("cache", justify="right", no_wrap=True)
        for build in (b for b in builds if b.service == service):
            value = build.seconds or 0.0
            cells = round(width * value / longest) if longest > 0 else 0
            style = "fail" if build.status != "ok" else "num"
            bar = sym.bar * max(cells, 1 if value > 0 else 0)
            table.add_row(
                f"#{build.build_id}",
                f"[{style}]{bar}[/{style}]",
                format_seconds(build.seconds),
                _ratio(build.cache_ratio),
            )
        console.print(table)
