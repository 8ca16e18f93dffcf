"""Rendering of `inv bench`: the before/after table, ratio bars, targets, where the time went,
the Markdown for the README, and the progress display while the builds run."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dockyard.bench.installer import InstallerCounts
from dockyard.bench.leftovers import Leftovers
from dockyard.bench.plan import REFERENCE, SCENARIO_TITLES, TEAM
from dockyard.bench.report import TARGET_STRATEGY, BenchReport, Cell, Sample, Stats
from dockyard.bench.run import BenchListener
from dockyard.render import Identifier, escape, one_line, symbols, without_mounts
from dockyard.units import format_percent, format_seconds, format_size

if TYPE_CHECKING:
    from rich.console import Console

    from dockyard.progress import Event, RawJsonStream


# -- units ---------------------------------------------------------------------------------------
def _secs(value: float | None) -> str:
    return format_seconds(value, precise=True)


def span(stats: Stats | None) -> str:
    """`8.31-9.02` (min-max); empty for a single measurement."""
    if stats is None or stats.n == 1:
        return ""
    return f"{_secs(stats.low).rstrip('s')}-{_secs(stats.high).rstrip('s')}"


def spread(stats: Stats | None) -> str:
    """`8.52s (8.31-9.02)`; only the median when there was one measurement."""
    if stats is None:
        return "-"
    extra = span(stats)
    return f"{_secs(stats.median)} ({extra})" if extra else _secs(stats.median)


def percent(value: float | None) -> str:
    """`4.0%`, `14.6%` (one decimal below 100 %, as the targets are written), `115%`."""
    return format_percent(value, digits=1 if value is not None and value < 1 else 0)


def installer_text(counts: InstallerCounts) -> str:
    if not counts.ran:
        return "layer cached"
    return f"{counts.downloaded} of {counts.packages} downloaded"


def step_text(name: str, width: int) -> str:
    """A step for a narrow column: `RUN --mount=... --mount=... uv pip sync` says more without
    its mounts."""
    return one_line(without_mounts(name), width)


# -- labels --------------------------------------------------------------------------------------
def strategy_title(report: BenchReport, name: str) -> str:
    return next((s.title for s in report.plan.strategies if s.name == name), "")


def strategy_header(report: BenchReport, name: str) -> str:
    title = strategy_title(report, name)
    return f"{name} ({title})" if title else name


def scenario_title(scenario: str) -> str:
    if scenario == REFERENCE:
        return "no change (plain docker build)"
    return SCENARIO_TITLES.get(scenario, scenario)


def _rows(report: BenchReport) -> list[str]:
    rows = list(report.plan.scenarios)
    if report.plan.reference_runs:
        rows.insert(rows.index("no-change") + 1, REFERENCE)
    return rows


def _shows_ratio(report: BenchReport, cell: Cell) -> bool:
    if cell.scenario == TEAM:  # a share of the same Dockerfile's cold build
        return cell.ratio is not None
    return not (
        cell.stats is None or cell.scenario == REFERENCE or cell.strategy == report.plan.baseline
    )


def _share_note(report: BenchReport) -> str:
    base = f"% = share of {escape(report.plan.baseline)}'s time"
    return (
        f"{base}; fresh machine: of its own cold build" if TEAM in report.plan.scenarios else base
    )


def _import_text(report: BenchReport, name: str) -> str:
    wall = report.import_stats(name)
    if wall is None:
        return "-"
    cpu = report.import_cpu_stats(name)
    return f"{_secs(wall.median)} (CPU {_secs(cpu.median)})" if cpu else _secs(wall.median)


def _extra_rows(report: BenchReport) -> list[tuple[str, list[str]]]:
    """Image size, app import time, and what the installer downloaded."""
    names = report.strategies
    rows = [("image size", [format_size(report.image_sizes.get(n)) for n in names])]
    if report.import_seconds:
        rows.append(("app import at start", [_import_text(report, n) for n in names]))
    for scenario in ("cold", "deps-edit"):
        if scenario in report.plan.scenarios:
            rows.append(
                (
                    f"packages, {scenario_title(scenario)}",
                    [installer_text(report.cell(n, scenario).installer) for n in names],
                )
            )
    return rows


# -- the table -----------------------------------------------------------------------------------
def _cell_markup(report: BenchReport, cell: Cell) -> str:
    """The median and the share of the baseline on one line, the min-max range below."""
    if cell.stats is None:
        return "-"
    line = _secs(cell.stats.median)
    if _shows_ratio(report, cell):
        line += f" [num]{percent(cell.ratio)}[/num]"
    extra = span(cell.stats)
    return f"{line}\n[muted]{extra}[/muted]" if extra else line


def results_table(report: BenchReport) -> object:
    """The write-up's before/after table, measured: rows are builds, columns strategies."""
    from rich.table import Table

    plan = report.plan
    runs = f"median of {plan.repetitions}, min-max below" if plan.repetitions > 1 else "1 run"
    table = Table(
        title=f"Build time ({runs}); {_share_note(report)}",
        title_justify="left",
    )
    table.add_column("build", style="name", overflow="fold", max_width=22)
    for name in report.strategies:
        title = strategy_title(report, name)
        header = f"{escape(name)}\n[muted]{escape(title)}[/muted]" if title else escape(name)
        table.add_column(header, justify="right", overflow="fold")
    for scenario in _rows(report):
        table.add_row(
            escape(scenario_title(scenario)),
            *[_cell_markup(report, report.cell(n, scenario)) for n in report.strategies],
        )
    table.add_section()
    for label, cells in _extra_rows(report):
        table.add_row(escape(label), *[escape(c) for c in cells])
    return table


