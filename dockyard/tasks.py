"""dockyard's tasks as an Invoke collection: each reads its flags, calls dockyard, renders.

Used three ways: the `dockyard` command (`dockyard.cli`), this repository's `tasks.py`, and any
project's own `tasks.py` (`from dockyard.tasks import *`, or `namespace()` added as a
sub-collection). Heavy imports (python-on-whales, pydantic, rich) happen inside the tasks, so
listing them is fast.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from dockyard.errors import DockyardError, Interrupted, SettingsError, refine_hint
from dockyard.units import format_seconds

if TYPE_CHECKING:
    from rich.console import Console

    from dockyard.build import BuildOutcome
    from dockyard.engine import Engine
    from dockyard.engine.compose import StartedStream
    from dockyard.image.targets import ImageTarget
    from dockyard.ledger import Ledger
    from dockyard.teamcache import TeamCachePlan

# Invoke config key under which a collection says where its project is (default: the cwd).
CONFIG_KEY = "dockyard"


@contextlib.contextmanager
def boundary() -> Iterator[None]:
    """Expected failures end as one line with a hint and a non-zero exit, never a traceback.

    Inside, SIGTERM is handled like Ctrl-C (`dockyard.signals`): the task unwinds, stops its
    docker child, records what it must, and exits 130 (SIGINT) or 143 (SIGTERM).
    """
    from dockyard import render, signals

    try:
        with signals.handled():
            yield
    except DockyardError as err:
        render.error(render.make_console(stderr=True), refine_hint(err))
        raise Exit(code=err.exit_code) from None
    except KeyboardInterrupt as interrupt:
        signum = signals.signum_of(interrupt)
        by = "" if signum == signal.SIGINT else f" by {signals.signal_name(signum)}"
        stopped = Interrupted(f"interrupted{by}", "run the task again when ready", signum=signum)
        render.error(render.make_console(stderr=True), stopped)
        raise Exit(code=stopped.exit_code) from None


def project_root(c: Context) -> Path:
    """The project directory: what the collection was configured with, else the cwd."""
    configured = (c.config.get(CONFIG_KEY) or {}).get("root")
    return Path(configured) if configured else Path.cwd()


def _engine(c: Context, **overrides: Any) -> Engine:
    """Settings (flags > environment > .env > defaults) and the Engine built from them."""
    from dockyard import render
    from dockyard.engine import Engine
    from dockyard.settings import load_settings

    settings = load_settings(project_root(c), overrides=overrides)
    if settings.warnings:
        console = render.make_console(stderr=True)
        for message in settings.warnings:
            render.warning(console, message)
    return Engine(settings)


@contextlib.contextmanager
def _ledger(engine: Engine) -> Iterator[Ledger]:
    """The build ledger of one task. It never fails the task: what it could not do is one
    warning line per fault, shown at the end, also when the task itself fails."""
    from dockyard import render
    from dockyard.ledger import Ledger

    ledger = Ledger(engine.settings.ledger_path)
    try:
        yield ledger
    finally:
        console = render.make_console(stderr=True)
        for problem in ledger.warnings:
            render.warning(console, problem.message, hint=problem.hint)


def _build_and_report(
    engine: Engine,
    services: list[str],
    out: Console,
    ledger: Ledger,
    team: TeamCachePlan | None = None,
    started: Iterable[tuple[str, bytes]] | None = None,
    **flags: bool,
) -> BuildOutcome:
    """Build with the live view, then print the summary (shared by build-fast, up, timing)."""
    from dockyard import build
    from dockyard.render import build as render_build

    with render_build.LiveBuild(out, services) as view:
        outcome = build.run_build(
            engine,
            services,
            on_events=view.on_events,
            ledger=ledger,
            team=team,
            started=started,
            **flags,
        )
    render_build.print_build(out, outcome)
    return outcome


@task(
    iterable=["service"],
    help={
        "service": "a service to build (repeatable; default: every service with build:)",
        "no_cache": "ignore BuildKit's layer cache (cache mounts stay as they are)",
        "pull": "pull newer versions of the base images first",
        "json": "print the build report as JSON instead of tables",
        "team_cache": "a team build cache, <registry>/<prefix> (default: DOCKYARD_TEAM_CACHE)",
        "push_cache": "also export the build cache to the team cache",
    },
)
def build_fast(
    c: Context,
    service: list[str] | None = None,
    no_cache: bool = False,
    pull: bool = False,
    json: bool = False,
    team_cache: str = "",
    push_cache: bool = False,
) -> None:
    """Build the services with BuildKit in parallel (cache_from); show steps, cache hits, time."""
    with boundary():
        engine = _engine(c, team_cache=team_cache or None)
        # Without a team cache the build's command line follows from the settings alone: the
        # build starts now and runs while dockyard reads the compose model, imports what it
        # renders with and fingerprints the contexts (on a cached build, most of its time).
        started = None
        if not engine.settings.team_cache:
            wanted = list(service or engine.settings.build_services)
            started = engine.build_stream(wanted, no_cache=no_cache, pull=pull)
        try:
            # `compose config` runs too while the modules below are imported; its errors
            # surface where the model is first read.
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=1) as pool:
                pool.submit(lambda: engine.project)
                _build_fast(engine, service or [], started, no_cache, pull, json, push_cache)
        finally:
            if started is not None:
                started.close()


def _build_fast(
    engine: Engine,
    requested: list[str],
    started: StartedStream | None,
    no_cache: bool,
    pull: bool,
    json: bool,
    push_cache: bool,
) -> None:
    """build-fast once the build may be running: the compose model, the team cache, the
    live view and the summary."""
    from dockyard import build, remote, render, teamcache

    services = build.choose_services(engine, requested)
    team = teamcache.prepare(engine, services, push=push_cache)
    notes = render.make_console(stderr=True)
    remote_engine = remote.is_remote()
    if remote_engine:
        render.info(notes, remote.engine_line(engine.stack))
    if team is not None:
        warnings, lines = teamcache.before_lines(team)
        for line in warnings:
            render.warning(notes, line)
        for line in lines:
            render.info(notes, line)
    with _ledger(engine) as ledger:
        if json:
            import json as json_module

            outcome = build.run_build(
                engine,
                services,
                no_cache=no_cache,
                pull=pull,
                ledger=ledger,
                team=team,
                started=started,
            )
            payload = {**outcome.to_dict(), "engine": remote.where()}
            print(json_module.dumps({**payload, "remote": remote_engine}, indent=2))
        else:
            out = render.make_console()
            outcome = _build_and_report(
                engine,
                services,
                out,
                ledger,
                team=team,
                started=started,
                no_cache=no_cache,
                pull=pull,
            )
            for line in teamcache.summary_lines(team) if team else []:
                render.info(out, line)
            if remote_engine:
                sent = [(r.service, r.context_bytes) for r in outcome.services]
                render.info(out, remote.context_line(sent))
    failure = teamcache.push_failure(team) if team else None
    if failure is not None:
        raise failure


@task(
    iterable=["service"],
    help={
        "service": "a service to build / show (repeatable; default: every service with build:)",
        "history": "no build: show the ledger's recent builds as a table and a trend chart",
        "last": "builds --history shows (default 20), or earlier builds to compare with (5)",
        "json": "print JSON instead of tables",
    },
)
def timing(
    c: Context,
    service: list[str] | None = None,
    history: bool = False,
    last: int = 0,
    json: bool = False,
) -> None:
    """Time a build step by step and compare it with earlier ones (--history: just the trend)."""
    import json as json_module

    from dockyard import render, timings
    from dockyard.render import timing as render_timing

    with boundary():
        engine = _engine(c)
        with _ledger(engine) as ledger:
            out = render.make_console()
            if history:
                wanted = engine.project.require(service or [], buildable=True)
                builds = timings.history(ledger, engine.project_name, wanted, last=last or 20)
                if json:
                    print(json_module.dumps([b.to_dict() for b in builds], indent=2))
                    return
                if not builds:
                    if not ledger.warnings:  # else the warning says why there are none
                        out.print(
                            "[muted]no builds recorded yet: run `inv build-fast` or "
                            "`inv timing`[/muted]"
                        )
                    return
                out.print(render_timing.history_table(builds))
                render_timing.trend_chart(out, builds, order=list(engine.project.services))
                return
            from dockyard import build  # only to build: --history reads the ledger alone

            services = build.choose_services(engine, service or [])
            if json:
                outcome = build.run_build(engine, services, ledger=ledger)
            else:
                outcome = _build_and_report(engine, services, out, ledger)
            comparisons = (  # a build the ledger could not keep has nothing to compare with
                timings.compare(
                    ledger, engine.project_name, outcome.build_id, services, last=last or 5
                )
                if outcome.build_id
                else []
            )
            if json:
                payload = {
                    "build": outcome.to_dict(),
                    "comparisons": [x.to_dict() for x in comparisons],
                }
                print(json_module.dumps(payload, indent=2))
                return
            recorded = f"build #{outcome.build_id}" if outcome.build_id else "not recorded"
            out.print(f"total: [num]{format_seconds(outcome.seconds)}[/num] ({recorded})")
            if comparisons:
                out.print(render_timing.comparison_table(comparisons))


@task(
    help={
        "build": "build the images first, with build-fast's view (default: only missing ones)",
        "no_build": "never build; fail if an image is missing",
        "timeout": "seconds to wait for every service to be healthy (default: 180)",
    }
)
def up(c: Context, build: bool = False, no_build: bool = False, timeout: int = 0) -> None:
    """Start the backend and its dependencies detached; wait until healthy."""
    from dockyard import render, stack

    with boundary():
        engine = _engine(c, wait_timeout=timeout or None)
        out = render.make_console()
        services = stack.services_to_start(engine)
        if build and no_build:
            raise SettingsError("--build and --no-build contradict each other", "choose one")
        if build:
            to_build = stack.buildable_to_start(engine, services)
        elif no_build:
            to_build = []
            missing = stack.missing_images(engine, services)
            if missing:
                raise SettingsError(
                    f"{', '.join(missing)} has no image yet and --no-build was given",
                    "run `inv build-fast` first, or drop --no-build",
                )
        else:
            to_build = stack.missing_images(engine, services)
        if to_build:
            with _ledger(engine) as ledger:
                _build_and_report(engine, to_build, out, ledger)
        out.print(f"starting [name]{render.escape(engine.project_name)}[/name] ...")
        result = stack.up(
            engine,
            services,
            timeout=engine.settings.wait_timeout,
            on_output=lambda line: out.print(render.escape(line), style="muted"),
        )
        render.print_endpoints(out, result.endpoints, result.seconds)


@task(
    help={
        "volumes": "also remove the project's named volumes (the database!); needs --yes",
        "yes": "confirm --volumes without asking",
    }
)
def down(c: Context, volumes: bool = False, yes: bool = False) -> None:
    """Stop and remove the containers; named volumes survive unless --volumes --yes."""
    from dockyard import render, stack

    with boundary():
        engine = _engine(c)
        out = render.make_console()
        if volumes:
            doomed = engine.volumes()
            if doomed and not yes:
                names = ", ".join(doomed)
                if not sys.stdin.isatty():
                    raise SettingsError(f"--volumes would delete {names}", "add --yes to confirm")
                from rich.prompt import Confirm

                if not Confirm.ask(f"Delete volumes {names}?", console=out, default=False):
                    raise SettingsError("nothing removed", "add --yes to skip the question")
        removed = stack.down(engine, volumes=volumes)
        out.print(f"stopped [name]{render.escape(engine.project_name)}[/name]")
        if removed:
            out.print(f"removed volumes: {render.escape(', '.join(removed))}")
        elif not volumes:
            out.print("[muted]named volumes kept (use --volumes --yes to delete them)[/muted]")


@task
def ps(c: Context) -> None:
    """Show the project's containers, their state and health."""
    from dockyard import render

    with boundary():
        engine = _engine(c)
        render.print_services(render.make_console(), engine.ps())


