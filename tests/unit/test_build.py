"""build.run_build with the shared fake engine, fed real captured Compose build streams.

The captures (tests/data/rawjson, see its README) are of a two-service project: `backend`
(stages deps + runtime) and `worker`. The fake serves them as `compose build` output; the
contexts on disk are the same files, so fingerprints and reasons are computed for real.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from python_on_whales.exceptions import DockerException

from dockyard import build, signals
from dockyard.engine.errors import translate
from dockyard.errors import BuildFailed, Interrupted
from dockyard.ledger import Ledger
from dockyard.progress import RawJsonStream
from dockyard.progress.runner import run_stream
from dockyard.settings import load_settings
from tests.fake_engine import BuildScript, FakeEngine

RAWJSON = Path(__file__).resolve().parents[1] / "data" / "rawjson"
BENCH = Path(__file__).resolve().parents[1] / "data" / "bench"


def chunks(capture: str) -> list[tuple[str, bytes]]:
    data = (RAWJSON / f"{capture}.out").read_bytes()
    return [("stdout", line) for line in data.splitlines(keepends=True)]


def image(name: str) -> dict[str, dict[str, Any]]:
    return {name: {"Id": f"sha256:{name.encode().hex()[:64]:0<64}", "Size": 1000}}


def project(tmp_path: Path, *builds: BuildScript, name: str = "demo") -> FakeEngine:
    backend, worker = tmp_path / "backend", tmp_path / "worker"
    (backend / "app").mkdir(parents=True)
    worker.mkdir()
    (backend / "Dockerfile").write_text(
        "FROM dockyard-local/python:3.11-slim AS deps\nWORKDIR /deps\nCOPY requirements.txt ./\n"
        "RUN echo deps\nFROM dockyard-local/python:3.11-slim AS runtime\nWORKDIR /app\n"
        "COPY --from=deps /deps/requirements.txt ./\nCOPY app ./app\nRUN python3 -c 1\n",
        encoding="utf-8",
    )
    (backend / "requirements.txt").write_text("requests==2.31.0\n", encoding="utf-8")
    (backend / "app" / "main.py").write_text('print("hello")\n', encoding="utf-8")
    (worker / "Dockerfile").write_text(
        "FROM dockyard-local/python:3.11-slim\nCOPY worker.py /w/\nRUN python3 /w/worker.py\n",
        encoding="utf-8",
    )
    (worker / "worker.py").write_text('print("ready")\n', encoding="utf-8")
    settings = load_settings(
        tmp_path,
        environ={
            "COMPOSE_FILE": str(tmp_path / "compose.yml"),
            "DOCKYARD_ENV_FILE": str(tmp_path / "none.env"),
            "DOCKYARD_STATE_DIR": str(tmp_path / "state"),
        },
    )
    services = {
        "backend": {"build": {"context": str(backend)}, "image": "demo/backend:1"},
        "worker": {"build": {"context": str(worker)}, "image": "demo/worker:1"},
    }
    return FakeEngine(settings, services, project=name, builds=builds)


def test_a_build_reports_and_records_every_service(tmp_path: Path) -> None:
    engine = project(
        tmp_path,
        BuildScript(chunks("compose_cold"), produces={**image("demo/backend:1"), **image("w")}),
    )
    outcome = build.run_build(engine, ["backend", "worker"])
    assert engine.calls == [("build", ("backend", "worker"), False, False)]
    assert outcome.ok and [r.service for r in outcome.services] == ["backend", "worker"]
    backend = outcome.services[0]
    assert build.cache_counts(backend.report) == (2, 7)  # the two WORKDIRs hold no token
    assert backend.image_size == 1000
    assert backend.reasons and all("no earlier build" in why for why in backend.reasons.values())
    (recorded,) = Ledger(engine.settings.ledger_path).service_builds(services=["backend"])
    assert (recorded.status, recorded.steps_total, recorded.steps_cached) == ("ok", 7, 2)
    assert recorded.build_id == outcome.build_id


def test_a_rebuild_after_an_edit_names_the_edited_file(tmp_path: Path) -> None:
    engine = project(
        tmp_path,
        BuildScript(chunks("compose_cold"), produces=image("demo/backend:1")),
        BuildScript(chunks("compose_code_edit"), produces=image("demo/backend:1")),
    )
    build.run_build(engine, ["backend", "worker"])
    main = tmp_path / "backend" / "app" / "main.py"
    main.write_text('print("hello, edited")\nprint("one more line")\n', encoding="utf-8")
    outcome = build.run_build(engine, ["backend", "worker"])
    backend, worker = outcome.services
    reasons = list(backend.reasons.values())
    assert any("app/main.py" in why and "changed" in why for why in reasons), reasons
    assert backend.previous is not None and worker.reasons == {}


def test_a_failed_build_is_recorded_and_raised_with_the_step(tmp_path: Path) -> None:
    stderr = (RAWJSON / "compose_fail.err").read_bytes()
    failure = translate(DockerException(["docker", "compose", "build"], 17, stderr=stderr))
    engine = project(tmp_path, BuildScript(chunks("compose_fail"), error=failure))
    with pytest.raises(BuildFailed) as caught:
        build.run_build(engine, ["backend", "worker"])
    # The step by its short label and the exit code; the command in full only in the detail.
    message, detail = caught.value.message, caught.value.detail
    assert message.startswith("build of backend failed at `runtime 6/6 RUN echo"), message
    assert message.endswith("...`: exit code: 7") and "/bin/sh" not in message, message
    assert 'failed step: [backend runtime 6/6] RUN echo "token' in detail
    assert 'error: process "/bin/sh -c echo' in detail
    assert "about to fail" in detail
    statuses = {b.service: b.status for b in Ledger(engine.settings.ledger_path).service_builds()}
    assert statuses == {"backend": "failed", "worker": "ok"}


@pytest.mark.parametrize(
    ("stop", "code"), [(KeyboardInterrupt(), 130), (signals.Stopped(signal.SIGTERM), 143)]
)
def test_an_interruption_is_recorded_with_the_steps_finished_so_far(
    tmp_path: Path, stop: BaseException, code: int
) -> None:
    engine = project(tmp_path, BuildScript(chunks("compose_cold")[:700], error=stop))
    with pytest.raises(Interrupted) as caught:
        build.run_build(engine, ["backend", "worker"])
    assert caught.value.exit_code == code
    message = caught.value.message
    assert message.startswith("build interrupted") and message.endswith(
        ' at `backend deps 4/4 RUN echo "token 1795799990525" && for i in 1 2 3...` '
        "(and 1 more running)"
    ), message
    assert "\n" not in message and len(message) < 140, message
    rows = Ledger(engine.settings.ledger_path).service_builds()
    assert sorted((row.service, row.status) for row in rows) == [
        ("backend", "interrupted"),
        ("worker", "interrupted"),
    ]
    backend = next(row for row in rows if row.service == "backend")
    finished = [s for s in backend.steps if s["seconds"] is not None]
    assert finished and len(finished) < len(backend.steps)  # some done, the rest cut off


def test_an_unusable_state_dir_fails_neither_the_build_nor_its_report(tmp_path: Path) -> None:
    # The ledger and the fingerprint cache both live there: a file in its place breaks both.
    engine = project(
        tmp_path,
        BuildScript(chunks("compose_cold"), produces=image("demo/backend:1")),
        BuildScript(chunks("compose_cold")[:40], error=KeyboardInterrupt()),
    )
    (tmp_path / "state").write_text("not a directory", encoding="utf-8")
    ledger = Ledger(engine.settings.ledger_path)
    outcome = build.run_build(engine, ["backend", "worker"], ledger=ledger)
    assert outcome.ok and outcome.build_id == 0 and outcome.to_dict()["build_id"] is None
    assert outcome.services[0].fingerprint is not None  # hashed, only not cached
    (warning,) = ledger.warnings
    assert warning.message.startswith("this build was not recorded in the build ledger at ")
    with pytest.raises(Interrupted) as caught:
        build.run_build(engine, ["backend", "worker"], ledger=ledger)
    assert caught.value.message.startswith("build interrupted after ")
    assert caught.value.hint.endswith(
        "finished steps are cached; the ledger could not record this build"
    )
    assert len(ledger.warnings) == 1


def test_the_runner_tells_a_canceled_build_from_a_broken_one() -> None:
    text = (BENCH / "naive-canceled.rawjson").read_text(encoding="utf-8")
    assert text.rstrip().endswith("ERROR: failed to solve: Canceled: context canceled")

    def canceled() -> Iterator[tuple[str, bytes]]:
        yield "stderr", text.encode()
        stderr = text.rstrip().splitlines()[-1].encode()
        raise translate(DockerException(["docker", "buildx", "build"], 1, stderr=stderr))

    run = run_stream(canceled(), RawJsonStream(default_service="naive"))
    assert (run.status, run.returncode) == ("interrupted", 130)

    def broken() -> Iterator[tuple[str, bytes]]:
        yield "stdout", (RAWJSON / "compose_fail.out").read_bytes()
        stderr = (RAWJSON / "compose_fail.err").read_bytes()
        raise translate(DockerException(["docker", "compose", "build"], 17, stderr=stderr))

    run = run_stream(broken(), RawJsonStream(["backend", "worker"]))
    assert run.status == "failed" and run.report("backend").ok is False
    assert run.report("backend").failing_step is not None


BAKE = Path(__file__).resolve().parents[1] / "data" / "bake"


def plain_build_with_records(tmp_path: Path, *, history: bool) -> FakeEngine:
    """The real capture of a two-service build whose stream was plain text (COMPOSE_PROGRESS=
    plain on Compose 2.40), with the build records buildx kept of it (see tests/data/bake)."""
    import json

    from dockyard.engine.stackinfo import StackInfo

    out = (BAKE / "sid_plain_two.out").read_bytes()
    records = []
    for line in (BAKE / "sid_plain_two.history_ls.out").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        inspect = json.loads(
            (BAKE / f"sid_plain_two.history_inspect_{row['name']}.out").read_text()
        )
        logs = (BAKE / f"sid_plain_two.history_logs_{row['name']}.err").read_bytes()
        records.append((row, inspect, logs))
    project_name = next(
        item["Value"]
        for item in records[0][1]["Labels"]
        if item["Name"] == "com.docker.compose.project"
    )
    engine = project(tmp_path, BuildScript([("stdout", out)]), name=project_name)
    engine.records = records if history else []
    engine.stack_info = StackInfo(buildx="0.29.1", compose="2.40.3", compose_bake=True)
    if not history:
        engine.stack_info = StackInfo(buildx="0.13.1", compose="2.26.1")
    return engine


def test_a_stream_without_steps_falls_back_to_buildx_records(tmp_path: Path) -> None:
    engine = plain_build_with_records(tmp_path, history=True)
    outcome = build.run_build(engine, ["backend", "worker"])
    backend, worker = outcome.services
    assert (backend.step_source, worker.step_source) == ("history", "history")
    assert [s.instruction for s in worker.report.dockerfile_steps if not s.is_from] == [
        "COPY worker.py /w/",
        "RUN python3 /w/worker.py",
    ]
    assert backend.report.total_steps == 8 and backend.report.seconds
    (recorded,) = Ledger(engine.settings.ledger_path).service_builds(services=["worker"])
    assert recorded.steps_total == 2  # from the record, not blank


def test_no_steps_and_no_records_is_said_not_left_blank(tmp_path: Path) -> None:
    engine = plain_build_with_records(tmp_path, history=False)
    outcome = build.run_build(engine, ["backend", "worker"])
    for result in outcome.services:
        assert result.step_source == "" and result.report.dockerfile_steps == ()
        assert result.no_steps.startswith("the build stream named no steps, and buildx 0.13.1")
        assert result.to_dict()["no_steps"] == result.no_steps
