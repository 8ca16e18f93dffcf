"""build-fast: BuildKit on, the chosen services built in parallel by Compose (with their
cache_from), BuildKit's raw progress turned into per-service reports, every build recorded.

Before a build each service's context is fingerprinted (what `.dockerignore` lets through);
after it, every step that did not come from cache gets a one-line reason, by comparing with
the last successful build of that service in the ledger.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from dockyard import fingerprint, gitinfo, misses, pulls, signals, teamcache
from dockyard.compose import BuildSpec, shown_path
from dockyard.dockerfile import parse as parse_dockerfile
from dockyard.engine import EngineProtocol
from dockyard.errors import BuildFailed, DockyardError, PullFailed
from dockyard.ledger import BuildRecord, Ledger, ServiceBuild
from dockyard.progress import DEFAULT_FAILURE_LINES, BuildReport, Event, RawJsonStream, history
from dockyard.progress.runner import engine_lost, run_stream, step_failure, step_interruption
from dockyard.units import utc_timestamp


@dataclass(frozen=True)
class ServicePlan:
    """What a service's build reads: context, Dockerfile, build args, base images."""

    service: str
    image: str
    build: BuildSpec
    base_images: list[str]

    @property
    def context_dir(self) -> Path:
        return self.build.context_dir

    @property
    def dockerfile(self) -> Path:
        return self.build.dockerfile_path

    @property
    def build_args(self) -> Mapping[str, str]:
        return self.build.args


@dataclass
class ServiceResult:
    plan: ServicePlan
    report: BuildReport
    image_id: str = ""
    image_size: int | None = None
    base_digest: str = ""
    fingerprint: fingerprint.ContextFingerprint | None = None
    reasons: dict[str, str] = field(default_factory=dict)
    previous: ServiceBuild | None = None
    # Where the steps came from: "stream" (live), "history" (buildx's build record), or ""
    # with `no_steps` saying why there are none.
    step_source: str = "stream"
    no_steps: str = ""
    context_bytes: int | None = None  # build context sent to the engine, from the stream

    @property
    def service(self) -> str:
        return self.plan.service

    @property
    def status(self) -> str:
        return "ok" if self.report.ok else "failed"

    @property
    def first_build(self) -> bool:
        """No earlier good build to compare with: every step that ran has the same reason,
        said once for the service (`reasons_note`), not once per step."""
        return misses.nothing_to_compare(self.previous.steps if self.previous else None)

    def to_dict(self) -> dict[str, Any]:
        data = self.report.to_dict(failure_lines=DEFAULT_FAILURE_LINES)
        data.update(
            image=self.plan.image,
            image_id=self.image_id,
            image_size=self.image_size,
            base_images=self.plan.base_images,
            base_digest=self.base_digest,
            context_digest=self.fingerprint.digest if self.fingerprint else None,
            reasons=self.reasons,
            reasons_note=misses.NO_EARLIER_BUILD if self.first_build and self.reasons else None,
            step_source=self.step_source or None,
            no_steps=self.no_steps or None,
            context_bytes=self.context_bytes,
            previous=(
                {
                    "build_id": self.previous.build_id,
                    "seconds": self.previous.seconds,
                    "image_size": self.previous.image_size,
                    "cache_ratio": self.previous.cache_ratio,
                }
                if self.previous
                else None
            ),
        )
        return data


@dataclass
class BuildOutcome:
    services: list[ServiceResult]
    seconds: float
    status: str  # ok | failed | interrupted
    error: str = ""
    build_id: int = 0
    started_at: str = ""
    team_cache: teamcache.TeamCachePlan | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        team = {"team_cache": self.team_cache.to_dict()} if self.team_cache else {}
        return {
            **team,
            "build_id": self.build_id or None,  # None: the ledger could not record it
            "started_at": self.started_at,
            "status": self.status,
            "seconds": self.seconds,
            "error": self.error or None,
            "services": [s.to_dict() for s in self.services],
        }