@task(
    help={
        "service": "only this service (default: all)",
        "follow": "keep printing new lines until Ctrl-C",
        "tail": "lines from the end of each log (default: 100)",
    },
)
def logs(c: Context, service: str = "", follow: bool = False, tail: int = 100) -> None:
    """Print the logs of the project's services."""
    from dockyard import render, signals

    with boundary():
        engine = _engine(c)
        if service:
            engine.project.require([service])
        out = render.make_console()
        if not follow:
            out.print(render.escape(engine.logs(service or None, tail=tail)), soft_wrap=True)
            return
        try:
            for _source, raw in engine.follow_logs(service or None):
                out.print(render.escape(raw.decode("utf-8", "replace").rstrip()), soft_wrap=True)
        except KeyboardInterrupt as interrupt:  # Ctrl-C ends following; SIGTERM is an error
            if signals.signum_of(interrupt) != signal.SIGINT:
                raise


def _names(text: str | None) -> list[str]:
    """A positional that may name several images: `backend,postgres` (Invoke has no *args)."""
    text = text or ""
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


def _one_target(engine: Engine, image: str | None) -> ImageTarget:
    from dockyard.image.targets import default_target, resolve_target

    names = _names(image)
    if len(names) > 1:
        raise SettingsError(f"one image at a time, got {len(names)}", "name one service or image")
    return resolve_target(engine, names[0]) if names else default_target(engine)