def ratio_bars(console: Console, report: BenchReport, *, width: int = 40) -> None:
    """A bar per strategy and scenario: its time as a share of the baseline's."""
    from rich.table import Table

    sym = symbols(console)
    others = [n for n in report.strategies if n != report.plan.baseline]
    if report.plan.baseline not in report.strategies or not others:
        return
    scenarios = [s for s in report.plan.scenarios if s != TEAM]  # TEAM: a share of cold
    ratios = {
        (scenario, name): report.cell(name, scenario).ratio
        for scenario in scenarios
        for name in others
    }
    scale = max([1.0, *[r for r in ratios.values() if r is not None]])
    baseline = escape(report.plan.baseline)
    console.print(f"share of {baseline}'s build time (full width = {format_percent(scale)})")
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column("build", style="name", no_wrap=True)
    table.add_column("strategy", no_wrap=True)
    table.add_column("bar", no_wrap=True, min_width=width + 1)
    table.add_column("share", justify="right", no_wrap=True)
    for scenario in scenarios:
        for index, name in enumerate(others):
            value = ratios[(scenario, name)]
            cells = 0 if value is None else round(width * value / scale)
            bar = sym.bar * max(cells, 1 if value else 0)
            style = "ok" if value is not None and value < 1 else "warn"
            table.add_row(
                escape(scenario_title(scenario)) if index == 0 else "",
                Identifier(name),
                f"[{style}]{bar}[/{style}]",
                percent(value),
            )
    console.print(table)


def targets_table(report: BenchReport) -> object:
    from rich.table import Table

    table = Table(title="Targets", title_justify="left")
    table.add_column("target", overflow="fold")
    table.add_column("limit", justify="right", no_wrap=True)
    table.add_column("measured", justify="right", overflow="fold")
    table.add_column("", no_wrap=True)
    for target in report.targets():
        if target.met is None:
            verdict = "[muted]not measured[/muted]"
        elif target.met:
            verdict = "[ok]met[/ok]"
        else:
            verdict = "[fail]missed[/fail]"
        table.add_row(escape(target.name), target.limit, escape(target.measured), verdict)
    return table


def time_went_table(report: BenchReport, strategy: str = TARGET_STRATEGY, top: int = 4) -> object:
    """The steps that ran (not cached), median seconds, slowest first, per scenario."""
    from rich.table import Table

    table = Table(title=f"{escape(strategy)}: where the time went", title_justify="left")
    table.add_column("build", style="name", no_wrap=True)
    table.add_column("steps that ran (median), slowest first", overflow="ellipsis", no_wrap=True)
    for scenario in report.plan.scenarios:
        cell = report.cell(strategy, scenario)
        parts = [f"{_secs(s):>6} {escape(step_text(name, 60))}" for name, s in cell.steps[:top]]
        table.add_row(escape(scenario_title(scenario)), "\n".join(parts) or "-")
    return table


def print_report(console: Console, report: BenchReport) -> None:
    console.print(results_table(report))
    ratio_bars(console, report)
    console.print(targets_table(report))
    if TARGET_STRATEGY in report.strategies:
        console.print(time_went_table(report))
    print_footer(console, report)


def print_footer(console: Console, report: BenchReport) -> None:
    console.print(f"[muted]{escape(environment_line(report))}[/muted]", soft_wrap=True)
    if report.removed:
        console.print(
            f"[muted]removed {len(report.removed)}: {escape(', '.join(report.removed))}[/muted]",
            soft_wrap=True,
        )
    if report.kept:
        console.print(f"[muted]kept: {escape(', '.join(report.kept))}[/muted]", soft_wrap=True)
    for note in report.notes:
        console.print(f"[warn]note:[/warn] {escape(note)}", soft_wrap=True)


def _load(value: tuple[float, float, float] | None) -> str:
    return "n/a" if value is None else f"{value[0]:.2f}"


def environment_line(report: BenchReport) -> str:
    cpus = f"{report.cpus} CPUs" if report.cpus else "CPUs n/a"
    return (
        f"engine {report.engine_version or '?'}, buildx {report.buildx_version or '?'}, {cpus}, "
        f"load average (1 min) {_load(report.load_before)} at start, "
        f"{_load(report.load_after)} at end; run {report.plan.run_id}, "
        f"{report.started_at} to {report.finished_at}"
    )


