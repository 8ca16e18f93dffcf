"""The bench renderers: exact text on a fixed-width console, the Markdown, the progress lines."""

from __future__ import annotations

import io

from rich.console import Console

from dockyard.bench.installer import InstallerCounts
from dockyard.bench.plan import QUICK_SCENARIOS
from dockyard.bench.report import Sample
from dockyard.render import bench as render_bench
from dockyard.render import make_console
from tests.unit.bench.helpers import make_report


def console(width: int = 100) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return make_console(file=buffer, width=width, color_system=None), buffer


def test_results_table_text() -> None:
    out, buffer = console(width=80)
    out.print(render_bench.results_table(make_report()))
    assert buffer.getvalue() == (
        "Build time (median of 3, min-max below); % = share of naive's time              \n"
        "┏━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━┓\n"
        "┃                   ┃                   ┃         pip-cache ┃                  ┃\n"
        "┃                   ┃             naive ┃      after: pip + ┃        optimized ┃\n"
        "┃ build             ┃            before ┃       cache mount ┃               uv ┃\n"
        "┡━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━┩\n"
        "│ first build       │             8.50s │        9.00s 106% │      3.90s 45.9% │\n"
        "│ (cold)            │         8.33-8.67 │         8.82-9.18 │        3.82-3.98 │\n"
        "│ no change         │             0.30s │        0.31s 103% │       0.31s 103% │\n"
        "│                   │         0.29-0.31 │         0.30-0.32 │        0.30-0.32 │\n"
        "│ no change (plain  │             0.30s │             0.30s │            0.29s │\n"
        "│ docker build)     │         0.29-0.31 │         0.29-0.31 │        0.28-0.30 │\n"
        "│ code edit         │             8.20s │        0.33s 4.0% │       0.35s 4.3% │\n"
        "│                   │         8.04-8.36 │         0.32-0.34 │        0.34-0.36 │\n"
        "│ dependency added  │             9.10s │       8.90s 97.8% │      1.30s 14.3% │\n"
        "│                   │         8.92-9.28 │         8.72-9.08 │        1.27-1.33 │\n"
        "├───────────────────┼───────────────────┼───────────────────┼──────────────────┤\n"
        "│ image size        │          220.8 MB │          220.9 MB │         220.8 MB │\n"
        "│ app import at     │ 0.47s (CPU 0.42s) │ 0.47s (CPU 0.42s) │       0.47s (CPU │\n"
        "│ start             │                   │                   │           0.42s) │\n"
        "│ packages, first   │          17 of 17 │          17 of 17 │         17 of 17 │\n"
        "│ build (cold)      │        downloaded │        downloaded │       downloaded │\n"
        "│ packages,         │          18 of 18 │          18 of 18 │          1 of 18 │\n"
        "│ dependency added  │        downloaded │        downloaded │       downloaded │\n"
        "└───────────────────┴───────────────────┴───────────────────┴──────────────────┘\n"
    )