@task(
    help={
        "image": "services or images, comma-separated (default: every image of the project)",
        "json": "print the rows as JSON instead of a table",
        "max_size": "size budget for every image shown, e.g. 300MB or 1.2GB (exit 1 if over)",
    },
)
def size(c: Context, image: str = "", json: bool = False, max_size: str = "") -> None:
    """Size, layers and growth since the previous build of the project's images; budgets."""
    from dockyard import render
    from dockyard.image.size import budget_failure, size_rows
    from dockyard.render import image as render_image

    with boundary():
        engine = _engine(c)
        with _ledger(engine) as ledger:
            rows = size_rows(engine, _names(image), max_size=max_size, ledger=ledger)
        if json:
            import json as json_module

            print(json_module.dumps([row.to_dict() for row in rows], indent=2))
        else:
            render_image.print_sizes(render.make_console(), rows)
        failure = budget_failure(rows)
        if failure is not None:
            raise failure


@task(
    help={
        "image": "a service or an image (default: the project's first service with build:)",
        "no_trunc": "show each instruction in full, on as many lines as it needs",
        "json": "print the rows as JSON instead of a table",
        "base": "the base image, to mark its rows (default: from the Dockerfile, if any)",
    },
)
def history(
    c: Context,
    image: str = "",
    no_trunc: bool = False,
    json: bool = False,
    base: str = "",
) -> None:
    """The image's history: created, size and the cleaned instruction of every step."""
    from dockyard import render
    from dockyard.image.history import image_history
    from dockyard.render import image as render_image

    with boundary():
        engine = _engine(c)
        result = image_history(engine, _one_target(engine, image), base=base)
        if json:
            import json as json_module

            print(json_module.dumps(result.to_dict(), indent=2))
            return
        render_image.print_history(render.make_console(), result, no_trunc=no_trunc)