def cache_counts(report: BuildReport) -> tuple[int, int]:
    """(cached, countable) Dockerfile steps; FROM is left out as in BuildReport.cache_ratio."""
    countable = [s for s in report.dockerfile_steps if not s.is_from]
    return sum(1 for s in countable if s.cached), len(countable)


def choose_services(engine: EngineProtocol, requested: Sequence[str]) -> list[str]:
    wanted = list(requested) or list(engine.settings.build_services)
    if wanted:
        return engine.project.require(wanted, buildable=True)
    services = engine.project.buildable()
    if not services:
        raise DockyardError(
            f"project {engine.project_name!r} has no service with a build: section",
            "add one to the compose file, or point COMPOSE_FILE at another project",
        )
    return services


def plan_service(engine: EngineProtocol, service: str) -> ServicePlan:
    build = engine.project.build_of(service)
    if build.remote:
        raise DockyardError(
            f"the build context of {service} is remote ({build.context})",
            "build-fast reads the context from disk: clone it and point build.context there",
        )
    if not build.context_dir.is_dir():
        raise DockyardError(
            f"build context of {service} not found: {build.context_dir}",
            "fix build.context in the compose file",
        )
    text = build.dockerfile_text()
    if text is None:
        raise DockyardError(
            f"Dockerfile of {service} not found: {build.dockerfile_path}",
            "fix build.dockerfile in the compose file (it is relative to the context)",
        )
    return ServicePlan(
        service=service,
        image=engine.project.service(service).image,
        build=build,
        base_images=parse_dockerfile(text).base_images(build.args, build.target),
    )


def base_digests(engine: EngineProtocol, plans: Sequence[ServicePlan]) -> dict[str, str]:
    """Per service, the image ids of its local base images joined ('' for one not here yet);
    one inspect for every base image of every service."""
    found = _inspect_all(engine, [image for plan in plans for image in plan.base_images])
    digests = {}
    for plan in plans:
        ids = [str(found.get(image, {}).get("Id", "")) for image in plan.base_images]
        digests[plan.service] = ",".join(ids) if any(ids) else ""
    return digests


def _inspect_all(engine: EngineProtocol, references: Sequence[str]) -> dict[str, dict[str, Any]]:
    """What the engine knows of these images; nothing when it cannot say (the build reports)."""
    try:
        return engine.images_inspect(references)
    except DockyardError:
        return {}


def _before_build(
    engine: EngineProtocol, plans: Sequence[ServicePlan], ledger: Ledger
) -> tuple[
    dict[str, fingerprint.ContextFingerprint], dict[str, str], dict[str, ServiceBuild | None], str
]:
    """Per service: the context fingerprint, the base images' ids and the last successful
    build; and the project's git commit."""
    cache = fingerprint.FingerprintCache(engine.settings.state_dir / "fingerprints.json")
    fingerprints = {
        plan.service: fingerprint.fingerprint_context(
            plan.context_dir, cache=cache, dockerfile=plan.dockerfile
        )
        for plan in plans
    }
    project = engine.project_name
    previous = {plan.service: ledger.previous_ok(plan.service, project) for plan in plans}
    return fingerprints, base_digests(engine, plans), previous, gitinfo.commit(engine.settings.root)