def test_markdown() -> None:
    assert render_bench.markdown(make_report()) == (
        "Measured 2026-11-27 with `inv bench --markdown results.md` (engine 26.1.5, buildx 0.13.1, "
        "2 CPUs, load average (1 min) 0.91 at start, 1.40 at end; run 20261127-180000-abcd, "
        "2026-11-27T18:00:00+00:00 to 2026-11-27T18:06:00+00:00). Wall-clock time of each "
        "`docker buildx build`, median of 3 (min-max); **%** = share of naive's time in the "
        "same scenario.\n"
        "\n"
        "| build | naive (before) | pip-cache (after: pip + cache mount) | optimized (uv) |\n"
        "|---|---:|---:|---:|\n"
        "| first build (cold) | 8.50s (8.33-8.67) | 9.00s (8.82-9.18) **106%** | "
        "3.90s (3.82-3.98) **45.9%** |\n"
        "| no change | 0.30s (0.29-0.31) | 0.31s (0.30-0.32) **103%** | "
        "0.31s (0.30-0.32) **103%** |\n"
        "| no change (plain docker build) | 0.30s (0.29-0.31) | 0.30s (0.29-0.31) | "
        "0.29s (0.28-0.30) |\n"
        "| code edit | 8.20s (8.04-8.36) | 0.33s (0.32-0.34) **4.0%** | "
        "0.35s (0.34-0.36) **4.3%** |\n"
        "| dependency added | 9.10s (8.92-9.28) | 8.90s (8.72-9.08) **97.8%** | "
        "1.30s (1.27-1.33) **14.3%** |\n"
        "| image size | 220.8 MB | 220.9 MB | 220.8 MB |\n"
        "| app import at start | 0.47s (CPU 0.42s) | 0.47s (CPU 0.42s) | 0.47s (CPU 0.42s) |\n"
        "| packages, first build (cold) | 17 of 17 downloaded | 17 of 17 downloaded | "
        "17 of 17 downloaded |\n"
        "| packages, dependency added | 18 of 18 downloaded | 18 of 18 downloaded | "
        "1 of 18 downloaded |\n"
        "\n"
        "| target | limit | measured | |\n"
        "|---|---:|---:|---|\n"
        "| deps-edit: optimized / naive | <= 12 % | 14.3 % | missed |\n"
        "| cold: optimized / naive | <= 35 % | 45.9 % | missed |\n"
        "| code-edit: optimized / engine's fully cached build | <= 1.2x | 1.21x | missed |\n"
        "| no-change: optimized / engine's fully cached build | <= 1.5x | 1.07x | met |\n"
        "| app import at container start (optimized) | <= 0.5 s | 0.47 s (CPU 0.42 s) | met |\n"
    )


class Cp1252Buffer(io.StringIO):
    """What a Windows console reports: rich then falls back to ASCII symbols."""

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "cp1252"


def test_ratio_bars_on_a_cp1252_console() -> None:
    buffer = Cp1252Buffer()
    out = make_console(file=buffer, width=100, color_system=None)
    report = make_report(repetitions=1, scenarios=("cold", "deps-edit"))
    render_bench.ratio_bars(out, report, width=20)
    assert buffer.getvalue() == (
        "share of naive's build time (full width = 106%)\n"
        "first build (cold)  pip-cache  ####################    106%\n"
        "                    optimized  #########              45.9%\n"
        "dependency added    pip-cache  ##################     97.8%\n"
        "                    optimized  ###                    14.3%\n"
    )


def test_targets_table_and_where_the_time_went() -> None:
    out, buffer = console(width=80)
    report = make_report(repetitions=1, scenarios=QUICK_SCENARIOS)
    out.print(render_bench.targets_table(report))
    out.print(render_bench.time_went_table(report))
    assert buffer.getvalue() == (
        "Targets                                                                         \n"
        "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━┓\n"
        "┃ target                       ┃    limit ┃            measured ┃              ┃\n"
        "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━┩\n"
        "│ deps-edit: optimized / naive │  <= 12 % │              14.3 % │ missed       │\n"
        "│ cold: optimized / naive      │  <= 35 % │                   - │ not measured │\n"
        "│ code-edit: optimized /       │  <= 1.2x │                   - │ not measured │\n"
        "│ engine's fully cached build  │          │                     │              │\n"
        "│ no-change: optimized /       │  <= 1.5x │                   - │ not measured │\n"
        "│ engine's fully cached build  │          │                     │              │\n"
        "│ app import at container      │ <= 0.5 s │ 0.47 s (CPU 0.42 s) │ met          │\n"
        "│ start (optimized)            │          │                     │              │\n"
        "└──────────────────────────────┴──────────┴─────────────────────┴──────────────┘\n"
        "optimized: where the time went                               \n"
        "┏━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓\n"
        "┃ build            ┃ steps that ran (median), slowest first ┃\n"
        "┡━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩\n"
        "│ code edit        │  0.91s [runtime 4/6] RUN uv pip sync   │\n"
        "│                  │  0.25s exporting to image              │\n"
        "│ dependency added │  0.91s [runtime 4/6] RUN uv pip sync   │\n"
        "│                  │  0.25s exporting to image              │\n"
        "└──────────────────┴────────────────────────────────────────┘\n"
    )