@task(
    help={
        "image": "a service or an image (default: the project's first service with build:)",
        "top": "largest files per layer and most wasteful paths to list (default: 5)",
        "json": "print the analysis and the gate as JSON",
        "ci": "exit 1 when a gate rule FAILs (rules: the flags below, else settings)",
        "base": "the base image whose layers are not yours (default: from the Dockerfile)",
        "min_efficiency": "gate: minimum efficiency of your layers, 0.9 or 90% (off: no rule)",
        "max_wasted": "gate: maximum bytes your layers may waste, e.g. 20MB (off: no rule)",
        "max_size": "gate: maximum image size, e.g. 300MB (off: no rule)",
    },
)
def inspect_layers(
    c: Context,
    image: str = "",
    top: int = 5,
    json: bool = False,
    ci: bool = False,
    base: str = "",
    min_efficiency: str = "",
    max_wasted: str = "",
    max_size: str = "",
) -> None:
    """Read the image from docker save: layers, largest files, wasted bytes, efficiency, gate."""
    from dockyard import render
    from dockyard.image.gate import gate_rules
    from dockyard.image.inspection import inspect_layers as inspect_image_layers
    from dockyard.render import image as render_image

    with boundary():
        engine = _engine(c)
        target = _one_target(engine, image)
        choice = gate_rules(
            engine.settings,
            target,
            min_efficiency=min_efficiency,
            max_wasted=max_wasted,
            max_size=max_size,
        )
        status = render.make_console(stderr=True)
        with status.status(f"reading docker save {render.escape(target.reference)} ..."):
            result = inspect_image_layers(engine, target, choice=choice, base=base, top=top)
        if json:
            import json as json_module

            print(json_module.dumps(result.to_dict(), indent=2))
        else:
            render_image.print_inspection(render.make_console(), result)
        failure = result.failure()
        if ci and failure is not None:
            raise failure


