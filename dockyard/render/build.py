"""Rendering of builds: the live view, the summary table, per-step bars, cache-miss reasons."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from dockyard.build import cache_counts
from dockyard.render import escape, one_line, symbols
from dockyard.units import format_seconds, format_size

if TYPE_CHECKING:
    from rich.console import Console

    from dockyard.build import BuildOutcome
    from dockyard.progress import BuildReport, Event, RawJsonStream, Step


def _delta_seconds(now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return "-"
    diff = now - before
    return f"{diff:+.1f}s"


def _delta_bytes(now: int | None, before: int | None) -> str:
    if now is None or before is None:
        return "-"
    diff = now - before
    if diff == 0:
        return "="
    return ("+" if diff > 0 else "-") + format_size(abs(diff))


def _percent(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio * 100:.0f}%"


def build_progress_table(reports: Sequence[BuildReport], now: datetime) -> object:
    """The live view: per service the running step, its elapsed time, done/total, cached."""
    from rich.table import Table

    table = Table(box=None, show_header=True, header_style="muted", pad_edge=False)
    table.add_column("service", style="name", no_wrap=True)
    table.add_column("steps", justify="right", no_wrap=True)
    table.add_column("cached", justify="right", no_wrap=True)
    table.add_column("elapsed", justify="right", no_wrap=True)
    table.add_column("running step", overflow="ellipsis", no_wrap=True)
    for report in reports:
        running = [s for s in report.running_steps if s.is_dockerfile_step] or list(
            report.running_steps
        )
        step = running[-1] if running else None
        if step is not None:
            current = escape(step_label(step, 70))
            elapsed = format_seconds(step.elapsed(now))
        else:
            finished = report.total_steps > 0 and report.done_steps == report.total_steps
            current = "[ok]done[/ok]" if finished else "[muted]waiting[/muted]"
            elapsed = "-"
        table.add_row(
            escape(report.service),
            f"{report.done_steps}/{report.total_steps}",
            f"[cached]{report.cached_steps}[/cached]",
            elapsed,
            current,
        )
    return table


def step_label(step: Step, width: int = 60) -> str:
    """`deps 4/5 RUN uv pip install ...` (the service prefix is shown elsewhere)."""
    return step.label(width)


def plain_build_events(console: Console, events: Sequence[Event], printed: set[str]) -> None:
    """No TTY / NO_COLOR: one line per finished step (`printed` dedupes revised steps)."""
    from dockyard.progress import StepFinished

    for event in events:
        if not isinstance(event, StepFinished) or not event.step.is_dockerfile_step:
            continue
        step = event.step
        key = f"{event.service}\0{step.digest}"
        if key in printed and not step.error:
            continue
        printed.add(key)
        if step.error:
            outcome = "[fail]ERROR[/fail]"
        elif step.cached:
            outcome = "[cached]CACHED[/cached]"
        else:
            outcome = format_seconds(step.seconds)
        console.print(
            f"[name]{escape(event.service)}[/name] {escape(step_label(step, 70))}  {outcome}",
            soft_wrap=True,
        )


class LiveBuild:
    """A rich Live view fed from the build loop; refreshed from immutable report snapshots.

    The refresh thread only reads `self._snapshot` (a tuple of frozen BuildReports) that the
    build loop replaces, so the parser is never read while it is being fed.
    """

    def __init__(self, console: Console, services: Sequence[str]) -> None:
        self.console = console
        self.services = list(services)
        self.live_mode = console.is_terminal and not console.no_color
        self._snapshot: tuple[BuildReport, ...] = ()
        self._last = 0.0
        self._printed: set[str] = set()
        self._live: Any = None

    def __enter__(self) -> LiveBuild:
        if self.live_mode:
            from rich.live import Live

            self._live = Live(
                get_renderable=self._renderable,
                console=self.console,
                refresh_per_second=4,
                transient=True,
            )
            self._live.__enter__()
        else:
            names = ", ".join(self.services)
            self.console.print(f"building {escape(names)} ...")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def _renderable(self) -> Any:
        from rich.text import Text

        if not self._snapshot:
            return Text("starting build ...", style="muted")
        return build_progress_table(self._snapshot, datetime.now(timezone.utc))

    def on_events(self, events: list[Event], stream: RawJsonStream) -> None:
        if not self.live_mode:
            plain_build_events(self.console, events, self._printed)
            return
        now = time.monotonic()
        if now - self._last >= 0.1 or not events:
            self._last = now
            names = [s for s in self.services if s in stream.services] or stream.services
            self._snapshot = tuple(stream.report(s) for s in names)


def _with_change(value: str, change: str) -> str:
    return value if change in ("-", "") else f"{value}\n[muted]{change}[/muted]"


def build_summary_table(outcome: BuildOutcome) -> object:
    """Per service: time and size (with the change since its last build), cache hits, slowest."""
    from rich.table import Table

    table = Table(title="Build summary", title_justify="left")
    table.add_column("service / image", overflow="fold", min_width=18)
    table.add_column("time", justify="right", no_wrap=True)
    table.add_column("cached", justify="right", no_wrap=True)
    table.add_column("slowest step", overflow="ellipsis", no_wrap=True, max_width=24)
    table.add_column("size", justify="right", no_wrap=True)
    for result in outcome.services:
        report, previous = result.report, result.previous
        slowest = report.slowest(1)
        slow = f"{format_seconds(slowest[0].seconds)} {slowest[0].instruction}" if slowest else "-"
        status = "" if report.ok else " [fail]failed[/fail]"
        cached, countable = cache_counts(report)
        service = f"[name]{escape(result.service)}[/name]{status}"
        table.add_row(
            f"{service}\n[muted]{escape(result.plan.image)}[/muted]",
            _with_change(
                format_seconds(report.seconds),
                _delta_seconds(report.seconds, previous.seconds if previous else None),
            ),
            f"{cached}/{countable} {_percent(report.cache_ratio)}",
            escape(one_line(slow, 60)),
            _with_change(
                format_size(result.image_size),
                _delta_bytes(result.image_size, previous.image_size if previous else None),
            ),
        )
    return table


def step_bars(
    console: Console,
    steps: Sequence[Step],
    *,
    width: int = 24,
    scale: float | None = None,
    title: str = "",
) -> None:
    """A horizontal bar per Dockerfile step: where the time went; cached steps marked."""
    from rich.table import Table

    sym = symbols(console)
    longest = scale or max((s.seconds or 0.0 for s in steps if not s.cached), default=0.0)
    if title:
        console.print(escape(title))
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column("step", overflow="ellipsis", no_wrap=True, max_width=44)
    table.add_column("bar", no_wrap=True, min_width=width + 1)
    table.add_column("time", justify="right", no_wrap=True, min_width=7)
    for step in steps:
        label = escape(step_label(step, 44))
        if step.cached:
            table.add_row(label, f"[cached]{sym.cached} cached[/cached]", "")
            continue
        value = step.seconds or 0.0
        cells = round(width * value / longest) if longest > 0 else 0
        bar = sym.bar * max(cells, 1 if value > 0 else 0)
        style = "fail" if step.error else "num"
        table.add_row(label, f"[{style}]{bar}[/{style}]", format_seconds(step.seconds))
    console.print(table)


def print_build(console: Console, outcome: BuildOutcome, *, bars: bool = True) -> None:
    """Summary table, per-step bars for each service, and why steps missed the cache."""
    console.print(build_summary_table(outcome))
    for result in outcome.services:
        if result.no_steps:
            name, why = escape(result.service), escape(result.no_steps)
            console.print(f"[warn]no step data for {name}:[/warn] {why}", soft_wrap=True)
        elif result.step_source == "history":
            console.print(
                f"[muted]{escape(result.service)}: steps read from buildx's build record (the "
                "build stream named none)[/muted]",
                soft_wrap=True,
            )
    if bars:
        for result in outcome.services:
            steps = [s for s in result.report.dockerfile_steps if not s.is_from]
            if steps:
                step_bars(console, steps, title=f"{result.service}: where the time went")
    print_reasons(console, outcome)


def print_reasons(console: Console, outcome: BuildOutcome) -> None:
    """One line per step that ran, with why; a first build says once per service that there
    is nothing to compare with."""
    from dockyard.misses import NO_EARLIER_BUILD

    lines: list[tuple[str, str]] = []
    for result in outcome.services:
        if result.first_build and result.reasons:
            count = len(result.reasons)
            ran = f"{count} step{'s' if count != 1 else ''} ran"
            lines.append((result.service, f"{ran}: {NO_EARLIER_BUILD}"))
        else:
            lines += [(result.service, why) for why in result.reasons.values()]
    if not lines:
        return
    console.print("[muted]why steps ran instead of coming from cache:[/muted]")
    for service, why in lines:
        console.print(f"  [name]{escape(service)}[/name] {escape(why)}", soft_wrap=True)
