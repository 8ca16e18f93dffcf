"""One benchmark run: scratch copies, the builds (through the one build runner), the app's import
time in each image, and the cleanup, also after a failure or Ctrl-C. Docker is reached through
the engine only; what a progress display hears is `BenchListener`."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.bench.edits import code_edit, copy_context, deps_edit
from dockyard.bench.fresh import mount_records, not_fresh, records_made
from dockyard.bench.installer import installer_counts
from dockyard.bench.leftovers import cleanup
from dockyard.bench.plan import REFERENCE, TEAM, BenchPlan, PlannedStrategy
from dockyard.bench.report import BenchReport, Sample, StepTime
from dockyard.compose import shown_path
from dockyard.errors import BuildFailed, DockyardError, Interrupted
from dockyard.progress import BuildReport, Event, RawJsonStream
from dockyard.progress.runner import run_stream, step_failure, step_interruption
from dockyard.pulls import build_pull_failure as pull_failure
from dockyard.teamcache import INLINE_ARG, first_line
from dockyard.units import utc_timestamp

if TYPE_CHECKING:
    from dockyard.engine import EngineProtocol

# Wall clock (what a container start waits) and CPU time of the import (what it costs: on a
# busy machine the wall clock also counts the time other processes had the CPU).
_IMPORT_MARK = "dockyard-import"


def import_probe(module: str) -> str:
    """The Python code a container runs to time `import module`; it prints one timing line."""
    return (
        "import time\n"
        "w, c = time.perf_counter(), time.process_time()\n"
        f"import {module}\n"
        f"print(f'{_IMPORT_MARK} {{time.perf_counter() - w:.4f}} "
        "{time.process_time() - c:.4f}')\n"
    )


def parse_import_seconds(output: str) -> tuple[float, float]:
    """(wall, cpu) seconds from the timing line the import probe prints."""
    for line in reversed(output.strip().splitlines()):
        parts = line.split()
        if len(parts) == 3 and parts[0] == _IMPORT_MARK:
            try:
                return float(parts[1]), float(parts[2])
            except ValueError:
                break
    raise DockyardError(
        f"could not read the import time from: {output.strip()[-200:]!r}",
        "check DOCKYARD_BENCH_IMPORT (the module the app's container imports)",
    )


class BenchListener:
    """What a progress display hears; the default does nothing."""

    def build_started(self, label: str, index: int, total: int) -> None:
        """A build (timed or warm-up) begins; `index` counts from 1."""

    def build_events(self, events: list[Event], stream: RawJsonStream) -> None:
        """Progress of the running build."""

    def build_finished(self, sample: Sample | None, label: str) -> None:
        """A build ended (`sample` is None for an untimed warm-up)."""

    def message(self, text: str) -> None:
        """A phase of the run (measuring imports, cleaning up)."""


def load_average() -> tuple[float, float, float] | None:
    try:
        one, five, fifteen = os.getloadavg()
    except (AttributeError, OSError):  # Windows has no load average
        return None
    return (one, five, fifteen)


@dataclass
class _Owned:
    """What the run created, for the cleanup."""

    image_ids: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


class BenchRun:
    """One benchmark run: scratch contexts, the builds, import timings, cleanup."""

    def __init__(
        self,
        engine: EngineProtocol,
        plan: BenchPlan,
        *,
        listener: BenchListener | None = None,
        keep: bool = False,
        workdir: Path | None = None,
    ) -> None:
        self.engine = engine
        self.plan = plan
        self.listener = listener or BenchListener()
        self.keep = keep
        self._workdir = workdir
        self._owned = _Owned()
        self._index = 0
        self.report = BenchReport(plan=plan, started_at=utc_timestamp())
        self._baseline_text: dict[str, str] = {}

    # -- public ----------------------------------------------------------------------------------
    def run(self) -> BenchReport:
        """Run every build; clean up also after a failure or Ctrl-C."""
        plan, report = self.plan, self.report
        report.cpus = os.cpu_count()
        report.load_before = load_average()
        report.engine_version = self.engine.stack.engine
        report.buildx_version = self.engine.stack.buildx
        report.notes += [
            f"{TEAM} {name}: not measured: {why}" for name, why in plan.team_skipped.items()
        ]
        root = Path(tempfile.mkdtemp(prefix="dockyard-bench-", dir=self._workdir))
        try:
            scratch = {s.name: copy_context(plan, root / s.name) for s in plan.strategies}
            for rel in (plan.code_file, plan.requirements_file):
                if rel:
                    self._baseline_text[rel] = (plan.context_dir / rel).read_text(encoding="utf-8")
            self._measure(scratch)
            self._measure_imports()
        except KeyboardInterrupt:
            report.status = "interrupted"
            raise
        except DockyardError as err:
            report.status = "interrupted" if isinstance(err, Interrupted) else "failed"
            raise
        finally:
            report.load_after = load_average()
            report.finished_at = utc_timestamp()
            shutil.rmtree(root, ignore_errors=True)
            self._cleanup(failing=sys.exc_info()[1] is not None)
        return report

    # -- builds ----------------------------------------------------------------------------------
    def _measure(self, scratch: Mapping[str, Path]) -> None:
        plan = self.plan
        if plan.warm_up:
            for strategy in plan.order(1):
                self._build(strategy, scratch[strategy.name], "warm-up", 1, timed=False)
        for rep in range(1, plan.repetitions + 1):
            order = plan.order(rep)
            for scenario in plan.scenarios:
                for strategy in order:
                    folder = scratch[strategy.name]
                    self._apply(scenario, folder, rep)
                    if scenario == TEAM:
                        if strategy.name not in plan.team_skipped:
                            self._fresh_machine(strategy, folder, rep)
                        continue
                    self._build(strategy, folder, scenario, rep, timed=True)
                    if scenario == "no-change":
                        self._reference(strategy, folder, rep)

    def _apply(self, scenario: str, folder: Path, rep: int) -> None:
        plan = self.plan
        if scenario in ("cold", TEAM):  # each repetition starts again from the user's files
            for rel, text in self._baseline_text.items():
                (folder / rel).write_text(text, encoding="utf-8")
        elif scenario == "code-edit":
            text = code_edit(self._baseline_text[plan.code_file], plan.run_id, rep)
            (folder / plan.code_file).write_text(text, encoding="utf-8")
        elif scenario == "deps-edit":
            base = self._baseline_text[plan.requirements_file]
            text = deps_edit(base, plan.run_id, rep)
            (folder / plan.requirements_file).write_text(text, encoding="utf-8")

    def _build_args(self, strategy: PlannedStrategy, rep: int, scenario: str) -> dict[str, str]:
        plan = self.plan
        if scenario == TEAM:
            return {**plan.build_args, "CACHE_ID": plan.team_cache_id(strategy.name, rep)}
        return {**plan.build_args, "CACHE_ID": plan.cache_id(strategy.name, rep)}

    # -- fresh machine, team cache -----------------------------------------------------------------
    def _fresh_machine(self, strategy: PlannedStrategy, folder: Path, rep: int) -> None:
        """Export the team cache, remove what that build left in this engine (its records,
        cache mounts and image: nothing else), then time the build from the team cache."""
        plan, engine = self.plan, self.engine
        ref = plan.team_ref(strategy.name)
        before = {str(r.get("ID")) for r in engine.build_cache_records()}
        export = self._export(strategy, folder, rep, ref)
        records = engine.build_cache_records()
        executed = [s.name for s in export.steps if not s.cached and not s.is_from]
        made = records_made(before, records, executed)
        shared = sum(1 for s in export.dockerfile_steps if s.cached and not s.is_from)
        why = not_fresh(shared, made)
        label = " ".join(self._label(strategy.name, TEAM, rep).split())
        if why:
            self.report.notes.append(f"{label}: not measured: {why}")
            self.listener.message(f"{label}: not measured ({why})")
            return
        wanted = [*made.ids, *mount_records(records, plan.team_cache_id(strategy.name, rep))]
        stayed = self._forget(strategy, ref, wanted)
        self.report.fresh_machine.append(
            {
                "strategy": strategy.name,
                "repetition": rep,
                "ref": ref,
                "export": plan.team.mode if plan.team else "",
                "removed_records": sorted(set(wanted) - set(stayed)),
                "stayed_records": stayed,
            }
        )
        if stayed:
            self.report.notes.append(
                f"{label}: {len(stayed)} of the export build's {len(wanted)} build-cache "
                "records stayed (the engine held them): those steps may have come from the "
                "local cache"
            )
        self._build(
            strategy, folder, TEAM, rep, timed=True, cache_from=[f"type=registry,ref={ref}"]
        )

    def _export(self, strategy: PlannedStrategy, folder: Path, rep: int, ref: str) -> BuildReport:
        """The untimed build that exports the team cache, as `--push-cache` would here."""
        team = self.plan.team
        assert team is not None  # the plan has one whenever the scenario runs
        if team.mode == "registry":
            return self._build(
                strategy, folder, TEAM, rep, timed=False, step="export",
                cache_to=[f"type=registry,ref={ref},mode=max"],
            )  # fmt: skip
        export = self._build(
            strategy, folder, TEAM, rep, timed=False, step="export", tags=[ref],
            extra_args={INLINE_ARG: "1"},
        )  # fmt: skip
        self._push(ref)
        return export

    def _forget(self, strategy: PlannedStrategy, ref: str, records: list[str]) -> list[str]:
        """Make this engine a fresh machine for the next build: remove the export build's image
        (its tags and id) and these build-cache records; the records that stayed."""
        engine, plan = self.engine, self.plan
        for name in (plan.image(strategy.name), ref):
            engine.image_remove(name)  # the ref is a local tag only with inline cache
        if self._owned.image_ids:
            engine.image_remove(self._owned.image_ids[-1])  # the export build's image
        removed = engine.prune_build_cache_records(records)
        return [record_id for record_id in records if record_id not in removed]

    def _push(self, ref: str) -> None:
        try:
            self.engine.push(ref)
        except DockyardError as err:
            raise DockyardError(
                f"benchmark: team cache push of {ref} refused: "
                + first_line((err.call.stderr if err.call else "") or err.message),
                f"check `docker login {ref.split('/', 1)[0]}`, the registry's free space and "
                "the network, or leave out --scenario team-cache",
            ) from err

    def _label(self, strategy: str, scenario: str, rep: int) -> str:
        return f"rep {rep}/{self.plan.repetitions}  {scenario:<10} {strategy}"

    def _build(
        self,
        strategy: PlannedStrategy,
        folder: Path,
        scenario: str,
        rep: int,
        *,
        timed: bool,
        step: str = "",
        tags: Sequence[str] = (),
        cache_from: Sequence[str] = (),
        cache_to: Sequence[str] = (),
        extra_args: Mapping[str, str] | None = None,
    ) -> BuildReport:
        plan = self.plan
        image = plan.image(strategy.name)
        label = self._label(strategy.name, scenario, rep) + (f" {step}" if step else "")
        build_args = {**self._build_args(strategy, rep, scenario), **(extra_args or {})}
        self._index += 1
        self.listener.build_started(label, self._index, plan.builds())
        for name in (image, *tags):  # before the build: Ctrl-C may land after the tag
            if name not in self._owned.tags:
                self._owned.tags.append(name)
        run = run_stream(
            self.engine.buildx_build_stream(
                folder,
                dockerfile=folder / strategy.scratch_dockerfile,
                tag=image,
                build_args=build_args,
                labels=plan.labels,
                no_cache=scenario == "cold",
                tags=tags,
                cache_from=cache_from,
                cache_to=cache_to,
            ),
            RawJsonStream(default_service=strategy.name),
            on_events=self.listener.build_events,
        )
        seconds = run.seconds
        report = run.report(strategy.name)
        if run.status == "interrupted":
            left = "kept (--keep)" if self.keep else "removed"
            raise step_interruption(
                f"benchmark build ({' '.join(label.split())})",
                run,
                [report],
                f"run `inv bench` again when ready (its images and cache mounts are {left})",
            )
        if run.error is not None:
            raise pull_failure(
                report,
                # buildx writes the rawjson stream on stderr too: only its plain lines are
                # the command's own words (the stream names every image it loads metadata for)
                "\n".join(run.stream.plain_text),
                dockerfile=_read(strategy.dockerfile),
                shown=shown_path(strategy.dockerfile, self.engine.project.directory),
                build_args=build_args,
                subject=f"bench build ({' '.join(label.split())})",
                variable_for=self.engine.project.variable_for,
            ) or _failure(label, report, run.error)
        inspect = self.engine.image_inspect(image)
        image_id = str(inspect.get("Id", ""))
        if image_id and image_id not in self._owned.image_ids:
            self._owned.image_ids.append(image_id)
        size = inspect.get("Size")
        self.report.image_sizes[strategy.name] = int(size) if size is not None else None
        if not timed:
            self.listener.build_finished(None, label)
            return report
        cache_id = build_args["CACHE_ID"]
        sample = Sample(
            strategy=strategy.name,
            scenario=scenario,
            repetition=rep,
            seconds=seconds,
            solve_seconds=report.seconds,
            image_id=image_id,
            image_size=int(size) if size is not None else None,
            installer=installer_counts(report, Path(plan.requirements_file).name),
            steps=tuple(
                StepTime(
                    step.name.replace(cache_id, "${CACHE_ID}"),
                    step.seconds,
                    step.cached,
                )
                for step in report.steps
                if not step.is_from
            ),
            cached_steps=report.cached_steps,
            total_steps=report.total_steps,
        )
        self.report.samples.append(sample)
        self.listener.build_finished(sample, label)
        return report

    def _reference(self, strategy: PlannedStrategy, folder: Path, rep: int) -> None:
        """The engine's own fully cached build: a plain `docker build` of the same context."""
        plan = self.plan
        tag = plan.reference_image(strategy.name)
        label = self._label(strategy.name, REFERENCE, rep)
        self._index += 1
        self.listener.build_started(label, self._index, plan.builds())
        if tag not in self._owned.tags:
            self._owned.tags.append(tag)
        started = time.monotonic()
        image_id = self.engine.buildx_build_quiet(
            folder,
            dockerfile=folder / strategy.scratch_dockerfile,
            tag=tag,
            build_args=self._build_args(strategy, rep, "no-change"),
            labels=plan.labels,
        )
        seconds = time.monotonic() - started
        if image_id and image_id not in self._owned.image_ids:
            self._owned.image_ids.append(image_id)
        sample = Sample(strategy.name, REFERENCE, rep, seconds, image_id=image_id)
        self.report.samples.append(sample)
        self.listener.build_finished(sample, label)

    # -- imports ---------------------------------------------------------------------------------
    def _measure_imports(self) -> None:
        """Time the app's import in each final image; the strategies take turns, like builds."""
        plan = self.plan
        if not plan.import_module or plan.import_runs <= 0:
            return
        code = import_probe(plan.import_module)
        self.listener.message(
            f"timing `import {plan.import_module}` at container start, "
            f"{plan.import_runs}x per image, the images taking turns"
        )
        for name in self.report.strategies:
            self.report.import_seconds[name] = []
            self.report.import_cpu_seconds[name] = []
        for run in range(1, plan.import_runs + 1):
            for strategy in plan.order(run):
                output = self.engine.python_in_image(plan.image(strategy.name), code)
                wall, cpu = parse_import_seconds(output)
                self.report.import_seconds[strategy.name].append(wall)
                self.report.import_cpu_seconds[strategy.name].append(cpu)

    # -- cleanup ---------------------------------------------------------------------------------
    def _cleanup(self, *, failing: bool = False) -> None:
        """Remove what the run owns. After a failure, a cleanup that fails too is said in one
        line and the run's own error is the one raised."""
        if self.keep:
            self.report.kept = [*self._owned.tags, f"cache mounts {self.plan.cache_prefix}*"]
            return
        self.listener.message("removing the benchmark's images and cache mounts")
        try:
            self.report.removed = cleanup(
                self.engine, self.plan, self._owned.tags, self._owned.image_ids
            )
        except DockyardError as err:
            if not failing:
                raise
            self.listener.message(
                f"could not remove everything the benchmark made: {err.message} "
                "(`inv bench --clean` removes what is left)"
            )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _failure(label: str, report: BuildReport, err: DockyardError) -> DockyardError:
    subject = f"bench build ({' '.join(label.split())})"
    named = step_failure(
        subject,
        report,
        "fix the Dockerfile (check it with `docker build -f ...`) and run the benchmark again",
    )
    if named is not None:
        return named
    return BuildFailed(f"{subject} failed: {err.message}", err.hint, detail=err.detail)


def run_bench(
    engine: EngineProtocol,
    plan: BenchPlan,
    *,
    listener: BenchListener | None = None,
    keep: bool = False,
) -> BenchReport:
    """Run the plan and return its report. On a failure or Ctrl-C the benchmark's images and
    cache mounts are removed first, then the error is raised."""
    return BenchRun(engine, plan, listener=listener, keep=keep).run()