def _confirm_removal(out: Console, question: str, yes: bool, what: str, hint: str) -> None:
    """Ask before removing what was just named; --yes skips it; no terminal and no --yes: stop."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise SettingsError(what, hint)
    from rich.prompt import Confirm

    if not Confirm.ask(question, console=out, default=True):
        raise SettingsError("nothing done", "add --yes to skip the question")


@task(
    iterable=["scenario", "strategy", "run_id"],
    help={
        "repetitions": "builds per strategy and scenario (default: 3; 1 with --quick)",
        "quick": "1 repetition of code-edit and deps-edit only (a CI smoke run)",
        "scenario": "cold, no-change, code-edit, deps-edit or team-cache (repeatable; default: the "
        "first four, and team-cache when a team cache is set)",
        "strategy": "a strategy of DOCKYARD_BENCH_STRATEGIES (repeatable; default: all)",
        "service": "the compose service whose build context is measured (default: the one "
        "with a build: section)",
        "import_runs": "container starts that time the app's import, per image (default: 5; "
        "0: skip)",
        "yes": "remove the benchmark's own images and cache mounts at the end without asking",
        "keep": "leave the benchmark's images and cache mounts in place",
        "dry_run": "only say what would be built, created and removed",
        "json": "also write the full report (every sample, per-step timings) to this file",
        "markdown": "also write the results table as Markdown (for the README) to this file",
        "check": "exit 1 when a measured target is missed",
        "clean": "remove the images and cache mounts left by runs whose process has ended "
        "(killed, --keep); a running benchmark's are left alone. Names them, asks first",
        "run_id": "with --clean: only this run's leftovers (repeatable)",
        "team_cache": "a team build cache, <registry>/<prefix> (default: DOCKYARD_TEAM_CACHE): "
        "adds the scenario team-cache (fresh machine, its cache from the registry only)",
    },
)
def bench(
    c: Context,
    repetitions: int = 0,
    quick: bool = False,
    scenario: list[str] | None = None,
    strategy: list[str] | None = None,
    service: str = "",
    import_runs: int = 5,
    yes: bool = False,
    keep: bool = False,
    dry_run: bool = False,
    json: str = "",
    markdown: str = "",
    check: bool = False,
    clean: bool = False,
    run_id: list[str] | None = None,
    team_cache: str = "",
) -> None:
    """Measure build strategies x scenarios (cold, edits, no change, fresh machine + team cache)."""
    import shlex

    from dockyard import bench as bench_module
    from dockyard import render
    from dockyard.render import bench as render_bench

    with boundary():
        engine = _engine(c, team_cache=team_cache or None)
        out = render.make_console()
        if run_id and not clean:
            raise SettingsError("--run-id only goes with --clean", "add --clean, or drop it")
        if clean:
            leftovers = bench_module.find_leftovers(engine, run_id or ())
            render_bench.print_leftovers(out, leftovers)
            if leftovers.describe() and not dry_run:
                _confirm_removal(
                    out,
                    "Remove these?",
                    yes,
                    "--clean would remove what is named above",
                    "add --yes to confirm",
                )
                render_bench.print_removed(out, bench_module.remove_leftovers(engine, leftovers))
            return
        plan = bench_module.plan_for_project(
            engine,
            service=service,
            scenarios=scenario or (),
            strategies=strategy or (),
            repetitions=repetitions,
            quick=quick,
            import_runs=import_runs,
            command=shlex.join(["inv", *sys.argv[1:]]),
        )
        render_bench.print_plan(out, bench_module.describe_plan(plan))
        if dry_run:
            return
        if not keep:
            _confirm_removal(
                out,
                "Run it and remove these at the end?",
                yes,
                "the benchmark removes the images and cache mounts it creates (named above)",
                "add --yes to confirm, or --keep to leave them",
            )
        with render_bench.BenchProgress(out) as progress:
            report = bench_module.run_bench(engine, plan, listener=progress, keep=keep)
        render_bench.print_report(out, report)
        if json:
            import json as json_module

            Path(json).write_text(json_module.dumps(report.to_dict(), indent=2) + "\n", "utf-8")
            out.print(f"[muted]report written to {render.escape(json)}[/muted]")
        if markdown:
            Path(markdown).write_text(render_bench.markdown(report), "utf-8")
            out.print(f"[muted]Markdown written to {render.escape(markdown)}[/muted]")
        missed = [t.name for t in report.targets() if t.met is False]
        if check and missed:
            raise Exit(f"targets missed: {'; '.join(missed)}", code=1)


@task(
    iterable=["service"],
    help={
        "service": "only check this service's build (repeatable; default: all with build:)",
        "json": "print the checks as JSON (ids, status, reason, fix, details)",
        "verbose": "show the details of passing checks too (largest context entries, ...)",
    },
)
def doctor(
    c: Context, service: list[str] | None = None, json: bool = False, verbose: bool = False
) -> None:
    """Check engine, Dockerfiles, .dockerignore, compose file and context before a build."""
    from dockyard import render
    from dockyard.doctor import run as run_doctor
    from dockyard.render import doctor as render_doctor

    with boundary():
        engine = _engine(c)
        report = run_doctor(engine, service or [])
        if json:
            import json as json_module

            print(json_module.dumps(report.to_dict(), indent=2))
        else:
            render_doctor.print_report(render.make_console(), report, verbose=verbose)
        failed = report.failed
        if failed:
            names = ", ".join(sorted({check.id for check in failed}))
            raise DockyardError(
                f"doctor: {len(failed)} check(s) failed ({names})",
                "fix the FAIL lines above, then run `inv doctor` again",
            )


TASKS = (build_fast, timing, up, down, ps, logs, size, history, inspect_layers, bench, doctor)
# `from dockyard.tasks import *` in a project's tasks.py adds every task (and nothing else).
__all__ = [
    "bench",
    "build_fast",
    "doctor",
    "down",
    "history",
    "inspect_layers",
    "logs",
    "ps",
    "size",
    "timing",
    "up",
]


def namespace(root: Path | None = None) -> Collection:
    """dockyard's tasks as a collection, for a project at `root` (default: the cwd)."""
    collection = Collection(*TASKS)
    if root is not None:
        collection.configure({CONFIG_KEY: {"root": str(root)}})
    return collection


ns = namespace()