def run_build(
    engine: EngineProtocol,
    services: Sequence[str],
    *,
    no_cache: bool = False,
    pull: bool = False,
    on_events: Callable[[list[Event], RawJsonStream], None] = lambda events, stream: None,
    ledger: Ledger | None = None,
    team: teamcache.TeamCachePlan | None = None,
    started: Iterable[tuple[str, bytes]] | None = None,
) -> BuildOutcome:
    """Build `services`, feed progress to `on_events`, record the build, return the outcome.

    `started`: the lines of this very build, already running (build-fast starts it before it
    reads the compose model); else the build starts here.

    Raises BuildFailed (with the failing step's last log lines) or Interrupted after the
    failure has been recorded in the ledger. A ledger that cannot be used never stops the
    build: `ledger.warnings` (the caller's ledger, else one for the settings) says why.
    """
    settings = engine.settings
    if ledger is None:
        ledger = Ledger(settings.ledger_path)
    plans = [plan_service(engine, name) for name in services]
    project = engine.project_name
    # What the comparison after the build needs (context fingerprints, base image ids, the
    # last good builds, the commit) is gathered while the build runs: on a cached build that
    # is most of dockyard's own time, and none of it depends on the build.
    chunks = started
    if chunks is None:
        chunks = engine.build_stream(
            services,
            no_cache=no_cache,
            pull=pull,
            extra_files=[team.override] if team and team.override else [],
        )
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dockyard-prepare") as pool:
        prepared = pool.submit(_before_build, engine, plans, ledger)
        run = run_stream(
            chunks,
            # Compose 2.40 hands one service to bake as one target, whose steps carry no
            # service prefix (buildx prefixes only when it builds several): they are its.
            RawJsonStream(
                [p.service for p in plans],
                default_service=plans[0].service if len(plans) == 1 else "",
            ),
            on_events=on_events,
        )
        fingerprints, bases, previous, commit = prepared.result()
    status = run.status
    error = run.error.message if run.error else ""
    if status == "interrupted":
        error = f"interrupted ({signals.signal_name(run.signum or signal.SIGINT)})"

    reports = {plan.service: run.report(plan.service) for plan in plans}
    sources = dict.fromkeys(reports, "stream")
    no_steps: dict[str, str] = {}
    blank = [name for name, report in reports.items() if not report.dockerfile_steps]
    if blank and status == "ok":
        recovered, why = steps_from_history(engine, blank, run.started_at, run.returncode)
        reports.update(recovered)
        sources.update({name: "history" if name in recovered else "" for name in blank})
        no_steps = {name: why for name in blank if name not in recovered}

    built = _inspect_all(engine, [p.image for p in plans if reports[p.service].ok])
    results = []
    for plan in plans:
        report = reports[plan.service]
        result = ServiceResult(
            plan,
            report,
            base_digest=bases[plan.service],
            fingerprint=fingerprints[plan.service],
            previous=previous[plan.service],
            step_source=sources[plan.service],
            no_steps=no_steps.get(plan.service, ""),
            context_bytes=run.stream.context_bytes(plan.service),
        )
        if plan.image in built:
            image = built[plan.image]
            result.image_id, result.image_size = str(image.get("Id", "")), image.get("Size")
        result.reasons = _reasons(result)
        results.append(result)

    if team is not None:
        teamcache.finish(engine, team, run.stream, reports, ok=status == "ok")
    outcome = BuildOutcome(
        results,
        run.seconds,
        status,
        error,
        started_at=run.started_at.isoformat(timespec="seconds"),
        team_cache=team,
    )
    outcome.build_id = ledger.record(_record(outcome, project, commit, no_cache))
    if status == "interrupted":
        raise step_interruption(
            "build",
            run,
            [result.report for result in results],
            "run it again: finished steps are cached; "
            + (
                "the build is in `inv timing --history` as interrupted"
                if outcome.build_id
                else "the ledger could not record this build"
            ),
        )
    if status == "failed":
        raise pull_failure(engine, outcome, run.stderr, pull=pull) or build_failure(outcome, error)
    return outcome


def steps_from_history(
    engine: EngineProtocol, services: Sequence[str], since: datetime, returncode: int
) -> tuple[dict[str, BuildReport], str]:
    """Reports of `services` from buildx's build records of this build, where it keeps them;
    and why the others have none."""
    stack = engine.stack
    if not stack.history:
        return {}, (
            f"the build stream named no steps, and buildx {stack.buildx or '?'} keeps no build "
            "records to read them from (0.23+ does)"
        )
    try:
        refs = history.wanted_records(
            engine.history_records(since - timedelta(seconds=2)),
            engine.history_inspect,
            engine.project_name,
            services,
        )
        found = {
            service: history.replay(engine.history_logs(ref), service, returncode)
            for service, ref in refs.items()
        }
    except DockyardError as err:
        return (
            {},
            f"the build stream named no steps, and buildx's records could not be read: "
            f"{err.message}",
        )
    return found, "the build stream named no steps, and buildx has no record of it"