# -- Markdown ----------------------------------------------------------------------------------
def _cell_text(report: BenchReport, cell: Cell) -> str:
    """`0.31s (0.29-0.35) **3.6%**`."""
    text = spread(cell.stats)
    return f"{text} **{percent(cell.ratio)}**" if _shows_ratio(report, cell) else text


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(report: BenchReport) -> str:
    """The same tables as Markdown, with the date, engine, load and the exact command."""
    plan = report.plan
    runs = f"median of {plan.repetitions} (min-max)" if plan.repetitions > 1 else "one run"
    names = report.strategies
    lines = [
        f"Measured {report.started_at[:10]} with `{plan.command or 'inv bench'}` "
        f"({environment_line(report)}). Wall-clock time of each `docker buildx build`, {runs}; "
        f"**%** = share of {plan.baseline}'s time in the same scenario"
        + (
            "; fresh machine: of the same Dockerfile's cold build."
            if TEAM in plan.scenarios
            else "."
        ),
        "",
        "| build | " + " | ".join(_md(strategy_header(report, n)) for n in names) + " |",
        "|---|" + "---:|" * len(report.strategies),
    ]
    for scenario in _rows(report):
        cells = [_cell_text(report, report.cell(n, scenario)) for n in report.strategies]
        lines.append(f"| {scenario_title(scenario)} | " + " | ".join(cells) + " |")
    for label, cells in _extra_rows(report):
        lines.append(f"| {label} | " + " | ".join(_md(c) for c in cells) + " |")
    lines += ["", *(f"Note: {_md(note)}" for note in report.notes)] if report.notes else []
    lines += ["", "| target | limit | measured | |", "|---|---:|---:|---|"]
    for target in report.targets():
        verdict = "not measured" if target.met is None else ("met" if target.met else "missed")
        lines.append(
            f"| {_md(target.name)} | {target.limit} | {_md(target.measured)} | {verdict} |"
        )
    return "\n".join(lines) + "\n"


# -- progress ------------------------------------------------------------------------------------
class BenchProgress(BenchListener):
    """A progress bar over all builds with the running step (TTY), else one line per build."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live_mode = console.is_terminal and not console.no_color
        self._progress: Any = None
        self._task: Any = None
        self._label = ""
        self._last = 0.0

    def __enter__(self) -> BenchProgress:
        if self.live_mode:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn("line"),
                TextColumn("{task.description}"),
                BarColumn(bar_width=10),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(None, None, None)

    def build_started(self, label: str, index: int, total: int) -> None:
        self._label = label
        if self._progress is None:
            return
        if self._task is None:
            self._task = self._progress.add_task(escape(label), total=total)
        self._progress.update(self._task, description=escape(label), completed=index - 1)

    def build_events(self, events: list[Event], stream: RawJsonStream) -> None:
        if self._progress is None or self._task is None:
            return
        from dockyard.progress import StepStarted

        started = [e for e in events if isinstance(e, StepStarted) and e.step.is_dockerfile_step]
        now = time.monotonic()
        if not started or now - self._last < 0.2:
            return
        self._last = now
        step = started[-1].step
        name = step_text(step.instruction or step.name, 28)
        self._progress.update(
            self._task, description=f"{escape(self._label)}  [muted]{escape(name)}[/muted]"
        )

    def build_finished(self, sample: Sample | None, label: str) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)
        line = " ".join(label.split())
        if sample is None:
            self._print(f"[muted]{escape(line)}: done (not timed)[/muted]")
            return
        details = []
        if sample.scenario != REFERENCE:
            details.append(f"{sample.cached_steps}/{sample.total_steps} steps cached")
        if sample.installer.ran:
            details.append(installer_text(sample.installer))
        extra = f"  [muted]{escape(', '.join(details))}[/muted]" if details else ""
        self._print(f"{escape(line)}  [num]{_secs(sample.seconds)}[/num]{extra}")

    def message(self, text: str) -> None:
        self._print(f"[muted]{escape(text)}[/muted]")

    def _print(self, text: str) -> None:
        target = self._progress.console if self._progress is not None else self.console
        target.print(text, soft_wrap=True)


def print_plan(console: Console, lines: Sequence[str]) -> None:
    for line in lines:
        console.print(escape(line), soft_wrap=True)


def print_leftovers(console: Console, leftovers: Leftovers) -> None:
    """What runs whose process has ended left (to remove), then the runs left alone and why."""
    lines = leftovers.describe()
    if not lines:
        console.print("nothing left over by benchmark runs that have ended")
    else:
        console.print("left over by benchmark runs that have ended:")
        for line in lines:
            console.print(f"  {escape(line)}", soft_wrap=True)
    for run in leftovers.left_alone:
        count = len(run.describe())
        things = "thing" if count == 1 else "things"
        console.print(
            f"left alone: run {escape(run.run_id)} ({count} {things}), {escape(run.why)}",
            style="muted",
            soft_wrap=True,
        )


def print_removed(console: Console, removed: Sequence[str]) -> None:
    console.print(f"removed {len(removed)}: {escape(', '.join(removed)) or '-'}", soft_wrap=True)