def test_progress_lines_without_a_terminal() -> None:
    out, buffer = console()
    progress = render_bench.BenchProgress(out)
    assert not progress.live_mode
    with progress:
        progress.build_started("rep 1/1  warm-up    naive", 1, 3)
        progress.build_finished(None, "rep 1/1  warm-up    naive")
        sample = Sample(
            "optimized",
            "deps-edit",
            1,
            1.234,
            installer=InstallerCounts("uv", 18, 1, 17),
            cached_steps=4,
            total_steps=8,
        )
        progress.build_finished(sample, "rep 1/1  deps-edit  optimized")
        progress.build_finished(Sample("optimized", "engine", 1, 0.3), "rep 1/1  engine  optimized")
        progress.message("removing [the] benchmark's images")
    assert buffer.getvalue() == (
        "rep 1/1 warm-up naive: done (not timed)\n"
        "rep 1/1 deps-edit optimized  1.23s  4/8 steps cached, 1 of 18 downloaded\n"
        "rep 1/1 engine optimized  0.30s\n"
        "removing [the] benchmark's images\n"
    )


def test_step_text_drops_mount_flags() -> None:
    name = (
        "[runtime 5/7] RUN --mount=from=uv,source=/opt/uv/bin/uv,target=/usr/local/bin/uv     "
        "--mount=type=cache,id=${CACHE_ID}-uv,target=/root/.cache/uv,sharing=locked     "
        "export UV_CONFIG_FILE=/tmp/deps/uv.toml && uv pip sync"
    )
    assert render_bench.step_text(name, 60) == (
        "[runtime 5/7] RUN export UV_CONFIG_FILE=/tmp/deps/uv.toml..."
    )


def test_leftovers_name_what_goes_and_which_runs_stay_and_why() -> None:
    from dockyard.bench.leftovers import Leftovers, RunLeftovers

    ended = "20261201-115359-c2ef8667-26963-bb51"
    running = "20261201-115330-c2ef8667-23943-1103"
    leftovers = Leftovers(
        (
            RunLeftovers("20261127-180000-abcd", "unknown", ("dockyard-bench/naive:x",)),
            RunLeftovers(running, "running", (), (), ("m1", "m2")),
            RunLeftovers(
                ended, "gone", (f"dockyard-bench/optimized:{ended}",), ("sha256:" + "1f" * 32,)
            ),
        )
    )
    out, buffer = console(width=200)
    render_bench.print_leftovers(out, leftovers)
    assert buffer.getvalue().splitlines() == [
        "left over by benchmark runs that have ended:",
        f"  image dockyard-bench/optimized:{ended}",
        "  image 1f1f1f1f1f1f (untagged)",
        "left alone: run 20261127-180000-abcd (1 thing), made by an older dockyard (no owner in "
        "its run id): cannot tell whether it runs",
        f"left alone: run {running} (2 things), still running (pid 23943 on this machine)",
    ]
    out, buffer = console()
    render_bench.print_leftovers(out, Leftovers())
    assert buffer.getvalue() == "nothing left over by benchmark runs that have ended\n"


def test_a_fresh_machine_row_its_share_of_cold_and_the_note() -> None:
    from tests.unit.bench.test_report import team_report

    report = team_report()
    text = render_bench.markdown(report)
    assert "fresh machine: of the same Dockerfile's cold build." in text
    assert "| fresh machine, team cache | - | - | 1.00s (0.90-1.10) **25.6%** |" in text
    assert "Note: rep 1/3 team-cache naive: not measured" in text
    assert "| team-cache: optimized / optimized cold | <= 25 % | 25.6 % | missed |" in text
    out, buffer = console(width=120)
    out.print(render_bench.results_table(report))
    render_bench.ratio_bars(out, report)
    render_bench.print_footer(out, report)
    shown = buffer.getvalue()
    assert "% = share of naive's time; fresh machine: of its own" in shown
    assert "fresh machine, team" in shown  # the row (its label folds in a narrow column)
    # the bars are shares of naive: the fresh machine (a share of cold) is not among them
    bars = shown[shown.index("share of naive's build time") :]
    assert "fresh machine" not in bars.split("note:")[0]
    assert "note: rep 1/3 team-cache naive: not measured" in shown