def _reasons(result: ServiceResult) -> dict[str, str]:
    previous = result.previous
    old_fp = (
        fingerprint.ContextFingerprint.from_dict(previous.context)
        if previous and previous.context
        else None
    )
    return misses.explain_misses(
        misses.records_from_report(result.report),
        [misses.StepRecord.from_dict(s) for s in previous.steps] if previous else None,
        old_fp,
        result.fingerprint,
        previous.build_args if previous else None,
        result.plan.build_args,
        previous.base_digest if previous else None,
        result.base_digest,
    )


def _record(outcome: BuildOutcome, project: str, commit: str, no_cache: bool) -> BuildRecord:
    services = []
    for result in outcome.services:
        report = result.report
        cached, countable = cache_counts(report)
        services.append(
            ServiceBuild(
                service=result.service,
                status=result.status if outcome.status != "interrupted" else "interrupted",
                seconds=report.seconds,
                steps_total=countable,
                steps_cached=cached,
                cache_ratio=report.cache_ratio,
                image=result.plan.image,
                image_id=result.image_id,
                image_size=result.image_size,
                base_digest=result.base_digest,
                context_digest=result.fingerprint.digest if result.fingerprint else "",
                steps=[
                    {
                        **misses.StepRecord(s.stage, s.instruction, s.cached).to_dict(),
                        "index": s.index,
                        "total": s.total,
                        "seconds": s.seconds,
                        "error": s.error,
                    }
                    for s in report.dockerfile_steps
                ],
                reasons=result.reasons,
                context=result.fingerprint.to_dict() if result.fingerprint else {},
                build_args=dict(result.plan.build_args),
                error=report.error or "",
                team_cache=_team_record(outcome, result.service),
            )
        )
    return BuildRecord(
        started_at=outcome.started_at,
        finished_at=utc_timestamp(),
        seconds=outcome.seconds,
        status=outcome.status,
        project=project,
        services=services,
        git_commit=commit,
        no_cache=no_cache,
        error=outcome.error,
    )


def _team_record(outcome: BuildOutcome, service: str) -> dict[str, Any] | None:
    """What the ledger keeps of a service's team cache: refs and the push result only."""
    team = outcome.team_cache
    svc = team.services.get(service) if team is not None else None
    if svc is None:
        return None
    return {
        "ref": svc.push_ref,
        "imported": svc.imported,
        "export": svc.export or None,
        "pushed": svc.pushed,
        "push_error": svc.push_error or None,
    }


def pull_failure(
    engine: EngineProtocol, outcome: BuildOutcome, stderr: str, *, pull: bool = False
) -> PullFailed | None:
    """The failed build as a failed pull, when an image it needs could not be pulled: the
    image, where the Dockerfile names it, why, what to do. None for any other failure."""
    project = engine.project
    for result in outcome.services:
        build = result.plan.build
        if result.report.ok is not False:
            continue
        failure = pulls.build_pull_failure(
            result.report,
            stderr,
            dockerfile=build.dockerfile_text() or "",
            shown=shown_path(build.dockerfile_path, project.directory),
            build_args=build.args,
            target=build.target,
            subject=f"the build of {result.service}",
            variable_for=project.variable_for,
            is_local=engine.image_exists if pull else None,
        )
        if failure is not None:
            return failure
    return None


def build_failure(outcome: BuildOutcome, error: str) -> BuildFailed:
    failed = [r for r in outcome.services if r.report.ok is False]
    for result in failed:
        named = step_failure(
            f"build of {result.service}",
            result.report,
            "fix the step and build again"
            + ("; the failure is in `inv timing --history`" if outcome.build_id else ""),
        )
        if named is not None:
            return named
    message = next((r.report.error for r in failed if r.report.error), None) or error
    reports = [r.report for r in outcome.services]
    lost = engine_lost("the build", outcome.seconds, reports, f"{message}\n{error}")
    return lost or BuildFailed(f"build failed: {message}", "see the output above")
