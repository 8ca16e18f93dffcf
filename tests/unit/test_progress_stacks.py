"""The stream parser on real captures of both Docker stacks (tests/data/bake, see its README):
Compose 2.26 building itself (`classic_*`) and Compose 2.40 handing the build to bake (`sid_*`).

The same build must give the same report on both, although today's stack names no service in
a one-service build and one object per line, and the 2024 stack prefixes every step.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.progress import BuildReport, reports_from_stream

DATA = Path(__file__).resolve().parents[1] / "data" / "bake"


def report(capture: str, services: list[str]) -> dict[str, BuildReport]:
    """What build-fast makes of a capture: one service built is the default service."""
    rc = int((DATA / f"{capture}.rc").read_text())
    err = DATA / f"{capture}.err"
    return reports_from_stream(
        (DATA / f"{capture}.out").read_bytes(),
        returncode=rc,
        service_names=services,
        default_service=services[0] if len(services) == 1 else "",
        stderr=err.read_text(encoding="utf-8") if err.exists() else "",
    )


def steps(result: BuildReport) -> list[tuple[str | None, int | None, str, bool]]:
    return [(s.stage, s.index, s.instruction, s.cached) for s in result.dockerfile_steps]


def same_steps(result: BuildReport, engine: str) -> dict[tuple[str | None, int | None], str]:
    """Dockerfile steps but FROM by (stage, N), their instruction without the capture's
    engine name (each capture's RUN lines name it, to keep the two from sharing cache)."""
    return {
        (s.stage, s.index): s.instruction.replace(f" {engine}_one", "")
        for s in result.dockerfile_steps
        if not s.is_from
    }


@pytest.mark.parametrize("build", ["cold", "cached", "code_edit"])
def test_one_service_reads_the_same_on_both_stacks(build: str) -> None:
    old = report(f"classic_one_{build}", ["api"])["api"]
    new = report(f"sid_one_{build}", ["api"])["api"]
    assert old.ok and new.ok
    assert new.total_steps == old.total_steps == 8  # FROM once: the two stages share it
    assert same_steps(new, "sid") == same_steps(old, "classic")
    assert new.seconds is not None and new.seconds > 0
    if build != "cold":  # a cold build hits whatever else the engine has cached
        cached = {(s.stage, s.index): s.cached for s in new.dockerfile_steps if not s.is_from}
        assert cached == {
            (s.stage, s.index): s.cached for s in old.dockerfile_steps if not s.is_from
        }


def test_a_cached_rebuild_and_a_code_edit_on_todays_stack() -> None:
    cached = report("sid_one_cached", ["api"])["api"]
    assert cached.cache_ratio == 1.0
    edited = report("sid_one_code_edit", ["api"])["api"]
    reran = [s.instruction.split()[0] + " " + s.instruction.split()[1] for s in edited.slowest(9)]
    assert reran == ["RUN python3", "COPY app"] or sorted(reran) == ["COPY app", "RUN python3"]
    assert [s for s in edited.dockerfile_steps if s.stage == "deps" and not s.cached] == [
        s for s in edited.dockerfile_steps if s.stage == "deps" and s.is_from and not s.cached
    ]


def test_two_services_each_get_their_steps_on_todays_stack() -> None:
    reports = report("sid_two_cold", ["backend", "worker"])
    backend, worker = reports["backend"], reports["worker"]
    assert backend.ok and worker.ok
    assert backend.total_steps == 8 and worker.total_steps == 3
    # The FROM both Dockerfiles share is one vertex, reported under both services.
    shared = [s for s in worker.dockerfile_steps if s.shared]
    assert shared and all(s.is_from for s in shared)
    edited = report("sid_two_code_edit", ["backend", "worker"])
    assert edited["worker"].cache_ratio == 1.0  # only backend's code changed
    assert edited["backend"].cache_ratio is not None and edited["backend"].cache_ratio < 1.0


def test_only_backend_built_in_a_two_service_project() -> None:
    result = report("sid_two_backend_only", ["backend"])
    assert set(result) == {"backend"}  # nothing unprefixed left over for another service
    assert result["backend"].total_steps == 8


@pytest.mark.parametrize(("capture", "rc"), [("classic_one_fail", 17), ("sid_one_fail", 1)])
def test_a_failing_step_on_both_stacks(capture: str, rc: int) -> None:
    assert int((DATA / f"{capture}.rc").read_text()) == rc
    result = report(capture, ["api"])["api"]
    assert result.ok is False
    step = result.failing_step
    assert step is not None and step.instruction.startswith('RUN echo "token')
    assert step.error and "exit code: 7" in step.error
    assert result.failure_log(3)[-1] == "about to fail"


def test_ctrl_c_on_both_stacks() -> None:
    # The 2024 stack reports the running step canceled; today's just stops the stream.
    old = report("classic_one_interrupt", ["api"])["api"]
    assert old.ok is False and old.failing_step is not None
    assert "context canceled" in (old.failing_step.error or "")
    new = report("sid_one_interrupt", ["api"])["api"]
    assert new.ok is False and new.failing_step is None
    running = [s for s in new.running_steps if s.is_dockerfile_step]
    assert len(running) == 1 and "sleep" in running[0].instruction
    assert int((DATA / "sid_one_interrupt.rc").read_text()) == 130
